"""The pictures stages start from and end on, by name. Each is rebuilt from the numbers alone (a pure
function of the context), so a stage renders on its own and the full video joins stages seamlessly.

    blank    nothing
    tokens   the token labels, where X's row labels stand
    x        X with its token labels and name
    qkv      Q, K and V side by side, each with its name and meaning
    scores   the S x S score grid
    weights  the percentages, heat-coloured, with each row's sum
    z        Z = A·V with its token labels
"""

from __future__ import annotations

from typing import Callable

from manim import DOWN, RIGHT, UP, VGroup

from attncore import pct, steps

from .components import Grid, Picture, half_width, number_text, text
from .context import Ctx, Source
from .layout import LABEL_W, QKV_GAP, Layout, font_for, top_for

MEANING = {"Q": "projection.query", "K": "projection.key", "V": "projection.value"}


def token_matrix(ctx: Ctx, lay: Layout, field: str, cols, cell_w: float, labels: bool = True, **kw) -> Grid:
    """A matrix with one row per token (X, Q, K, V, Z): rows as planned, the focus label highlighted."""
    r, theme = ctx.result, ctx.theme
    return Grid(ctx, getattr(r, field), lay.rows, cols, source=Source(field), cell_w=cell_w, cell_h=lay.row_h,
                font_size=font_for(cell_w, lay.row_h, theme), color=theme.matrix_color(field),
                row_labels=r.tokens if labels else None, label_width=LABEL_W, highlight=ctx.focus, **kw)


def name_over(ctx: Ctx, grid: Grid, s: str, color):
    return text(ctx, s, ctx.theme.label_size + 4, color).next_to(grid.grid_box(), UP, buff=0.15)


def matrix_name(ctx: Ctx, grid: Grid, field: str, name: str):
    """A token matrix's name over it; with its true shape when columns are elided (384 shown as 5)."""
    M = getattr(ctx.result, field)
    if None in grid.cols:
        name = ctx.s("projection.shape", name=name, s=M.shape[0], d=M.shape[1])
    return name_over(ctx, grid, name, ctx.theme.matrix_color(field))


def x_grid(ctx: Ctx, field: str = "X") -> Grid:
    """X (or the embeddings, same geometry) at the left, where the projection stage uses it."""
    lay, r = Layout(ctx), ctx.result
    grid = token_matrix(ctx, lay, field, lay.proj_dims(r.d_model), lay.proj_cell_w)
    box = grid.grid_box()
    grid.shift(RIGHT * (-half_width() + LABEL_W + 0.3 - box.get_left()[0]) + UP * (top_for(box.height) - box.get_top()[1]))
    return grid


def blank(ctx: Ctx) -> Picture:
    return Picture("blank")


def tokens(ctx: Ctx) -> Picture:
    return Picture("tokens", labels=VGroup(*x_grid(ctx).row_labels.values()))


def x(ctx: Ctx) -> Picture:
    grid = x_grid(ctx)
    return Picture("x", grid=grid, title=matrix_name(ctx, grid, "X", "X"))


def qkv(ctx: Ctx) -> Picture:
    """Q, K and V side by side, token labels on Q's left, meaning captions below: `.Q.grid` etc."""
    lay, r, theme = Layout(ctx), ctx.result, ctx.theme
    grids = {n: token_matrix(ctx, lay, n, lay.qkv_dims(getattr(r, n).shape[1]), lay.qkv_cell_w, labels=(n == "Q"))
             for n in ("Q", "K", "V")}
    ordered = list(grids.values())
    for prev, g in zip(ordered, ordered[1:]):
        g.next_to(prev.grid_box(), RIGHT, buff=QKV_GAP)
    block = VGroup(*grids.values())
    first = grids["Q"].grid_box()
    block.shift(RIGHT * (-half_width() + LABEL_W + 0.3 - first.get_left()[0]))
    block.shift(UP * (top_for(first.height + 0.8) - first.get_top()[1]))
    parts = {}
    for n, g in grids.items():
        color = theme.matrix_color(n)
        meaning = text(ctx, ctx.s(MEANING[n]), theme.min_font_size + 2, color,
                       max_width=g.grid_box().width + QKV_GAP - 0.1).next_to(g.grid_box(), DOWN, buff=0.25)
        parts[n] = Picture(n, grid=g, title=matrix_name(ctx, g, n, n), meaning=meaning)
    return Picture("qkv", **parts)


