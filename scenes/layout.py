"""Regions of the frame and slot planning: which rows, columns and dimensions are shown, how big a
cell is. Nothing here draws; `pictures.py` and the stages place things with these numbers.

All sizes are in manim units (the frame is 14.2 x 8). Grids adapt: fewer, smaller cells for long
sentences and wide vectors, elided with "…" beyond ROW_SLOTS / COL_SLOTS / DIM_SLOTS.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from manim import DOWN, UP

from attncore import steps

from .components import half_width, plan_axis
from .context import Ctx

ROW_SLOTS = 12  # token rows shown at most (the rest elided)
COL_SLOTS = 10  # token columns shown at most in the S x S grids
DIM_SLOTS = 5  # vector dimensions shown at most
WEIGHTED_ROWS = 10  # token lines shown at most in the weighted sum
LABEL_W = 1.6  # width of a column of token labels
CONTENT_TOP = 2.75  # below the heading
CONTENT_BOTTOM = -2.95  # above the caption
MIN_CELL_W = 0.7  # "−0.12" at the minimum font size fits
PROJ_GAP = 0.9  # between X, W and the result, holding "·" and "="
QKV_GAP = 0.6  # between Q, K and V
BRACKETS_W = 0.35  # a matrix's two brackets and their padding


def top_for(height: float) -> float:
    """Top edge that centres a block of `height` in the content area (never above CONTENT_TOP)."""
    return min(CONTENT_TOP - 0.45, (CONTENT_TOP + CONTENT_BOTTOM) / 2 + height / 2)


def font_for(cell_w: float, cell_h: float, theme) -> float:
    """Largest font (within the theme's range) whose "−0.00" fits the cell."""
    return max(theme.min_font_size, min(22.0, cell_w * 0.92 / 0.041, cell_h * 46))


def place_heading(m):
    return m.to_edge(UP, buff=0.3)


def place_caption(m):
    return m.to_edge(DOWN, buff=0.3)


def fit_content(m):
    """Scale `m` down to fit between the heading and the caption and centre it there."""
    top, bottom, width = CONTENT_TOP, CONTENT_BOTTOM + 0.05, 2 * half_width()
    if m.height > top - bottom or m.width > width:
        m.scale(min((top - bottom) / m.height, width / m.width))
    return m.move_to([0, (top + bottom) / 2, 0])


@dataclass
class Layout:
    ctx: Ctx

    @property
    def S(self) -> int:
        return self.ctx.result.n_tokens

    @cached_property
    def rows(self):
        return self.tokens(ROW_SLOTS)

    @cached_property
    def token_cols(self):
        return self.tokens(COL_SLOTS)

    @cached_property
    def weighted_rows(self):
        return self.tokens(WEIGHTED_ROWS)

    def tokens(self, slots: int, keep=()):
        """Token indices in at most `slots` slots: the focus (and `keep`) always, hidden tokens never."""
        return plan_axis(self.S, slots, keep=[self.ctx.focus, *keep], skip=self.ctx.hidden)

    @cached_property
    def focus_cols(self):
        """A row of token slots that keeps the token the focus attends to most, for pictures of
        the focus token's weights that quote it."""
        return self.tokens(COL_SLOTS, keep=[steps.strongest(self.ctx.result, self.ctx.focus)])

    def dims(self, n: int):
        return plan_axis(n, DIM_SLOTS)

    @cached_property
    def row_h(self) -> float:
        return min(0.5, (CONTENT_TOP - CONTENT_BOTTOM - 0.9) / len(self.rows))

    @staticmethod
    def _fit(sizes: tuple[int, ...], avail: float) -> tuple[int, float]:
        """(dimension slots, cell width) for matrices of these widths side by side in `avail`:
        as many dimensions as fit at MIN_CELL_W or wider."""
        for slots in range(DIM_SLOTS, 2, -1):
            n = sum(len(plan_axis(d, slots)) for d in sizes)
            if avail / n >= MIN_CELL_W:
                break
        return slots, min(0.85, avail / n)

    @cached_property
    def _projection(self) -> tuple[int, float]:
        """X · W = result, with token labels, brackets and the two signs between."""
        r = self.ctx.result
        avail = 2 * half_width() - LABEL_W - 0.3 - 2 * PROJ_GAP - 3 * BRACKETS_W
        return self._fit((r.d_model, r.d_model, max(r.d_k, r.d_v)), avail)

    @cached_property
    def _qkv(self) -> tuple[int, float]:
        """Q, K and V side by side, token labels on the left."""
        r = self.ctx.result
        return self._fit((r.d_k, r.d_k, r.d_v), 2 * half_width() - LABEL_W - 0.3 - 2 * QKV_GAP - 3 * BRACKETS_W)

    def proj_dims(self, n: int):
        return plan_axis(n, self._projection[0])

    @property
    def proj_cell_w(self) -> float:
        return self._projection[1]

    def qkv_dims(self, n: int):
        return plan_axis(n, self._qkv[0])

    @property
    def qkv_cell_w(self) -> float:
        return self._qkv[1]

    @cached_property
    def grid_cell(self) -> tuple[float, float]:
        """Cell size of the S x S grids (scores, scaled, percentages, plus a sum column)."""
        w = min(1.05, (2 * half_width() - LABEL_W - 0.4) / (len(self.token_cols) + 1))
        h = min(0.5, (CONTENT_TOP - CONTENT_BOTTOM - 0.6) / len(self.rows))
        return max(0.84, w), h
