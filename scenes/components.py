"""Reusable pieces: fitted text, LaTeX-free number grids with elision, a labelled vector row, named
pictures, and fitting to the frame. Every number is drawn by `number_text`, which records its source.
"""

from __future__ import annotations

import functools
import html
from typing import Callable, Sequence

import numpy as np
from manim import (
    DOWN,
    LEFT,
    RIGHT,
    UP,
    LaggedStart,
    MarkupText,
    Rectangle,
    RoundedRectangle,
    Text,
    VectorizedPoint,
    VGroup,
    VMobject,
    Wait,
    config,
)

from attncore.focus import CLOSING  # what join_tokens writes with no space before it: 。，」) . ,
from attncore.tables import Slot, plan_axis  # noqa: F401  (scenes import plan_axis from here)
from attncore.tokens import graphemes

from .context import FORMATS, Ctx, Source
from .glyphs import code_point, has_ltr, is_rtl, stand_in

SourceAt = Source | Callable[[int, int], Source]


# ---- text -----------------------------------------------------------------------------------------

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


def text(ctx: Ctx, s: str, size: float | None = None, color=None, max_width: float | None = None) -> Text:
    """Plain text (never Pango markup, so < > & show as typed) in the language's font, shrunk to
    the minimum font size and then cut with "…" to fit `max_width`."""
    size, color = size or ctx.theme.caption_size, color or ctx.theme.text
    t = _make(ctx, s, size, color)
    if max_width is None or t.width <= max_width:
        return t
    scaled = size * max_width / t.width
    if scaled >= ctx.theme.min_font_size:
        return _make(ctx, s, scaled, color)
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


# ---- grids ----------------------------------------------------------------------------------------

def bracket(height: float, color, side: int, width: float = 0.12, stroke: float = 2.5) -> VMobject:
    """A square bracket drawn as a polyline; side -1 opens right ([), +1 opens left (])."""
    h = height / 2
    pts = [(-side * width, h, 0), (0, h, 0), (0, -h, 0), (-side * width, -h, 0)]
    return VMobject(stroke_color=color, stroke_width=stroke).set_points_as_corners(np.array(pts, dtype=float))


