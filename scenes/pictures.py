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

from dataclasses import replace
from typing import Callable

from manim import DL, DOWN, LEFT, RIGHT, UP, UR, Line, VGroup

from attncore import pct, steps

from .components import Grid, Picture
from .context import Ctx, Log, Source
from .formulas import rich, rich_line
from .layout import BRACKETS_W, LABEL_W, QKV_GAP, Layout, top_for
from .texts import half_width, number_text, text

MEANING = {"Q": "projection.query", "K": "projection.key", "V": "projection.value"}
SIDE_GAP = 0.6  # between a lone matrix and the shape or equation at its right


def token_matrix(ctx: Ctx, lay: Layout, field: str, cols, cell_w: float, labels: bool = True, values=None,
                 source: Source | None = None, **kw) -> Grid:
    """A matrix with one row per token (X, Q, K, V, Z): rows as planned, the focus label highlighted. `values`
    and `source` replace the result's `field` (the projection's Q and K before RoPE)."""
    r, theme = ctx.result, ctx.theme
    cell_h, size = lay.matrix_cell(cell_w)
    values = getattr(r, field) if values is None else values
    return Grid(ctx, values, lay.rows, cols, source=source or Source(field), cell_w=cell_w, cell_h=cell_h,
                font_size=size, color=theme.matrix_color(field),
                row_labels=r.tokens if labels else None, label_width=LABEL_W, highlight=ctx.focus, **kw)


def name_size(ctx: Ctx, grid: Grid) -> float:
    """A matrix's name: a little larger than its labels (within the theme's label size + 4 and the
    heading's + 6)."""
    theme = ctx.theme
    return max(theme.label_size + 4, min(grid.label_size + 2, theme.heading_size + 6))


def name_over(ctx: Ctx, grid: Grid, s: str, color):
    """A matrix's name over it (W_Q typeset)."""
    return rich(ctx, s, name_size(ctx, grid), color).next_to(grid.grid_box(), UP, buff=0.15)


def matrix_name(ctx: Ctx, grid: Grid, field: str, name: str):
    """A token matrix's name over it; with its true shape when columns are elided (384 shown as 5)."""
    M = getattr(ctx.result, field)
    if None in grid.cols:
        name = ctx.s("projection.shape", name=name, s=M.shape[0], d=M.shape[1])
    return name_over(ctx, grid, name, ctx.theme.matrix_color(field))


def x_shape(ctx: Ctx):
    """X's shape, "X: 4 × 4  (tokens × d_model)", to stand beside it."""
    r = ctx.result
    return rich_line(ctx, "embeddings.shape", ctx.theme.caption_size + 2, ctx.theme.X,
                     s=ctx.quote(r.n_tokens, Source("n_tokens", format="int")),
                     d=ctx.quote(r.d_model, Source("d_model", format="int")))


def x_grid(ctx: Ctx, field: str = "X", placed: bool = False) -> Grid:
    """X (or the embeddings, the same cells): in the middle with its shape beside it, its cells as large
    as the free space allows (the embeddings stage), or `placed` at the left, where the projection stage
    multiplies it."""
    lay, r = Layout(ctx), ctx.result
    dims = lay.proj_dims(r.d_model)
    if placed:
        grid = token_matrix(ctx, lay, field, dims, lay.proj_cell_w)
        box = grid.grid_box()
        grid.shift(RIGHT * (-half_width() + LABEL_W + 0.3 - box.get_left()[0]) + UP * (top_for(box.height) - box.get_top()[1]))
        return grid
    side = x_shape(replace(ctx, log=Log())).width  # measured only: not shown, not recorded
    return lone(token_matrix(ctx, lay, field, dims, lay.lone_cell_w(len(dims), LABEL_W + 0.3 + BRACKETS_W + SIDE_GAP + side)),
                side)


def lone(grid: Grid, side: float) -> Grid:
    """`grid` with its row labels and, `side` units wide, what stands at its right (SIDE_GAP away),
    centred across the frame, and in the content area with a name over it."""
    box = grid.grid_box()
    left, right = grid.get_left()[0], box.get_right()[0] + SIDE_GAP + side
    grid.shift(LEFT * (left + right) / 2 + UP * (top_for(0.55 + box.height) - 0.55 - box.get_top()[1]))
    return grid


def blank(ctx: Ctx) -> Picture:
    return Picture("blank")


def tokens(ctx: Ctx) -> Picture:
    """X's row labels (the title's end) and, in their column, a "⋮" for each run of rows left out."""
    grid = x_grid(ctx)
    labels = VGroup(*grid.row_labels.values())
    marks = VGroup(*(text(ctx, "⋮", grid.label_size, ctx.theme.dim).move_to(grid.slot_point(k, 0))
                     .set_x(labels.get_right()[0] - 0.25) for k, i in enumerate(grid.rows) if i is None))
    return Picture("tokens", labels=labels, marks=marks)


