"""The narration as a Markdown script with timestamps (`render.py --script FILE.md`), from the fast
run the stills come from; with `--voice` timed as the spoken video."""

from __future__ import annotations

from pathlib import Path

from ..lecture import script_text
from .base import Making, Output


def make(making: Making, path: Path) -> list[Path]:
    scene = making.fast_run()
    making.staging.place(path).write_bytes(script_text(scene.ctx, scene.log.cues).encode("utf-8"))
    return [path]


OUTPUT = Output("script", "--script", (".md",), make, "--script", takes=frozenset({"voice"}),
                help="Instead of a video, write the narration as a Markdown script with timestamps (FILE.md).")
