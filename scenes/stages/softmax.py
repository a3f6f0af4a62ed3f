"""Softmax: ÷ √d_k, the focus row's e^s / sum worked out, the same row without ÷ √d_k beside it (and how
far apart its scores lie before and after), then every row as percentages."""

from __future__ import annotations

from manim import (
    DOWN,
    Create,
    FadeIn,
    FadeOut,
    Succession,
    SurroundingRectangle,
    VGroup,
)

from attncore import fmt, lessons, steps

from ..beats import Beat, Stage, play, say
from ..components import stagger
from ..context import Source
from ..elision import run_share
from ..parts.links import LinksTour
from ..parts.softmax_row import SoftmaxRowPart, WorkedRow
from ..parts.sweeps import row_sweep
from ..pictures import scaled_grid


class SoftmaxStage(SoftmaxRowPart, LinksTour, Stage):
    name = "softmax"
    starts_from = "scores"
    ends_on = "weights"
    heading_key = "softmax.heading"
    shown_key = "softmax.heading_shown"

    def elided(self):
        return [(self.lay.token_cols, self.ctx.result.n_tokens, "keys")]

    def explain(self, start):
        heading = self.heading()
        scaled = scaled_grid(self.ctx)
        rest_of_scores, outlines = yield from self.scale_beats(start, heading, scaled)
        yield from self.why_masked(scaled, outlines)
        row = self.worked_row()
        yield from self.row_beat(row, scaled, rest_of_scores)
        top, share, marks = yield from self.top_beat(row)
        # why ÷ √d_k: the same row unscaled, beside the real one, and how far apart its scores lie
        self.lingering = None
        if row.compare:
            yield from self.unscaled(self.ctx.focus, top, share, row.xs, row.ws, row.raw, row.unscaled, marks)
        yield from self.hidden_beat(row, marks)
        links = yield from self.arcs(VGroup(row.whole, marks))
        block = self.handoff()
        yield Beat(say("say.softmax.all"), (play(FadeOut(links), run_time=0.6), play(FadeIn(block), run_time=0.8)),
                   caption=say("softmax.caption"), hold=1.6, paced=row_sweep(block.grid, self.ctx.theme, block.sums))
        yield from self.end(heading)

    def scale_beats(self, start, heading, scaled):
        """÷ √d_k: each score out, its scaled value in; (causal) the masked cells outlined. Returns what is
        left of the scores grid and those outlines."""
        ctx, theme, r = self.ctx, self.ctx.theme, self.ctx.result
        scores = start.grid
        dk = ctx.quote(r.d_k, Source("d_k", format="int"))
        scale = ctx.quote(r.scale, Source("scale"))
        for f in scaled.fills.values():  # (causal) the masked cells' fills come in behind their numbers, not over them
            f.set_z_index(-1)
        # each shown score ÷ √d_k as shown gives its scaled value as shown, or the caption says "≈"
        exact = ctx.equations(*(("quotient", [fmt(r.scores[k]), scale.text], fmt(r.scaled[k])) for k in scores.cells
                                if not r.causal or r.mask[k]))
        yield Beat(say("say.softmax.scale", dk=dk, scale=scale), (play(FadeIn(heading), run_time=0.6),),
                   caption=say("softmax.scale" if exact else "softmax.scale_approx", dk=dk, scale=scale), hold=1.2,
                   # each score out, then its scaled value in its place: a number never morphs into another
                   paced=(play(*(Succession(FadeOut(scores.cells[k]), FadeIn(scaled.cells[k])) for k in scores.cells),
                               *(FadeIn(f) for f in scaled.fills.values()), run_time=1.2),))
        # the score cells became the scaled ones; the brackets and labels left are the scores grid's
        rest_of_scores = VGroup(scores.brackets, scores.marks, *scores.row_labels.values(), *scores.col_labels.values())
        outlines = VGroup(*(SurroundingRectangle(c, color=theme.dim, buff=0.04) for (a, b), c in scaled.cells.items()
                            if r.causal and not r.mask[a, b]))
        if r.causal:
            yield Beat(say("say.softmax.masked", token=ctx.token(ctx.focus)), caption=say("softmax.masked"), hold=1.2,
                       paced=(play(stagger((Create(o) for o in outlines), 0.05), run_time=0.8),) if len(outlines) else ())
        return rest_of_scores, outlines

    def row_beat(self, row: WorkedRow, scaled, rest_of_scores):
        """The focus row worked out: its scaled scores, e^s, their sum, each share."""
        ctx, theme, i = self.ctx, self.ctx.theme, self.ctx.focus
        sm, entry, ex = row.sm, ("softmax_row", i), row.ex
        hl = SurroundingRectangle(scaled.row(i), color=theme.accent, buff=0.05)
        shifted = {} if sm.shift == 0 else {"shift": ctx.quote(sm.shift, Source("shift", step=entry))}
        yield Beat(say("say.softmax.row_shifted" if shifted else "say.softmax.row", token=ctx.token(i),
                       total=ctx.quote(sm.total, Source("total", step=entry)), **shifted),
                   (play(FadeIn(hl), run_time=0.5),
                    play(FadeOut(scaled), FadeOut(rest_of_scores), FadeOut(hl), run_time=0.6),
                    play(FadeIn(row.toks), FadeIn(row.xs), run_time=0.6)),
                   caption=say("softmax.divide" if row.divides_out else "softmax.divide_approx"), hold=1.2, still=True, pause=True,
                   paced=(play(stagger((FadeIn(ex.cells[k], shift=DOWN * 0.2) for k in ex.cells), 0.1),
                               FadeIn(ex.label), FadeIn(ex.grid.marks), run_time=1.2),
                          play(FadeIn(row.total), run_time=0.6),
                          play(FadeIn(row.ws), run_time=0.8)))

    def top_beat(self, row: WorkedRow):
        """The focus row's top key: its share boxed (unless its column is elided or hidden) and its name.
        Returns the key, its share as quoted, and the marks left on screen."""
        ctx, theme, r, i = self.ctx, self.ctx.theme, self.ctx.result, self.ctx.focus
        tok, ws = ctx.token(i), row.ws
        top = steps.strongest(r, i)
        share = ctx.quote(r.weights[i, top], Source("weights", (i, top), format="pct"))
        key = "top_self" if top == i else "top"
        # the top key's share boxed (unless its column is elided or hidden); then, with the unscaled row, its two shares
        marks = VGroup(*([SurroundingRectangle(ws.cells[0, top], color=theme.accent, buff=0.06)] if (0, top) in ws.cells else []))
        named = dict(zip([j for j in row.cols if j is not None], row.toks))  # the token labels over the columns
        if top in named and top != i:  # and the top key's name
            marks.add(SurroundingRectangle(named[top], color=theme.accent, buff=0.06))
        yield Beat(say(f"say.softmax.{key}", token=tok, top=ctx.token(top), pct=share),
                   caption=say(f"softmax.{key}", token=tok, top=ctx.token(top), pct=share), hold=1.6,
                   paced=tuple(play(Create(m), run_time=0.5) for m in marks))
        return top, share, marks

    def hidden_beat(self, row: WorkedRow, marks):
        """A model's special tokens not drawn still take their share: the sum counts them, the drawn
        shares fall short of 100%."""
        ctx, theme, r, i = self.ctx, self.ctx.theme, self.ctx.result, self.ctx.focus
        if not ctx.hidden:
            return
        hidden = " ".join(sorted({r.tokens[j] for j in ctx.hidden}))
        counted = SurroundingRectangle(row.total, color=theme.dim, buff=0.08)
        less = SurroundingRectangle(VGroup(*row.ws.cells.values()), color=theme.dim, buff=0.06)  # short of 100%
        gone = [self.lingering] if self.lingering is not None else []
        for m in gone:
            marks.remove(m)
        marks.add(counted, less)
        keys = tuple(sorted(ctx.hidden))
        part = ctx.quote(*run_share(ctx, i, keys, self.lay.runs(row.cols)))  # with the row's runs: the % row adds up to 100.0%
        words = dict(tokens=hidden, token=ctx.token(i), share=part)
        yield Beat(say("say.softmax.hidden", **words), caption=say("softmax.hidden", theme.dim, **words),
                   hold=1.2, paced=(play(*(FadeOut(m) for m in gone), Create(counted), run_time=0.5),
                                    play(Create(less), run_time=0.5)))

    def why_masked(self, scaled, outlines):
        """Causal attention, taught: why generation must not see later tokens, with the number of
        cells the focus row masks (attncore.lessons.masked_cells), those cells outlined (every masked
        cell's `outlines` gone)."""
        ctx, r, i = self.ctx, self.ctx.result, self.ctx.focus
        count = lessons.masked_cells(r, i)
        gone = [FadeOut(outlines)] if len(outlines) else []
        if not count:
            if gone:
                yield Beat(None, (play(*gone, run_time=0.3),), hold=0)
            return
        n = ctx.quote(count, Source("", step=("masked_cells", i), format="int"))
        cells = [scaled.cells[i, j] for j in range(r.n_tokens) if (i, j) in scaled.cells and not r.mask[i, j]]
        box = SurroundingRectangle(VGroup(*cells), color=ctx.theme.accent, buff=0.06) if cells else None
        # then the tokens not yet written, named over their columns
        later = [scaled.col_labels[j] for j in range(i + 1, r.n_tokens) if j in scaled.col_labels]
        unwritten = SurroundingRectangle(VGroup(*later), color=ctx.theme.dim, buff=0.06) if later else None
        yield Beat(say("say.softmax.why_masked", token=ctx.token(i), n=n),
                   (play(*gone, Create(box), run_time=0.6),) if box else ((play(*gone, run_time=0.3),) if gone else ()),
                   caption=say("softmax.why_masked", token=ctx.token(i), n=n), hold=1.2, still="masked",
                   paced=(play(Create(unwritten), run_time=0.5),) if unwritten is not None else ())
        framed = [m for m in (box, unwritten) if m is not None]
        if framed:
            yield Beat(None, (play(*(FadeOut(m) for m in framed), run_time=0.3),), hold=0)

