"""Weighted sum: each value vector faded and barred by its weight, scaled and summed into z; then
Z = A·V for every token."""

from __future__ import annotations

from manim import (
    DOWN,
    LEFT,
    RIGHT,
    Circumscribe,
    Create,
    FadeIn,
    FadeOut,
    Rectangle,
    ReplacementTransform,
    Succession,
    SurroundingRectangle,
    VGroup,
)

from attncore import fmt, pct, steps

from ..beats import Beat, Stage, play, say
from ..components import Grid, Picture, VectorRow, stagger
from ..context import Source, vector_quote
from ..elision import run_count, run_label
from ..layout import CONTENT_BOTTOM, CONTENT_TOP, MAX_CELL_W, fit_content, font_for
from ..parts.sweeps import row_sweep
from ..texts import half_width, number_text, text

LINE_FIXED = 6.5  # a line's width but its two vectors: label, share, bar, brackets, arrow and gaps
LINE_FONT = 30  # a line's numbers at most


class WeightedSumStage(Stage):
    name = "weighted-sum"
    starts_from = "weights"
    ends_on = "z"
    heading_key = "weighted.heading"
    shown_key = "weighted.heading_shown"

    def elided(self):
        r = self.ctx.result
        return [(self.lay.weighted_rows, r.n_tokens, "keys"), (self.lay.qkv_dims(r.d_v), r.d_v, "dims")]

    def line(self, j: int, dims, w: float, h: float, size: float) -> Picture:
        """Token j's line: its label, a_j as a percentage, a bar, v_j faded by a_j, "→", a_j v_j."""
        ctx, theme, r, i = self.ctx, self.ctx.theme, self.ctx.result, self.ctx.focus
        a, a_max = r.weights[i, j], r.weights[i].max()
        label = text(ctx, r.tokens[j], theme.label_size, theme.text, max_width=1.5)
        share = number_text(ctx, pct(a), Source("weights", (i, j), format="pct"), size, theme.heat_high)
        bar = Rectangle(width=max(0.02, 1.2 * a / a_max), height=h * 0.5, stroke_width=0).set_fill(theme.heat_high, 1)
        v = Grid(ctx, r.V[j][None, :], [0], dims, source=lambda _, b: Source("V", (j, b)), cell_w=w, cell_h=h,
                 font_size=size, color=theme.V)
        v.body.set_opacity(0.3 + 0.7 * a / a_max)  # the numbers fade with their weight
        v.brackets.set_stroke(opacity=0.3 + 0.7 * a / a_max)
        arrow = text(ctx, "→", size, theme.dim)
        av = Grid(ctx, steps.weighted_values(r, i)[j][None, :], [0], dims, source=lambda _, b: Source("", (j, b), ("weighted_values", i)),
                  cell_w=w, cell_h=h, font_size=size, color=theme.Z)
        share_w = text(ctx, "100.0%", size).width  # the widest share: its column (measured, not shown)
        label.move_to([0, 0, 0]).align_to([-0.1, 0, 0], RIGHT)
        share.move_to([0, 0, 0]).align_to([0.15 + share_w, 0, 0], RIGHT)
        bar.move_to([0.4 + share_w, 0, 0]).align_to([0.4 + share_w, 0, 0], LEFT)
        v.next_to(bar, RIGHT, buff=0.25).align_to([1.9 + share_w, 0, 0], LEFT)
        arrow.next_to(v, RIGHT, buff=0.25)
        av.next_to(arrow, RIGHT, buff=0.25)
        picture = Picture("line", label=label, share=share, bar=bar, v=v, arrow=arrow, av=av)
        picture.token = j
        return picture

    def run_line(self, keys: tuple[int, ...], dims, w: float, h: float, size: float, hidden: bool = False) -> Picture:
        """An elided run's line, as a token's: how many tokens in the label's place (or, for the hidden
        special tokens, their name), their share of the focus token's attention in the share's, "⋮" for their
        value vectors, and their products added up (`steps.weighted_run`), so that the column above z adds up
        to it."""
        ctx, theme, i = self.ctx, self.ctx.theme, self.ctx.focus
        count = (text(ctx, ctx.s("weighted.hidden"), theme.min_font_size, theme.dim, max_width=1.5) if hidden
                 else run_count(ctx, keys, theme.min_font_size, 1.5))
        count.move_to([0, 0, 0]).align_to([-0.1, 0, 0], RIGHT)
        share = run_label(ctx, i, keys, size, 1.0, self.lay.runs(self.lay.weighted_rows), count=False).move_to([0.55, 0, 0])
        summed = Grid(ctx, steps.weighted_run(self.ctx.result, i, keys)[None, :], [0], dims,
                      source=lambda _, b: Source("", (b,), ("weighted_run", i, keys)), cell_w=w, cell_h=h, font_size=size,
                      color=theme.Z)
        summed.body.set_opacity(0.7)
        picture = Picture("run", label=count, share=share, bar=VGroup(), v=text(ctx, "⋮", size, theme.dim),
                          arrow=text(ctx, "Σ", size, theme.dim), av=summed)
        picture.keys = keys
        return picture

    def adds_up(self, column, dims) -> bool:
        """True when every product shown is a_j × v_j as shown and every shown entry of z is the sum of the
        products and runs' sums above it, as shown (scenes.arithmetic): z then carries "=", else "≈"."""
        r, i = self.ctx.result, self.ctx.focus
        shown = [c for c in dims if c is not None]
        products = steps.weighted_values(r, i)
        group = [("product", [pct(r.weights[i, line.token]), fmt(r.V[line.token, c])], fmt(products[line.token, c]))
                 for line in column if line.kind == "line" for c in shown]
        rows = [products[line.token] if line.kind == "line" else steps.weighted_run(r, i, line.keys) for line in column]
        group += [("sum", [fmt(row[c]) for row in rows], fmt(r.output[i, c])) for c in shown]
        return self.ctx.equations(*group)

    def column(self, dims, w: float, h: float, size: float) -> VGroup:
        """The lines one under another: a line per token drawn, an elided run's line in its place, the hidden
        special tokens' line last (their share and products, so that the column adds up to z); the runs'
        parts in the columns of the tokens' lines."""
        ctx, lay = self.ctx, self.lay
        runs = iter(lay.runs(lay.weighted_rows))
        column = VGroup(*(self.run_line(next(runs), dims, w, h, size) if j is None else self.line(j, dims, w, h, size)
                          for j in lay.weighted_rows))
        if ctx.hidden:
            column.add(self.run_line(tuple(sorted(ctx.hidden)), dims, w, h, size, hidden=True))
        real = [line for line in column if line.kind == "line"]
        column.arrange(DOWN, buff=h * 0.1, aligned_edge=RIGHT)
        for run in (m for m in column if m.kind == "run"):
            run.shift(RIGHT * (real[0].share.get_x() - run.share.get_x()))
            run.v.set_x(real[0].v.get_x())
            run.arrow.set_x(real[0].arrow.get_x())
            run.av.align_to(real[0].av.grid_box(), LEFT)
        return column

    def explain(self, start):
        ctx, theme, r, lay = self.ctx, self.ctx.theme, self.ctx.result, self.lay
        i, tok = ctx.focus, ctx.token(ctx.focus)
        heading = self.heading()
        grid = start.grid
        hl = SurroundingRectangle(VGroup(grid.row(i), grid.row_labels[i]), color=theme.accent, buff=0.05)
        # the row's weights one by one, as "weighted by the attention it pays" is said
        cells = [grid.cells[i, j] for j in grid.cols if j is not None and (i, j) in grid.cells]
        frames = [SurroundingRectangle(c, color=theme.heat_high, buff=0.04) for c in cells]
        moves = [ReplacementTransform(a, b) for a, b in zip(frames, frames[1:])]
        yield Beat(say("say.weighted.intro", token=tok), (play(FadeIn(heading), FadeIn(hl), run_time=0.6),),
                   caption=say("weighted.caption", token=tok), hold=0.5,
                   paced=(play(Create(frames[0]), run_time=0.4),
                          *([play(Succession(*moves), run_time=min(2.4, 0.3 * len(moves) + 0.1))] if moves else []),
                          play(FadeOut(frames[-1]), run_time=0.3)))
        # one line per token j: a_j, a bar, v_j (faded by a_j), -> a_j v_j
        dims = lay.qkv_dims(r.d_v)
        # cells as wide as the frame leaves beside the labels, shares and bars (LINE_FIXED) for v_j and a_j v_j; lines
        # as high as the matrices' rows, lower when the story takes up to WEIGHTED_MOST of them: the lines, their
        # gaps and z below fit between the heading and the caption without shrinking
        w = max(lay.qkv_cell_w, min(MAX_CELL_W, (2 * half_width() - LINE_FIXED) / (2 * len(dims))))
        lines = len(lay.weighted_rows) + bool(ctx.hidden)  # the special tokens not drawn: a line of their own
        h = min(lay.matrix_cell(w)[0], (CONTENT_TOP - CONTENT_BOTTOM - 0.45) / (1.1 * lines + 1))
        size = font_for(w, h, theme, min(LINE_FONT, theme.max_font_size))
        column = self.column(dims, w, h, size)
        real = [line for line in column if line.kind == "line"]
        exact = self.adds_up(column, dims)
        z = VectorRow(ctx, r.output[i], dims, Source("output", (i,)), ctx.s("weighted.z" if exact else "weighted.z_approx", token=tok),
                      color=theme.Z, cell_w=w, cell_h=h, font_size=size, label_width=3.5)
        z.grid.next_to(column[-1].av.grid_box(), DOWN, buff=0.35).align_to(real[-1].av.grid_box(), LEFT)
        z.label.next_to(z.grid.grid_box(), LEFT, buff=0.3)
        whole = fit_content(VGroup(column, z))
        top = steps.strongest(r, i)
        line = dict(zip(lay.weighted_rows, column))[top]  # the top key's line (in the story: never elided), framed
        most = SurroundingRectangle(VGroup(line.label, line.share, line.bar, line.v), color=theme.accent, buff=0.06)
        yield Beat(say("say.weighted.scale", top=ctx.token(top), pct=ctx.quote(r.weights[i, top], Source("weights", (i, top), format="pct"))),
                   (play(FadeOut(start), FadeOut(hl), run_time=0.6),
                    play(stagger((FadeIn(VGroup(m.label, m.share, m.bar, m.v), shift=RIGHT * 0.2) for m in column), 0.1),
                         run_time=1.6)),
                   hold=0.6, paced=(play(Create(most), run_time=0.5),))
        vector = vector_quote(ctx, r.output[i], Source("output", (i,)), dims)
        new = SurroundingRectangle(z, color=theme.Z, buff=0.1)  # "the new vector of …", framed as it is said
        yield Beat(say("say.weighted.sum" if exact else "say.weighted.sum_approx", token=tok, vector=vector),
                   (play(stagger((FadeIn(VGroup(m.arrow, m.av), shift=RIGHT * 0.2) for m in column), 0.1), run_time=1.4),
                    # the products framed, their sum coming in below them: numbers never morph into their sum
                    play(FadeOut(most), FadeIn(z.label), Circumscribe(VGroup(*(m.av for m in column)), color=theme.Z, buff=0.08),
                         FadeIn(z.grid, shift=DOWN * 0.2), run_time=1.2)),
                   caption=say("weighted.caption", token=tok) if exact else say("weighted.caption_approx", token=tok),
                   hold=1.6, still=True, pause=True, paced=(play(Create(new), run_time=0.5),))
        S = ctx.quote(r.n_tokens, Source("n_tokens", format="int"))
        dv = ctx.quote(r.d_v, Source("d_v", format="int"))
        block = self.handoff()
        yield Beat(say("say.weighted.all", s=S, d=dv), (play(FadeOut(whole), FadeOut(new), run_time=0.6), play(FadeIn(block), run_time=0.8)),
                   caption=say("weighted.message", theme.Z), hold=2.0, paced=row_sweep(block.grid, theme))
        yield from self.end(heading)