class Grid(VGroup):
    """A matrix of numbers between drawn brackets, with optional row/column labels and cell fills.

    `rows` / `cols` list the data indices to show, None marking an elision ("…" / "⋮").
    `source` says which attncore value cell (i, j) shows: a Source (cell (i, j) is `source.at(i, j)`)
    or a function of (i, j). `cell_text(i, j)` may override a cell (a masked one); `fill(i, j)` gives
    a background colour.
    """

    def __init__(
        self,
        ctx: Ctx,
        values: np.ndarray,
        rows: Sequence[Slot],
        cols: Sequence[Slot],
        *,
        source: SourceAt,
        cell_w: float,
        cell_h: float,
        font_size: float,
        color=None,
        colorize: bool = True,
        row_labels: Sequence[str] | None = None,
        col_labels: Sequence[str] | None = None,
        cell_text: Callable[[int, int], str | None] | None = None,
        fill: Callable[[int, int], object] | None = None,
        label_width: float = 1.6,
        brackets: bool = True,
        highlight: int | None = None,
    ):
        super().__init__()
        theme = ctx.theme
        at = source.at if isinstance(source, Source) else source
        self.rows, self.cols, self.cell_w, self.cell_h = list(rows), list(cols), cell_w, cell_h
        self.anchor = VectorizedPoint()  # slot (0, 0): moves with the grid, see slot_point
        self.add(self.anchor)
        self.color = color or theme.text
        vmax = float(np.abs(values).max()) if values.size else 0.0
        self.cells: dict[tuple[int, int], Text] = {}
        self.fills: dict[tuple[int, int], Rectangle] = {}
        self.marks = VGroup()
        self.body = VGroup()
        fills = VGroup()
        for r, i in enumerate(self.rows):
            for c, j in enumerate(self.cols):
                center = self.slot_center(r, c)
                if i is None or j is None:
                    mark = "⋯" if i is not None else ("⋮" if j is not None else "⋱")
                    self.marks.add(_make(ctx, mark, font_size, theme.dim, theme.number_font).move_to(center))
                    continue
                src = at(i, j)
                override = cell_text(i, j) if cell_text else None
                behind = fill(i, j) if fill is not None else None  # a filled cell's text contrasts with its fill
                if override is not None:
                    masked = Source(src.field, src.index, src.step, "masked")
                    tint = theme.dim if behind is None else theme.readable_on(behind, theme.dim)
                    t = number_text(ctx, override, masked, font_size, tint)
                else:
                    tint = theme.value_color(values[i, j], vmax) if colorize else theme.text
                    tint = tint if behind is None else theme.readable_on(behind, tint)
                    t = number_text(ctx, FORMATS[src.format](values[i, j]), src, font_size, tint)
                if t.width > cell_w * 0.92:
                    t.scale_to_fit_width(cell_w * 0.92)
                self.cells[i, j] = t.move_to(center)
                if fill is not None:
                    rect = Rectangle(width=cell_w * 0.96, height=cell_h * 0.92, stroke_width=0)
                    rect.set_fill(behind, opacity=1).move_to(center)
                    self.fills[i, j] = rect
                    fills.add(rect)
        self.body.add(*self.cells.values(), self.marks)
        self.add(fills, self.body)
        height = len(self.rows) * cell_h
        top, left = cell_h / 2, -cell_w / 2
        self.brackets = VGroup()
        if brackets:
            self.brackets.add(
                bracket(height, self.color, -1).move_to([left - 0.04, top - height / 2, 0], aligned_edge=LEFT),
                bracket(height, self.color, 1).move_to(
                    [left + len(self.cols) * cell_w + 0.04, top - height / 2, 0], aligned_edge=RIGHT
                ),
            )
            self.add(self.brackets)
        self.row_labels: dict[int, Text] = {}
        self.col_labels: dict[int, Text] = {}
        self.label_size = label_size = max(theme.min_font_size, font_size)  # labels as large as the numbers
        label_color = lambda i: theme.accent if i == highlight else theme.text
        if row_labels is not None:
            for r, i in enumerate(self.rows):
                if i is None:
                    continue
                lab = text(ctx, row_labels[i], label_size, label_color(i), max_width=label_width)
                lab.move_to(self.slot_center(r, 0)).align_to([left - 0.25, 0, 0], RIGHT)
                self.row_labels[i] = lab
            self.add(*self.row_labels.values())
        if col_labels is not None:
            for c, j in enumerate(self.cols):
                if j is None:
                    continue
                lab = text(ctx, col_labels[j], label_size, label_color(j), max_width=cell_w * 0.95)
                lab.move_to(self.slot_center(0, c) + UP * (cell_h / 2 + max(0.22, 0.1 + lab.height / 2)))
                self.col_labels[j] = lab
            self.add(*self.col_labels.values())

    def slot_center(self, r: int, c: int) -> np.ndarray:
        """Centre of slot (r, c) while the grid is being built (slot (0, 0) at the origin)."""
        return np.array([c * self.cell_w, -r * self.cell_h, 0.0])

    def slot_point(self, r: int, c: int) -> np.ndarray:
        """Centre of slot (r, c) where the grid is now; c may run past the last column."""
        return self.anchor.get_center() + self.slot_center(r, c)

    def row(self, i: int) -> VGroup:
        return VGroup(*(t for (a, _), t in self.cells.items() if a == i))

    def col(self, j: int) -> VGroup:
        return VGroup(*(t for (_, b), t in self.cells.items() if b == j))

    def grid_box(self) -> VGroup:
        """The cells, marks and brackets, without labels (for aligning by the matrix itself)."""
        return VGroup(self.body, self.brackets)


