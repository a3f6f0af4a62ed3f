"""Heads: every head of the layer as a small heat map (the followed head highlighted), then how the
heads are joined: their outputs side by side, times W_O. Only when the result is one of several heads
(a model's layer, or toy multi-head)."""

from __future__ import annotations

import math

from manim import DOWN, RIGHT, UP, FadeIn, FadeOut, Rectangle, Square, VGroup

from attncore import pct, steps

from ..beats import Beat, Stage, play, say
from ..components import Picture, VectorRow, arrange_down, half_width, number_text, plan_axis, row_of, stagger, text
from ..context import Source, vector_quote
from ..layout import CONTENT_BOTTOM, CONTENT_TOP, fit_content, font_for

MAP_MAX = 2.8  # the largest heat map side
GAP = 0.35  # between heat maps
LABELS_H = 0.8  # a map's name above it and where the focus token looks, below
VECTOR_SLOTS = 8  # entries of the concatenation and the output shown at most
CELL_NUMBERS = 0.62  # a heat map cell at least this wide also shows its percentage


class HeadsStage(Stage):
    name = "heads"
    starts_from = "z"
    ends_on = "z"
    heading_key = "heads.heading"

    def heading_line(self):
        ctx = self.ctx
        n, layer = (ctx.heads.n_heads if ctx.heads else 0), ctx.result.layer
        return say("heads.heading", n=n) if layer is None else say("heads.heading_layer", n=n, layer=layer)

    def elided(self):
        d = self.ctx.heads.d_model
        return [(plan_axis(d, VECTOR_SLOTS), d, "dims")]

    def map_side(self) -> tuple[int, float]:
        """(maps per row, side of a map) for the layer's heads in the content area."""
        n = self.ctx.heads.n_heads
        cols = n if n <= 6 else math.ceil(n / 2)
        rows = math.ceil(n / cols)
        side = min((2 * half_width() - (cols - 1) * GAP) / cols,
                   (CONTENT_TOP - CONTENT_BOTTOM - 0.3 - rows * LABELS_H - (rows - 1) * 0.2) / rows, MAP_MAX)
        return cols, side

    def heat_map(self, h: int, side: float) -> Picture:
        """Head h's attention weights as coloured squares (the drawn tokens: rows are queries, columns
        keys), the focus token's row outlined, the head's name above, and below the token the focus
        token attends to most in this head, with its share."""
        ctx, theme, i = self.ctx, self.ctx.theme, self.ctx.focus
        r = ctx.heads.heads[h]
        shown = ctx.visible()
        cell = side / len(shown)
        squares, numbers = VGroup(), VGroup()
        for a, q in enumerate(shown):
            for b, k in enumerate(shown):
                sq = Square(cell, stroke_width=0).set_fill(theme.heat(r.weights[q, k]), 1)
                squares.add(sq.move_to([b * cell, -a * cell, 0]))
                if cell >= CELL_NUMBERS:  # few tokens: the percentages fit in the cells
                    t = number_text(ctx, pct(r.weights[q, k]), Source("weights", (q, k), format="pct", of=h),
                                    theme.min_font_size, theme.text)
                    numbers.add(t.scale(min(1.0, cell * 0.9 / t.width)).move_to(sq))
        chosen = h == ctx.result.head
        frame = Rectangle(width=side + 0.06, height=side + 0.06, stroke_color=theme.accent if chosen else theme.dim,
                          stroke_width=5 if chosen else 1.5).move_to(squares)
        row = shown.index(i)
        focus_row = Rectangle(width=side, height=cell, stroke_color=theme.accent, stroke_width=1.5)
        focus_row.move_to(squares).align_to(squares[row * len(shown)], UP)
        name = text(ctx, ctx.s("heads.name", head=h), theme.label_size, theme.accent if chosen else theme.text,
                    max_width=side).next_to(frame, UP, buff=0.1)
        top = steps.strongest(r, i)
        size = theme.min_font_size
        share = number_text(ctx, pct(r.weights[i, top]), Source("weights", (i, top), format="pct", of=h), size, theme.heat_high)
        where = text(ctx, ctx.s("heads.top", top=r.tokens[top]), size, theme.text, max_width=side - share.width - 0.05)
        below = row_of(where, share, buff=0.1).next_to(frame, DOWN, buff=0.1)
        return Picture("map", squares=squares, numbers=numbers, focus_row=focus_row, frame=frame, name=name, below=below)

    def maps(self) -> VGroup:
        cols, side = self.map_side()
        maps = VGroup(*(self.heat_map(h, side) for h in range(self.ctx.heads.n_heads)))
        maps.arrange_in_grid(cols=cols, buff=(GAP, 0.2))
        return fit_content(maps)

    def joined(self) -> Picture:
        """The focus token's concatenated head outputs, "× W_O" and the output row, with their shapes."""
        ctx, theme, m, i = self.ctx, self.ctx.theme, self.ctx.heads, self.ctx.focus
        tok = ctx.token(i)
        slots = plan_axis(m.d_model, VECTOR_SLOTS)
        w, h = 0.85, 0.5
        size = font_for(w, h, theme)
        concat = VectorRow(ctx, m.concat[i], slots, Source("concat", (i,), of="heads"), ctx.s("heads.concat", token=tok),
                           color=theme.Z, cell_w=w, cell_h=h, font_size=size, label_width=3.2)
        parts = ctx.s("heads.parts", n=m.n_heads, dh=m.d_head, d=m.d_model)
        concat_shape = text(ctx, parts, theme.label_size, theme.dim).next_to(concat, RIGHT, buff=0.3)
        key = "heads.times_bias" if m.b_O is not None else "heads.times"
        times = text(ctx, ctx.s(key, d=m.d_model), theme.caption_size, theme.text)
        output = VectorRow(ctx, m.output[i], slots, Source("output", (i,), of="heads"), ctx.s("heads.output", token=tok),
                           color=theme.accent, cell_w=w, cell_h=h, font_size=size, label_width=3.2)
        block = arrange_down(VGroup(concat, concat_shape), times, output, buff=0.45)
        times.set_x(concat.grid.get_x())
        output.shift(RIGHT * (concat.grid.grid_box().get_left()[0] - output.grid.grid_box().get_left()[0]))
        note = None
        if ctx.result.model is not None:  # what the model does next
            key = "heads.residual_prenorm" if ctx.result.norm_first else "heads.residual"
            note = text(ctx, ctx.s(key, layer=ctx.result.layer), theme.label_size, theme.dim,
                        max_width=2 * half_width()).next_to(block, DOWN, buff=0.5)
        fit_content(VGroup(block, *([note] if note else [])))
        return Picture("joined", concat=concat, concat_shape=concat_shape, times=times, output=output,
                       **({"note": note} if note else {}))

    def other_head(self, top_chosen: int) -> int:
        """The head that most clearly looks elsewhere: the largest share on another token than the
        followed head's favourite (any other head when all agree)."""
        ctx, i = self.ctx, self.ctx.focus
        others = [r for r in ctx.heads.heads if r.head != ctx.result.head]
        elsewhere = [r for r in others if steps.strongest(r, i) != top_chosen] or others
        return max(elsewhere, key=lambda r: r.weights[i, steps.strongest(r, i)]).head

    def explain(self, start):
        ctx, r, m = self.ctx, self.ctx.result, self.ctx.heads
        i, tok = ctx.focus, ctx.token(ctx.focus)
        heading = self.heading()
        maps = self.maps()
        n = ctx.quote(m.n_heads, Source("n_heads", of="heads", format="int"))
        dh = ctx.quote(m.d_head, Source("d_head", of="heads", format="int"))
        intro = "say.heads.intro" if r.layer is None else "say.heads.intro_layer"
        yield Beat(say(intro, n=n, dh=dh, layer=r.layer, token=tok),
                   (play(FadeOut(start), FadeIn(heading), run_time=0.6),
                    play(stagger((FadeIn(p, shift=UP * 0.1) for p in maps), 0.08), run_time=1.6)),
                   caption=say("heads.caption", token=tok), hold=1.0)
        top = steps.strongest(r, i)
        other = self.other_head(top)
        o = m.heads[other]
        otop = steps.strongest(o, i)
        quote = lambda res, j: ctx.quote(res.weights[i, j], Source("weights", (i, j), format="pct", of=res.head))
        yield Beat(say("say.heads.chosen", head=r.head, token=tok, top=ctx.token(top), pct=quote(r, top),
                       other=other, otop=ctx.token(otop), opct=quote(o, otop)),
                   caption=say("heads.chosen", head=r.head), hold=1.6, still=True, pause=True)
        joined = self.joined()
        vector = vector_quote(ctx, m.output[i], Source("output", (i,), of="heads"), plan_axis(m.d_model, VECTOR_SLOTS))
        d = ctx.quote(m.d_model, Source("d_model", of="heads", format="int"))
        line = "say.heads.joined_bias" if m.b_O is not None else "say.heads.joined"
        yield Beat(say(line, token=tok, n=n, dh=dh, d=d, vector=vector),
                   (play(FadeOut(maps), run_time=0.6),
                    play(stagger([FadeIn(p, shift=DOWN * 0.1) for p in joined], 0.3), run_time=1.6)),
                   caption=say("heads.join"), hold=1.6, pause=True, still="joined")
        yield from self.end(heading, joined, reveal=True)
