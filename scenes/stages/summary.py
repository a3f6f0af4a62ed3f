"""Summary: the whole path, sentence -> X -> Q, K, V -> scores -> weights -> Z, each with its real
shape and the focus token's numbers, then the formula. Then what the path leaves out, each with real
numbers (attncore.lessons): what z is for (the residual, then the next layer), word order (the
sentence in another order gives the same weights, reordered; with positional encoding, other
numbers) and, for the
toy numbers, their limit (one token wins every row) with the command for a real head.

Word order is taught here rather than with the embeddings: it needs a row of attention weights, which
the viewer only knows by now, and it closes the path with what the path cannot see."""

from __future__ import annotations

from dataclasses import replace

from manim import (
    DOWN,
    LEFT,
    RIGHT,
    UP,
    Create,
    FadeIn,
    FadeOut,
    SurroundingRectangle,
    VGroup,
    Write,
)

from ..beats import Beat, Stage, play, say
from ..components import Picture, VectorRow, plan_axis
from ..context import Source, vector_quote
from ..elision import run_label
from ..formulas import rich_line
from ..layout import CONTENT_BOTTOM, CONTENT_TOP, fit_content, font_for
from ..parts.lessons import VECTOR_SLOTS, VECTOR_X, Lessons
from ..pictures import masked_text
from ..texts import half_width, text

KEYS_MOST = 8  # a row of weights (and its scores) grows to this many, narrower, when the focus row's story needs it


class SummaryStage(Lessons, Stage):
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
                    label = run_label(ctx, i, run, theme.min_font_size, 1.8 * cell_w, self.lay.runs(slots))
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
                        max_width=2 * half_width(), lines=2)  # the frame's width; wrapped rather than cut
        formula = rich_line(ctx, "summary.formula", theme.caption_size + 2, theme.text)  # typeset: a fraction, √d_k
        column = VGroup(*self.recap_rows())
        # rows closer together when the typeset formula (two lines tall) would otherwise shrink the recap
        spare = CONTENT_TOP - CONTENT_BOTTOM - 0.05 - sentence.height - 0.25 - 0.3 - formula.height
        column.arrange(DOWN, buff=max(0.06, min(0.16, (spare - sum(row.height for row in column)) / (len(column) - 1))))
        for row in column:  # re-align the columns that arrange centred
            row.name.align_to([-3.2, 0, 0], RIGHT)
            row.shape.align_to([-2.9, 0, 0], LEFT)
            row.vector.shift(RIGHT * (VECTOR_X - row.vector.grid.grid_box().get_left()[0]))
        sentence.next_to(column, UP, buff=0.25)
        if sentence.width <= half_width() - 3.3:  # short: right-aligned with the step names, else centred over all
            sentence.align_to([-3.2, 0, 0], RIGHT)
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
