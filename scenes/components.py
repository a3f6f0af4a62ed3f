"""Reusable pieces: the drawing context, LaTeX-free number grids with elision, and fitted labels.

Every number a stage shows is made by `Ctx.number`, which records what it shows and where the value
came from, so tests can compare the screen with attncore.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
from manim import DOWN, LEFT, RIGHT, UP, Rectangle, Text, VectorizedPoint, VGroup, VMobject, config

from attncore import AttentionResult, fmt, pct

from .strings import catalogue
from .theme import DEFAULT_THEME, Theme

Slot = int | None  # an index into the data, or None for an elision mark
NUMBER_FORMATS = {"fmt": fmt, "pct": pct}


@dataclass(frozen=True)
class Shown:
    """One number put on screen: its text and the attncore field (name, *indices) it shows."""

    text: str
    source: tuple
    stage: str = ""


@dataclass
class Ctx:
    """What a stage needs to draw: the numbers, the focus token, theme, strings and a record of output."""

    result: AttentionResult
    focus: int
    theme: Theme = DEFAULT_THEME
    language: str = "en"
    shown: list[Shown] = field(default_factory=list)
    stage: str = ""  # the stage being drawn, recorded with each number

    def s(self, key: str, **kwargs) -> str:
        return catalogue(self.language)[key].format(**kwargs)

    def text(self, s: str, size: float | None = None, color: str | None = None, max_width: float | None = None) -> Text:
        """Plain text (never Pango markup, so < > & show as typed), shrunk or cut to fit max_width."""
        size, color = size or self.theme.caption_size, color or self.theme.text
        t = self._make(s, size, color)
        if max_width is not None and t.width > max_width:
            t = self._fit(s, size, color, max_width)
        return t

    def _make(self, s: str, size: float, color) -> Text:
        return Text(s, font=self.theme.font, font_size=size, color=color)

    def _fit(self, s: str, size: float, color, max_width: float) -> Text:
        """Shrink to the minimum font size, then cut characters and end with "…"."""
        make = lambda text, sz: self._make(text, sz, color)  # noqa: E731
        t = make(s, size)
        scaled = size * max_width / t.width
        if scaled >= self.theme.min_font_size:
            return make(s, scaled)
        chars = list(s)
        while len(chars) > 1:
            chars.pop()
            t = make("".join(chars) + "…", self.theme.min_font_size)
            if t.width <= max_width:
                return t
        return t

    def number(self, s: str, source: tuple, size: float, color) -> Text:
        """A number on screen. `source` is (format, field, *index): format "fmt", "pct" or "masked";
        field an AttentionResult attribute, or (step_function, *args, attribute) from attncore.steps."""
        self.shown.append(Shown(s, source, self.stage))
        return self._make(s, size, color)

    def token(self, i: int) -> str:
        return self.result.tokens[i]


def plan_axis(n: int, max_slots: int, keep: Sequence[int] = ()) -> list[Slot]:
    """Which of n indices to show in at most max_slots slots: all, or a head, the kept ones and the
    last, with None where a run is elided."""
    if n <= max_slots:
        return list(range(n))
    chosen = {n - 1, *keep}

    def slots(idx: set[int]) -> list[Slot]:
        out: list[Slot] = []
        for i in sorted(idx):
            if (out[-1] if out else -1) != i - 1:
                out.append(None)
            out.append(i)
        return out

    for i in range(n):
        if len(slots(chosen | {i})) > max_slots:
            break
        chosen.add(i)
    return slots(chosen)


def elision_note(ctx: Ctx, slots: Sequence[Slot], total: int, what: str) -> str | None:
    shown = sum(s is not None for s in slots)
    if shown == total:
        return None
    return ctx.s("elided", shown=shown, total=total, what=ctx.s(f"what.{what}"))


def bracket(height: float, color, side: int, width: float = 0.12, stroke: float = 2.5) -> VMobject:
    """A square bracket drawn as a polyline; side -1 opens right ([), +1 opens left (])."""
    h = height / 2
    pts = [(-side * width, h, 0), (0, h, 0), (0, -h, 0), (-side * width, -h, 0)]
    return VMobject(stroke_color=color, stroke_width=stroke).set_points_as_corners(np.array(pts, dtype=float))


class Grid(VGroup):
    """A matrix of numbers between drawn brackets, with optional row/column labels and cell fills.

    `rows` / `cols` list the data indices to show, None marking an elision ("…" / "⋮").
    `cell_text(i, j)` may override a cell's text (e.g. masked cells); `fill(i, j)` gives a background.
    `name` is the attncore field shown (or a (step, args..., attribute) tuple, see `Ctx.number`) and
    `index(i, j)` the index into it, recorded with each number.
    """

    def __init__(
        self,
        ctx: Ctx,
        name: str,
        values: np.ndarray,
        rows: Sequence[Slot],
        cols: Sequence[Slot],
        *,
        cell_w: float,
        cell_h: float,
        font_size: float,
        percent: bool = False,
        index: Callable[[int, int], tuple] = lambda i, j: (i, j),
        row_labels: Sequence[str] | None = None,
        col_labels: Sequence[str] | None = None,
        color: str | None = None,
        colorize: bool = True,
        cell_text: Callable[[int, int], str | None] | None = None,
        fill: Callable[[int, int], object] | None = None,
        label_width: float = 1.6,
        brackets: bool = True,
    ):
        super().__init__()
        theme = ctx.theme
        self.rows, self.cols, self.cell_w, self.cell_h = list(rows), list(cols), cell_w, cell_h
        self.anchor = VectorizedPoint()  # slot (0, 0): moves with the grid, see slot_point
        self.add(self.anchor)
        self.color = color or theme.matrix_color(name)
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
                    m = ctx.text(mark, font_size, theme.dim).move_to(center)
                    self.marks.add(m)
                    continue
                override = cell_text(i, j) if cell_text else None
                if override is not None:
                    t = ctx.number(override, ("masked", name, *index(i, j)), font_size, theme.dim)
                else:
                    kind = "pct" if percent else "fmt"
                    tint = theme.value_color(values[i, j], vmax) if colorize else theme.text
                    t = ctx.number(NUMBER_FORMATS[kind](values[i, j]), (kind, name, *index(i, j)), font_size, tint)
                if t.width > cell_w * 0.92:
                    t.scale_to_fit_width(cell_w * 0.92)
                self.cells[i, j] = t.move_to(center)
                if fill is not None:
                    rect = Rectangle(width=cell_w * 0.96, height=cell_h * 0.92, stroke_width=0)
                    rect.set_fill(fill(i, j), opacity=1).move_to(center)
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
        label_size = min(theme.label_size, max(theme.min_font_size, font_size))
        if row_labels is not None:
            for r, i in enumerate(self.rows):
                if i is None:
                    continue
                lab = ctx.text(row_labels[i], label_size, self.label_color(ctx, i), max_width=label_width)
                lab.move_to(self.slot_center(r, 0)).align_to([left - 0.25, 0, 0], RIGHT)
                self.row_labels[i] = lab
            self.add(*self.row_labels.values())
        if col_labels is not None:
            for c, j in enumerate(self.cols):
                if j is None:
                    continue
                lab = ctx.text(col_labels[j], label_size, self.label_color(ctx, j), max_width=cell_w * 0.95)
                lab.move_to(self.slot_center(0, c) + UP * (cell_h / 2 + 0.22))
                self.col_labels[j] = lab
            self.add(*self.col_labels.values())

    def label_color(self, ctx: Ctx, i: int):
        return ctx.theme.text

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


class TokenGrid(Grid):
    """A Grid whose labels are tokens: the focus token's label is highlighted."""

    def label_color(self, ctx: Ctx, i: int):
        return ctx.theme.accent if i == ctx.focus else ctx.theme.text


def half_width(margin: float = 0.25) -> float:
    """Half the usable width of the frame."""
    return config.frame_width / 2 - margin


def place_heading(m: Text) -> Text:
    return m.to_edge(UP, buff=0.3)


def place_caption(m: Text) -> Text:
    return m.to_edge(DOWN, buff=0.3)

