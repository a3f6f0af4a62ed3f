"""The library alone: `pip install .` gives attncore without manim (a student's notebook needs no
Pango or cairo build). Installs into a fresh venv from the package registry: about half a minute."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


@pytest.mark.render
def test_the_library_alone_installs_without_manim(tmp_path):
    source = tmp_path / "src"  # a copy: building in place would write build/ and egg-info into the work tree
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "render.py"):
        shutil.copy(ROOT / name, source / name)
    for package in ("attncore", "scenes"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    started = time.perf_counter()
    subprocess.run([venv / "bin" / "python", "-m", "pip", "install", "-q", str(source)], check=True, timeout=900,
                   capture_output=True)
    seconds = time.perf_counter() - started
    check = ("import importlib.util, attncore; r = attncore.run('I have a cat'); "
             "assert '<td>58.8%</td>' in r._repr_html_(); "  # a notebook's tables, without manim
             "print(attncore.pct(r.weights[3, 3]), *(importlib.util.find_spec(m) is None for m in "
             "('manim', 'click', 'cairo', 'manimpango', 'torch')))")
    done = subprocess.run([venv / "bin" / "python", "-c", check], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["58.8%", "True", "True", "True", "True", "True"]  # the seed's number; no video stack
    cli = subprocess.run([venv / "bin" / "attncore", "--lang", "zh"], capture_output=True, text=True, timeout=120,
                         cwd=tmp_path)
    assert cli.returncode == 0 and "58.8%" in cli.stdout, cli.stderr
    print(f"pip install . took {seconds:.1f} s")
