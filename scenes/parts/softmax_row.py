"""The softmax stage's worked row (scenes/stages/softmax.py): the focus row's scaled scores s, e^s, the
shares and (to compare) the same row without ÷ √d_k, one above another under the tokens' names, the sum
beside e^s, an elided run's share in place of its "…"; and the beats that set the unscaled row beside the
real one."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from manim import DOWN, LEFT, UP, Create, FadeIn, FadeOut, ReplacementTransform, SurroundingRectangle, VGroup

from attncore import fmt, pct, steps

from ..beats import Beat, play, say
from ..components import VectorRow, arrange_down, row_of
from ..context import Ctx, Source
from ..elision import run_count, run_label, run_share
from ..formulas import rich_line
from ..layout import Layout, font_for
from ..pictures import masked_text
from ..texts import fit_width, half_width, number_text, text


@dataclass
class WorkedRow:
    """The focus row worked out: its softmax steps (`sm`), the columns shown, the rows s, e^s and the
    shares (`raw`: unscaled, when `compare`), the tokens' names over them, the sum, all of it (`whole`)."""

    sm: steps.SoftmaxRow
    cols: list
    xs: VectorRow
    ex: VectorRow
    ws: VectorRow
    raw: VectorRow | None
    unscaled: np.ndarray
    compare: bool
    toks: VGroup
    total: VGroup
    whole: VGroup
    divides_out: bool  # every share shown is its power of e ÷ the sum, as shown ("=" in the caption, else "≈")


