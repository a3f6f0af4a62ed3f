import sys
from pathlib import Path

# tests import their reference helpers as plain modules
sys.path.insert(0, str(Path(__file__).parent))


def pytest_addoption(parser):
    parser.addoption("--update-frames", action="store_true", help="rewrite tests/frames/*.png from the current scenes")
