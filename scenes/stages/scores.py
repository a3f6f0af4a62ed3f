"""Scores: the focus token's query with the key it matches best (its largest score, so the largest
weight), worked term by term with its running sum; the terms that make it large; the score as the
two lengths times the cosine of their angle, beside the key it matches worst; then its row of the
score grid, then the whole grid (rows: queries, columns: keys)."""

from __future__ import annotations

from manim import (
    DOWN,
    LEFT,
    RIGHT,
    UP,
    Circumscribe,
    Create,
    FadeIn,
    FadeOut,
    ReplacementTransform,
    SurroundingRectangle,
    VGroup,
    Write,
)

from attncore import fmt, steps
from attncore.tables import plan_axis

from ..beats import KEEP, Beat, Stage, play, say
from ..components import VectorRow, arrange_down, fit_width, half_width, number_text, row_of, stagger, text
from ..context import Source
from ..layout import DIM_SLOTS, font_for
from ..pictures import square_grid
from .softmax import row_sweep

LABEL_COL_W = 2.9  # the comparison table's row labels
VALUE_COL_W = 2.3  # one column of it: one key
VECTOR_LABELS = 3.4  # the worked vectors' labels and brackets
VECTOR_CELL_W = 1.6  # their widest cell (a 4-number vector then spans 3/4 of the width)


