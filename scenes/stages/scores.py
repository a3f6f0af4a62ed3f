"""Scores: for the focus token, q · k worked term by term with its running sum, then its row of the
score grid, then the whole grid (rows: queries, columns: keys)."""

from __future__ import annotations

from manim import (
    DOWN,
    ORIGIN,
    RIGHT,
    FadeIn,
    FadeOut,
    ReplacementTransform,
    SurroundingRectangle,
    TransformFromCopy,
    VGroup,
    Write,
)

from attncore import fmt, steps

from ..beats import Beat, Stage, play, say
from ..components import VectorRow, arrange_down, number_text, row_of, stagger, text
from ..context import Source
from ..layout import font_for
from ..pictures import square_grid


class ScoresStage(Stage):
    name = "scores"
    starts_from = "qkv"
    ends_on = "scores"
    heading_key = "scores.heading"

    def elided(self):
        return [(self.lay.token_cols, self.ctx.result.n_tokens, "tokens")]

    def explain(self, start):
        ctx, theme, r, lay = self.ctx, self.ctx.theme, self.ctx.result, self.lay
        i = j = ctx.focus
        tok = ctx.token(i)
        heading = self.heading()
        hl = VGroup(SurroundingRectangle(start.Q.grid.row(i), color=theme.Q, buff=0.06),
                    SurroundingRectangle(start.K.grid.row(j), color=theme.K, buff=0.06))
        yield Beat(say("say.scores.intro", token=tok), (play(FadeIn(heading), FadeIn(hl), run_time=0.6),),
                   caption=say("scores.focus", token=tok), hold=0.6)
        # the worked dot product q_i . k_j, term by term with its running sum
        dot = steps.score_entry(r, i, j)
        dims = lay.dims(r.d_k)
        size = font_for(1.05, 0.5, theme)
        entry = ("score_entry", i, j)
        vec = dict(cell_w=1.05, cell_h=0.55, font_size=size)
        q = VectorRow(ctx, r.Q[i], dims, Source("Q", (i,)), ctx.s("scores.q", token=tok), color=theme.Q, **vec)
        k = VectorRow(ctx, r.K[j], dims, Source("K", (j,)), ctx.s("scores.k", token=ctx.token(j)), color=theme.K, **vec)
        terms = VectorRow(ctx, dot.terms, dims, Source("terms", step=entry), ctx.s("scores.terms"), color=theme.text, **vec)
        running = VectorRow(ctx, dot.running, dims, Source("running", step=entry), ctx.s("scores.running"),
                            color=theme.accent, colorize=False, **vec)
        panel = arrange_down(q, k, terms, running, buff=0.35).move_to([0, 0.3, 0])
        total = number_text(ctx, fmt(dot.total), Source("scores", (i, j)), theme.caption_size + 4, theme.accent)
        result = row_of(text(ctx, ctx.s("scores.result"), theme.caption_size + 4), total, buff=0.2)
        result.next_to(panel, DOWN, buff=0.45)
        term_plays = []
        for m in dims:
            if m is None:
                term_plays.append(play(FadeIn(terms.grid.marks), FadeIn(running.grid.marks), run_time=0.3))
                continue
            pair = VGroup(q.cells[0, m], k.cells[0, m])
            term_plays += [play(TransformFromCopy(pair, terms.cells[0, m]), run_time=0.5),
                           play(FadeIn(running.cells[0, m], shift=RIGHT * 0.1), run_time=0.35)]
        value = ctx.quote(r.scores[i, j], Source("scores", (i, j)))
        yield Beat(say("say.scores.dot", token=tok, key=ctx.token(j), value=value),
                   (play(FadeOut(start), FadeOut(hl), run_time=0.6), play(FadeIn(VGroup(q, k)), run_time=0.6),
                    *term_plays,
                    play(FadeIn(VGroup(terms.grid.brackets, terms.label, running.grid.brackets, running.label)), run_time=0.4),
                    play(Write(result), run_time=0.8)),
                   hold=1.2, still=True, pause=True)
        # into the grid: the focus cell, then its row, then every row
        grid = square_grid(ctx, "scores")
        frame = VGroup(grid.brackets, grid.marks, *grid.row_labels.values(), *grid.col_labels.values())
        row = [c for (a, b), c in grid.cells.items() if a == i and b != j]
        top = steps.strongest(r, i)
        yield Beat(say("say.scores.row", token=tok, top=ctx.token(top), value=ctx.quote(r.scores[i, top], Source("scores", (i, top)))),
                   (play(FadeOut(panel), FadeOut(result[0]), total.animate.move_to(ORIGIN), run_time=0.6),
                    play(FadeIn(frame), ReplacementTransform(total, grid.cells[i, j]), run_time=0.8),
                    play(stagger((FadeIn(c, scale=1.3) for c in row), 0.15), run_time=1.2)),
                   caption=say("scores.row", token=tok), hold=0.6)
        others = [c for (a, _), c in grid.cells.items() if a != i]
        S = ctx.quote(r.n_tokens, Source("n_tokens", format="int"))
        yield Beat(say("say.scores.grid", s=S), (play(stagger((FadeIn(c) for c in others), 0.02), run_time=1.5),),
                   caption=say("scores.grid"), hold=1.2)
        yield from self.end(heading)