class SoftmaxRowPart:
    """The worked row, for a stage's ctx and layout."""

    ctx: Ctx
    lay: Layout

    def worked_row(self) -> WorkedRow:
        """The focus row's picture: e^s, their sum, each share; the same row unscaled below, when there is
        more than one key to compare."""
        ctx, theme, r, lay = self.ctx, self.ctx.theme, self.ctx.result, self.lay
        i = ctx.focus
        sm = steps.softmax_row(r, i)
        w, _ = lay.grid_cell
        cols = lay.token_cols
        # narrower cells if need be (the story may take up to COL_MOST columns): the labels, the row and
        # "sum = …" beside it fit the frame without shrinking
        # numbers, and labels a little smaller, grow with the cells: "sum = …" measured at a size no smaller than
        # the row's (the largest first, then the size that leaves the cells)
        size, widest = theme.max_font_size, w
        for _ in range(3):
            beside = (text(ctx, ctx.s("softmax.sum_is"), max(theme.label_size, 0.85 * size)).width
                      + text(ctx, fmt(sm.total), size).width + 0.6)
            w = min(widest, (2 * half_width() - 2.0 - beside) / len(cols))
            size = min(size, font_for(w, 0.6, theme, theme.max_font_size))
        labels = max(theme.label_size, 0.85 * size)
        row = dict(cell_w=w, cell_h=max(0.55, size / 46), font_size=size, colorize=False, brackets=False,
                   label_size=labels)
        entry = ("softmax_row", i)
        masked = masked_text(ctx)
        xs = VectorRow(ctx, sm.x, cols, Source("x", step=entry), ctx.s("softmax.x"), color=theme.text, label_width=1.7,
                       cell_text=(lambda j: masked(i, j)) if masked else None, **row)
        exp_label = (rich_line(ctx, "softmax.exp", labels) if sm.shift == 0 else  # e^s typeset
                     ctx.s("softmax.exp_shifted", shift=fmt(sm.shift)))
        ex = VectorRow(ctx, sm.exps, cols, Source("exps", step=entry), exp_label, color=theme.text, label_width=1.7, **row)
        ws = VectorRow(ctx, r.weights[i], cols, Source("weights", (i,), format="pct"), "%", color=theme.heat_high,
                       label_width=1.7, **row)
        # the same row without ÷ √d_k, shown later beside the real one (with one key to attend to, softmax
        # gives it 100% scaled or not: nothing to compare)
        compare = steps.allowed(r, i).sum() > 1
        unscaled = steps.unscaled_softmax_row(r, i)
        raw = VectorRow(ctx, unscaled, cols, Source("", step=("unscaled_softmax_row", i), format="pct"), "%",
                        color=theme.dim, label_width=1.7, **row) if compare else None
        toks = VGroup(*(text(ctx, r.tokens[j], max(theme.label_size, size), theme.accent if j == i else theme.text, max_width=w * 0.95)
                        for j in cols if j is not None))
        runs = self.elided_shares(ws, ex, cols, w)
        panel = arrange_down(xs, ex, ws, *([raw] if compare else []))
        if compare:  # named on the right, as the sum is, so the labels' column does not widen
            raw.add(text(ctx, ctx.s("softmax.unscaled"), labels, theme.dim).next_to(raw, buff=0.3))
        for t, slot in zip(toks, [s for s, j in enumerate(cols) if j is not None]):
            t.move_to(xs.grid.slot_point(0, slot) + UP * 0.55)
        for t, slot in zip(runs, [s for s, j in enumerate(cols) if j is None]):  # over the tokens' row: wider room
            t.move_to(xs.grid.slot_point(0, slot) + UP * 0.95)
        toks.add(*runs)
        total = number_text(ctx, fmt(sm.total), Source("total", step=entry), row["font_size"], theme.accent)
        exact = self.sum_adds_up(cols)
        total_t = row_of(text(ctx, ctx.s("softmax.sum_is" if exact else "softmax.sum_approx"), labels, theme.dim), total,
                         buff=0.15)
        if ctx.hidden:  # the special tokens not drawn: their powers of e, under the sum that counts them
            keys = tuple(sorted(ctx.hidden))
            part = number_text(ctx, fmt(steps.exp_run(r, i, keys)), Source("", (), ("exp_run", i, keys)),
                               theme.min_font_size, theme.dim)
            below = row_of(text(ctx, ctx.s("softmax.sum_hidden"), theme.min_font_size, theme.dim), part, buff=0.1)
            total_t.add(below.next_to(total_t, DOWN, buff=0.08, aligned_edge=LEFT))
        total_t.next_to(ex, buff=0.3)
        if ctx.hidden:  # the sum's own line level with e^s's, the special tokens' under it
            total_t.shift(UP * (ex.get_y() - total_t[1].get_y()))
        whole = fit_width(VGroup(toks, panel, total_t)).move_to([0, 0.2, 0])
        return WorkedRow(sm, cols, xs, ex, ws, raw, unscaled, compare, toks, total_t, whole, self.shares_divide_out(cols))

    def unscaled(self, i, top, share, xs, ws, raw, unscaled, marks):
        """The worked row's softmax without ÷ √d_k (`raw`, its values `unscaled`) beside the real one
        (`ws`), the top key's two shares boxed (`marks` holds the box of its share); then the row's
        spread before and after, its scaled scores (`xs`) framed, then the unscaled shares."""
        ctx, theme, r, tok = self.ctx, self.ctx.theme, self.ctx.result, self.ctx.token(i)
        would = ctx.quote(unscaled[top], Source("", (top,), step=("unscaled_softmax_row", i), format="pct"))
        paced, pair = (), None
        if len(marks):  # the box of the top key's share grows over its unscaled share too
            pair = SurroundingRectangle(VGroup(ws.cells[0, top], raw.cells[0, top]), color=theme.accent, buff=0.06)
            paced = (play(ReplacementTransform(marks[0], pair), run_time=0.5),)
            marks.remove(marks[0])
        yield Beat(say("say.softmax.unscaled_self" if top == i else "say.softmax.unscaled", token=tok, top=ctx.token(top),
                       unscaled=would, pct=share), (play(FadeIn(raw), run_time=0.8),),
                   caption=say("softmax.unscaled_caption", unscaled=would, pct=share), hold=1.2, still="unscaled",
                   paced=paced)
        spread = steps.score_spread(r, i)
        gaps = dict(raw=ctx.quote(spread.before, Source("before", step=("score_spread", i))),
                    scaled=ctx.quote(spread.after, Source("after", step=("score_spread", i))))
        # max − min of the scaled row as shown (the x row), and of the scores (their grid), where both ends are drawn
        may = [j for j in range(r.n_tokens) if steps.allowed(r, i)[j]]
        ends = [(field, max(may, key=lambda j: row[j]), min(may, key=lambda j: row[j]), gaps[name].text)
                for field, row, name in (("scores", r.scores[i], "raw"), ("scaled", r.scaled[i], "scaled"))]
        drawn = set(self.lay.token_cols)
        exact = ctx.equations(*(("difference", [fmt(getattr(r, field)[i, hi]), fmt(getattr(r, field)[i, lo])], shown)
                                for field, hi, lo, shown in ends if {hi, lo} <= drawn))
        # the scaled scores framed (their span), then the unscaled shares (all or nothing); the pair's box gone
        span = SurroundingRectangle(VGroup(*xs.cells.values()), color=theme.dim, buff=0.06)
        extreme = SurroundingRectangle(VGroup(*raw.cells.values()), color=theme.dim, buff=0.06)
        marks.add(extreme)
        self.lingering = extreme  # gone with the next beat (the hidden tokens'), or with the picture
        yield Beat(say("say.softmax.spread", **gaps), caption=say("softmax.spread" if exact else "softmax.spread_approx", **gaps),
                   hold=1.2,
                   paced=(play(*([FadeOut(pair)] if pair is not None else []), Create(span), run_time=0.5),
                          play(ReplacementTransform(span, extreme), run_time=0.6)))

    def sum_adds_up(self, cols) -> bool:
        """True when the powers of e shown (the tokens', the runs' sums, the hidden tokens') add up to the sum
        shown (scenes.arithmetic): "sum =", else "sum ≈"."""
        ctx, r, i = self.ctx, self.ctx.result, self.ctx.focus
        sm = steps.softmax_row(r, i)
        parts = [sm.exps[j] for j in cols if j is not None]
        parts += [steps.exp_run(r, i, keys) for keys in self.lay.runs(cols)]
        parts += [steps.exp_run(r, i, tuple(sorted(ctx.hidden)))] if ctx.hidden else []
        return ctx.equations(("sum", [fmt(p) for p in parts], fmt(sm.total)))

    def shares_divide_out(self, cols) -> bool:
        """True when every share shown (a token's; a run's, stated as the row's rest) is its power of e shown
        (a run's: their sum) divided by the sum shown, to its last digit: "each power of e ÷ sum = its
        share", else "≈"."""
        ctx, r, i = self.ctx, self.ctx.result, self.ctx.focus
        sm, runs = steps.softmax_row(r, i), self.lay.runs(cols)
        total = fmt(sm.total)
        pairs = [(sm.exps[j], r.weights[i, j]) for j in cols if j is not None and steps.allowed(r, i)[j]]
        pairs += [(steps.exp_run(r, i, keys), run_share(ctx, i, keys, runs)[0]) for keys in runs]
        return ctx.equations(*(("quotient", [fmt(e), total], pct(w)) for e, w in pairs))

    def elided_shares(self, ws: VectorRow, ex: VectorRow, cols, w: float) -> list:
        """Each elided run of the worked row: in the % row its share instead of "…" (the row's rest:
        `run_share`), in the e^s row its powers of e added up (`steps.exp_run`), and the number of tokens
        it stands for, returned, to stand over its column."""
        ctx, i = self.ctx, self.ctx.focus
        counts = []
        for mark, keys in zip(list(ex.grid.marks), self.lay.runs(cols)):
            summed = number_text(ctx, fmt(steps.exp_run(ctx.result, i, keys)), Source("", (), ("exp_run", i, keys)),
                                 mark.font_size, ctx.theme.dim)
            if summed.width > w * 0.92:
                summed.scale_to_fit_width(w * 0.92)
            ex.grid.marks.remove(mark)
            ex.grid.marks.add(summed.move_to(mark))
        for mark, keys in zip(list(ws.grid.marks), self.lay.runs(cols)):
            share = run_label(ctx, i, keys, mark.font_size, w, self.lay.runs(cols), count=False)
            if share.width > w * 0.92:
                share.scale_to_fit_width(w * 0.92)
            ws.grid.marks.remove(mark)
            ws.grid.marks.add(share.move_to(mark))
            counts.append(run_count(ctx, keys, ctx.theme.min_font_size, 1.8 * w))
        return counts