def top_count(d_k: int) -> int:
    """How many of the winning dot product's terms are picked out: 3, fewer for a short vector (2 of
    the toy's 4), so that they stay a few among many."""
    return max(1, min(3, d_k // 2))


class ScoresStage(Stage):
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
        tok, key = ctx.token(i), ctx.token(j)
        heading = self.heading()
        rows = [start.Q.grid.row(i), start.K.grid.row(j)]
        hl = VGroup(*(SurroundingRectangle(g, color=c, buff=0.06) for g, c in zip(rows, (theme.Q, theme.K)) if len(g)))
        yield Beat(say("say.scores.intro", token=tok), (play(FadeIn(heading), FadeIn(hl), run_time=0.6),),
                   caption=say("scores.focus", token=tok), hold=0.6)
        # the worked dot product q_i . k_j, term by term with its running sum; its largest terms kept in view
        dot = steps.score_entry(r, i, j)
        n_top = top_count(r.d_k)
        top = steps.top_terms(r, i, j, n_top)
        dims = plan_axis(r.d_k, DIM_SLOTS, keep=top.dims)
        # cells as wide as the frame leaves beside the labels (a short vector's larger), rows as tall as their font
        w = max(1.05, min(VECTOR_CELL_W, (2 * half_width() - VECTOR_LABELS) / len(dims)))
        size = font_for(w, 0.65, theme, theme.max_font_size)
        entry = ("score_entry", i, j)
        vec = dict(cell_w=w, cell_h=max(0.55, min(0.65, size / 46)), font_size=size,
                   label_size=max(theme.label_size, 0.85 * size))
        q = VectorRow(ctx, r.Q[i], dims, Source("Q", (i,)), ctx.s("scores.q", token=tok), color=theme.Q, **vec)
        k = VectorRow(ctx, r.K[j], dims, Source("K", (j,)), ctx.s("scores.k", token=key), color=theme.K, **vec)
        terms = VectorRow(ctx, dot.terms, dims, Source("terms", step=entry), ctx.s("scores.terms"), color=theme.text, **vec)
        running = VectorRow(ctx, dot.running, dims, Source("running", step=entry), ctx.s("scores.running"),
                            color=theme.accent, colorize=False, **vec)
        panel = fit_width(arrange_down(q, k, terms, running, buff=0.35)).move_to([0, 0.3, 0])
        # the worked numbers name their step, not the grid's cell (the key may be elided from the grid)
        total = number_text(ctx, fmt(dot.total), Source("total", step=entry), max(theme.caption_size + 4, size), theme.accent)
        result = row_of(text(ctx, ctx.s("scores.result"), max(theme.caption_size + 4, size)), total, buff=0.2)
        result.next_to(panel, DOWN, buff=0.45)
        term_plays = []
        for m in dims:
            if m is None:
                term_plays.append(play(FadeIn(terms.grid.marks), FadeIn(running.grid.marks), run_time=0.3))
                continue
            pair = VGroup(q.cells[0, m], k.cells[0, m])
            # the pair framed, its product coming in below it: two numbers never morph into a third
            term_plays += [play(Circumscribe(pair, color=theme.accent, buff=0.06),
                                FadeIn(terms.cells[0, m], shift=DOWN * 0.15), run_time=0.5),
                           play(FadeIn(running.cells[0, m], shift=RIGHT * 0.1), run_time=0.35)]
        value = ctx.quote(dot.total, Source("total", step=entry))
        yield Beat(say("say.scores.dot_self" if j == i else "say.scores.dot", token=tok, key=key, value=value),
                   (play(FadeOut(start), FadeOut(hl), run_time=0.6), play(FadeIn(VGroup(q, k)), run_time=0.6),
                    *term_plays,
                    play(FadeIn(VGroup(terms.grid.brackets, terms.label, running.grid.brackets, running.label)), run_time=0.4),
                    play(Write(result), run_time=0.8)),
                   hold=1.2, still=True, pause=True)
        # why it is large: the few largest terms, and how many terms share the score's sign
        boxes = VGroup(*(SurroundingRectangle(terms.cells[0, m], color=theme.accent, buff=0.08) for m in top.dims))
        # paced as it is said: where both vectors are large, their terms, then every term (how many share the sign)
        pairs = VGroup(*(SurroundingRectangle(VGroup(q.cells[0, m], k.cells[0, m]), color=theme.accent, buff=0.08)
                         for m in top.dims))
        signs = SurroundingRectangle(terms.grid, color=theme.dim, buff=0.14)
        lead = ("top_terms", i, j, n_top)
        part = ctx.quote(top.total, Source("total", step=lead))
        picked = [ctx.quote(t, Source("terms", (m,), step=entry)) for m, t in zip(top.dims, top.terms)]
        yield Beat(say("say.scores.terms", n=n_top, part=part, value=value, d=ctx.quote(r.d_k, Source("d_k", format="int")),
                       agree=ctx.quote(top.agreeing, Source("agreeing", step=lead, format="int"))),
                   (play(Create(pairs), run_time=0.8),),
                   caption=say("scores.top_terms", terms=picked, part=part, value=value), hold=1.0,
                   paced=(play(ReplacementTransform(pairs, boxes), run_time=0.6), play(Create(signs), run_time=0.6)))
        # the same score as |q| |k| cos θ, beside the key it matches worst
        labels, columns, cells = self.comparison(j, low)
        yield Beat(say("say.scores.angle", token=tok, key=key, **self.angle_values(j)),
                   # the worked panel leaves before the table comes to the same place (the score moves into it)
                   (play(FadeOut(VGroup(panel, boxes, signs, result[0])), run_time=0.4),
                    play(FadeIn(labels), FadeIn(columns[j]), ReplacementTransform(total, cells[j]), run_time=0.6)),
                   caption=say("scores.angle"), hold=1.2, still="pair" if low is None else False,
                   paced=self.down(columns[j][1:]))
        if low is not None:
            rival = self.angle_values(low)
            rival.pop("q")  # the same query: said with the winner
            score = ctx.quote(r.scores[i, low], Source("total", step=("score_angle", i, low)))
            yield Beat(say("say.scores.rival", key=ctx.token(low), value=score, **rival),
                       (play(FadeIn(VGroup(columns[low], cells[low])), run_time=0.8),), caption=KEEP, hold=1.2, still="pair",
                       pause=True, paced=self.down([*columns[low][2:], cells[low]]))
        # into the grid: the worked cell, then its row, then every row
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
                   (play(FadeOut(VGroup(labels, *columns.values(), *(c for k, c in cells.items() if k != j))), run_time=0.6),
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
        yield from self.end(heading)

    def down(self, parts) -> tuple:
        """Paced plays: a frame on each of `parts` in turn (a column's numbers, as they are said), then gone."""
        frames = [SurroundingRectangle(p, color=self.ctx.theme.accent, buff=0.08) for p in parts]
        return (play(Create(frames[0]), run_time=0.4),
                *(play(ReplacementTransform(a, b), run_time=0.4) for a, b in zip(frames, frames[1:])),
                play(FadeOut(frames[-1]), run_time=0.3))

    def angle_values(self, j: int) -> dict:
        """|q_i|, |k_j| and their cosine, quoted for a line."""
        ctx, i = self.ctx, self.ctx.focus
        angle = steps.score_angle(ctx.result, i, j)
        at = lambda f: Source(f, step=("score_angle", i, j))
        return dict(q=ctx.quote(angle.q_norm, at("q_norm")), k=ctx.quote(angle.k_norm, at("k_norm")),
                    cos=ctx.quote(angle.cosine, at("cosine")))

    def comparison(self, *keys: int | None):
        """A table of q_i . k_j = |q_i| |k_j| cos θ for each of `keys` (None skipped): row labels (q_i,
        |q|, |k|, cos θ, q . k), then one column per key (k_j, its three numbers) and its q . k below.
        Returns (labels, {key: column}, {key: its q . k}), placed together in the middle."""
        ctx, theme, r, i = self.ctx, self.ctx.theme, self.ctx.result, self.ctx.focus
        size, gap = theme.caption_size, 0.62
        ys = [(2 - n) * gap for n in range(5)]
        labels = VGroup(text(ctx, ctx.s("scores.q", token=ctx.token(i)), theme.label_size, theme.Q, max_width=LABEL_COL_W))
        for name in ("scores.len_q", "scores.len_k", "scores.cos", "scores.dot_row"):
            color = theme.accent if name == "scores.dot_row" else theme.text
            labels.add(text(ctx, ctx.s(name), theme.label_size, color, max_width=LABEL_COL_W))
        for lab, y in zip(labels, ys):
            lab.move_to([0, y, 0], aligned_edge=RIGHT)
        columns, cells = {}, {}
        for n, j in enumerate(k for k in keys if k is not None):
            x = 0.3 + VALUE_COL_W * (n + 0.5)
            angle, at = steps.score_angle(r, i, j), lambda f: Source(f, step=("score_angle", i, j))
            col = VGroup(text(ctx, ctx.s("scores.k", token=ctx.token(j)), theme.label_size, theme.K,
                              max_width=VALUE_COL_W - 0.2),
                         number_text(ctx, fmt(angle.q_norm), at("q_norm"), size, theme.text),
                         number_text(ctx, fmt(angle.k_norm), at("k_norm"), size, theme.text),
                         number_text(ctx, fmt(angle.cosine), at("cosine"), size, theme.text))
            cells[j] = number_text(ctx, fmt(angle.total), at("total"), size + 2, theme.accent)
            for part, y in zip([*col, cells[j]], ys):
                part.move_to([x, y, 0])
            columns[j] = col
        whole = VGroup(labels, *columns.values(), *cells.values())
        whole.shift(UP * 0.2 + LEFT * whole.get_center()[0])
        return labels, columns, cells
