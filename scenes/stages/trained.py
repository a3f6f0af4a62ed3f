"""The trained head (the toy numbers' whole video only, after the summary). The toy's weights were not
learned (the seed's were written by hand), so its row says nothing about language: said plainly over
the focus row's links. Then a trained head's row for the same idea, a pronoun finding its noun
(attncore.lessons.EXAMPLES: MiniLM layer 3 head 1, "it" -> "animal", in English; m3e-small layer 0
head 4, 它 -> 猫, in Chinese), drawn as the softmax stage's links (scenes.arcs, on a context whose
numbers are the trained head's: Ctx.of), and how special the choice is: the other rows' mean on the
same key (attncore.roles.focus_look). When that model is not installed here, the video says so in
words and ends. The stage ends on its last picture (the trained row, or the toy's row and those words):
nothing comes after it."""

from __future__ import annotations

from dataclasses import replace

from manim import DOWN, UP, Create, FadeIn, FadeOut, Indicate, SurroundingRectangle, VGroup

from attncore import lessons, steps
from attncore.model import MODELS

from ..arcs import ArcsRow
from ..beats import Beat, Stage, play, say
from ..components import Picture
from ..context import Source
from ..layout import CONTENT_TOP
from ..texts import half_width, text
from .summary import SummaryStage


