import sys
from pathlib import Path

# tests import their reference helpers as plain modules
sys.path.insert(0, str(Path(__file__).parent))
