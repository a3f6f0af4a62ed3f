"""The seeds' "current token" picture as beats (the softmax stage's): the focus token linked to every
token it may attend to, thickness and percentage by weight (scenes.arcs), then the links of the tokens
of its story in turn, and back to the focus."""

from __future__ import annotations

from manim import AnimationGroup, Create, FadeIn, FadeOut, ReplacementTransform, Succession, VGroup

from ..arcs import ArcsRow
from ..beats import Beat, play, say
from ..context import Ctx
from ..layout import Layout

TOUR = 4  # tokens whose links are shown in turn after the focus token's (the focus row's story)
LINK_SECONDS = 2.0  # each of them on screen


def turn(shown, after) -> tuple:
    """From one token's links (ArcsRow.links) to another's: the arches and the frame move; the
    percentages are replaced, the old gone before the new come (a number never morphs into another)."""
    return (ReplacementTransform(shown.arches, after.arches), ReplacementTransform(shown.frame, after.frame),
            Succession(AnimationGroup(FadeOut(shown.shares), FadeOut(shown.elided)),
                       AnimationGroup(FadeIn(after.shares), FadeIn(after.elided))))


class LinksTour:
    """The links picture's beats, for a stage's ctx and layout."""

    ctx: Ctx
    lay: Layout

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