def square_grid(ctx: Ctx, field: str, fmt: str = "fmt", **kw) -> Grid:
    """An S x S grid of `field` (scores, scaled or weights), queries as rows and keys as columns."""
    lay, r, theme = Layout(ctx), ctx.result, ctx.theme
    w, h = lay.grid_cell
    grid = Grid(ctx, getattr(r, field), lay.rows, lay.token_cols, source=Source(field, format=fmt),
                cell_w=w, cell_h=h, font_size=font_for(w, h, theme), color=theme.matrix_color(field),
                row_labels=r.tokens, col_labels=r.tokens, label_width=LABEL_W, highlight=ctx.focus, **kw)
    box = grid.grid_box()
    grid.shift(UP * (top_for(box.height) - box.get_top()[1]) + RIGHT * (-grid.get_center()[0] - w / 2))
    return grid


def masked_text(ctx: Ctx):
    """Cell text for causal masking: "−∞" where the key comes after the query."""
    r = ctx.result
    return (lambda i, j: None if r.mask[i, j] else "−∞") if r.causal else None


def masked_fill(ctx: Ctx):
    r, theme = ctx.result, ctx.theme
    return (lambda i, j: theme.heat_low if r.mask[i, j] else theme.masked) if r.causal else None


def scores(ctx: Ctx) -> Picture:
    return Picture("scores", grid=square_grid(ctx, "scores"))


def scaled_grid(ctx: Ctx) -> Grid:
    return square_grid(ctx, "scaled", cell_text=masked_text(ctx), fill=masked_fill(ctx))


def weights(ctx: Ctx) -> Picture:
    """The percentages on a heat-coloured grid, with each row's total in a column beside it."""
    r, theme, lay = ctx.result, ctx.theme, Layout(ctx)
    grid = square_grid(ctx, "weights", fmt="pct", colorize=False, fill=lambda i, j: theme.heat(r.weights[i, j]))
    w, h = lay.grid_cell
    sums = VGroup()
    totals = steps.row_sums(r)
    for row, i in enumerate(grid.rows):
        if i is not None:
            t = number_text(ctx, pct(totals[i]), Source("", (i,), ("row_sums",), "pct"), font_for(w, h, theme), theme.text)
            sums.add(t.move_to(grid.slot_point(row, len(grid.cols)) + RIGHT * 0.3))
    header = text(ctx, ctx.s("softmax.sum"), theme.label_size, theme.dim)
    header.move_to(grid.slot_point(0, len(grid.cols)) + RIGHT * 0.3 + UP * (h / 2 + 0.22))
    return Picture("weights", grid=grid, sums=sums, header=header)


def z(ctx: Ctx) -> Picture:
    r, theme, lay = ctx.result, ctx.theme, Layout(ctx)
    grid = token_matrix(ctx, lay, "output", lay.qkv_dims(r.d_v), lay.qkv_cell_w + 0.1)
    grid.move_to(grid.get_center() - grid.grid_box().get_center() * [1, 0, 0])
    grid.shift(UP * (top_for(grid.grid_box().height) - grid.grid_box().get_top()[1]))
    title = text(ctx, ctx.s("weighted.all", s=r.n_tokens, d=r.d_v), theme.label_size + 2, theme.Z)
    title.next_to(grid.grid_box(), UP, buff=0.15)
    return Picture("z", grid=grid, title=title)


PICTURES: dict[str, Callable[[Ctx], Picture]] = {
    "blank": blank, "tokens": tokens, "x": x, "qkv": qkv, "scores": scores, "weights": weights, "z": z,
}


def picture(name: str, ctx: Ctx) -> Picture:
    return PICTURES[name](ctx)
