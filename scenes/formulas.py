"""Formulas typeset as in a textbook, without a TeX install: LaTeX math laid out by ziamath (pure
Python, the STIX Two Math font it ships) as SVG outlines, imported as a manim SVGMobject.

Chosen over matplotlib's mathtext (a 40 MB dependency whose radical and fractions are coarser) and
Debian's TeX (hundreds of MB, and manim's MathTex would then need it on every machine). A formula's
numbers are attncore's, formatted and recorded in the log as number_text records them, so the tests
check them like every other number on screen.
"""

from __future__ import annotations

import functools
import hashlib
import re
from pathlib import Path

from attncore.files import write_atomically

from .context import Ctx, Source

# manim units per SVG unit, so that a formula at `size` stands as tall as Text at font_size `size`
# (measured: "QxdH" is 0.311 units tall as Noto Sans at 24, 21.07 SVG units as ziamath's size 24)
SCALE = 0.311 / 21.07
SLOT = re.compile(r"⟨(\w+)⟩")  # where a number goes: ⟨name⟩ (LaTeX has the braces)


@functools.lru_cache(maxsize=256)
def _svg(latex: str, size: float) -> str:
    import ziamath

    ziamath.config.svg2 = False  # plain paths: manim's SVG reader does not place <symbol> glyphs
    return ziamath.Latex(latex, size=size).svg()


def svg_file(latex: str, size: float) -> Path:
    """The formula as an SVG file in manim's text folder, written whole once (renders at once share it)."""
    from manim import config

    svg = _svg(latex, size)
    path = Path(config.text_dir) / f"math-{hashlib.sha256(f'{size}:{latex}'.encode()).hexdigest()[:20]}.svg"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, svg.encode("utf-8"))
    return path


def formula(ctx: Ctx, latex: str, size: float, color, **numbers: tuple[str, Source]):
    """`latex` typeset at `size` (as Text's font_size) in `color`; each ⟨name⟩ in it is the number
    `numbers[name]` = (attncore's value formatted, its Source), recorded in the log."""
    from manim import SVGMobject

    filled = SLOT.sub(lambda m: ctx.number(*numbers[m.group(1)]).replace("−", "-"), latex)
    mobject = SVGMobject(str(svg_file(filled, size)), height=None, width=None, stroke_width=0)
    mobject.scale(SCALE).set_fill(color, 1)
    mobject.latex = filled  # what it shows, for the tests and the log
    return mobject
