"""Summary: the whole path, sentence -> X -> Q, K, V -> scores -> weights -> Z, each with its real
shape and the focus token's numbers, then the formula. Then what the path leaves out, each with real
numbers (attncore.lessons): what z is for (the residual, then the next layer), word order (the
sentence shuffled gives the same weights, shuffled; what positional encoding changes) and, for the
toy numbers, their limit (one token wins every row) with the command for a real head.

Word order is taught here rather than with the embeddings: it needs a row of attention weights, which
the viewer only knows by now, and it closes the path with what the path cannot see."""

from __future__ import annotations

from dataclasses import replace

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
    Write,
)

from attncore import join_tokens, lessons, steps

from ..arithmetic import adds_up
from ..beats import CLEAR, Beat, Stage, play, say
from ..components import Grid, Picture, VectorRow, half_width, number_text, plan_axis, stagger, text
from ..context import FORMATS, Source, vector_quote
from ..elision import run_label
from ..formulas import rich_line
from ..layout import CONTENT_BOTTOM, CONTENT_TOP, fit_content, font_for
from ..pictures import masked_text
from .title import reading

VECTOR_SLOTS = 6  # entries of a vector or a row shown at most in the recap
KEYS_MOST = 8  # a row of weights (and its scores) grows to this many, narrower, when the focus row's story needs it
VECTOR_X = 0.2  # where the vectors' left brackets stand (before fitting the recap to the frame)
LESSON_SLOTS = 10  # tokens shown at most in a lesson's row of weights (as many as the S x S grids' columns)
LIMIT_ROWS = 7  # rows shown at most in the toy's limits
SAID_ROWS = 5  # rows whose shares the toy's limits say at most
LESSON_LABEL_W = 4.4  # the widest label of a lesson's vector
REAL_HEAD = ("summary.command_1", "summary.command_2")  # a real head's sentence and what it shows (MiniLM; m3e in Chinese)


def gaps(indices) -> list:
    """Sorted indices with None where a run is left out (an elision mark)."""
    out: list = []
    for k in sorted(indices):
        if out and k != out[-1] + 1:
            out.append(None)
        out.append(k)
    return out


