"""Reusable pieces: LaTeX-free number grids with elision, a labelled vector row, named pictures, rows
of tokens. Their text and numbers are scenes.texts' (`number_text` records each number's source).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from manim import (
    DOWN,
    LEFT,
    RIGHT,
    UP,
    LaggedStart,
    Rectangle,
    RoundedRectangle,
    Text,
    VectorizedPoint,
    VGroup,
    VMobject,
    Wait,
)

from attncore.focus import CLOSING  # what join_tokens writes with no space before it: 。，」) . ,
from attncore.tables import Slot, plan_axis  # noqa: F401  (scenes import plan_axis from here)

from .context import FORMATS, Ctx, Source
from .texts import _make, fit_width, number_text, one_size, text

SourceAt = Source | Callable[[int, int], Source]


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
            shown = [row_labels[i] for i in self.rows if i is not None]
            row_size, _ = one_size(ctx, shown, label_size, label_width) if label_width else (label_size, False)
            for r, i in enumerate(self.rows):
                if i is None:
                    continue
                lab = text(ctx, row_labels[i], row_size, label_color(i), max_width=label_width)
                lab.move_to(self.slot_center(r, 0)).align_to([left - 0.25, 0, 0], RIGHT)
                self.row_labels[i] = lab
            self.add(*self.row_labels.values())
        if col_labels is not None:  # one size; staggered (every other one a line up, with two cells' width) rather than cut
            col_size, staggered = one_size(ctx, [col_labels[j] for j in self.cols if j is not None], label_size,
                                           cell_w * 0.95, cell_w * 1.9)
            up = text(ctx, "Ag", col_size).height + 0.06 if staggered else 0.0
            for c, j in enumerate(self.cols):
                if j is None:
                    continue
                lab = text(ctx, col_labels[j], col_size, label_color(j), max_width=cell_w * (1.9 if staggered else 0.95))
                lab.move_to(self.slot_center(0, c) + UP * (cell_h / 2 + max(0.22, 0.1 + lab.height / 2) + (up if c % 2 else 0.0)))
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
