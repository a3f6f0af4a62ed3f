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
import unicodedata
from pathlib import Path

from manim import SVGMobject, VGroup

from attncore.files import write_atomically

from .context import Ctx, Num, Source, _text
from .strings import catalogue, plural_form
from .texts import _layout, _make, text

# manim units per SVG unit, so that a formula at `size` stands as tall as Text at font_size `size`
# (measured: "QxdH" is 0.311 units tall as Noto Sans at 24, 21.07 SVG units as ziamath's size 24)
SCALE = 0.311 / 21.07
SLOT = re.compile(r"⟨(\w+)⟩")  # where a number goes: ⟨name⟩ (LaTeX has the braces)
VERSION = 2  # of the SVG files written (2: with the baseline speck)


@functools.lru_cache(maxsize=256)
def _svg(latex: str, size: float) -> str:
    import ziamath

    ziamath.config.svg2 = False  # plain paths: manim's SVG reader does not place <symbol> glyphs
    svg = ziamath.Latex(latex, size=size).svg()
    # a speck on the baseline (y = 0 in ziamath's drawing), last: `formula` reads where it lands and removes it
    return svg.replace("</svg>", '<rect x="0" y="-0.001" width="0.002" height="0.002" fill="black" /></svg>')


def svg_file(latex: str, size: float) -> Path:
    """The formula as an SVG file in manim's text folder, written whole once (renders at once share
    it); one found damaged is written again. When that folder cannot take it (a full disk, a folder
    made read-only), it goes to this process's private folder: the render goes on."""
    from manim import config

    from .cache_writes import holds, keep, private_folder

    data = _svg(latex, size).encode("utf-8")
    name = f"math-{hashlib.sha256(f'{VERSION}:{size}:{latex}'.encode()).hexdigest()[:20]}.svg"
    for folder in (Path(config.get_dir("text_dir")), private_folder()):
        path = folder / name
        if holds(path, data) or keep(path, data):
            return path
    write_atomically(path, data)  # the private folder: a failure here is the render's
    return path


class Formula(SVGMobject):
    """A typeset formula (made by `formula`): its `latex`, `size`, `font_size` (its size as Text's
    font_size, after any scaling, as Text's own), and where its baseline lies: `baseline_at`, a
    fraction of its height above its bottom."""

    latex, size, baseline_at = "", 0.0, 0.0

    @property
    def font_size(self) -> float:
        return self.size * self.height / self.initial_height


def formula(ctx: Ctx, latex: str, size: float, color, **numbers: tuple[str, Source]) -> Formula:
    """`latex` typeset at `size` (as Text's font_size) in `color`; each ⟨name⟩ in it is the number
    `numbers[name]` = (attncore's value formatted, its Source), recorded in the log."""
    filled = SLOT.sub(lambda m: ctx.number(*numbers[m.group(1)]).replace("−", "-"), latex)
    return _typeset(filled, float(size), str(color)).copy()


@functools.lru_cache(maxsize=512)
def _typeset(filled: str, size: float, color: str) -> Formula:
    """Typeset once per process (a copy each use): reading the SVG's outlines is the slow part."""
    mobject = Formula(str(svg_file(filled, size)), height=None, width=None, stroke_width=0)
    speck = mobject.submobjects[-1]  # on the baseline (see _svg)
    mobject.remove(speck)
    above = speck.get_center()[1] - mobject.get_center()[1]
    mobject.scale(SCALE).set_fill(color, 1)  # about its centre
    mobject.latex, mobject.size, mobject.initial_height = filled, size, mobject.height
    mobject.baseline_at = (mobject.get_center()[1] + above * SCALE - mobject.get_bottom()[1]) / mobject.height
    return mobject


# ---- lines of words and formulas -------------------------------------------------------------------
# The catalogues write formulas in plain Unicode (Q = X·W_Q, Q·Kᵀ, √d_k), as the script, the handout and
# the subtitles show them. On screen each such piece is typeset: NOTATION maps the way the catalogues
# write it ({name}: a parameter) to LaTeX (⟨name⟩: where that parameter goes, a number recorded in the
# log). Pieces are matched longest first; the words around them stay text, on the formula's baseline.

