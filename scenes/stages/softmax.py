"""Softmax: ÷ √d_k, the focus row's e^x / sum worked out, the same row without ÷ √d_k beside it (and how
far apart its scores lie before and after), then every row as percentages."""

from __future__ import annotations

from manim import (
    DOWN,
    UP,
    AnimationGroup,
    Create,
    FadeIn,
    FadeOut,
    ReplacementTransform,
    Succession,
    SurroundingRectangle,
    VGroup,
)

from attncore import fmt, lessons, steps

from ..arcs import ArcsRow
from ..beats import Beat, Stage, play, say
from ..components import VectorRow, arrange_down, fit_width, half_width, number_text, row_of, stagger, text
from ..context import Source
from ..elision import run_count, run_label
from ..formulas import rich_line
from ..layout import font_for
from ..pictures import masked_text, scaled_grid

TOUR = 4  # tokens whose links are shown in turn after the focus token's (the focus row's story)
LINK_SECONDS = 2.0  # each of them on screen


def row_sweep(grid, theme, beside=()) -> tuple:
    """Paced plays over a token grid's rows (its row label and what stands `beside` the row, e.g. its
    sum, with it): a frame on the first row, moving down to the last in one play, then gone."""
    rows = [i for i in grid.rows if i is not None]

    def frame(i):
        row = grid.row(i)
        level = [b for b in beside if abs(b.get_y() - row.get_y()) < 1e-3]
        return SurroundingRectangle(VGroup(row, grid.row_labels[i], *level), color=theme.accent, buff=0.05)

    frames = [frame(i) for i in rows]
    moves = [ReplacementTransform(a, b) for a, b in zip(frames, frames[1:])]
    return (play(Create(frames[0]), run_time=0.5),
            *([play(Succession(*moves), run_time=min(2.4, 0.3 * len(moves) + 0.1))] if moves else []),
            play(FadeOut(frames[-1]), run_time=0.4))


def turn(shown, after) -> tuple:
    """From one token's links (ArcsRow.links) to another's: the arches and the frame move; the
    percentages are replaced, the old gone before the new come (a number never morphs into another)."""
    return (ReplacementTransform(shown.arches, after.arches), ReplacementTransform(shown.frame, after.frame),
            Succession(AnimationGroup(FadeOut(shown.shares), FadeOut(shown.elided)),
                       AnimationGroup(FadeIn(after.shares), FadeIn(after.elided))))


