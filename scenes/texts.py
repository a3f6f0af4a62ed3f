"""Text on screen: plain text fitted to a width in the language's font (laid out by Pango once per
process), numbers put together from glyphs laid out once per size (`number_text` records each
number's source), and fitting to the frame's width."""

from __future__ import annotations

import functools
import html

from manim import MarkupText, Text, VGroup, VMobject, config

from attncore.tokens import graphemes, is_cjk

from .context import Ctx, Source
from .glyphs import code_point, has_ltr, is_rtl, stand_in

# ---- text -----------------------------------------------------------------------------------------

def one_size(ctx: Ctx, words, size: float, room: float, staggered_room: float | None = None) -> tuple[float, bool]:
    """The one size a row of labels (tokens) is set at, so that none is smaller than its neighbours: `size`, or
    less so that the widest fits `room`, never below the smallest size. With `staggered_room` (the width a label
    has when every other one steps onto a second line), whether to stagger: when one line would need a size
    below the smallest. A label wider than its room even so is cut by `text`."""
    widest = max((text(ctx, w, size).width for w in words), default=0.0)
    fit = size * min(1.0, room / widest) if widest else size
    if fit >= ctx.theme.min_font_size or staggered_room is None:
        return max(fit, ctx.theme.min_font_size), False
    return max(ctx.theme.min_font_size, size * min(1.0, staggered_room / widest)), True


def wrap(s: str, n: int) -> str:
    """`s` on `n` lines of about equal length: broken at spaces, or between grapheme clusters
    where it has none (Chinese), never inside a word that has spaces around it."""
    words = s.split(" ")
    if len(words) < n and not any(is_cjk(c) for c in s):
        return s  # one long word: cut, not broken in two
    pieces, glue = (words, " ") if len(words) >= n else (graphemes(s), "")
    total = sum(len(p) for p in pieces) + len(glue) * (len(pieces) - 1)
    out, line, done = [], [], 0
    for piece in pieces:
        if line and len(out) < n - 1 and done + len(piece) / 2 > total * (len(out) + 1) / n:
            out.append(glue.join(line))
            line = []
        line.append(piece)
        done += len(piece) + len(glue)
    return "\n".join([*out, glue.join(line)])


def _make(ctx: Ctx, s: str, size: float, color, font: str | None = None) -> Text:
    """A copy of the Text for these arguments: Pango lays each one out once per process, and stages
    rebuild their start pictures from scratch."""
    return _layout(s, float(size), str(color), font or ctx.theme.font(s, ctx.language)).copy()


@functools.lru_cache(maxsize=4096)
def _layout(s: str, size: float, color: str, font: str) -> Text:
    """`s` laid out by Pango: characters no font has by their code points; if nothing at all
    would show (a glyph that is blank), every character by its code point."""
    t = _pango(stand_in(s), size, color, font)
    if not t.family_members_with_points() or t.width == 0:
        t = _pango(" ".join(code_point(ch) for ch in s if not ch.isspace()) or "?", size, color, font)
    return lighten(t)


def lighten(t: Text) -> Text:
    """`t` without what the SVG import leaves behind and nothing reads again: each glyph's parsed
    path (`path_obj`, its points are made) and the SVG's id table. manim copies a mobject whole
    (deepcopy) at the start of every Transform and fade; with these gone a number copies in 0.3 ms
    instead of 11 ms, which was half the time of rendering a video. The SVG file's name is kept as
    text: a Path is rebuilt and parsed again at each deepcopy, a fifth of a word's copy."""
    for glyph in t.get_family():
        if hasattr(glyph, "path_obj"):
            glyph.path_obj = None
    t.id_to_vgroup_dict = {}
    if getattr(t, "file_name", None) is not None:
        t.file_name = str(t.file_name)
    return t


def _pango(s: str, size: float, color: str, font: str) -> Text:
    if is_rtl(s):  # manim's Text drops right-to-left runs; MarkupText keeps Pango's bidi layout
        # a line with left-to-right letters (a caption around a token) reads left to right: a
        # left-to-right mark first sets that direction; a right-to-left token alone keeps its own
        markup = html.escape(("\u200e" if has_ltr(s) else "") + s, quote=False)
        t = MarkupText(markup, font=font, font_size=size, color=color, warn_missing_font=False)
        t.original_text = s
        return t
    # the CJK font draws the middle dot of a formula (X·W_Q) full width: the Latin one draws it
    latin_dot = {"·": "Noto Sans"} if font.startswith("Noto Sans CJK") and "·" in s else {}
    return Text(s, font=font, font_size=size, color=color, t2f=latin_dot,
                warn_missing_font=False)  # a family list, which Pango reads and manim's check does not


