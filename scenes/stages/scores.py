"""Scores: the focus token's query with the key it matches best (its largest score, so the largest
weight), worked term by term with its running sum; the terms that make it large; the score as the
two lengths times the cosine of their angle, beside the key it matches worst; then its row of the
score grid, then the whole grid (rows: queries, columns: keys)."""

from __future__ import annotations

from manim import (
    DOWN,
    RIGHT,
    Circumscribe,
    Create,
    FadeIn,
    FadeOut,
    GrowArrow,
    ReplacementTransform,
    SurroundingRectangle,
    VGroup,
    Write,
)

from attncore import fmt, steps

from ..beats import Beat, Stage, play, say
from ..components import stagger
from ..context import Source
from ..parts.dot_product import DotProductPart, WorkedDot
from ..parts.score_arrows import plane_picture
from ..parts.sweeps import row_sweep
from ..pictures import square_grid


class ScoresStage(DotProductPart, Stage):
    name = "scores"
    starts_from = "qkv"
    ends_on = "scores"
    heading_key = "scores.heading"

    def elided(self):
        return [(self.lay.token_cols, self.ctx.result.n_tokens, "tokens")]

    def explain(self, start):
        ctx, theme, r = self.ctx, self.ctx.theme, self.ctx.result
        i = ctx.focus
        # the key the focus matches best, worked; the one it matches worst, for contrast (drawn tokens only)
        j, low = steps.winning_pair(r, i, tuple(ctx.visible()))
        tok = ctx.token(i)
        heading = self.heading()
        rows = [start.Q.grid.row(i), start.K.grid.row(j)]
        hl = VGroup(*(SurroundingRectangle(g, color=c, buff=0.06) for g, c in zip(rows, (theme.Q, theme.K)) if len(g)))
        yield Beat(say("say.scores.intro", token=tok), (play(FadeIn(heading), FadeIn(hl), run_time=0.6),),
                   caption=say("scores.focus", token=tok), hold=0.6)
        worked = self.worked_dot(j)
        value = yield from self.dot_beat(start, hl, worked, j)
        leaving = yield from self.terms_beat(worked, j, value)
        labels, columns, cells, picture = yield from self.angle_beats(worked, leaving, j, low)
        yield from self.grid_beats(j, labels, columns, cells, picture)
        yield from self.end(heading)

    def dot_beat(self, start, hl, worked: WorkedDot, j: int):
        """The worked dot product q_i . k_j, term by term with its running sum. Returns its value, quoted."""
        ctx, theme, i = self.ctx, self.ctx.theme, self.ctx.focus
        q, k, terms, running = worked.q, worked.k, worked.terms, worked.running
        term_plays = []
        for m in worked.dims:
            if m is None:
                term_plays.append(play(FadeIn(terms.grid.marks), FadeIn(running.grid.marks), run_time=0.3))
                continue
            pair = VGroup(q.cells[0, m], k.cells[0, m])
            # the pair framed, its product coming in below it: two numbers never morph into a third
            term_plays += [play(Circumscribe(pair, color=theme.accent, buff=0.06),
                                FadeIn(terms.cells[0, m], shift=DOWN * 0.15), run_time=0.5),
                           play(FadeIn(running.cells[0, m], shift=RIGHT * 0.1), run_time=0.35)]
        value = ctx.quote(worked.dot.total, Source("total", step=("score_entry", i, j)))
        yield Beat(say("say.scores.dot_self" if j == i else "say.scores.dot", token=ctx.token(i), key=ctx.token(j),
                       value=value),
                   (play(FadeOut(start), FadeOut(hl), run_time=0.6), play(FadeIn(VGroup(q, k)), run_time=0.6),
                    *term_plays,
                    play(FadeIn(VGroup(terms.grid.brackets, terms.label, running.grid.brackets, running.label)), run_time=0.4),
                    play(Write(worked.result), run_time=0.8)),
                   hold=1.2, still=True, pause=True)
        return value

    def terms_beat(self, worked: WorkedDot, j: int, value):
        """Why it is large: the few largest terms, and how many terms share the score's sign. Returns what
        leaves with the worked panel."""
        ctx, theme, r, i = self.ctx, self.ctx.theme, self.ctx.result, self.ctx.focus
        q, k, terms, top, n_top = worked.q, worked.k, worked.terms, worked.top, worked.n_top
        boxes = VGroup(*(SurroundingRectangle(terms.cells[0, m], color=theme.accent, buff=0.08) for m in top.dims))
        # paced as it is said: where both vectors are large, their terms, then every term (how many share the sign)
        pairs = VGroup(*(SurroundingRectangle(VGroup(q.cells[0, m], k.cells[0, m]), color=theme.accent, buff=0.08)
                         for m in top.dims))
        signs = SurroundingRectangle(terms.grid, color=theme.dim, buff=0.14)
        lead, entry = ("top_terms", i, j, n_top), ("score_entry", i, j)
        part = ctx.quote(top.total, Source("total", step=lead))
        picked = [ctx.quote(t, Source("terms", (m,), step=entry)) for m, t in zip(top.dims, top.terms)]
        yield Beat(say("say.scores.terms", n=n_top, part=part, value=value, d=ctx.quote(r.d_k, Source("d_k", format="int")),
                       agree=ctx.quote(top.agreeing, Source("agreeing", step=lead, format="int"))),
                   (play(Create(pairs), run_time=0.8),),
                   caption=say("scores.top_terms" if ctx.equations(("sum", [t.text for t in picked], part.text))
                               else "scores.top_terms_approx",
                               terms=picked, part=part, value=value), hold=1.0,
                   paced=(play(ReplacementTransform(pairs, boxes), run_time=0.6), play(Create(signs), run_time=0.6)))
        return VGroup(worked.panel, boxes, signs, worked.result[0])

    def angle_beats(self, worked: WorkedDot, leaving, j: int, low: int | None):
        """The same score as |q| |k| cos θ, beside the key it matches worst: the table on the left, the
        arrows in the plane of q and the best key on the right (scenes.parts.score_arrows). Returns the
        table's labels, columns and scores (scenes.parts.dot_product.comparison) and the picture."""
        ctx, r, i = self.ctx, self.ctx.result, self.ctx.focus
        labels, columns, cells = self.comparison(j, low, beside=True)
        pic = plane_picture(ctx, j, low)
        # each key's |q| × |k| × cos θ as shown gives its q · k as shown, or the caption says "≈"
        exact = ctx.equations(*(("product", [v.text for v in self.angle_values(k).values()], fmt(r.scores[i, k]))
                                for k in (j, low) if k is not None))
        yield Beat(say("say.scores.angle", token=ctx.token(i), key=ctx.token(j), **self.angle_values(j)),
                   # the worked panel leaves before the table comes to the same place (the score moves into it)
                   (play(FadeOut(leaving), run_time=0.4),
                    play(FadeIn(labels), FadeIn(columns[j]), ReplacementTransform(worked.total, cells[j]), run_time=0.6),
                    play(Create(pic.pair[0]), GrowArrow(pic.q), GrowArrow(pic.k), run_time=0.8),
                    play(FadeIn(VGroup(*pic.pair[3:])), run_time=0.5)),
                   caption=say("scores.angle" if exact else "scores.angle_approx"), hold=1.2,
                   still="pair" if low is None else False,
                   paced=(*self.down(columns[j][1:]), play(Create(pic.shadow), run_time=0.8),
                          play(FadeIn(pic.score), run_time=0.6)))
        if low is not None:
            rival = self.angle_values(low)
            rival.pop("q")  # the same query: said with the winner
            score = ctx.quote(r.scores[i, low], Source("total", step=("score_angle", i, low)))
            yield Beat(say("say.scores.rival", key=ctx.token(low), value=score, **rival),
                       (play(FadeIn(VGroup(columns[low], cells[low])), run_time=0.8),
                        play(Create(pic.other[0]), FadeIn(pic.other[1]), run_time=0.8)),
                       caption=say("scores.rival", key=ctx.token(low), top=ctx.token(j)), hold=1.2, still="pair",
                       pause=True, paced=(*self.down([*columns[low][2:], cells[low]]), play(Create(pic.other[2]), run_time=0.8),
                                          play(FadeIn(pic.other_score), run_time=0.6)))
        return labels, columns, cells, pic.whole()

    def grid_beats(self, j: int, labels, columns, cells, picture):
        """Into the grid: the worked cell, then its row, then every row."""
        ctx, theme, r, i = self.ctx, self.ctx.theme, self.ctx.result, self.ctx.focus
        tok = ctx.token(i)
        grid = square_grid(ctx, "scores")
        frame = VGroup(grid.brackets, grid.marks, *grid.row_labels.values(), *grid.col_labels.values())
        landed = (i, j) in grid.cells  # the key may be elided from the grid's columns in a long sentence
        row = [c for (a, b), c in grid.cells.items() if a == i and (b != j or not landed)]
        into = ReplacementTransform(cells[j], grid.cells[i, j]) if landed else FadeOut(cells[j])
        strongest = steps.strongest(r, i)
        # the row's largest score framed as it is said (unless its column is elided)
        largest = SurroundingRectangle(grid.cells[i, strongest], color=theme.accent, buff=0.05) \
            if (i, strongest) in grid.cells else None
        yield Beat(say("say.scores.row", token=tok, top=ctx.token(strongest),
                       value=ctx.quote(r.scores[i, strongest], Source("scores", (i, strongest)))),
                   (play(FadeOut(VGroup(labels, *columns.values(), *(c for k, c in cells.items() if k != j), picture)),
                         run_time=0.6),
                    # the score to its cell first, then the grid around it: it never flies over the grid's marks
                    play(into, run_time=0.6), play(FadeIn(frame), run_time=0.5),
                    # (in place: grown, or coming from above, a number would cover a neighbour in a tight grid)
                    play(stagger((FadeIn(c) for c in row), 0.15), run_time=1.2)),
                   caption=say("scores.row", token=tok), hold=0.6,
                   paced=(play(Create(largest), run_time=0.5),) if largest is not None else ())
        others = [c for (a, _), c in grid.cells.items() if a != i]
        S = ctx.quote(r.n_tokens, Source("n_tokens", format="int"))
        yield Beat(say("say.scores.grid", s=S), (play(stagger((FadeIn(c) for c in others), 0.02),
                                                      *([FadeOut(largest)] if largest is not None else []), run_time=1.5),),
                   caption=say("scores.grid"), hold=1.2, paced=row_sweep(grid, theme))  # "queries as rows"
