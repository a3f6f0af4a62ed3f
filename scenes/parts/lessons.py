"""The summary's lessons: what the path leaves out, each with real numbers (attncore.lessons): what z is
for (z·W_O added to x, the residual, then the next layer; the toy's one head has W_O the identity), word order
(the sentence in another order gives the same weights, reordered; with positional encoding added, the two orders'
rows are other numbers) and, for the toy numbers, their limit (one token wins every row; the trained stage, after
the summary, shows a trained head's). Each lesson yields its beats and returns what it leaves on
screen; Lessons is the summary stage's (scenes/stages/summary.py) part that tells them."""

from __future__ import annotations

import numpy as np
from manim import (
    DOWN,
    LEFT,
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

from attncore import join_tokens, lessons, steps

from ..beats import CLEAR, Beat, play, say
from ..components import Grid, Picture, VectorRow, plan_axis, stagger
from ..context import FORMATS, Ctx, Source
from ..layout import Layout, fit_content, font_for
from ..texts import half_width, number_text, one_size, text
from .reading import reading

VECTOR_SLOTS = 6  # entries of a vector or a row shown at most in the recap and its lessons
VECTOR_X = 0.2  # where the vectors' left brackets stand (before fitting the recap or a lesson to the frame)
LESSON_SLOTS = 10  # tokens shown at most in a lesson's row of weights (as many as the S x S grids' columns)
LIMIT_ROWS = 7  # rows shown at most in the toy's limits
SAID_ROWS = 5  # rows whose shares the toy's limits say at most
LESSON_LABEL_W = 4.4  # the widest label of a lesson's vector


def gaps(indices) -> list:
    """Sorted indices with None where a run is left out (an elision mark)."""
    out: list = []
    for k in sorted(indices):
        if out and k != out[-1] + 1:
            out.append(None)
        out.append(k)
    return out


class Lessons:
    """What the path leaves out, told for a stage's ctx and layout after its recap."""

    ctx: Ctx
    lay: Layout

    def lessons(self, path):
        """The lessons' beats in turn, then back to the whole path, the picture the video ends on."""
        shown = self.path = path
        for lesson in (self.what_z_is_for, self.word_order, self.toy_limits):
            shown = yield from lesson(shown)
        if shown is not path:
            yield Beat(None, (play(FadeOut(shown), run_time=0.6), play(FadeIn(path), run_time=0.8)), caption=CLEAR, hold=0)

    def panel(self, title_key: str, *rows, **params) -> Picture:
        """A lesson's picture: a title over its rows, fitted to the content area."""
        ctx, theme = self.ctx, self.ctx.theme
        title = text(ctx, ctx.s(title_key, **params), theme.caption_size + 2, theme.accent, max_width=2 * half_width())
        body = VGroup(*rows).arrange(DOWN, buff=0.35)
        fit_content(VGroup(title, body).arrange(DOWN, buff=0.45), grow=1.5)  # a short lesson uses the frame
        return Picture("lesson", title=title, body=body)

    def vectors(self, rows) -> VGroup:
        """Labelled vectors one above another, their left brackets aligned: rows of (label, values,
        slots, source, colour)."""
        ctx, theme = self.ctx, self.ctx.theme
        w, h = 0.95, 0.5
        size = font_for(w, h, theme)
        made = [VectorRow(ctx, values, slots, source, label, color=color, cell_w=w, cell_h=h, font_size=size,
                          label_width=LESSON_LABEL_W) for label, values, slots, source, color in rows]
        for n, v in enumerate(made):  # the left brackets in one column, one row under another
            v.shift(RIGHT * (VECTOR_X - v.grid.grid_box().get_left()[0]) + DOWN * (v.grid.get_y() + 0.68 * n))
        return VGroup(*made)

    def weights_grid(self, values, slots, source: Source, w: float, h: float) -> Grid:
        """One row of weights (percentages), unbracketed, one cell per slot."""
        return Grid(self.ctx, np.asarray(values)[None, :], [0], slots, source=lambda _, j: source.at(j), cell_w=w,
                    cell_h=h, font_size=font_for(w, h, self.ctx.theme), colorize=False, brackets=False)

    def token_row(self, label: str, tokens, values, slots, source: Source) -> VGroup:
        """A sentence, its tokens and under each its weight (a percentage) in the focus token's row."""
        ctx, theme = self.ctx, self.ctx.theme
        w, h = (1.05 if len(slots) <= 8 else 0.9), 0.5
        row = self.weights_grid(values, slots, source, w, h)
        focus = ctx.token(ctx.focus)
        size, _ = one_size(ctx, [tokens[j] for j in slots if j is not None], theme.label_size, w * 0.95)  # none smaller
        names = VGroup(*(text(ctx, tokens[j], size, theme.accent if tokens[j] == focus else theme.text,
                              max_width=w * 0.95).move_to(row.slot_point(0, n) + UP * 0.45)
                         for n, j in enumerate(slots) if j is not None))
        sentence = text(ctx, label, theme.label_size, theme.dim, max_width=2 * half_width())
        sentence.next_to(VGroup(names, row), UP, buff=0.2)
        return VGroup(sentence, names, row)

    def positioned_row(self, block: VGroup, values, slots, source: Source) -> VGroup:
        """Under a token row's weights (`token_row`), the same tokens' weights with positional encoding
        (in the accent colour), each row labelled on its left: (without label, with label, with row)."""
        ctx, theme, row = self.ctx, self.ctx.theme, block[2]
        pe = self.weights_grid(values, slots, source, row.cell_w, row.cell_h)
        pe.shift(row.slot_point(0, 0) - pe.slot_point(0, 0) + DOWN * (row.cell_h + 0.08))
        for cell in pe.cells.values():
            cell.set_color(theme.accent)
        labels = [text(ctx, ctx.s(key), theme.label_size, color, max_width=LESSON_LABEL_W).next_to(grid, LEFT, buff=0.3)
                  for key, grid, color in (("summary.no_positions", row, theme.dim), ("summary.with_positions", pe, theme.accent))]
        return VGroup(*labels, pe)

    def residual_adds_up(self, res, dims) -> bool:
        """True when every entry shown of x + o is the sum of the x and o shown above it (scenes.arithmetic)."""
        show = FORMATS["fmt"]
        return self.ctx.equations(*(("sum", [show(res.x[j]), show(res.attended[j])], show(res.total[j]))
                                    for j in dims if j is not None))

    def what_z_is_for(self, on_screen):
        """z times W_O, added back to the layer's input: the residual, with its numbers (a model's
        layer, the toy heads', the toy's one head, whose W_O is the identity: attncore.lessons.residual);
        then what follows it."""
        ctx, theme, r = self.ctx, self.ctx.theme, self.ctx.result
        i, tok = ctx.focus, ctx.token(ctx.focus)
        one = ctx.heads is None  # the toy's single head: W_O the identity, said on screen
        res = lessons.residual(r if one else ctx.heads, i)
        if res is None:  # a model's layer whose input is not found again: nothing to add up
            return on_screen
        src = lambda f: Source(f, (), ("residual", i), of=None if one else "heads")
        pre = "_prenorm" if r.norm_first else ""
        x_label = (ctx.s("summary.residual_x" + pre, token=tok, layer=r.layer) if r.layer is not None
                   else ctx.s("summary.vec", v="x", token=tok))
        dims = plan_axis(r.d_model, VECTOR_SLOTS)
        z_label = ctx.s("summary.vec", v="z", token=tok) if one else ctx.s("summary.z_head", token=tok, head=r.head)
        a_label = (ctx.s("summary.attended_one") if one else
                   ctx.s("summary.attended" + ("_bias" if ctx.heads.b_O is not None else ""), n=ctx.heads.n_heads))
        rows = [(z_label, r.output[i], plan_axis(r.d_v, VECTOR_SLOTS), Source("output", (i,)), theme.Z),
                (a_label, res.attended, dims, src("attended"), theme.accent),
                (x_label, res.x, dims, src("x"), theme.X),
                (ctx.s("summary.residual_total" if self.residual_adds_up(res, dims) else "summary.residual_total_approx"),
                 res.total, dims, src("total"), theme.Z)]
        picture = self.panel("summary.residual_title", self.vectors(rows))
        first = {k: ctx.quote(getattr(res, f)[0], src(f).at(0)) for k, f in (("x", "x"), ("a", "attended"), ("s", "total"))}
        adds = ctx.equations(("sum", [first["x"].text, first["a"].text], first["s"].text))  # said as shown, or "about"
        said = "say.summary.residual" + ("_one" if one else "") + ("" if adds else "_approx")
        line = say(said, token=tok, **first)
        caption = (say("summary.residual") if not one else say("summary.identity") if r.d_v == r.d_model
                   else say("summary.identity_pad" if r.d_v < r.d_model else "summary.identity_cut", dv=r.d_v, d=r.d_model))
        then = (("say.summary.next" + pre, "summary.after" + pre) if r.model is not None
                else ("say.summary.next_toy", "summary.after_toy"))
        # the first numbers the narration adds up (x + a = x + a), framed as it says them
        firsts = SurroundingRectangle(VGroup(*(v.cells[0, 0] for v in picture.body[0][-3:])),
                                      color=theme.accent, buff=0.06)
        yield Beat(line, (play(FadeOut(on_screen), run_time=0.6),
                          play(FadeIn(picture.title), stagger((FadeIn(v, shift=RIGHT * 0.2) for v in picture.body), 0.3),
                               run_time=1.4)),
                   caption=caption, hold=1.0, paced=(play(Create(firsts), run_time=0.5),))
        after = text(ctx, ctx.s(then[1]), theme.caption_size, theme.text, max_width=2 * half_width())
        after.next_to(picture.body, DOWN, buff=0.45).set_x(0)
        # what follows: from the vectors (the sum going on) to the line that names it
        body = SurroundingRectangle(picture.body, color=theme.dim, buff=0.12)
        onward = SurroundingRectangle(after, color=theme.dim, buff=0.1)
        yield Beat(say(then[0]), (play(FadeOut(firsts), FadeIn(after, shift=UP * 0.1), run_time=0.8),), hold=0.8,
                   still="residual", paced=(play(Create(body), run_time=0.5), play(ReplacementTransform(body, onward),
                                                                                  run_time=0.6)))
        return VGroup(picture, after, onward)

    def word_order(self, on_screen):
        """The toy sentence in another order (attncore.lessons.shuffled): the same weights, reordered;
        then both orders again with positional encoding (attncore.lessons.positioned), their rows under
        the rows without it: other numbers, each order's strongest key framed and said (said in words
        instead, should they be alike to the digits shown). With positional encoding, or causal
        attention, or a model's position embeddings: why order counts there."""
        ctx, theme, r = self.ctx, self.ctx.theme, self.ctx.result
        i, tok = ctx.focus, ctx.token(ctx.focus)
        if r.model is not None:  # back to the path: its first row, the layer's input, carries the positions
            path = self.path
            # with RoPE nothing is added to the input: the positions turn q and k (the path's next two rows)
            turned = "" if r.rope is None else "_rope"
            given = SurroundingRectangle(path[1][1:3] if turned else path[1][0], color=theme.accent, buff=0.08)
            yield Beat(say("say.summary.order_model" + turned, model=r.model),
                       (play(FadeOut(on_screen), run_time=0.6), play(FadeIn(path), run_time=0.8)),
                       caption=say("summary.order_model" + turned), hold=1.0,
                       paced=(play(Create(given), run_time=0.5), play(FadeOut(given), run_time=0.4)))
            return path
        show = lambda picture: (play(FadeOut(on_screen), run_time=0.6), play(FadeIn(picture), run_time=1.0))
        if r.positional:  # the rows would change: positional encoding is why
            dims = plan_axis(r.d_model, VECTOR_SLOTS)
            rows = [(ctx.s("summary.vec", v="e", token=tok), r.embeddings[i], dims, Source("embeddings", (i,)), theme.X),
                    (ctx.s("summary.pe", position=i), r.positional_encoding[i], dims, Source("positional_encoding", (i,)),
                     theme.accent),
                    (ctx.s("summary.vec", v="x", token=tok), r.X[i], dims, Source("X", (i,)), theme.X)]
            picture = self.panel("summary.order_title", self.vectors(rows))
            # the position's encoding, then x, the sum, framed as they are said
            added = [SurroundingRectangle(v, color=theme.accent, buff=0.08) for v in picture.body[0][1:]]
            yield Beat(say("say.summary.order_positional", token=tok, position=i), show(picture),
                       caption=say("summary.order_positional"), hold=1.0, still="order",
                       paced=(play(Create(added[0]), run_time=0.5), play(ReplacementTransform(*added), run_time=0.5)))
            return VGroup(picture, added[1])
        slots = self.lay.tokens(LESSON_SLOTS)
        weights = self.token_row
        sentence = ctx.s("title.sentence", sentence=ctx.sentence())
        if r.causal:  # the mask is order: each token sees only those before it
            picture = self.panel("summary.order_title",
                                 weights(sentence, r.tokens, r.weights[i], slots, Source("weights", (i,), format="pct")))
            yield Beat(say("say.summary.order_causal", token=tok), show(picture), caption=say("summary.order_causal", token=tok),
                       hold=1.0, still="order")
            return picture
        shuffled = lessons.shuffled(r, i)
        if shuffled is None:  # one token, or the same token repeated: no other order
            return on_screen
        # the same two orders with positional encoding: other numbers (else, alike as shown, said in words)
        moved = lessons.positioned(r, i)
        # (past 16 tokens, as many as the links show, the four rows would not fit the frame at a readable size:
        # said in words then)
        changed = (r.n_tokens <= 16
                   and not lessons.same_numbers(moved.sentence.row, moved.shuffled.row, FORMATS["pct"]))
        at = moved.shuffled.order.index  # where a token of the sentence stands in the other order
        tops = (steps.strongest(moved.sentence.result, i),  # each order's strongest key, a token of the sentence
                moved.shuffled.order[steps.strongest(moved.shuffled.result, moved.shuffled.focus)]) if changed else ()
        slots = self.lay.tokens(LESSON_SLOTS, also=tops)
        mixed = join_tokens(shuffled.tokens)
        mixed_slots = gaps(at(j) for j in slots if j is not None)
        before = weights(sentence, r.tokens, r.weights[i], slots, Source("weights", (i,), format="pct"))
        after = weights(ctx.s("title.sentence", sentence=mixed), shuffled.tokens, shuffled.row, mixed_slots,
                        Source("weights", (), ("shuffled", i), "pct"))
        given = lambda f: Source(f, (), ("positioned", i), "pct")
        added = ([self.positioned_row(before, moved.sentence.row, slots, given("sentence")),
                  self.positioned_row(after, moved.shuffled.row, mixed_slots, given("shuffled"))] if changed
                 else [VGroup(), VGroup()])
        picture = self.panel("summary.order_title", VGroup(before, added[0]), VGroup(after, added[1]))
        # the focus token's largest weight, framed where it stands in either order (the same number)
        top = steps.strongest(r, i)  # in the story: never elided
        where = [before[2].cells[0, top], after[2].cells[0, at(top)]]
        same = [SurroundingRectangle(c, color=theme.accent, buff=0.06) for c in where]
        yield Beat(say("say.summary.shuffled", token=tok, shuffled=mixed),
                   (play(FadeOut(on_screen), run_time=0.6),
                    play(FadeIn(picture.title), FadeIn(before), *(FadeIn(m) for m in added[0].submobjects[:1]), run_time=0.8),
                    play(FadeIn(after, shift=DOWN * 0.2), *(FadeIn(m) for m in added[1].submobjects[:1]), run_time=1.0)),
                   caption=say("summary.shuffled"), hold=1.2, still="order",
                   paced=(*reading(after[0], len(mixed), theme.accent),  # the shuffled sentence, as it is read
                          play(Create(same[0]), run_time=0.5), play(TransformFromCopy(same[0], same[1]), run_time=0.6)))
        if not changed:  # each token's position: the two orders' tokens framed, positional encoding said in words
            places = [SurroundingRectangle(row[1], color=theme.dim, buff=0.08) for row in (before, after)]
            yield Beat(say("say.summary.positional_hint"), caption=say("summary.positional_hint"), hold=1.0,
                       paced=(play(FadeOut(VGroup(*same)), Create(places[0]), run_time=0.6),
                              play(TransformFromCopy(places[0], places[1]), run_time=0.6)))
            return VGroup(picture, *places)
        # with positional encoding, each order's strongest key framed as its share is said
        spots = (tops[0], at(tops[1]))  # in either order's own positions
        cells = [rows[2].cells.get((0, k)) for rows, k in zip(added, spots)]
        framed = [SurroundingRectangle(c, color=theme.accent, buff=0.06) for c in cells if c is not None]
        here, there = (ctx.quote(row[k], given(f).at(k)) for row, f, k in zip((moved.sentence.row, moved.shuffled.row),
                                                                              ("sentence", "shuffled"), spots))
        words = dict(token=tok, key=ctx.token(tops[0]), here=here, other=ctx.token(tops[1]), there=there)
        yield Beat(say("say.summary.positioned", **words),
                   (play(FadeOut(VGroup(*same)), run_time=0.4),
                    play(*(FadeIn(VGroup(*a[1:]), shift=DOWN * 0.1) for a in added), run_time=1.0)),
                   caption=say("summary.positioned", **words), hold=1.2, still="positions",
                   paced=(*(play(Create(f), run_time=0.5) for f in framed[:1]),
                          *(play(TransformFromCopy(framed[0], f), run_time=0.6) for f in framed[1:])))
        return VGroup(picture, *framed)

    def toy_limits(self, on_screen):
        """The toy numbers' limit, with each row's strongest key and its share (a trained head's row
        follows in the trained stage). Not for a model's head."""
        ctx, theme, r = self.ctx, self.ctx.theme, self.ctx.result
        if r.model is not None:
            return on_screen
        tops, top = lessons.top_keys(r), lessons.shared_top(r)
        rows = plan_axis(r.n_tokens, LIMIT_ROWS, keep=[ctx.focus])
        share = lambda q: Source("weights", (q, tops[q]), format="pct")
        size = theme.caption_size
        lines = []
        for q in rows:
            if q is None:
                lines.append(VGroup(text(ctx, "⋮", size, theme.dim)))
                continue
            lines.append(VGroup(text(ctx, r.tokens[q], size, theme.accent if q == ctx.focus else theme.text, max_width=2.4),
                                text(ctx, "→", size, theme.dim),
                                text(ctx, r.tokens[tops[q]], size, theme.heat_high, max_width=2.4),
                                number_text(ctx, FORMATS["pct"](r.weights[q, tops[q]]), share(q), size, theme.heat_high)))
        table = VGroup(*lines).arrange(DOWN, buff=0.14)
        full = [line for line in lines if len(line) == 4]
        right = 0.25 + max(line[2].width for line in full)  # the share column, just right of the widest key
        for line in full:  # columns: the row's token, →, its strongest key, the share
            name, arrow, key, pct = line
            y = line.get_y()
            name.move_to([-0.5, y, 0], aligned_edge=RIGHT)
            arrow.move_to([-0.2, y, 0])
            key.move_to([0.1, y, 0], aligned_edge=LEFT)
            pct.move_to([0.1 + right + 0.3, y, 0], aligned_edge=LEFT)
        for line in lines:
            if len(line) == 1:
                line.set_x(-0.15)
        picture = self.panel("summary.limits_title", table)
        said = plan_axis(r.n_tokens, SAID_ROWS, keep=[ctx.focus])  # fewer said than shown: a short line
        shares = [None if q is None else ctx.quote(r.weights[q, tops[q]], share(q)) for q in said]
        key = "limits_mixed" if top is None else "limits_positive" if lessons.all_positive(r) else "limits_same"
        named = ctx.token(top) if top is not None else ""
        # each row's strongest key, then its share, framed as a column
        columns = [SurroundingRectangle(VGroup(*(line[n] for line in full)), color=theme.accent, buff=0.08) for n in (2, 3)]
        yield Beat(say(f"say.summary.{key}", top=named, shares=shares),
                   (play(FadeOut(on_screen), run_time=0.6),
                    play(FadeIn(picture.title), stagger((FadeIn(line) for line in lines), 0.1), run_time=1.2)),
                   caption=say(f"summary.{key}", top=named), hold=1.0, still="limits",
                   paced=(play(Create(columns[0]), run_time=0.5), play(ReplacementTransform(columns[0], columns[1]), run_time=0.5)))
        return VGroup(picture, columns[1])
