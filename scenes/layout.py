"""Where things go: one place computes the geometry every stage shares, so handoffs line up.

All sizes are in manim units (the frame is 14.2 x 8). Grids adapt: fewer, smaller cells for long
sentences and wide vectors, elided with "…" beyond ROW_SLOTS / COL_SLOTS / DIM_SLOTS.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from manim import DOWN, RIGHT, UP, VGroup

from attncore import pct

from .components import Ctx, Grid, TokenGrid, elision_note, half_width, plan_axis

ROW_SLOTS = 12  # token rows shown at most (the rest elided)
COL_SLOTS = 10  # token columns shown at most in the S x S grids
DIM_SLOTS = 5  # vector dimensions shown at most
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


@dataclass
class Layout:
    ctx: Ctx

    @property
    def S(self) -> int:
        return self.ctx.result.n_tokens

    @cached_property
    def rows(self):
        return plan_axis(self.S, ROW_SLOTS, keep=[self.ctx.focus])

    @cached_property
    def token_cols(self):
        return plan_axis(self.S, COL_SLOTS, keep=[self.ctx.focus])

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
        half_w = half_width()
        avail = 2 * half_w - LABEL_W - 0.3 - 2 * PROJ_GAP - 3 * BRACKETS_W
        return self._fit((r.d_model, r.d_model, max(r.d_k, r.d_v)), avail)

    @cached_property
    def _qkv(self) -> tuple[int, float]:
        """Q, K and V side by side, token labels on the left."""
        r = self.ctx.result
        half_w = half_width()
        return self._fit((r.d_k, r.d_k, r.d_v), 2 * half_w - LABEL_W - 0.3 - 2 * QKV_GAP - 3 * BRACKETS_W)

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
        half_w = half_width()
        w = min(1.05, (2 * half_w - LABEL_W - 0.4) / (len(self.token_cols) + 1))
        h = min(0.5, (CONTENT_TOP - CONTENT_BOTTOM - 0.6) / len(self.rows))
        return max(0.84, w), h

    def token_matrix(self, name: str, values, cols, cell_w: float, labels: bool = True, **kw) -> TokenGrid:
        theme = self.ctx.theme
        return TokenGrid(
            self.ctx, name, values, self.rows, cols,
            cell_w=cell_w, cell_h=self.row_h, font_size=font_for(cell_w, self.row_h, theme),
            row_labels=self.ctx.result.tokens if labels else None, label_width=LABEL_W, **kw,
        )

    # ---- handoffs: what one stage ends with and the next begins with ----------------------------

    def x_grid(self, name: str = "X") -> VGroup:
        """X (or the embeddings, same geometry) at the left, where the projection stage uses it."""
        r = self.ctx.result
        values = r.X if name == "X" else r.embeddings
        grid = self.token_matrix(name, values, self.proj_dims(r.d_model), self.proj_cell_w)
        half_w = half_width()
        box = grid.grid_box()
        grid.shift(RIGHT * (-half_w + LABEL_W + 0.3 - box.get_left()[0]) + UP * (top_for(box.height) - box.get_top()[1]))
        return grid

    def name_over(self, grid: Grid, text: str, color) -> VGroup:
        return self.ctx.text(text, self.ctx.theme.label_size + 4, color).next_to(grid.grid_box(), UP, buff=0.15)

    def x_block(self) -> VGroup:
        grid = self.x_grid()
        return VGroup(grid, self.name_over(grid, "X", self.ctx.theme.X))

    def token_labels(self) -> VGroup:
        return VGroup(*self.x_grid().row_labels.values())

    def qkv_row(self) -> VGroup:
        """Q, K and V side by side, token labels on Q's left, meaning captions below."""
        r, theme, ctx = self.ctx.result, self.ctx.theme, self.ctx
        w = self.qkv_cell_w
        grids = [
            self.token_matrix(n, getattr(r, n), self.qkv_dims(getattr(r, n).shape[1]), w, labels=(n == "Q"))
            for n in ("Q", "K", "V")
        ]
        for prev, g in zip(grids, grids[1:]):
            g.next_to(prev.grid_box(), RIGHT, buff=QKV_GAP)
        half_w = half_width()
        block = VGroup(*grids)
        block.shift(RIGHT * (-half_w + LABEL_W + 0.3 - grids[0].grid_box().get_left()[0]))
        box = grids[0].grid_box()
        block.shift(UP * (top_for(box.height + 0.8) - box.get_top()[1]))
        parts = VGroup()
        for n, g in zip(("Q", "K", "V"), grids):
            color = theme.matrix_color(n)
            name = self.name_over(g, n, color)
            meaning = ctx.text(
                ctx.s(f"projection.{ {'Q': 'query', 'K': 'key', 'V': 'value'}[n] }"),
                theme.min_font_size + 2, color, max_width=max(g.grid_box().width + 0.5, 3.2),
            ).next_to(g.grid_box(), DOWN, buff=0.25)
            parts.add(VGroup(g, name, meaning))
        return parts

    def square_grid(self, name: str, **kw) -> TokenGrid:
        """An S x S grid of `name` (scores, scaled or weights), queries as rows and keys as columns."""
        r, theme = self.ctx.result, self.ctx.theme
        w, h = self.grid_cell
        grid = TokenGrid(
            self.ctx, name, getattr(r, name), self.rows, self.token_cols,
            cell_w=w, cell_h=h, font_size=font_for(w, h, theme),
            row_labels=r.tokens, col_labels=r.tokens, label_width=LABEL_W, **kw,
        )
        box = grid.grid_box()
        grid.shift(UP * (top_for(box.height) - box.get_top()[1]) + RIGHT * (-grid.get_center()[0] - w / 2))
        return grid

    def masked_text(self):
        r = self.ctx.result
        return (lambda i, j: None if r.mask[i, j] else "−∞") if r.causal else None

    def masked_fill(self):
        r, theme = self.ctx.result, self.ctx.theme
        return (lambda i, j: theme.heat_low if r.mask[i, j] else theme.masked) if r.causal else None

    def weights_block(self) -> VGroup:
        """The percentages on a heat-coloured grid, with each row's total in a column beside it."""
        r, ctx, theme = self.ctx.result, self.ctx, self.ctx.theme
        grid = self.square_grid("weights", percent=True, colorize=False, fill=lambda i, j: theme.heat(r.weights[i, j]))
        w, h = self.grid_cell
        sums = VGroup()
        for row, i in enumerate(grid.rows):
            if i is not None:
                t = ctx.number(pct(r.weights[i].sum()), ("pct", "weights_sum", i), font_for(w, h, theme), theme.text)
                sums.add(t.move_to(grid.slot_point(row, len(grid.cols)) + RIGHT * 0.3))
        header = ctx.text(ctx.s("softmax.sum"), theme.label_size, theme.dim)
        header.move_to(grid.slot_point(0, len(grid.cols)) + RIGHT * 0.3 + UP * (h / 2 + 0.22))
        return VGroup(grid, sums, header)

    def z_block(self) -> VGroup:
        r, ctx, theme = self.ctx.result, self.ctx, self.ctx.theme
        grid = self.token_matrix("output", r.output, self.qkv_dims(r.d_v), self.qkv_cell_w + 0.1)
        grid.move_to(grid.get_center() - grid.grid_box().get_center() * [1, 0, 0])
        grid.shift(UP * (top_for(grid.grid_box().height) - grid.grid_box().get_top()[1]))
        name = ctx.text(ctx.s("weighted.all", s=r.n_tokens, d=r.d_v), theme.label_size + 2, theme.Z)
        name.next_to(grid.grid_box(), UP, buff=0.15)
        return VGroup(grid, name)

    def notes(self, *axes: tuple[list, int, str]) -> list[str]:
        """Elision notes for the (slots shown, total, "tokens" or "dims") axes a stage draws."""
        return [n for slots, total, what in axes if (n := elision_note(self.ctx, slots, total, what))]

