"""Softmax: ÷ √d_k, the focus row's e^x / sum worked out, then every row as percentages."""

from __future__ import annotations

from manim import UP, Create, FadeIn, FadeOut, ReplacementTransform, SurroundingRectangle, TransformFromCopy, VGroup

from attncore import fmt, steps

from ..arcs import ArcsRow
from ..beats import Beat, Stage, play, say
from ..components import VectorRow, arrange_down, fit_width, number_text, row_of, stagger, text
from ..context import Source
from ..layout import font_for
from ..pictures import masked_text, scaled_grid


class SoftmaxStage(Stage):
    name = "softmax"
    starts_from = "scores"
    ends_on = "weights"
    heading_key = "softmax.heading"

    def elided(self):
        return [(self.lay.token_cols, self.ctx.result.n_tokens, "tokens")]

    def explain(self, start):
        ctx, theme, r, lay = self.ctx, self.ctx.theme, self.ctx.result, self.lay
        i, tok = ctx.focus, ctx.token(ctx.focus)
        heading = self.heading()
        scaled = scaled_grid(ctx)
        scores = start.grid
        dk = ctx.quote(r.d_k, Source("d_k", format="int"))
        scale = ctx.quote(r.scale, Source("scale"))
        yield Beat(say("say.softmax.scale", dk=dk, scale=scale),
                   (play(FadeIn(heading), run_time=0.6),
                    play(*(ReplacementTransform(scores.cells[k], scaled.cells[k]) for k in scores.cells),
                         *(FadeIn(f) for f in scaled.fills.values()), run_time=1.2)),
                   caption=say("softmax.scale", dk=dk, scale=scale), hold=1.2)
        # the score cells became the scaled ones; the brackets and labels left are the scores grid's
        rest_of_scores = VGroup(scores.brackets, scores.marks, *scores.row_labels.values(), *scores.col_labels.values())
        if r.causal:
            yield Beat(say("say.softmax.masked", token=tok), caption=say("softmax.masked"), hold=1.2)
        # the focus row worked out: e^x, their sum, each share
        sm = steps.softmax_row(r, i)
        w, _ = lay.grid_cell
        cols = lay.token_cols
        row = dict(cell_w=w, cell_h=0.55, font_size=font_for(w, 0.5, theme), colorize=False, brackets=False)
        entry = ("softmax_row", i)
        masked = masked_text(ctx)
        xs = VectorRow(ctx, sm.x, cols, Source("x", step=entry), ctx.s("softmax.x"), color=theme.text, label_width=1.7,
                       cell_text=(lambda j: masked(i, j)) if masked else None, **row)
        exp_label = ctx.s("softmax.exp") if sm.shift == 0 else ctx.s("softmax.exp_shifted", shift=fmt(sm.shift))
        ex = VectorRow(ctx, sm.exps, cols, Source("exps", step=entry), exp_label, color=theme.text, label_width=1.7, **row)
        ws = VectorRow(ctx, r.weights[i], cols, Source("weights", (i,), format="pct"), "%", color=theme.heat_high,
                       label_width=1.7, **row)
        toks = VGroup(*(text(ctx, r.tokens[j], theme.label_size, theme.accent if j == i else theme.text, max_width=w * 0.95)
                        for j in cols if j is not None))
        panel = arrange_down(xs, ex, ws)
        for t, slot in zip(toks, [s for s, j in enumerate(cols) if j is not None]):
            t.move_to(xs.grid.slot_point(0, slot) + UP * 0.55)
        total = number_text(ctx, fmt(sm.total), Source("total", step=entry), row["font_size"], theme.accent)
        total_t = row_of(text(ctx, ctx.s("softmax.sum_is"), theme.label_size, theme.dim), total, buff=0.15)
        total_t.next_to(ex, buff=0.3)
        whole = fit_width(VGroup(toks, panel, total_t)).move_to([0, 0.2, 0])
        hl = SurroundingRectangle(scaled.row(i), color=theme.accent, buff=0.05)
        shifted = {} if sm.shift == 0 else {"shift": ctx.quote(sm.shift, Source("shift", step=entry))}
        yield Beat(say("say.softmax.row_shifted" if shifted else "say.softmax.row", token=tok,
                       total=ctx.quote(sm.total, Source("total", step=entry)), **shifted),
                   (play(FadeIn(hl), run_time=0.5),
                    play(FadeOut(scaled), FadeOut(rest_of_scores), FadeOut(hl), run_time=0.6),
                    play(FadeIn(toks), FadeIn(xs), run_time=0.6),
                    play(stagger((TransformFromCopy(xs.cells[k], ex.cells[k]) for k in ex.cells), 0.1),
                         FadeIn(ex.label), FadeIn(ex.grid.marks), run_time=1.2),
                    play(FadeIn(total_t), run_time=0.6),
                    play(FadeIn(ws), run_time=0.8)),
                   caption=say("softmax.divide"), hold=1.2, still=True, pause=True)
        top = steps.strongest(r, i)
        share = ctx.quote(r.weights[i, top], Source("weights", (i, top), format="pct"))
        key = "top_self" if top == i else "top"
        yield Beat(say(f"say.softmax.{key}", token=tok, top=ctx.token(top), pct=share),
                   caption=say(f"softmax.{key}", token=tok, top=ctx.token(top), pct=share), hold=1.6)
        if ctx.hidden:  # a model's [CLS]/[SEP] not drawn: they still take their share
            hidden = " ".join(sorted({r.tokens[j] for j in ctx.hidden}))
            yield Beat(say("say.softmax.hidden", tokens=hidden), caption=say("softmax.hidden", theme.dim, tokens=hidden), hold=1.2)
        links = yield from self.arcs(whole)
        block = self.handoff()
        yield Beat(say("say.softmax.all"), (play(FadeOut(links), run_time=0.6), play(FadeIn(block), run_time=0.8)),
                   caption=say("softmax.caption"), hold=1.6)
        yield from self.end(heading)

    def arcs(self, leaving):
        """The seeds' "current token" picture: the focus token linked to every token it may attend
        to, thickness and percentage by weight; then every token in turn, quickly. Returns what
        is on screen at the end."""
        ctx, i = self.ctx, self.ctx.focus
        tok = ctx.token(i)
        row = ArcsRow(ctx)
        links = row.links(i)
        yield Beat(say("say.softmax.arcs", token=tok),
                   (play(FadeOut(leaving), run_time=0.6), play(FadeIn(row.tokens), run_time=0.5),
                    play(Create(links.arches), FadeIn(links.shares), FadeIn(links.frame), run_time=1.2)),
                   caption=say("softmax.arcs", token=tok), hold=1.2, still="arcs")
        turns, shown = [], links
        for j in row.rows():
            if j != i:
                after = row.links(j)
                turns += [play(ReplacementTransform(shown, after), run_time=0.4), play(run_time=0.5)]
                shown = after
        if turns:
            back = row.links(i)  # end where the row started: on the focus token
            turns.append(play(ReplacementTransform(shown, back), run_time=0.4))
            shown = back
            yield Beat(say("say.softmax.arcs_all"), tuple(turns), caption=say("softmax.arcs_all"), hold=0.8)
        return VGroup(row.tokens, shown)