def text(ctx: Ctx, s: str, size: float | None = None, color=None, max_width: float | None = None,
         lines: int = 1) -> Text:
    """Plain text (never Pango markup, so < > & show as typed) in the language's font, shrunk to
    the minimum font size, then (with `lines` > 1) wrapped onto as few lines as fit, and only then
    cut with "…" to fit `max_width`."""
    size, color = size or ctx.theme.caption_size, color or ctx.theme.text
    t = None
    for laid in (s, *(wrap(s, n) for n in range(2, lines + 1))):  # one line, then two, ...
        made = _make(ctx, laid, size, color)
        t = t or made  # the one line, kept if nothing can be cut
        if max_width is None or made.width <= max_width:
            return made
        scaled = size * max_width / made.width
        if scaled >= ctx.theme.min_font_size:
            return _make(ctx, laid, scaled, color)
    chars = graphemes(s)  # cut whole grapheme clusters, never a letter from its marks
    if len(chars) < 2:
        return t  # nothing to cut

    def cut(k: int) -> Text:
        return _make(ctx, "".join(chars[:k]) + "…", ctx.theme.min_font_size, color)

    lo, hi = 1, len(chars) - 1  # the longest cut that fits, by bisection (widths grow with k)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if cut(mid).width <= max_width:
            lo = mid
        else:
            hi = mid - 1
    return cut(lo)


def number_text(ctx: Ctx, s: str, source: Source, size: float, color) -> Text:
    """A number on screen: `s` is attncore's value at `source`, formatted; recorded in the log.
    Built from glyphs laid out once per size (`glyph_number`), Pango's layout when a character is
    not among them."""
    s, font = ctx.number(s, source), ctx.theme.number_font
    if set(s) <= set(NUMBER_CHARS):
        return glyph_number(s, float(size), str(color), font).copy()
    return _make(ctx, s, size, color, font=font)


# ---- numbers from glyphs ---------------------------------------------------------------------------
# A video shows hundreds of distinct numbers; Pango laying out and manim importing each one as an SVG
# took half the time of building the pictures. Numbers use few characters, so each is laid out once
# per size and numbers are put together from copies, advanced as Pango advances them.

NUMBER_CHARS = "0123456789.−+e%"  # what attncore's fmt and pct write, but ∞


@functools.lru_cache(maxsize=64)
def _glyphs(size: float, font: str) -> dict[str, tuple[VMobject, float]]:
    """Each character of NUMBER_CHARS as Pango draws it at `size`: its glyph, placed from where its
    pen starts (x = 0, on the line of the digits' feet, y = 0), and its advance. Measured from one
    layout of "00" followed by each character and a "0": the advance of c is the distance between
    the zeros around it less a zero's own advance."""
    sample = "00" + "".join(c + "0" for c in NUMBER_CHARS)
    laid = lighten(_pango(sample, size, "#FFFFFF", font)).submobjects  # one glyph per character
    left = [g.get_left()[0] for g in laid]
    zero = left[1] - left[0]
    base = laid[0].get_bottom()[1]
    glyphs = {"0": (laid[0].copy().shift([-left[0], -base, 0]), zero)}
    for k, c in enumerate(NUMBER_CHARS):
        if c == "0":
            continue
        pen = left[1 + 2 * k] + zero  # the zero before c, and its advance
        glyphs[c] = (laid[2 + 2 * k].copy().shift([-pen, -base, 0]), left[3 + 2 * k] - pen)
    return glyphs


@functools.lru_cache(maxsize=4096)
def glyph_number(s: str, size: float, color: str, font: str) -> Text:
    """The Text Pango would make for the number `s`, put together from `_glyphs` (centred, as Text
    centres itself)."""
    glyphs = _glyphs(size, font)
    t = _layout("0", size, "#FFFFFF", font).copy()  # a Text to hold the glyphs, with its font and size
    pen, parts = 0.0, []
    for c in s:
        glyph, advance = glyphs[c]
        parts.append(glyph.copy().shift([pen, 0, 0]))
        pen += advance
    t.submobjects = parts
    t.chars = VGroup(*parts)
    t.center().set_color(color)
    t.text = t.original_text = s
    t.initial_height = t.height  # as a new Text: its font_size is the size asked for
    return t


def fit_width(m, width: float | None = None):
    """Scale `m` down (never up) to fit `width`, by default the frame's usable width."""
    width = width or 2 * half_width()
    if m.width > width:
        m.scale_to_fit_width(width)
    return m


def half_width(margin: float = 0.25) -> float:
    """Half the usable width of the frame."""
    return config.frame_width / 2 - margin
