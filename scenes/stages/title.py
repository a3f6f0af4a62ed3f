"""Title: the sentence, split into its tokens; the tokens move to where X's rows will be."""

from __future__ import annotations

import numpy as np
from manim import (
    DOWN,
    UP,
    Create,
    FadeIn,
    FadeOut,
    ReplacementTransform,
    Succession,
    SurroundingRectangle,
    VGroup,
    Write,
)

from attncore.model import is_byte_piece

from ..beats import CLEAR, Beat, Stage, play, say
from ..components import TokenRow, stagger
from ..context import Source
from ..glyphs import code_point, missing
from ..parts.reading import reading
from ..texts import half_width, text


def down_then_across(start, end, alpha: float):
    """The path of a token's label from the tokens' row to its row of X: up or down to that row
    first, then across. Side by side at first, one under another at last, no two pass over each other."""
    return start + (end - start) * np.array([max(0.0, 2 * alpha - 1), min(1.0, 2 * alpha), alpha])


class TitleStage(Stage):
    name = "title"
    starts_from = "blank"
    ends_on = "tokens"

    def explain(self, start):
        ctx, r = self.ctx, self.ctx.result
        width = 2 * half_width()
        n = ctx.quote(r.n_tokens, Source("n_tokens", format="int"))
        title = text(ctx, ctx.s("title"), 40, max_width=width).to_edge(UP, buff=0.9)
        sentence = text(ctx, ctx.s("title.sentence", sentence=ctx.sentence()), 34, max_width=width - 0.4)
        chips = TokenRow(ctx, max_width=width - 0.4)
        origin = self.origin()
        yield Beat(say("say.title"), (play(Write(title), run_time=1.0),), hold=0.4)
        yield Beat(say("say.title.sentence", sentence=ctx.sentence()),
                   (play(FadeIn(sentence, shift=UP * 0.2)),), hold=0.8,
                   paced=reading(sentence, len(ctx.sentence()), ctx.theme.accent))
        if origin is not None:
            text_, line = origin
            # where the numbers come from, framed; then the sentence (the tokenizer's words)
            text_.next_to(title, DOWN, buff=0.3)
            framed = [SurroundingRectangle(m, color=ctx.theme.dim, buff=0.1) for m in (text_, sentence)]
            yield Beat(line, (play(FadeIn(text_), run_time=0.6),), hold=0.8,
                       paced=(play(Create(framed[0]), run_time=0.5), play(ReplacementTransform(*framed), run_time=0.6),
                              play(FadeOut(framed[1]), run_time=0.4)))
            chosen = self.chosen()
            if chosen is not None:  # --head auto, --contrast: why this head (attncore.pick)
                why, line = chosen
                yield Beat(line, (play(FadeIn(why.next_to(text_, DOWN, buff=0.2)), run_time=0.6),), hold=1.0)
                origin = (VGroup(text_, why), None)
            quantized = self.quantized()
            if quantized is not None:  # a GGUF file's numbers: said to be that file's, not the full-precision model's
                note, line = quantized
                yield Beat(line, (play(FadeIn(note.next_to(origin[0], DOWN, buff=0.2)), run_time=0.6),), hold=1.0)
                origin = (VGroup(origin[0], note), None)
        yield Beat(say("say.title.tokens", n=n, token=ctx.token(ctx.focus)),
                   # the sentence leaves before its tokens come to the same place: never one over the other
                   (play(FadeOut(sentence, shift=DOWN * 0.2), run_time=0.5),
                    play(stagger((FadeIn(c, shift=DOWN * 0.2) for c in chips), 0.08), run_time=0.9)),
                   caption=say("title.tokens", n=n), hold=1.0, still=True, pause=True)
        pieces = [t for t in r.tokens if is_byte_piece(t)]
        if pieces:  # byte-level BPE split a character: say why a token shows as ⟨E6 88⟩
            example = pieces[0]
            yield Beat(say("say.title.bytes", model=r.model, example=example),
                       caption=say("title.bytes", ctx.theme.dim, example=example), hold=1.2)
        unseen = missing("".join(r.tokens))
        if unseen:  # characters no installed font draws: say why they show as code points
            points = " ".join(code_point(ch) for ch in unseen)
            yield Beat(say("say.title.stand_in", points=points), caption=say("title.stand_in", ctx.theme.dim, points=points),
                       hold=1.2)
        end = self.handoff()
        visible = [i for i in self.lay.rows if i is not None]
        chip = dict(zip(chips.shown, chips))
        moves = [ReplacementTransform(chip[i].label, lab, path_func=down_then_across) for i, lab in zip(visible, end.labels)]
        # the tokens of each run left out fold into its "⋮"
        folded = [[chip[j].label for j in run if j in chip] for run in self.lay.runs(self.lay.rows)]
        # (they fade, then the mark comes: words never morph into a "⋮")
        moves += [Succession(FadeOut(VGroup(*run)), FadeIn(mark)) if run else FadeIn(mark) for run, mark in zip(folded, end.marks)]
        rest = [c.label for i, c in chip.items() if i not in visible and not any(c.label in run for run in folded)]
        gone = VGroup(title, *rest, *(c.box for c in chips), *([origin[0]] if origin else []))
        yield Beat(say("say.title.rows"), (play(*moves, FadeOut(gone), run_time=1.2),), caption=CLEAR, hold=0.3)

    def quantized(self):
        """A model read from a quantized GGUF file (attncore.quantization): (the note under the origin, its
        narration), or None."""
        ctx, q = self.ctx, self.ctx.result.quantization
        if q is None:
            return None
        key, params = q.words()  # attncore.quantization: said as the handout says it
        note = text(ctx, ctx.s("title." + key, **params), ctx.theme.min_font_size + 2, ctx.theme.dim,
                    max_width=2 * half_width() - 0.4)
        return note, say("say.title." + key, **params)

    def chosen(self):
        """Why the followed head was chosen, when a search chose it (attncore.pick): (the line under the
        origin, its narration) or None."""
        ctx, r, pick = self.ctx, self.ctx.result, self.ctx.pick
        if pick is None or pick.searched < 2:
            return None
        i, n = ctx.focus, pick.searched
        if pick.rule == "contrast" and ctx.contrast is not None:
            changed = [j for j in range(r.n_tokens) if r.tokens[j] != ctx.contrast.tokens[j]]
            words = dict(token=ctx.token(i), was=" ".join(r.tokens[j] for j in changed),
                         now=" ".join(ctx.contrast.tokens[j] for j in changed), n=n)
            moved = ctx.quote(pick.moved, Source("moved", format="pct", of="contrast"))
            shown, line = ctx.s("title.chosen_contrast", **words), say("say.title.chosen_contrast", moved=moved, **words)
        else:
            words = dict(token=ctx.token(i), key=ctx.token(pick.key), n=n)
            share = ctx.quote(r.weights[i, pick.key], Source("weights", (i, pick.key), format="pct"))
            # with the other rows' mean on the same key (attncore.roles.focus_look): is the choice the focus's own?
            key = "chosen" if pick.others is None else "chosen_special" if pick.special else "chosen_shared"
            others = None if pick.others is None else \
                ctx.quote(pick.others, Source("others", step=("focus_look", i, pick.key), format="pct"))
            drawn = {} if others is None else {"others": ctx.number(others.text, others.source)}
            shown = ctx.s("title." + key, pct=ctx.number(share.text, share.source), **drawn, **words)  # recorded as drawn
            line = say("say.title." + key, pct=share, others=others, **words)
        return text(ctx, shown, ctx.theme.label_size, ctx.theme.text, max_width=2 * half_width() - 0.4), line

    def origin(self):
        """Where the numbers come from, when not the toy numbers: a pretrained model's layer and head,
        or one head of several. (the line under the title, its narration) or None."""
        ctx, r = self.ctx, self.ctx.result
        if r.model is not None:
            key, params = "title.model", dict(model=r.model, layer=r.layer, head=r.head)
            hidden = sorted({r.tokens[i] for i in ctx.hidden})
            spoken = "say.title.model_hidden" if hidden else "say.title.model_decoder" if r.causal else "say.title.model"
            ends = dict(start=r.specials[0], end=r.specials[-1]) if r.specials else dict(start="", end="")  # the model's own
            line = say(spoken, tokens=" ".join(hidden), **ends, **params)
        elif ctx.heads is not None:
            key, params = "title.heads", dict(head=r.head, n=ctx.heads.n_heads)
            line = say("say.title.heads", **params)
        else:
            return None
        return text(ctx, ctx.s(key, **params), self.ctx.theme.caption_size, self.ctx.theme.accent,
                    max_width=2 * half_width() - 0.4), line
