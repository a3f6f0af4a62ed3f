"""Summary: the whole path, sentence -> X -> Q, K, V -> scores -> weights -> Z, each with its real
shape and the focus token's numbers, then the formula."""

from __future__ import annotations

from manim import DOWN, LEFT, RIGHT, UP, FadeIn, FadeOut, VGroup, Write

from ..beats import Beat, Stage, play, say
from ..components import Picture, VectorRow, half_width, plan_axis, stagger, text
from ..context import Source, vector_quote
from ..layout import fit_content, font_for
from ..pictures import masked_text

VECTOR_SLOTS = 6  # entries of a vector or a row shown at most in the recap
VECTOR_X = 0.2  # where the vectors' left brackets stand (before fitting the recap to the frame)


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
        keys = self.lay.tokens(VECTOR_SLOTS)
        w, h = 0.95, 0.42
        x_key = "summary.x" if r.layer is None else "summary.x_layer" + ("_prenorm" if r.norm_first else "")
        bias = "" if r.b_Q is None else "_bias"
        size = font_for(w, h, theme)
        steps = [
            # (name key, shape (rows, cols), field, values, slots, source format, vector label key, colour)
            (x_key, (S, dm), "X", r.X[i], dims(dm), "fmt", "summary.vec", theme.X, "x"),
            ("summary.q" + bias, (S, dk), "Q", r.Q[i], dims(dk), "fmt", "summary.vec", theme.Q, "q"),
            ("summary.k" + bias, (S, dk), "K", r.K[i], dims(dk), "fmt", "summary.vec", theme.K, "k"),
            ("summary.v" + bias, (S, dv), "V", r.V[i], dims(dv), "fmt", "summary.vec", theme.V, "v"),
            ("summary.scores", (S, S), "scaled", r.scaled[i], keys, "fmt", "summary.row", theme.accent, ""),
            ("summary.weights", (S, S), "weights", r.weights[i], keys, "pct", "summary.row", theme.heat_high, ""),
            ("summary.output", (S, dv), "output", r.output[i], dims(dv), "fmt", "summary.vec", theme.Z, "z"),
        ]
        rows = []
        for key, (a, b), field, values, slots, fmt, label_key, color, symbol in steps:
            name = text(ctx, ctx.s(key, layer=r.layer), theme.label_size, color, max_width=3.6)
            shape = text(ctx, ctx.s("summary.shape", r=a, c=b), theme.label_size, theme.dim)
            masked = masked_text(ctx) if field == "scaled" else None
            vec = VectorRow(ctx, values, slots, Source(field, (i,), format=fmt), ctx.s(label_key, v=symbol, token=tok),
                            color=color, cell_w=w + (0.15 if fmt == "pct" else 0), cell_h=h, font_size=size, label_width=1.75,
                            colorize=fmt == "fmt", cell_text=(lambda j: masked(i, j)) if masked else None)
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
        column = VGroup(*self.recap_rows()).arrange(DOWN, buff=0.16)
        for row in column:  # re-align the columns that arrange centred
            row.name.align_to([-3.2, 0, 0], RIGHT)
            row.shape.align_to([-2.9, 0, 0], LEFT)
            row.vector.shift(RIGHT * (VECTOR_X - row.vector.grid.grid_box().get_left()[0]))
        sentence.next_to(column, UP, buff=0.25).align_to([-3.2, 0, 0], RIGHT)
        formula = text(ctx, ctx.s("summary.formula"), theme.caption_size + 2, theme.text)
        fit_content(VGroup(sentence, column, formula.next_to(column, DOWN, buff=0.35)))
        return Picture("recap", heading=self.heading(), sentence=sentence, column=column, formula=formula)

    def handoff(self) -> Picture:
        return self.recap()

    def explain(self, start):
        ctx, r = self.ctx, self.ctx.result
        i, tok = ctx.focus, ctx.token(ctx.focus)
        recap = self.recap()
        S = ctx.quote(r.n_tokens, Source("n_tokens", format="int"))
        yield Beat(say("say.summary.path", s=S, token=tok),
                   (play(FadeIn(recap.heading), FadeOut(start, shift=DOWN * 0.3), run_time=1.0),
                    play(FadeIn(recap.sentence), stagger((FadeIn(m, shift=DOWN * 0.1) for m in recap.column), 0.12),
                         run_time=2.4)),
                   hold=1.0)
        vector = vector_quote(ctx, r.output[i], Source("output", (i,)), plan_axis(r.d_v, VECTOR_SLOTS))
        yield Beat(say("say.summary.formula", token=tok, vector=vector), (play(Write(recap.formula), run_time=1.6),),
                   hold=3.0, still=True, pause=True)