class SoftmaxStage(Stage):
    name = "softmax"
    starts_from = "scores"
    ends_on = "weights"
    heading_key = "softmax.heading"
    shown_key = "softmax.heading_shown"

    def elided(self):
        return [(self.lay.token_cols, self.ctx.result.n_tokens, "keys")]

    def explain(self, start):
        ctx, theme, r, lay = self.ctx, self.ctx.theme, self.ctx.result, self.lay
        i, tok = ctx.focus, ctx.token(ctx.focus)
        heading = self.heading()
        scaled = scaled_grid(ctx)
        scores = start.grid
        dk = ctx.quote(r.d_k, Source("d_k", format="int"))
        scale = ctx.quote(r.scale, Source("scale"))
        for f in scaled.fills.values():  # (causal) the masked cells' fills come in behind their numbers, not over them
            f.set_z_index(-1)
        yield Beat(say("say.softmax.scale", dk=dk, scale=scale), (play(FadeIn(heading), run_time=0.6),),
                   caption=say("softmax.scale", dk=dk, scale=scale), hold=1.2,
                   # each score out, then its scaled value in its place: a number never morphs into another
                   paced=(play(*(Succession(FadeOut(scores.cells[k]), FadeIn(scaled.cells[k])) for k in scores.cells),
                               *(FadeIn(f) for f in scaled.fills.values()), run_time=1.2),))
        # the score cells became the scaled ones; the brackets and labels left are the scores grid's
        rest_of_scores = VGroup(scores.brackets, scores.marks, *scores.row_labels.values(), *scores.col_labels.values())
        outlines = VGroup(*(SurroundingRectangle(c, color=theme.dim, buff=0.04) for (a, b), c in scaled.cells.items()
                            if r.causal and not r.mask[a, b]))
        if r.causal:
            yield Beat(say("say.softmax.masked", token=tok), caption=say("softmax.masked"), hold=1.2,
                       paced=(play(stagger((Create(o) for o in outlines), 0.05), run_time=0.8),) if len(outlines) else ())
        yield from self.why_masked(scaled, outlines)
        # the focus row worked out: e^x, their sum, each share
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
        exp_label = (rich_line(ctx, "softmax.exp", labels) if sm.shift == 0 else  # e^x typeset
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
        runs = self.elided_shares(ws, cols, w)
        panel = arrange_down(xs, ex, ws, *([raw] if compare else []))
        if compare:  # named on the right, as the sum is, so the labels' column does not widen
            raw.add(text(ctx, ctx.s("softmax.unscaled"), labels, theme.dim).next_to(raw, buff=0.3))
        for t, slot in zip(toks, [s for s, j in enumerate(cols) if j is not None]):
            t.move_to(xs.grid.slot_point(0, slot) + UP * 0.55)
        for t, slot in zip(runs, [s for s, j in enumerate(cols) if j is None]):  # over the tokens' row: wider room
            t.move_to(xs.grid.slot_point(0, slot) + UP * 0.95)
        toks.add(*runs)
        total = number_text(ctx, fmt(sm.total), Source("total", step=entry), row["font_size"], theme.accent)
        total_t = row_of(text(ctx, ctx.s("softmax.sum_is"), labels, theme.dim), total, buff=0.15)
        total_t.next_to(ex, buff=0.3)
        whole = fit_width(VGroup(toks, panel, total_t)).move_to([0, 0.2, 0])
        hl = SurroundingRectangle(scaled.row(i), color=theme.accent, buff=0.05)
        shifted = {} if sm.shift == 0 else {"shift": ctx.quote(sm.shift, Source("shift", step=entry))}
        yield Beat(say("say.softmax.row_shifted" if shifted else "say.softmax.row", token=tok,
                       total=ctx.quote(sm.total, Source("total", step=entry)), **shifted),
                   (play(FadeIn(hl), run_time=0.5),
                    play(FadeOut(scaled), FadeOut(rest_of_scores), FadeOut(hl), run_time=0.6),
                    play(FadeIn(toks), FadeIn(xs), run_time=0.6)),
                   caption=say("softmax.divide"), hold=1.2, still=True, pause=True,
                   paced=(play(stagger((FadeIn(ex.cells[k], shift=DOWN * 0.2) for k in ex.cells), 0.1),
                               FadeIn(ex.label), FadeIn(ex.grid.marks), run_time=1.2),
                          play(FadeIn(total_t), run_time=0.6),
                          play(FadeIn(ws), run_time=0.8)))
        top = steps.strongest(r, i)
        share = ctx.quote(r.weights[i, top], Source("weights", (i, top), format="pct"))
        key = "top_self" if top == i else "top"
        # the top key's share boxed (unless its column is elided or hidden); then, with the unscaled row, its two shares
        marks = VGroup(*([SurroundingRectangle(ws.cells[0, top], color=theme.accent, buff=0.06)] if (0, top) in ws.cells else []))
        named = dict(zip([j for j in cols if j is not None], toks))  # the token labels over the columns
        if top in named and top != i:  # and the top key's name
            marks.add(SurroundingRectangle(named[top], color=theme.accent, buff=0.06))
        yield Beat(say(f"say.softmax.{key}", token=tok, top=ctx.token(top), pct=share),
                   caption=say(f"softmax.{key}", token=tok, top=ctx.token(top), pct=share), hold=1.6,
                   paced=tuple(play(Create(m), run_time=0.5) for m in marks))
        # why ÷ √d_k: the same row unscaled, beside the real one, and how far apart its scores lie
        self.lingering = None
        if compare:
            yield from self.unscaled(i, top, share, xs, ws, raw, unscaled, marks)
        if ctx.hidden:  # a model's [CLS]/[SEP] not drawn: they still take their share (the sum counts them)
            hidden = " ".join(sorted({r.tokens[j] for j in ctx.hidden}))
            counted = SurroundingRectangle(total_t, color=theme.dim, buff=0.08)
            less = SurroundingRectangle(VGroup(*ws.cells.values()), color=theme.dim, buff=0.06)  # short of 100%
            gone = [self.lingering] if self.lingering is not None else []
            for m in gone:
                marks.remove(m)
            marks.add(counted, less)
            keys = tuple(sorted(ctx.hidden))
            part = ctx.quote(steps.run_weight(r, i, keys), Source("", step=("run_weight", i, keys), format="pct"))
            words = dict(tokens=hidden, token=ctx.token(i), share=part)
            yield Beat(say("say.softmax.hidden", **words), caption=say("softmax.hidden", theme.dim, **words),
                       hold=1.2, paced=(play(*(FadeOut(m) for m in gone), Create(counted), run_time=0.5),
                                        play(Create(less), run_time=0.5)))
        links = yield from self.arcs(VGroup(whole, marks))
        block = self.handoff()
        yield Beat(say("say.softmax.all"), (play(FadeOut(links), run_time=0.6), play(FadeIn(block), run_time=0.8)),
                   caption=say("softmax.caption"), hold=1.6, paced=row_sweep(block.grid, theme, block.sums))
        yield from self.end(heading)

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
        # the scaled scores framed (their span), then the unscaled shares (all or nothing); the pair's box gone
        span = SurroundingRectangle(VGroup(*xs.cells.values()), color=theme.dim, buff=0.06)
        extreme = SurroundingRectangle(VGroup(*raw.cells.values()), color=theme.dim, buff=0.06)
        marks.add(extreme)
        self.lingering = extreme  # gone with the next beat (the hidden tokens'), or with the picture
        yield Beat(say("say.softmax.spread", **gaps), caption=say("softmax.spread", **gaps), hold=1.2,
                   paced=(play(*([FadeOut(pair)] if pair is not None else []), Create(span), run_time=0.5),
                          play(ReplacementTransform(span, extreme), run_time=0.6)))

    def elided_shares(self, ws: VectorRow, cols, w: float) -> list:
        """Each elided run of the worked row: in the % row its share instead of "…", and the number
        of tokens it stands for, returned, to stand over its column."""
        ctx, i = self.ctx, self.ctx.focus
        counts = []
        for mark, keys in zip(list(ws.grid.marks), self.lay.runs(cols)):
            share = run_label(ctx, i, keys, mark.font_size, w, count=False)
            if share.width > w * 0.92:
                share.scale_to_fit_width(w * 0.92)
            ws.grid.marks.remove(mark)
            ws.grid.marks.add(share.move_to(mark))
            counts.append(run_count(ctx, keys, ctx.theme.min_font_size, 1.8 * w))
        return counts

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

    def arcs(self, leaving):
        """The seeds' "current token" picture: the focus token linked to every token it may attend
        to, thickness and percentage by weight; then the links of the tokens of its story (its largest
        keys: Layout.story, at most TOUR of them, in the sentence's order), LINK_SECONDS each, and back
        to the focus. Returns what is on screen at the end."""
        ctx, i = self.ctx, self.ctx.focus
        tok = ctx.token(i)
        row = ArcsRow(ctx)
        links = row.links(i)
        yield Beat(say("say.softmax.arcs", token=tok),
                   (play(FadeOut(leaving), run_time=0.6), play(FadeIn(row.tokens), run_time=0.5),
                    play(Create(links.arches), FadeIn(links.shares), FadeIn(links.frame), FadeIn(links.elided),
                         run_time=1.2)),
                   caption=say("softmax.arcs", token=tok), hold=1.2, still="arcs")
        turns, shown = [], links
        drawn = row.rows()
        for j in sorted([j for j in self.lay.story() if j != i and j in drawn][:TOUR]):
            after = row.links(j)
            turns += [play(*turn(shown, after), run_time=0.5), play(run_time=LINK_SECONDS - 0.5)]
            shown = after
        if turns:
            back = row.links(i)  # end where the row started: on the focus token
            turns.append(play(*turn(shown, back), run_time=0.5))
            shown = back
            yield Beat(say("say.softmax.arcs_all"), tuple(turns), caption=say("softmax.arcs_all"), hold=LINK_SECONDS - 0.5)
        return VGroup(row.tokens, shown)
