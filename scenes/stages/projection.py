"""Projections: X · W_Q = Q with one entry worked out as row-of-X times column-of-W, then K and V."""

from __future__ import annotations

from manim import (
    RIGHT,
    UP,
    Create,
    FadeIn,
    FadeOut,
    ReplacementTransform,
    SurroundingRectangle,
    TransformFromCopy,
    VGroup,
)

from attncore import fmt, steps

from ..beats import CLEAR, Beat, Stage, play, say
from ..components import Grid, Picture, row_of, stagger
from ..context import Source
from ..formulas import rich_line
from ..layout import PROJ_GAP, place_caption
from ..pictures import MEANING, name_over, token_matrix
from ..pictures import x as picture_x
from ..texts import fit_width, number_text, text


def projected(r, which: str):
    """(what X W (+ b) makes, its Source): Q, K or V; with rotary positions (a llama or Qwen2 head), Q and K before
    RoPE turns them (r.rope.Q_raw, K_raw), as the rope stage then shows."""
    if r.rope is not None and which in "QK":
        return getattr(r.rope, f"{which}_raw"), Source(f"{which}_raw", step=("rope",))
    return getattr(r, which), Source(which)


class ProjectionStage(Stage):
    name = "projection"
    starts_from = "x"
    ends_on = "qkv"
    heading_key = "projection.heading"

    def heading_line(self):
        return say("projection.heading_bias" if self.ctx.result.b_Q is not None else "projection.heading")

    def elided(self):
        r = self.ctx.result
        widest = max(r.d_model, r.d_k, r.d_v)
        return [(self.lay.rows, r.n_tokens, "tokens"), (self.lay.proj_dims(widest), widest, "dims")]

    def product(self, which: str, x_grid: Grid) -> Picture:
        """X · W = M laid out to the right of X: `.weight`, `.weight_name`, `.dot`, `.eq`, `.result`, `.result_name`."""
        ctx, r, lay, theme = self.ctx, self.ctx.result, self.lay, self.ctx.theme
        W, (M, made) = getattr(r, f"W_{which}"), projected(r, which)
        color = theme.matrix_color(which)
        w = lay.proj_cell_w
        weight = Grid(ctx, W, lay.proj_dims(W.shape[0]), lay.proj_dims(W.shape[1]), source=Source(f"W_{which}"),
                      cell_w=w, cell_h=lay.matrix_cell(w)[0], font_size=lay.matrix_cell(w)[1], color=color)
        weight.next_to(x_grid.grid_box(), RIGHT, buff=PROJ_GAP).align_to(x_grid.grid_box(), UP)
        result = token_matrix(ctx, lay, which, lay.proj_dims(M.shape[1]), w, labels=False, values=M, source=made)
        result.next_to(weight.grid_box(), RIGHT, buff=PROJ_GAP).align_to(weight.grid_box(), UP)
        y = x_grid.grid_box().get_y()
        dot = text(ctx, "·", 40, theme.dim).move_to([(x_grid.grid_box().get_right()[0] + weight.grid_box().get_left()[0]) / 2, y, 0])
        eq = text(ctx, "=", 34, theme.dim).move_to([(weight.grid_box().get_right()[0] + result.grid_box().get_left()[0]) / 2, y, 0])
        return Picture(
            which, weight=weight, dot=dot, eq=eq, result=result,
            weight_name=name_over(ctx, weight, ctx.s("projection.weight", w=which, r=W.shape[0], c=W.shape[1]), color),
            result_name=name_over(ctx, result, ctx.s("projection.shape", name=which, s=M.shape[0], d=M.shape[1]), color),
        )

    def worked_entry(self, which: str, i: int, j: int):
        """row i of X · column j of W = entry, term by term (elided past the dimensions shown)."""
        ctx, theme, r = self.ctx, self.ctx.theme, self.ctx.result
        dot = steps.projection_entry(r, which, i, j)
        size = theme.caption_size - 2
        W = getattr(r, f"W_{which}")
        parts = [rich_line(ctx, "projection.entry", size, theme.dim, w=which)]
        for n, m in enumerate(self.lay.proj_dims(len(dot.terms))):
            if n:
                parts.append(text(ctx, "+", size, theme.dim))
            if m is None:
                parts.append(text(ctx, "…", size, theme.dim))
                continue
            parts += [
                number_text(ctx, fmt(r.X[i, m]), Source("X", (i, m)), size, theme.X),
                text(ctx, "×", size, theme.dim),
                number_text(ctx, fmt(W[m, j]), Source(f"W_{which}", (m, j)), size, theme.matrix_color(which)),
            ]
        bias = getattr(r, f"b_{which}")
        if bias is not None:  # a real model's head: Q = X W_Q + b_Q
            parts += [text(ctx, "+ " + ctx.s("projection.bias"), size, theme.dim),
                      number_text(ctx, fmt(bias[j]), Source(f"b_{which}", (j,)), size, theme.matrix_color(which))]
        parts += [text(ctx, "=", size, theme.dim), number_text(ctx, fmt(dot.total), projected(r, which)[1].at(i, j), size,
                                                               theme.accent)]
        return place_caption(fit_width(row_of(*parts)))

    def explain(self, start):
        ctx, theme, r = self.ctx, self.ctx.theme, self.ctx.result
        i, tok = ctx.focus, ctx.token(ctx.focus)
        placed = picture_x(ctx, placed=True)  # X moves from the middle to the left, to be multiplied
        x_grid = placed.grid
        heading = self.heading()
        previous = None
        for n, which in enumerate(("Q", "K", "V")):
            p = self.product(which, x_grid)
            frame = VGroup(p.weight, p.weight_name, p.dot, p.eq, p.result.brackets, p.result.marks, p.result_name)
            leave = [play(FadeOut(previous), run_time=0.4)] if previous is not None else [play(FadeIn(heading), run_time=0.6)]
            cells = p.result.cells
            meaning = say(MEANING[which], theme.matrix_color(which))
            M, made = projected(r, which)
            shape = dict(s=ctx.quote(M.shape[0], Source("n_tokens", format="int")),
                         d=ctx.quote(M.shape[1], Source(f"d_{'v' if which == 'V' else 'k'}", format="int")))
            if n == 0:
                j = next(c for c in p.result.cols if c is not None)
                hl = VGroup(SurroundingRectangle(x_grid.row(i), color=theme.accent, buff=0.06),
                            SurroundingRectangle(p.weight.col(j), color=theme.accent, buff=0.06))
                expr = self.worked_entry(which, i, j)
                bias = {} if r.b_Q is None else {"bias": ctx.quote(r.b_Q[j], Source("b_Q", (j,)))}
                yield Beat(say("say.projection.intro_bias" if bias else "say.projection.intro"),
                           (*leave, play(ReplacementTransform(VGroup(start.grid, start.title), placed),
                                         FadeOut(start.shape), run_time=0.8)), hold=0.6,
                           paced=(play(FadeIn(frame), run_time=0.8),))  # W_Q and Q as "Q = X · W_Q" is said
                yield Beat(say("say.projection.entry_bias" if bias else "say.projection.entry", token=tok, col=j + 1,
                               w=which, value=ctx.quote(M[i, j], made.at(i, j)), **bias),
                           (play(FadeIn(hl[0]), run_time=0.5),),  # the row, the column, the terms: as they are said
                           caption=CLEAR, hold=1.6, still=True, pause=True,
                           paced=(play(FadeIn(hl[1]), run_time=0.5), play(FadeIn(expr), run_time=0.8)))
                rest = [c for k, c in cells.items() if k != (i, j)]
                # the worked line stands where the caption goes: it leaves (its value into its cell) before the caption comes
                yield Beat(None, (play(TransformFromCopy(expr[-1], cells[i, j]), FadeOut(hl), FadeOut(expr), run_time=0.8),),
                           hold=0)
                # the focus token's query, then Q's shape, framed as they are said
                asks = [SurroundingRectangle(m, color=theme.accent, buff=0.06) for m in (p.result.row(i), p.result_name)]
                yield Beat(say("say.projection.query", **shape), (play(stagger((FadeIn(c) for c in rest), 0.04), run_time=1.4),),
                           caption=meaning, hold=1.0,
                           paced=(play(Create(asks[0]), run_time=0.5), play(ReplacementTransform(*asks), run_time=0.5)))
            else:
                key = "say.projection.key" if which == "K" else "say.projection.value"
                yield Beat(say(key, **shape),
                           (*leave, play(FadeIn(frame), run_time=0.5),
                            play(stagger((FadeIn(c) for c in cells.values()), 0.02), run_time=0.8)),
                           caption=meaning, hold=1.0)
            previous = VGroup(frame, *cells.values(), *([asks[1]] if n == 0 else []))
        yield from self.end(heading, placed, previous, reveal=True)