NOTATION: dict[str, str] = {
    "Attention(Q, K, V) = softmax(Q·Kᵀ / √d_k) · V":
        r"\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\left(\frac{QK^{T}}{\sqrt{d_k}}\right)V",
    "Q = X·W_Q + b_Q, K = X·W_K + b_K, V = X·W_V + b_V": r"Q = XW_Q + b_Q,\;\; K = XW_K + b_K,\;\; V = XW_V + b_V",
    "Q = X·W_Q + b_Q，K = X·W_K + b_K，V = X·W_V + b_V": r"Q = XW_Q + b_Q,\;\; K = XW_K + b_K,\;\; V = XW_V + b_V",
    "Q = X·W_Q, K = X·W_K, V = X·W_V": r"Q = XW_Q,\;\; K = XW_K,\;\; V = XW_V",
    "Q = X·W_Q，K = X·W_K，V = X·W_V": r"Q = XW_Q,\;\; K = XW_K,\;\; V = XW_V",
    "Q = RoPE(X·W_Q + b_Q)": r"Q = \mathrm{RoPE}(XW_Q + b_Q)",
    "K = RoPE(X·W_K + b_K)": r"K = \mathrm{RoPE}(XW_K + b_K)",
    "Q = RoPE(X·W_Q)": r"Q = \mathrm{RoPE}(XW_Q)",
    "K = RoPE(X·W_K)": r"K = \mathrm{RoPE}(XW_K)",
    "Q = X·W_Q + b_Q": r"Q = XW_Q + b_Q",
    "K = X·W_K + b_K": r"K = XW_K + b_K",
    "V = X·W_V + b_V": r"V = XW_V + b_V",
    "Q = X·W_Q": r"Q = XW_Q",
    "K = X·W_K": r"K = XW_K",
    "V = X·W_V": r"V = XW_V",
    "W_{w}": r"W_{⟨w⟩}",
    "W_Q": r"W_Q",
    "W_K": r"W_K",
    "W_V": r"W_V",
    "= Q·Kᵀ": r"= QK^{T}",
    "A = softmax(Q·Kᵀ / √d_k)": r"A = \mathrm{softmax}(QK^{T} / \sqrt{d_k})",
    "Q·Kᵀ / √d_k": r"QK^{T} / \sqrt{d_k}",
    "Q·Kᵀ": r"QK^{T}",
    "÷ √d_k = √{dk} = {scale}": r"\div \sqrt{d_k} = \sqrt{⟨dk⟩} = ⟨scale⟩",
    "÷ √d_k": r"\div \sqrt{d_k}",
    "√d_k": r"\sqrt{d_k}",
    "z = Σ aⱼ · vⱼ": r"z = \sum_j a_j v_j",
    "Z = A·V": r"Z = AV",
    "A = softmax": r"A = \mathrm{softmax}",
    "d_model": r"d_{\mathrm{model}}",
    "d_head": r"d_{\mathrm{head}}",
    "q = x·W_Q": r"q = xW_Q",
    "k = x·W_K": r"k = xW_K",
    "v = x·W_V": r"v = xW_V",
    "x + z·W_O": r"x + zW_O",
    "W_O": r"W_O",
    "b_O": r"b_O",
    "e^s": r"e^{s}",
}
_PIECES = re.compile("|".join(re.escape(k) for k in sorted(NOTATION, key=len, reverse=True)))
_PARAM = re.compile(r"{(\w+)}")


def pieces(s: str) -> list[tuple[str, str | None]]:
    """`s` cut into (words, None) and (formula as written, its LaTeX), in order."""
    out, at = [], 0
    for m in _PIECES.finditer(s):
        if m.start() > at:
            out.append((s[at:m.start()], None))
        out.append((m.group(), NOTATION[m.group()]))
        at = m.end()
    if at < len(s):
        out.append((s[at:], None))
    return out


@functools.lru_cache(maxsize=1024)
def _baseline_at(s: str, size: float, font: str) -> float:
    """Where the baseline of `s` laid out by Pango lies, as a fraction of its height above its bottom:
    measured by an "H" (which stands on the baseline) set after it."""
    laid, alone = _layout(s + "H", size, "#FFFFFF", font), _layout(s, size, "#FFFFFF", font)
    glyphs = laid.submobjects
    if len(glyphs) != len(alone.submobjects) + 1 or not alone.height:
        return 0.2  # a right-to-left line (MarkupText) or blank: about where a Latin line's baseline lies
    body = VGroup(*glyphs[:-1])
    return (glyphs[-1].get_bottom()[1] - body.get_bottom()[1]) / body.height


