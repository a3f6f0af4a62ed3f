"""PNG stills instead of a video (`render.py --stills FOLDER`): each stage's key moment and last
frame, and `stages.png`, a contact sheet of the key moments. Animations are skipped: seconds."""

from __future__ import annotations

import io
from pathlib import Path

from .. import NUMBERED, default_stages
from .base import Making, Output


def make(making: Making, folder: Path) -> list[Path]:
    """Save each stage's key moment and last frame as PNG, plus `stages.png` (two columns of
    half-size key moments), moved into `folder` when the staging publishes."""
    from PIL import Image

    from ..theme import THEMES

    pictures: dict[tuple[str, str], Image.Image] = {}

    def on_still(scene, stage, moment):
        pictures[stage, moment] = Image.fromarray(scene.frame()[..., :3])

    making.fast_run(on_still=on_still)
    stages = making.view.stages
    order = [s for s in default_stages(making.view.several) if s in NUMBERED]  # the analogy: unnumbered
    key = [pictures.get((s, "key"), pictures[s, "end"]) for s in stages]
    w, h = key[0].size
    sheet = Image.new("RGB", (w, h // 2 * ((len(key) + 1) // 2)), THEMES[making.view.theme].background)
    for n, im in enumerate(key):
        sheet.paste(im.resize((w // 2, h // 2), Image.LANCZOS), ((n % 2) * (w // 2), (n // 2) * (h // 2)))
    written = []
    for (stage, moment), im in [*pictures.items(), (("stages", ""), sheet)]:
        number = f"{order.index(stage) + 1}-" if stage in order else ""
        path = folder / f"{number}{stage}{'-' + moment if moment else ''}.png"
        buffer = io.BytesIO()
        im.save(buffer, format="PNG")
        making.staging.place(path).write_bytes(buffer.getvalue())
        written.append(path)
    return written


OUTPUT = Output("stills", "--stills", (), make, "--stills",
                help="Instead of a video, save PNG stills of each stage (key moment and end) and a contact sheet here.")
