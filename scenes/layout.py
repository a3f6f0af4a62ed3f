"""Regions of the frame and slot planning: which rows, columns and dimensions are shown, how big a
cell is. Nothing here draws; `pictures.py` and the stages place things with these numbers.

All sizes are in manim units (the frame is 14.2 x 8). Grids adapt to the free space: a short sentence's
cells grow (up to MAX_CELL_W x MAX_ROW_H, their numbers up to the theme's max_font_size) until its
pictures fill the usable width (FILL of it for a lone matrix and what stands beside it); long sentences and wide vectors get fewer, smaller cells,
elided with "…" beyond ROW_SLOTS / COL_SLOTS / DIM_SLOTS, never below the theme's min_font_size.

Tokens are elided by weight, never by position alone: every picture keeps the focus row's story
(attncore.tables.story_keys: the focus, its three largest keys, every key with 3% or more, and the
tokens asked for with --keep), growing up to its *_MOST slots when the story needs more (past that
the most needed first), and fills the rest with the heaviest keys for the slots they take
(attncore.tables.plan_by_weight). Dimensions are elided by position.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from manim import DOWN, UP

from attncore.tables import elided_runs, plan_by_weight, story_keys

from .components import plan_axis
from .context import Ctx
from .texts import half_width

ROW_SLOTS, ROW_MOST = 12, 13  # token rows shown (the rest elided), and at most when the story needs more
COL_SLOTS, COL_MOST = 10, 12  # token columns in the S x S grids (12 at the narrowest cells, 0.84, fit)
DIM_SLOTS = 5  # vector dimensions shown at most
WEIGHTED_ROWS, WEIGHTED_MOST = 10, 12  # token lines in the weighted sum
LINK_SLOTS = 16  # tokens in the links picture (scenes/arcs.py): 16 are legible at 480p
LABEL_W = 1.6  # width of a column of token labels
CONTENT_TOP = 2.75  # below the heading
CONTENT_BOTTOM = -2.95  # above the caption
MIN_CELL_W = 0.7  # "−0.12" at the minimum font size fits
MAX_CELL_W = 2.2  # the widest cell: a 4-token grid's four columns and labels then span 3/4 of the width
MAX_ROW_H = 0.85  # the tallest row of a token matrix or grid (numbers up to the theme's max_font_size)
FILL = 0.9  # a lone matrix (X, Z) and what stands beside it fill this share of the usable width, at most
PROJ_GAP = 0.9  # between X, W and the result, holding "·" and "="
QKV_GAP = 0.6  # between Q, K and V
BRACKETS_W = 0.35  # a matrix's two brackets and their padding


def top_for(height: float) -> float:
    """Top edge that centres a block of `height` in the content area (never above CONTENT_TOP)."""
    return min(CONTENT_TOP - 0.45, (CONTENT_TOP + CONTENT_BOTTOM) / 2 + height / 2)


def font_for(cell_w: float, cell_h: float, theme, most: float = 22.0) -> float:
    """Largest font (from the theme's minimum up to `most`; the theme's max_font_size for the pictures
    that grow with the free space) whose "−0.00" fits the cell."""
    return max(theme.min_font_size, min(most, cell_w * 0.92 / 0.041, cell_h * 46))


def place_heading(m):
    return m.to_edge(UP, buff=0.3)


def place_caption(m):
    return m.to_edge(DOWN, buff=0.3)


def fit_content(m, grow: float = 1.0):
    """Scale `m` down to fit between the heading and the caption and centre it there; with `grow` > 1,
    up too, by at most that factor, so that a small picture uses the frame (nine tenths of it at most)."""
    top, bottom, width = CONTENT_TOP, CONTENT_BOTTOM + 0.05, 2 * half_width()
    if m.height > top - bottom or m.width > width:
        m.scale(min((top - bottom) / m.height, width / m.width))
    elif grow > 1:
        m.scale(max(1.0, min(grow, 0.9 * (top - bottom) / m.height, 0.9 * width / m.width)))  # never smaller
    return m.move_to([0, (top + bottom) / 2, 0])


@dataclass
class Layout:
    ctx: Ctx

    @property
    def S(self) -> int:
        return self.ctx.result.n_tokens

    @cached_property
    def rows(self):
        return self.tokens(ROW_SLOTS, ROW_MOST)

    @cached_property
    def token_cols(self):
        return self.tokens(COL_SLOTS, COL_MOST)

    @cached_property
    def weighted_rows(self):
        return self.tokens(WEIGHTED_ROWS, WEIGHTED_MOST)

    @cached_property
    def focus_cols(self):
        """A row of token slots for pictures of the focus token's weights drawn one per token (the
        library analogy's shelf)."""
        return self.tokens(COL_SLOTS)

    @cached_property
    def link_cols(self):
        """The links picture's tokens (scenes/arcs.py): all of them up to LINK_SLOTS."""
        return self.tokens(LINK_SLOTS)

    def story(self) -> list[int]:
        """The tokens every picture of the focus row shows, the most needed first: the focus row's
        story and the --keep tokens (attncore.tables.story_keys)."""
        ctx = self.ctx
        return story_keys(ctx.result, ctx.focus, extra=sorted(ctx.keep), skip=ctx.hidden)

    def tokens(self, slots: int, most: int | None = None, also=()):
        """Token indices in `slots` slots, None where a run is elided: all when they fit; else the
        focus row's story, the --keep tokens (`story_keys`) and `also`, in up to `most` slots when they
        need more (as many as fit, the most needed first, past that), and the heaviest of the rest.
        Hidden tokens never (attncore.tables.plan_by_weight)."""
        ctx = self.ctx
        keep = [*self.story(), *(k for k in also if k not in ctx.hidden)]
        return plan_by_weight(self.S, slots, ctx.result.weights[ctx.focus], keep, most, ctx.hidden)

    def runs(self, slots) -> list[tuple[int, ...]]:
        """For each elided run ("…") of a token plan, in order, the tokens it stands for."""
        return elided_runs(self.S, slots, self.ctx.hidden)

    def dims(self, n: int):
        return plan_axis(n, DIM_SLOTS)

    @cached_property
    def row_h(self) -> float:
        """A token matrix's row: as tall as the content area allows, up to MAX_ROW_H."""
        return min(MAX_ROW_H, (CONTENT_TOP - CONTENT_BOTTOM - 0.9) / len(self.rows))

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

    def lone_cell_w(self, n_cols: int, beside: float) -> float:
        """Cell width for one matrix of `n_cols` columns with `beside` units of labels, brackets and what
        stands beside it: as wide as makes them fill FILL of the usable width, within MIN_CELL_W..MAX_CELL_W,
        and no wider than the numbers the rows' height allows need (a long sentence's are small: its
        columns stay close)."""
        theme = self.ctx.theme
        roomy = font_for(MAX_CELL_W, self.row_h, theme, theme.max_font_size) * 0.041 / 0.92 * 1.55
        return max(MIN_CELL_W, min(MAX_CELL_W, roomy, (FILL * 2 * half_width() - beside) / max(1, n_cols)))

    def matrix_cell(self, cell_w: float) -> tuple[float, float]:
        """(row height, font size) of a token matrix with cells `cell_w` wide: the font as large as
        the cell allows, rows as tall as that font needs (0.5 at 17) up to `row_h`."""
        theme = self.ctx.theme
        font = font_for(cell_w, self.row_h, theme, theme.max_font_size)
        return min(self.row_h, max(0.5, font / 34)), font

    @cached_property
    def grid_cell(self) -> tuple[float, float]:
        """Cell size of the S x S grids (scores, scaled, percentages, plus a sum column)."""
        w = min(MAX_CELL_W, (2 * half_width() - LABEL_W - 0.4) / (len(self.token_cols) + 1))
        h = min(MAX_ROW_H, (CONTENT_TOP - CONTENT_BOTTOM - 0.6) / len(self.rows))
        return max(0.84, w), h

    @property
    def grid_font(self) -> float:
        """The S x S grids' numbers (and the sums beside the weights)."""
        return font_for(*self.grid_cell, self.ctx.theme, self.ctx.theme.max_font_size)