def _blank(c: str, size: float, share: float) -> float:
    """The blank a full-width punctuation mark (：，（）) keeps in its em box, which measuring its ink loses:
    `share` of an em (Noto Sans CJK's em at `size`: 0.0139 units a point)."""
    full = c and unicodedata.category(c).startswith("P") and unicodedata.east_asian_width(c) in "FW"
    return share * 0.0139 * size if full else 0.0


def rich(ctx: Ctx, template: str, size: float | None = None, color=None, max_width: float | None = None,
         params: dict | None = None):
    """A line whose formulas are typeset (NOTATION) and whose words are text, on one baseline, the
    formulas as tall as the words. `template` is a catalogue string filled with `params` (words and
    numbers; a number inside a formula is typeset in it and recorded, one in the words is recorded
    too), or, without `params`, a line already filled. Without a formula: `text` as ever. Shrunk to
    `max_width` down to the minimum font size; past that, the line as text, cut with "…"."""
    theme = ctx.theme
    size, color = float(size or theme.caption_size), color or theme.text
    params = params or {}
    fill = (lambda s: s.format(**{k: _text(v) for k, v in params.items()})) if params else (lambda s: s)
    cut = pieces(template)
    slotted = {name for written, latex in cut if latex for name in _PARAM.findall(written)}
    for name, value in params.items():  # the numbers in the words: recorded as the caption shows them
        for num in (value if isinstance(value, (list, tuple)) else [value]):
            if isinstance(num, Num) and name not in slotted:
                ctx.number(num.text, num.source)
    if all(latex is None for _, latex in cut):
        return text(ctx, fill(template), size, color, max_width)
    parts, between, pending = [], [], 0.0
    space, touch = 0.0036 * size, 0.0016 * size  # a space of Noto Sans at `size`; side bearings

    def add(part):
        nonlocal pending
        if parts:  # a space beside a formula as wide as TeX's between words and a relation (= against text)
            between.append(pending * (1.6 if isinstance(part, Formula) or isinstance(parts[-1], Formula) else 1))
        parts.append(part)
        pending = touch

    for written, latex in cut:
        if latex is None:
            words = fill(written)
            pending = max(pending, space * (len(words) - len(words.lstrip())), _blank(words.lstrip()[:1], size, 0.3))
            if words.strip():
                t = _make(ctx, words.strip(), size, color)
                t.baseline_at = _baseline_at(words.strip(), size, theme.font(words.strip(), ctx.language))
                add(t)
                pending = max(pending, space * (len(words) - len(words.rstrip())), _blank(words.rstrip()[-1:], size, 0.5))
            continue
        numbers = {}
        for name in _PARAM.findall(written):
            value = params[name]
            if isinstance(value, Num):
                numbers[name] = (value.text, value.source)
            else:  # a name, not a number: into the formula as it is
                latex = latex.replace(f"⟨{name}⟩", str(value))
        add(formula(ctx, latex, size, color, **numbers))
    line = MixedLine(parts, between, template)
    if max_width is not None and line.width > max_width:
        if size * max_width / line.width < theme.min_font_size:
            return text(ctx, fill(template), size, color, max_width)
        line.scale(max_width / line.width)
    return line


def rich_line(ctx: Ctx, key: str, /, size: float | None = None, color=None, max_width: float | None = None, **params):
    """The catalogue string `key`, filled with `params`, as `rich` sets it (plural forms by `n`)."""
    template = catalogue(ctx.language)[key]
    if isinstance(template, dict):
        template = template[plural_form(ctx.language, int(str(params["n"])))]
    return rich(ctx, template, size, color, max_width, params)


class MixedLine(VGroup):
    """Words (Text) and formulas (Formula) side by side on one baseline: `.parts`."""

    def __init__(self, parts, gaps: list[float], written: str):
        super().__init__(*parts)
        self.parts, self.written = parts, written
        x = 0.0
        for part, gap in zip(parts, [0.0, *gaps]):
            x += gap
            part.shift([x - part.get_left()[0], -(part.get_bottom()[1] + part.baseline_at * part.height), 0])
            x = part.get_right()[0]
        self.center()