class VectorRow(VGroup):
    """A label and one vector as a one-row grid: `vector.grid`, `vector.label`. `slots` are the
    entries shown; `source.at(j)` is entry j's source (or `source(j)` when it is a function). The
    label is text at `label_size` (the theme's), or a mobject made by the caller (a typeset formula)."""

    def __init__(self, ctx: Ctx, values, slots: Sequence[Slot], source, label, *, color, cell_w: float,
                 cell_h: float, font_size: float, label_width: float = 2.6, colorize: bool = True,
                 brackets: bool = True, cell_text=None, label_size: float | None = None):
        super().__init__()
        at = (lambda _, j: source.at(j)) if isinstance(source, Source) else (lambda _, j: source(j))
        self.grid = Grid(ctx, np.asarray(values)[None, :], [0], slots, source=at, cell_w=cell_w, cell_h=cell_h,
                         font_size=font_size, color=color, colorize=colorize, brackets=brackets,
                         cell_text=(lambda _, j: cell_text(j)) if cell_text else None)
        self.label = (text(ctx, label, label_size or ctx.theme.label_size, color, max_width=label_width)
                      if isinstance(label, str) else fit_width(label, label_width))
        self.label.next_to(self.grid.grid_box(), LEFT, buff=0.3)
        self.add(self.grid, self.label)

    @property
    def cells(self):
        return self.grid.cells


class Picture(VGroup):
    """A named picture: the parts given by name are its members, in order, and its attributes
    (`picture.grid`, `picture.name`), so stages never pick parts by position."""

    def __init__(self, kind: str, **parts):
        super().__init__(*parts.values())
        self.kind, self.parts = kind, parts
        for key, part in parts.items():
            setattr(self, key, part)


def arrange_down(*rows, buff: float = 0.3) -> VGroup:
    return VGroup(*rows).arrange(DOWN, buff=buff, aligned_edge=RIGHT)


def row_of(*parts, buff: float = 0.12) -> VGroup:
    return VGroup(*parts).arrange(RIGHT, buff=buff)


def stagger(animations, lag_ratio: float = 0.05):
    """LaggedStart over `animations`, or a pause when there are none (e.g. a one-token sentence)."""
    animations = list(animations)
    return LaggedStart(*animations, lag_ratio=lag_ratio) if animations else Wait()


class Chip(VGroup):
    def __init__(self, label, box):
        super().__init__(box, label)
        self.label, self.box = label, box


HANG = 2  # closing marks kept at a row's end beyond its length ("。”"); past that the row breaks earlier


def token_rows(tokens: Sequence[str], per_row: int) -> list[range]:
    """The tokens in rows of `per_row`, broken as Chinese typesetting breaks lines (kinsoku): a row
    never starts with closing punctuation (。，、；：？！）」』”, . , ; : ? ! and the like): up to HANG such
    tokens stay at the end of the row before; more, and the row breaks one word earlier, the word
    going down with the marks that close it."""
    closes = [t.strip()[:1] in CLOSING for t in tokens]
    rows, start = [], 0
    while start < len(tokens):
        end = min(start + per_row, len(tokens))
        hung = end
        while hung < len(tokens) and hung - end < HANG and closes[hung]:
            hung += 1
        if hung == len(tokens) or not closes[hung]:
            end = hung
        else:
            while end - 1 > start and closes[end]:
                end -= 1
        rows.append(range(start, end))
        start = end
    return rows


class TokenRow(VGroup):
    """The tokens as chips in reading order (the focus token highlighted), in rows of about
    `per_row` (token_rows: no row starts with a closing mark), fitted to `max_width`. `row[i].label`
    is token i's text, `row[i].box` its frame."""

    def __init__(self, ctx: Ctx, max_width: float, per_row: int = 8, size: float = 28):
        super().__init__()
        theme = ctx.theme
        self.shown = ctx.visible()  # chip k is token shown[k]
        for i in self.shown:
            tok = ctx.result.tokens[i]
            t = text(ctx, tok, size, theme.accent if i == ctx.focus else theme.text, max_width=3.0)
            box = RoundedRectangle(corner_radius=0.1, width=t.width + 0.3, height=0.6, stroke_color=theme.dim, stroke_width=2)
            self.add(Chip(t, box.move_to(t)))
        # rows laid out on their own (a grid's columns would space short chips as widely as long ones)
        rows = VGroup(*(VGroup(*self[r.start:r.stop]).arrange(RIGHT, buff=0.2)
                        for r in token_rows([ctx.result.tokens[i] for i in self.shown], per_row)))
        rows.arrange(DOWN, buff=0.3, aligned_edge=LEFT)
        fit_width(self, max_width)
