"""Embeddings: each token's vector beside it, then stacked into X with its real shape."""

from __future__ import annotations

from manim import (
    LEFT,
    RIGHT,
    Create,
    FadeIn,
    FadeOut,
    ReplacementTransform,
    Succession,
    SurroundingRectangle,
    VGroup,
    Write,
)

from ..beats import Beat, Stage, play, say
from ..components import bracket, stagger
from ..context import Source, vector_quote
from ..pictures import SIDE_GAP, matrix_name, x_grid, x_shape


class EmbeddingsStage(Stage):
    name = "embeddings"
    starts_from = "tokens"
    ends_on = "x"
    heading_key = "embeddings.heading"

    def heading_line(self):
        layer = self.ctx.result.layer
        return say("embeddings.heading") if layer is None else say("embeddings.heading_layer", layer=layer)

    def elided(self):
        r = self.ctx.result
        return [(self.lay.rows, r.n_tokens, "tokens"), (self.lay.proj_dims(r.d_model), r.d_model, "dims")]

    def explain(self, start):
        ctx, theme, r = self.ctx, self.ctx.theme, self.ctx.result
        f, tok = ctx.focus, ctx.token(ctx.focus)
        S = ctx.quote(r.n_tokens, Source("n_tokens", format="int"))
        d = ctx.quote(r.d_model, Source("d_model", format="int"))
        heading = self.heading()
        E = x_grid(ctx, "embeddings")
        # one small bracket pair around each row: separate vectors first
        vectors, row_brackets = [], VGroup()
        for i in (i for i in E.rows if i is not None):
            row = E.row(i)
            pair = VGroup(bracket(E.cell_h * 0.8, theme.dim, -1).next_to(row, LEFT, buff=0.12),
                          bracket(E.cell_h * 0.8, theme.dim, 1).next_to(row, RIGHT, buff=0.12))
            row_brackets.add(pair)
            vectors.append(VGroup(row, pair))
        vector = vector_quote(ctx, r.embeddings[f], Source("embeddings", (f,)), E.cols)
        if r.layer is None:
            line, caption = say("say.embeddings.lookup", d=d, token=tok, vector=vector), say("embeddings.caption", d=d)
        else:  # a real model's layer: its input is the previous layer's output (layer 0: the embeddings)
            pre = "_prenorm" if r.norm_first else ""  # GPT-2: X is the input after the layer's first layer norm
            line = say("say.embeddings.layer" + pre, d=d, token=tok, vector=vector, layer=r.layer, before=r.layer - 1,
                       model=r.model) if r.layer else say("say.embeddings.layer0" + pre, d=d, token=tok, vector=vector,
                                                          model=r.model)
            caption = say("embeddings.caption_layer" + pre, d=d, layer=r.layer)
        chosen = SurroundingRectangle(E.row(f), color=theme.accent, buff=0.06)  # "“cat” is …", framed as it is said
        yield Beat(line, (play(FadeIn(heading), run_time=0.6),
                          play(stagger((FadeIn(v, shift=RIGHT * 0.3) for v in vectors), 0.25), FadeIn(E.marks),
                               FadeOut(start.marks), run_time=2.0)),  # the title's "⋮" move into the rows left out
                   caption=caption, hold=0.8, paced=(play(Create(chosen), run_time=0.5),))
        title = matrix_name(ctx, E, "X", "X")
        shape = x_shape(ctx).next_to(E.grid_box(), RIGHT, buff=SIDE_GAP)  # as in the picture X ends on (x_grid left it room)
        yield Beat(say("say.embeddings.stack", s=S, d=d),
                   (play(ReplacementTransform(row_brackets, E.brackets), FadeIn(title), FadeOut(chosen), run_time=1.0),),
                   caption=say("embeddings.stack"), hold=1.0, still=True, pause=True,
                   paced=(play(Write(shape), run_time=0.8),))  # its shape written as it is said
        if r.positional:
            X = x_grid(ctx, "X")
            vector = vector_quote(ctx, r.X[f], Source("X", (f,)), X.cols)
            moved = SurroundingRectangle(X.row(f), color=theme.accent, buff=0.06)  # the focus token's x, as it is said
            yield Beat(say("say.embeddings.positional", token=tok, vector=vector),
                       # each embedding out, then X's number (with its position added) in its place: never a morph
                       (play(*(Succession(FadeOut(E.cells[k]), FadeIn(X.cells[k])) for k in E.cells), run_time=1.2),),
                       caption=say("embeddings.positional"), hold=1.0,
                       paced=(play(Create(moved), run_time=0.5), play(FadeOut(moved), run_time=0.4)))
        yield from self.end(heading)  # X's shape stays: the picture the stage ends on shows it
