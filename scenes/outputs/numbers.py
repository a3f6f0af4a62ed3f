"""Every intermediate as JSON (`render.py --numbers FILE.json`): attncore's own export, every head
when there are several. Made beside any other output."""

from __future__ import annotations

from pathlib import Path

from .base import Making, Output


def make(making: Making, path: Path) -> list[Path]:
    making.staging.place(path).write_bytes(making.view.computed.to_json().encode("utf-8"))
    return [path]


OUTPUT = Output("numbers", "--numbers", (".json",), make, "--numbers", instead_of_video=False,
                help="Also write every intermediate to this .json file.")