class TrainedStage(Stage):
    name = "trained"
    starts_from = "recap"  # the summary's last picture
    ends_on = "trained"  # its own picture (see handoff): nothing comes after it
    heading_key = "trained.heading"

    def start(self):
        return SummaryStage(self.ctx).recap()

    def handoff(self) -> Picture:
        """The picture the stage ends on: the trained row (the others' mean said), or the toy's row and the words
        saying the model is not installed."""
        key = lessons.example_for(self.ctx.language)
        found = lessons.trained(key)
        end = self.trained_row(found, key) if found is not None else self.missing(self.toy_row(), lessons.EXAMPLES[key])
        return Picture("trained", heading=self.heading(), end=end)

    def explain(self, start):
        heading = self.heading()
        leaving = yield from self.toy_beat(start, heading)  # the toy numbers' only: View.resolve refuses a model's head
        key = lessons.example_for(self.ctx.language)
        found = lessons.trained(key)
        yield from (self.trained_beats(leaving, found, key) if found is not None else
                    self.missing_beat(leaving, lessons.EXAMPLES[key]))
        yield from self.end()

    def toy_row(self) -> Picture:
        """The toy's focus row as links, its strongest key framed (`.row`: scenes.arcs.ArcsRow, `.links`, `.framed`)."""
        ctx = self.ctx
        row = ArcsRow(ctx)
        links = row.links(ctx.focus)
        top = steps.strongest(ctx.result, ctx.focus)
        framed = SurroundingRectangle(row.labels[row.slots.index(top)], color=ctx.theme.accent, buff=0.12)
        return Picture("toy", tokens=row.tokens, links=links, framed=framed)

    def toy_beat(self, leaving, heading):
        """The toy's row, and why it means nothing: its weights were not learned (the seed's were written by hand).
        Returns what it leaves on screen."""
        ctx, r, i = self.ctx, self.ctx.result, self.ctx.focus
        top = steps.strongest(r, i)
        share = ctx.quote(r.weights[i, top], Source("weights", (i, top), format="pct"))
        toy = self.toy_row()
        how = "hand" if lessons.hand_written(r) else "example"
        named = ctx.s("trained.itself") if top == i else ctx.s("trained.quoted", token=ctx.token(top))
        words = dict(token=ctx.token(i), top=named, share=share)
        yield Beat(say(f"say.trained.toy_{how}", **words),
                   (play(FadeOut(leaving), run_time=0.6),  # the summary's heading gone before this one comes
                    play(FadeIn(heading), FadeIn(toy.tokens), Create(toy.links.arches), *(FadeIn(m) for m in toy.links[1:]),
                         run_time=1.0)),
                   caption=say(f"trained.toy_{how}"), hold=1.0, still="toy", paced=(play(Create(toy.framed), run_time=0.5),))
        return toy

    def trained_ctx(self, found: lessons.Trained, key: str):
        """A context whose numbers are the trained head's, every token drawn (its special tokens too: the shares
        add up to 100%), each number recorded as of that head (Source.of)."""
        return replace(self.ctx, result=found.result, focus=found.focus, hidden=frozenset(), keep=frozenset(),
                       heads=None, contrast=None, pick=None, of="trained:" + key)

    def trained_row(self, found: lessons.Trained, key: str) -> Picture:
        """The trained head's row as links (`.tokens`, `.links`), which head it is over them (`.which`, when the
        tallest arch leaves room for it), and its strongest key framed (`.framed`)."""
        ctx, r = self.trained_ctx(found, key), found.result
        row = ArcsRow(ctx)
        links = row.links(found.focus)
        which = text(ctx, ctx.s("trained.which", model=MODELS[found.example.model].title, layer=r.layer, head=r.head),
                     ctx.theme.caption_size, ctx.theme.accent, max_width=2 * half_width())
        if not self.over(which, VGroup(links.arches, links.shares)):
            which = VGroup()
        framed = SurroundingRectangle(row.labels[row.slots.index(found.look.key)], color=ctx.theme.accent, buff=0.08)
        others = VGroup(*(label for k, label in row.labels.items() if row.slots[k] not in (None, found.focus)))
        return Picture("trained row", which=which, tokens=row.tokens, links=links, framed=framed, others=others)

    def trained_beats(self, leaving, found: lessons.Trained, key: str):
        """The trained head's row, then the other rows' mean on the same key, the key framed."""
        ctx, t, r = self.trained_ctx(found, key), found, found.result
        k = t.look.key
        picture = self.trained_row(found, key)
        share = ctx.quote(t.look.share, Source("weights", (t.focus, k), format="pct"))
        words = dict(model=MODELS[t.example.model].title, layer=r.layer, head=r.head, token=r.tokens[t.focus],
                     top=r.tokens[k], share=share)
        yield Beat(say("say.trained.row", **words),
                   (play(FadeOut(leaving), run_time=0.5),
                    play(FadeIn(picture.tokens), Create(picture.links.arches), *(FadeIn(m) for m in picture.links[1:]),
                         run_time=1.2)),
                   caption=say("trained.row", **words), hold=1.0, still=True,
                   paced=(play(FadeIn(picture.which, shift=DOWN * 0.1), run_time=0.5),))
        others = ctx.quote(t.look.others, Source("others", step=("focus_look", t.focus, k), format="pct"))
        mine = "own" if t.look.special else "shared"
        words = dict(token=r.tokens[t.focus], top=r.tokens[k], others=others)
        # the key framed, then the other tokens, whose rows the mean is over
        yield Beat(say(f"say.trained.{mine}", **words), caption=say(f"trained.{mine}", **words), hold=1.2, pause=True,
                   still="others", paced=(play(Create(picture.framed), run_time=0.5),
                                          play(Indicate(picture.others, color=ctx.theme.accent, scale_factor=1.0),
                                               run_time=1.0)))

    def missing(self, toy: Picture, example: lessons.Example) -> Picture:
        """Words saying the trained model is not installed here, over the toy's row (`.toy`, left out when the row
        leaves no room above it: the words then stand in the middle)."""
        ctx, theme = self.ctx, self.ctx.theme
        card = text(ctx, ctx.s("trained.missing_card", model=MODELS[example.model].title), theme.caption_size,
                    theme.dim, max_width=2 * half_width() - 0.4)
        return Picture("missing", card=card, toy=toy if self.over(card, toy) else VGroup())

    def missing_beat(self, leaving, example: lessons.Example):
        """The trained model is not installed here: said in words, and the video ends on them."""
        picture = self.missing(leaving, example)
        plays = (play(FadeIn(picture.card, shift=UP * 0.1), run_time=0.6),)
        if picture.toy is not leaving:
            plays = (play(FadeOut(leaving), run_time=0.5), *plays)
        yield Beat(say("say.trained.missing", model=MODELS[example.model].title), plays, caption=say("trained.missing"),
                   hold=1.2, pause=True, still=True,
                   paced=(play(Indicate(picture.card, color=self.ctx.theme.accent, scale_factor=1.0), run_time=1.0),))

    @staticmethod
    def over(label, picture) -> bool:
        """Puts `label` at the top of the content, over `picture`, and says whether it fits there; if not, in the
        middle of the frame."""
        label.move_to([0, CONTENT_TOP - label.height / 2, 0])
        if label.get_bottom()[1] < picture.get_top()[1] + 0.15:
            label.move_to([0, 0, 0])
            return False
        return True