def x(ctx: Ctx, placed: bool = False) -> Picture:
    """X, its name and its shape, in the middle (the embeddings' end); or X and its name `placed` where
    the projection uses it."""
    grid = x_grid(ctx, placed=placed)
    if placed:
        return Picture("x", grid=grid, title=matrix_name(ctx, grid, "X", "X"))
    shape = x_shape(ctx).next_to(grid.grid_box(), RIGHT, buff=SIDE_GAP)
    return Picture("x", grid=grid, title=matrix_name(ctx, grid, "X", "X"), shape=shape)


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
                       max_width=g.grid_box().width + QKV_GAP - 0.35, lines=2).next_to(g.grid_box(), DOWN, buff=0.25)  # apart
        name = ctx.s("rope.turned_name", name=n) if r.rope is not None and n in "QK" else n  # turned by position
        parts[n] = Picture(n, grid=g, title=matrix_name(ctx, g, n, name), meaning=meaning)
    return Picture("qkv", **parts)


def square_grid(ctx: Ctx, field: str, fmt: str = "fmt", **kw) -> Grid:
    """An S x S grid of `field` (scores, scaled or weights), queries as rows and keys as columns."""
    lay, r, theme = Layout(ctx), ctx.result, ctx.theme
    w, h = lay.grid_cell
    grid = Grid(ctx, getattr(r, field), lay.rows, lay.token_cols, source=Source(field, format=fmt),
                cell_w=w, cell_h=h, font_size=lay.grid_font, color=theme.matrix_color(field),
                row_labels=r.tokens, col_labels=r.tokens, label_width=LABEL_W, highlight=ctx.focus, **kw)
    box = grid.grid_box()
    grid.shift(UP * (top_for(box.height) - box.get_top()[1]) + RIGHT * (-grid.get_center()[0] - w / 2))
    return grid


def masked_text(ctx: Ctx):
    """Cell text for causal masking: "−∞" where the key comes after the query."""
    r = ctx.result
    return (lambda i, j: None if r.mask[i, j] else "−∞") if r.causal else None


def hatched(rect, color) -> VGroup:
    """Three parallel diagonals across `rect` (lower left to upper right): a masked cell's hatching."""
    (x0, y0, _), (x1, y1, _) = rect.get_corner(DL), rect.get_corner(UR)
    xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
    ends = [((x0, ym), (xm, y1)), ((x0, y0), (x1, y1)), ((xm, y0), (x1, ym))]
    return VGroup(*(Line([a[0], a[1], 0], [b[0], b[1], 0], stroke_color=color, stroke_width=1.5, stroke_opacity=0.8)
                    for a, b in ends))


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
    # a masked cell (causal: a later key) is grey and hatched, never a 0% cell's colour: its 0% is the mask's, not chosen
    masked = (lambda i, j: r.causal and not r.mask[i, j])
    grid = square_grid(ctx, "weights", fmt="pct", colorize=False,
                       fill=lambda i, j: theme.masked if masked(i, j) else theme.heat(r.weights[i, j]))
    hatch = VGroup(*(hatched(rect, theme.dim) for (i, j), rect in grid.fills.items() if masked(i, j)))
    if len(hatch):
        grid.insert(grid.submobjects.index(grid.body), hatch)  # over the fills, under the numbers
    w, h = lay.grid_cell
    sums = VGroup()
    totals = steps.row_sums(r)
    for row, i in enumerate(grid.rows):
        if i is not None:
            t = number_text(ctx, pct(totals[i]), Source("", (i,), ("row_sums",), "pct"), lay.grid_font, theme.text)
            sums.add(t.move_to(grid.slot_point(row, len(grid.cols)) + RIGHT * 0.3))
    header = text(ctx, ctx.s("softmax.sum"), grid.label_size, theme.dim, max_width=w + 0.3)
    header.move_to(grid.slot_point(0, len(grid.cols)) + RIGHT * 0.3 + UP * (h / 2 + 0.1 + header.height / 2))
    return Picture("weights", grid=grid, sums=sums, header=header)


def z(ctx: Ctx) -> Picture:
    r, theme, lay = ctx.result, ctx.theme, Layout(ctx)
    dims = lay.qkv_dims(r.d_v)
    title = rich_line(ctx, "weighted.all", theme.heading_size, theme.Z, s=r.n_tokens, d=r.d_v)  # Z = AV: 4 × 4
    grid = lone(token_matrix(ctx, lay, "output", dims,
                             lay.lone_cell_w(len(dims), LABEL_W + 0.3 + BRACKETS_W + SIDE_GAP + title.width)), title.width)
    return Picture("z", grid=grid, title=title.next_to(grid.grid_box(), RIGHT, buff=SIDE_GAP))


PICTURES: dict[str, Callable[[Ctx], Picture]] = {
    "blank": blank, "tokens": tokens, "x": x, "qkv": qkv, "scores": scores, "weights": weights, "z": z,
}


def picture(name: str, ctx: Ctx) -> Picture:
    return PICTURES[name](ctx)