class SummaryStage(Stage):
    name = "summary"
    starts_from = "z"
    ends_on = "recap"  # its own picture (see handoff): nothing comes after it
    heading_key = "summary.heading"

    def recap_rows(self) -> list[Picture]:
        """One row per step: its name, its shape, the focus token's vector (or row) in it."""
        ctx, theme, r = self.ctx, self.ctx.theme, self.ctx.result
        i, tok = ctx.focus, ctx.token(ctx.focus)
        S, dm, dk, dv = r.n_tokens, r.d_model, r.d_k, r.d_v
        dims = lambda n: plan_axis(n, VECTOR_SLOTS)
        keys = self.lay.tokens(VECTOR_SLOTS, KEYS_MOST)
        w, h = 0.95, 0.42
        key_w = (w + 0.15) * VECTOR_SLOTS / len(keys) if len(keys) > VECTOR_SLOTS else None  # as wide as 6 slots
        x_key = "summary.x" if r.layer is None else "summary.x_layer" + ("_prenorm" if r.norm_first else "")
        bias = "" if r.b_Q is None else "_bias"
        turned = "" if r.rope is None else "_rope"  # the q and k shown are turned by position (RoPE), as the scores use them
        size = font_for(w, h, theme)
        steps = [
            # (name key, shape (rows, cols), field, values, slots, source format, vector label key, colour)
            (x_key, (S, dm), "X", r.X[i], dims(dm), "fmt", "summary.vec", theme.X, "x"),
            ("summary.q" + turned + bias, (S, dk), "Q", r.Q[i], dims(dk), "fmt", "summary.vec", theme.Q, "q"),
            ("summary.k" + turned + bias, (S, dk), "K", r.K[i], dims(dk), "fmt", "summary.vec", theme.K, "k"),
            ("summary.v" + bias, (S, dv), "V", r.V[i], dims(dv), "fmt", "summary.vec", theme.V, "v"),
            ("summary.scores", (S, S), "scaled", r.scaled[i], keys, "fmt", "summary.row", theme.accent, ""),
            ("summary.weights", (S, S), "weights", r.weights[i], keys, "pct", "summary.row", theme.heat_high, ""),
            ("summary.output", (S, dv), "output", r.output[i], dims(dv), "fmt", "summary.vec", theme.Z, "z"),
        ]
        rows = []
        for key, (a, b), field, values, slots, fmt, label_key, color, symbol in steps:
            name = rich_line(ctx, key, theme.label_size, color, max_width=3.6, layer=r.layer)
            shape = text(ctx, ctx.s("summary.shape", r=a, c=b), theme.label_size, theme.dim)
            masked = masked_text(ctx) if field == "scaled" else None
            cell_w = key_w if key_w and slots is keys else w + (0.15 if fmt == "pct" else 0)
            vec = VectorRow(ctx, values, slots, Source(field, (i,), format=fmt), ctx.s(label_key, v=symbol, token=tok),
                            color=color, cell_w=cell_w, cell_h=h, font_size=size, label_width=1.75,
                            colorize=fmt == "fmt", cell_text=(lambda j: masked(i, j)) if masked else None)
            if field == "weights":  # under each "…": how many tokens it stands for, and their share
                for mark, run in zip(vec.grid.marks, self.lay.runs(slots)):
                    label = run_label(ctx, i, run, theme.min_font_size, 1.8 * cell_w)
                    vec.add(label.next_to(vec.grid.grid_box(), DOWN, buff=0.02).set_x(mark.get_x()))
            name.move_to([-3.2, 0, 0], aligned_edge=RIGHT)
            shape.move_to([-2.9, 0, 0], aligned_edge=LEFT)
            vec.shift(DOWN * vec.grid.get_y())
            rows.append(Picture("step", name=name, shape=shape, vector=vec))
        return rows

    def recap(self) -> Picture:
        """The whole recap: `.heading`, `.sentence`, `.column` (a row per step), `.formula`."""
        ctx, theme = self.ctx, self.ctx.theme
        sentence = text(ctx, ctx.s("title.sentence", sentence=ctx.sentence()), theme.caption_size,
                        max_width=half_width() - 3.3)  # left of the step names' right edge
        formula = rich_line(ctx, "summary.formula", theme.caption_size + 2, theme.text)  # typeset: a fraction, √d_k
        column = VGroup(*self.recap_rows())
        # rows closer together when the typeset formula (two lines tall) would otherwise shrink the recap
        spare = CONTENT_TOP - CONTENT_BOTTOM - 0.05 - sentence.height - 0.25 - 0.3 - formula.height
        column.arrange(DOWN, buff=max(0.06, min(0.16, (spare - sum(row.height for row in column)) / (len(column) - 1))))
        for row in column:  # re-align the columns that arrange centred
            row.name.align_to([-3.2, 0, 0], RIGHT)
            row.shape.align_to([-2.9, 0, 0], LEFT)
            row.vector.shift(RIGHT * (VECTOR_X - row.vector.grid.grid_box().get_left()[0]))
        sentence.next_to(column, UP, buff=0.25).align_to([-3.2, 0, 0], RIGHT)
        fit_content(VGroup(sentence, column, formula.next_to(column, DOWN, buff=0.3)))
        return Picture("recap", heading=self.heading(), sentence=sentence, column=column, formula=formula)

    def handoff(self) -> Picture:
        return self.recap()

    def explain(self, start):
        ctx, theme, r = self.ctx, self.ctx.theme, self.ctx.result
        i, tok = ctx.focus, ctx.token(ctx.focus)
        recap = self.recap()
        S = ctx.quote(r.n_tokens, Source("n_tokens", format="int"))
        first, *rest = recap.column  # the steps come in one by one as they are named
        yield Beat(say("say.summary.path", s=S, token=tok),
                   (play(FadeIn(recap.heading), FadeOut(start, shift=DOWN * 0.3), run_time=1.0),
                    play(FadeIn(recap.sentence), FadeIn(first, shift=DOWN * 0.1), run_time=0.8)),
                   hold=1.0, paced=tuple(play(FadeIn(m, shift=DOWN * 0.1), run_time=0.4) for m in rest))
        vector = vector_quote(ctx, r.output[i], Source("output", (i,)), plan_axis(r.d_v, VECTOR_SLOTS))
        # what the path leaves out; the stage stays one slide: the lecturer's pause comes after its last line
        after = list(self.lessons(VGroup(recap.sentence, recap.column, recap.formula)))
        last = max((n for n, beat in enumerate(after) if beat.narration is not None), default=None)
        ends = SurroundingRectangle(recap.column[-1].vector, color=theme.accent, buff=0.08)  # where the token ends up
        yield Beat(say("say.summary.formula", token=tok, vector=vector), (play(Write(recap.formula), run_time=1.6),),
                   hold=3.0, still=True, pause=last is None,
                   paced=(play(Create(ends), run_time=0.5), play(FadeOut(ends), run_time=0.4)))
        for n, beat in enumerate(after):
            yield replace(beat, pause=True) if n == last else beat

    def lessons(self, path):
        """The lessons' beats in turn, then back to the whole path, the picture the video ends on."""
        shown = self.path = path
        for lesson in (self.what_z_is_for, self.word_order, self.toy_limits):
            shown = yield from lesson(shown)
        if shown is not path:
            yield Beat(None, (play(FadeOut(shown), run_time=0.6), play(FadeIn(path), run_time=0.8)), caption=CLEAR, hold=0)

    # ---- what the path leaves out (attncore.lessons): each lesson yields its beats and returns what it
    # leaves on screen

    def panel(self, title_key: str, *rows, **params) -> Picture:
        """A lesson's picture: a title over its rows, fitted to the content area."""
        ctx, theme = self.ctx, self.ctx.theme
        title = text(ctx, ctx.s(title_key, **params), theme.caption_size + 2, theme.accent, max_width=2 * half_width())
        body = VGroup(*rows).arrange(DOWN, buff=0.35)
        fit_content(VGroup(title, body).arrange(DOWN, buff=0.45))
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

    def token_row(self, label: str, tokens, values, slots, source: Source) -> VGroup:
        """A sentence, its tokens and under each its weight (a percentage) in the focus token's row."""
        ctx, theme = self.ctx, self.ctx.theme
        w, h = (1.05 if len(slots) <= 8 else 0.9), 0.5
        row = Grid(ctx, np.asarray(values)[None, :], [0], slots, source=lambda _, j: source.at(j), cell_w=w, cell_h=h,
                   font_size=font_for(w, h, theme), colorize=False, brackets=False)
        focus = ctx.token(ctx.focus)
        names = VGroup(*(text(ctx, tokens[j], theme.label_size, theme.accent if tokens[j] == focus else theme.text,
                              max_width=w * 0.95).move_to(row.slot_point(0, n) + UP * 0.45)
                         for n, j in enumerate(slots) if j is not None))
        sentence = text(ctx, label, theme.label_size, theme.dim, max_width=2 * half_width())
        sentence.next_to(VGroup(names, row), UP, buff=0.2)
        return VGroup(sentence, names, row)

    @staticmethod
    def residual_adds_up(res, dims) -> bool:
        """True when every entry shown of x + a is the sum of the x and a shown above it (scenes.arithmetic)."""
        show = FORMATS["fmt"]
        return all(adds_up([show(res.x[j]), show(res.attended[j])], show(res.total[j])) for j in dims if j is not None)

    def what_z_is_for(self, on_screen):
        """z against x (the toy's one head), or added back to the layer's input (the residual: a
        model's layer, the toy heads'); then what follows it."""
        ctx, theme, r = self.ctx, self.ctx.theme, self.ctx.result
        i, tok = ctx.focus, ctx.token(ctx.focus)
        res = lessons.residual(ctx.heads, i) if ctx.heads is not None else None
        if res is None:  # z is the token's new vector: against x, its vector before attention
            rows = [(ctx.s("summary.vec", v="x", token=tok), r.X[i], plan_axis(r.d_model, VECTOR_SLOTS),
                     Source("X", (i,)), theme.X),
                    (ctx.s("summary.vec", v="z", token=tok), r.output[i], plan_axis(r.d_v, VECTOR_SLOTS),
                     Source("output", (i,)), theme.Z)]
            picture = self.panel("summary.change_title", self.vectors(rows))
            x0, z0 = ctx.quote(r.X[i, 0], Source("X", (i, 0))), ctx.quote(r.output[i, 0], Source("output", (i, 0)))
            line, caption = say("say.summary.change", token=tok, x=x0, z=z0), say("summary.change", token=tok)
            then = ("say.summary.residual_toy", "summary.after_toy")
        else:
            m, src = ctx.heads, lambda f: Source(f, (), ("residual", i), of="heads")
            pre = "_prenorm" if r.norm_first else ""
            x_label = (ctx.s("summary.residual_x" + pre, token=tok, layer=r.layer) if r.layer is not None
                       else ctx.s("summary.vec", v="x", token=tok))
            dims = plan_axis(m.d_model, VECTOR_SLOTS)
            rows = [(ctx.s("summary.z_head", token=tok, head=r.head), r.output[i], plan_axis(r.d_v, VECTOR_SLOTS),
                     Source("output", (i,)), theme.Z),
                    (ctx.s("summary.attended" + ("_bias" if m.b_O is not None else ""), n=m.n_heads), res.attended, dims,
                     src("attended"), theme.accent),
                    (x_label, res.x, dims, src("x"), theme.X),
                    (ctx.s("summary.residual_total" if self.residual_adds_up(res, dims) else "summary.residual_total_approx"),
                     res.total, dims, src("total"), theme.Z)]
            picture = self.panel("summary.residual_title", self.vectors(rows))
            first = {k: ctx.quote(getattr(res, f)[0], src(f).at(0)) for k, f in (("x", "x"), ("a", "attended"), ("s", "total"))}
            adds = adds_up([first["x"].text, first["a"].text], first["s"].text)  # said as shown, or "about"
            line = say("say.summary.residual" if adds else "say.summary.residual_approx", token=tok, **first)
            caption = say("summary.residual")
            then = (("say.summary.next" + pre, "summary.after" + pre) if r.model is not None
                    else ("say.summary.next_toy", "summary.after_toy"))
        # the first numbers the narration adds up (x to z; x + a = x + a), framed as it says them
        firsts = SurroundingRectangle(VGroup(*(v.cells[0, 0] for v in picture.body[0][-3 if res is not None else 0:])),
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
        """The toy sentence shuffled: the same weights, shuffled; then what positional encoding
        changes. With positional encoding, or causal attention, or a model's position embeddings:
        why order counts there."""
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
        mixed = join_tokens(shuffled.tokens)
        before = weights(sentence, r.tokens, r.weights[i], slots, Source("weights", (i,), format="pct"))
        after = weights(ctx.s("title.sentence", sentence=mixed), shuffled.tokens, shuffled.row,
                        gaps(shuffled.order.index(j) for j in slots if j is not None),
                        Source("weights", (), ("shuffled", i), "pct"))
        picture = self.panel("summary.order_title", before, after)
        # the focus token's largest weight, framed where it stands in either order (the same number)
        top = steps.strongest(r, i)  # in the story: never elided
        where = [before[2].cells[0, top], after[2].cells[0, shuffled.order.index(top)]]
        same = [SurroundingRectangle(c, color=theme.accent, buff=0.06) for c in where]
        yield Beat(say("say.summary.shuffled", token=tok, shuffled=mixed),
                   (play(FadeOut(on_screen), run_time=0.6), play(FadeIn(picture.title), FadeIn(before), run_time=0.8),
                    play(FadeIn(after, shift=DOWN * 0.2), run_time=1.0)),
                   caption=say("summary.shuffled"), hold=1.2, still="order",
                   paced=(*reading(after[0], len(mixed), theme.accent),  # the shuffled sentence, as it is read
                          play(Create(same[0]), run_time=0.5), play(TransformFromCopy(same[0], same[1]), run_time=0.6)))
        # each token's position: the two orders' tokens framed
        places = [SurroundingRectangle(row[1], color=theme.dim, buff=0.08) for row in (before, after)]
        yield Beat(say("say.summary.positional_hint"), caption=say("summary.positional_hint"), hold=1.0,
                   paced=(play(FadeOut(VGroup(*same)), Create(places[0]), run_time=0.6),
                          play(TransformFromCopy(places[0], places[1]), run_time=0.6)))
        return VGroup(picture, *places)

    def toy_limits(self, on_screen):
        """The toy numbers' limit, with each row's strongest key and its share; then the command for
        a real head. Not for a model's head."""
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
        command = VGroup(*(text(ctx, ctx.s(k), theme.label_size, theme.text, max_width=2 * half_width()) for k in REAL_HEAD))
        command.arrange(DOWN, buff=0.12, aligned_edge=LEFT)
        picture = self.panel("summary.limits_title", table, command)
        picture.body.remove(command)
        said = plan_axis(r.n_tokens, SAID_ROWS, keep=[ctx.focus])  # fewer said than shown: a short line
        shares = [None if q is None else ctx.quote(r.weights[q, tops[q]], share(q)) for q in said]
        key = "limits_mixed" if top is None else "limits_positive" if lessons.all_positive(r) else "limits_same"
        named = ctx.token(top) if top is not None else ""
        # each row's strongest key, then its share, framed as a column
        columns = [SurroundingRectangle(VGroup(*(line[n] for line in full)), color=theme.accent, buff=0.08) for n in (2, 3)]
        yield Beat(say(f"say.summary.{key}", top=named, shares=shares),
                   (play(FadeOut(on_screen), run_time=0.6),
                    play(FadeIn(picture.title), stagger((FadeIn(line) for line in lines), 0.1), run_time=1.2)),
                   caption=say(f"summary.{key}", top=named), hold=1.0,
                   paced=(play(Create(columns[0]), run_time=0.5), play(ReplacementTransform(columns[0], columns[1]), run_time=0.5)))
        framed = SurroundingRectangle(command, color=theme.accent, buff=0.1)
        yield Beat(say("say.summary.real_head"), (play(FadeOut(columns[1]), FadeIn(command, shift=UP * 0.1), run_time=0.8),),
                   caption=say("summary.real_head"), hold=1.6, still="limits", paced=(play(Create(framed), run_time=0.5),))
        return VGroup(picture, command, framed)
