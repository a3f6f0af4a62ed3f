"""The contrast (optional, --contrast): a minimal pair, the sentence with a word changed, and the
focus token's row in both, side by side: the focus on either side linked to every shared token in
the middle column, each link as thick as its share, the two percentages either side of the token.
Then the token whose share moved most, and how far the whole row moved (attncore.pick: ½ Σ |a − b|
over the tokens the two sentences share). The two sentences have as many tokens (View.resolve
checks it), so the rows line up place by place; the changed place shows both words.

Under causal attention the focus sees only the tokens up to it: a beat says that a word changed
after it cannot move its row, shown on the sentence's tokens (those after the focus faded, the
changed place framed)."""

from __future__ import annotations

from functools import cached_property

import numpy as np
from manim import DOWN, UP, Create, FadeIn, FadeOut, Line, SurroundingRectangle, VGroup

from attncore import pct, steps
from attncore.pick import moved, moved_most, notable
from attncore.tables import STORY_TOP, elided_runs, plan_by_weight, story_keys

from ..beats import Beat, Stage, play, say
from ..components import TokenRow, stagger
from ..context import Source
from ..layout import CONTENT_BOTTOM, CONTENT_TOP
from ..texts import half_width, number_text, text

ROWS, ROWS_MOST = 11, 13  # token rows shown (the rest elided), and at most when the two stories need more
SHARE_SIZE = 18
KEY_W = 2.5  # the middle column of tokens
SHARE_X = 2.05  # the percentages' centres, either side of the middle
FOCUS_W = 1.4  # the focus token's label on either side


class ContrastStage(Stage):
    name = "contrast"
    starts_from = "z"
    ends_on = "z"
    heading_key = "contrast.heading"

    def heading_line(self):
        """The heading names the head compared: a model's layer and head, or one of several toy heads."""
        r = self.ctx.result
        if r.layer is not None:
            return say("contrast.heading_layer", layer=r.layer, head=r.head)
        if self.ctx.heads is not None:
            return say("contrast.heading_head", head=r.head)
        return say("contrast.heading")

    @cached_property
    def rows(self) -> list[int | None]:
        """The tokens in the middle column, elided by weight (attncore.tables.plan_by_weight) as every
        picture of the focus row is: the focus, the changed places, the token that moved most, both
        sentences' stories (story_keys: either row's largest keys, every key of 3% or more, --keep)
        and the notable ones (attncore.pick.notable) kept, the most needed first; the rest by the larger
        of their two shares. Hidden and (causal) masked tokens never."""
        ctx, r, b, i = self.ctx, self.ctx.result, self.ctx.contrast, self.ctx.focus
        skip = self.skipped()
        stories = [story_keys(res, i, extra=sorted(ctx.keep), skip=skip) for res in (r, b)]
        first = [k[:1 + STORY_TOP] for k in stories]  # each focus and its top keys, then the rest of both stories
        keep = [i, *self.changed(), moved_most(r, b, i), *first[0], *first[1], *notable(r, b, i), *stories[0],
                *stories[1]]
        return plan_by_weight(r.n_tokens, ROWS, np.maximum(r.weights[i], b.weights[i]), keep, ROWS_MOST, skip)

    def skipped(self) -> list[int]:
        """The tokens never in the middle column: hidden ones, and (causal) those the focus may not see."""
        ctx, r, i = self.ctx, self.ctx.result, self.ctx.focus
        allowed = steps.allowed(r, i)
        return [j for j in range(r.n_tokens) if j in ctx.hidden or not allowed[j]]

    def changed(self) -> list[int]:
        r, b = self.ctx.result, self.ctx.contrast
        return [j for j in range(r.n_tokens) if r.tokens[j] != b.tokens[j]]

    def elided(self):
        r, i = self.ctx.result, self.ctx.focus
        allowed = steps.allowed(r, i)
        total = sum(1 for j in range(r.n_tokens) if allowed[j] and j not in self.ctx.hidden)
        return [(self.rows, total, "tokens")]

    def words(self, result) -> str:
        return " ".join(result.tokens[j] for j in self.changed())

    def causal(self, pair, changed):
        """The warning under causal attention, shown on the sentence's tokens as it is said: the pair moves up, the
        tokens come (the focus marked), those after the focus fade (it cannot see them), and the changed place is
        framed, wherever it falls. Returns what it leaves on screen."""
        ctx, theme, i = self.ctx, self.ctx.theme, self.ctx.focus
        tok = ctx.token(i)
        chips = TokenRow(ctx, max_width=2 * half_width() - 0.4)
        top = CONTENT_TOP - 0.1 - pair.height / 2 - 0.12  # the pair (and its frame) just under the heading
        room = top - pair.height / 2 - 0.5 - CONTENT_BOTTOM  # the tokens in what is left, above the caption
        if chips.height > room:
            chips.scale_to_fit_height(room)
        chips.move_to([0, (top - pair.height / 2 - 0.35 + CONTENT_BOTTOM) / 2, 0])
        later = [chip for k, chip in zip(chips.shown, chips) if k > i]
        frames = VGroup(*(SurroundingRectangle(chip, color=theme.accent, buff=0.06)
                          for k, chip in zip(chips.shown, chips) if k in self.changed()))
        up = [0, top - pair.get_y(), 0]
        paced = [play(*(c.animate.fade(0.7) for c in later), run_time=0.6)] if later else []
        paced += [play(Create(frames), run_time=0.6)] if frames else []
        yield Beat(say("say.contrast.causal", token=tok), (play(pair.animate.shift(up), changed.animate.shift(up),
                                                                 FadeIn(chips, shift=UP * 0.2), run_time=0.8),),
                   caption=say("contrast.causal", theme.dim, token=tok), hold=1.4, still="causal",
                   paced=tuple(paced))
        return chips, frames

    def explain(self, start):
        ctx, r, b = self.ctx, self.ctx.result, self.ctx.contrast
        was, now = self.words(r), self.words(b)
        heading = self.heading()
        leaving = yield from self.pair_beat(start, heading, was, now)
        sides, focus, labels, shares, links, at = self.side_by_side(was, now)
        tok = ctx.token(ctx.focus)
        # the left side's links and shares, then the right side's, as each is said (made in turn: left, right)
        yield Beat(say("say.contrast.rows", token=tok, was=was, now=now),
                   (play(FadeOut(leaving), run_time=0.5),
                    play(FadeIn(sides), FadeIn(focus), FadeIn(labels), run_time=0.6)),
                   caption=say("contrast.rows", token=tok), hold=1.2, still=True,
                   paced=tuple(play(stagger((Create(link) for link in links[side::2]), 0.02), FadeIn(VGroup(*shares[side::2])),
                                    run_time=1.0) for side in (0, 1)))
        frame = yield from self.moved_beats(shares, at)
        yield from self.end(heading, sides, focus, labels, shares, links, frame, reveal=True)

    def pair_beat(self, start, heading, was: str, now: str):
        """The pair, one sentence above the other, the changed one framed (and, under causal attention, the
        warning). Returns what it leaves on screen."""
        ctx, theme, b = self.ctx, self.ctx.theme, self.ctx.contrast
        tok = ctx.token(ctx.focus)
        width = 2 * half_width()
        other = b.sentence if b.sentence is not None else " ".join(b.tokens)
        pair = VGroup(text(ctx, ctx.s("title.sentence", sentence=ctx.sentence()), 26, max_width=width - 0.4),
                      text(ctx, ctx.s("title.sentence", sentence=other), 26, theme.accent, max_width=width - 0.4))
        pair.arrange(DOWN, buff=0.5).move_to([0, 0.2, 0])
        changed = SurroundingRectangle(pair[1], color=theme.accent, buff=0.12)  # the sentence with the word changed
        yield Beat(say("say.contrast.pair", was=was, now=now, token=tok),
                   (play(FadeOut(start), FadeIn(heading), run_time=0.6), play(FadeIn(pair, shift=UP * 0.2), run_time=0.8)),
                   caption=say("contrast.pair", was=was, now=now, token=tok), hold=1.0,
                   paced=(play(Create(changed), run_time=0.5),))
        leaving = VGroup(pair, changed)
        if self.ctx.result.causal:
            leaving.add(*(yield from self.causal(pair, changed)))
        return leaving

    def side_by_side(self, was: str, now: str):
        """The two rows side by side: the focus token on either side linked to every key, the shares of
        the first sentence on the left and of the second on the right, the keys (a swapped word as
        both) in the middle. Returns (the sides' names, the focus labels, the keys, the shares, the links,
        {key: its row})."""
        ctx, theme, r, b = self.ctx, self.ctx.theme, self.ctx.result, self.ctx.contrast
        i, tok = ctx.focus, ctx.token(ctx.focus)
        width = 2 * half_width()
        slots = self.rows
        shown = [j for j in slots if j is not None]
        top, bottom = CONTENT_TOP - 0.95, CONTENT_BOTTOM + 0.3
        pitch = min(0.55, (top - bottom) / max(1, len(slots) - 1))
        y0 = (top + bottom) / 2 + pitch * (len(slots) - 1) / 2
        ys = {k: y0 - k * pitch for k in range(len(slots))}
        edge = half_width() - FOCUS_W / 2
        focus_y = (ys[0] + ys[len(slots) - 1]) / 2
        heads_y = CONTENT_TOP - 0.35
        sides = VGroup(
            text(ctx, ctx.s("contrast.side", word=was), theme.label_size, theme.text, max_width=width / 2 - 1.0)
            .move_to([-(edge + SHARE_X) / 2, heads_y, 0]),
            text(ctx, ctx.s("contrast.side", word=now), theme.label_size, theme.accent, max_width=width / 2 - 1.0)
            .move_to([(edge + SHARE_X) / 2, heads_y, 0]))
        focus = VGroup()
        for side in (-1, 1):
            label = text(ctx, tok, theme.label_size, theme.accent, max_width=FOCUS_W).move_to([side * edge, focus_y, 0])
            focus.add(VGroup(label, SurroundingRectangle(label, color=theme.accent, buff=0.08)))
        strongest = max(max(r.weights[i, j], b.weights[i, j]) for j in shown)
        labels, shares, links, at = VGroup(), VGroup(), VGroup(), {}
        runs = iter(elided_runs(r.n_tokens, slots, self.skipped()))
        for k, j in enumerate(slots):
            y = ys[k]
            if j is None:  # how many tokens the "…" stands for
                left = ctx.s("elided.count", n=len(next(runs)))
                labels.add(text(ctx, f"… {left}", theme.label_size, theme.dim, max_width=KEY_W).move_to([0, y, 0]))
                continue
            swapped = r.tokens[j] != b.tokens[j]
            word = ctx.s("contrast.swap", was=r.tokens[j], now=b.tokens[j]) if swapped else ctx.token(j)
            label = text(ctx, word, theme.label_size, theme.accent if swapped or j == i else theme.text, max_width=KEY_W)
            labels.add(label.move_to([0, y, 0]))
            row = VGroup(label)
            for side, result, of in ((-1, r, None), (1, b, "contrast")):
                w = result.weights[i, j]
                share = number_text(ctx, pct(w), Source("weights", (i, j), format="pct", of=of), SHARE_SIZE,
                                    theme.accent if j == i else theme.text)
                share.move_to([side * SHARE_X, y, 0])
                shares.add(share)
                row.add(share)
                strength = w / strongest if strongest > 0 else 0.0
                start_x, end_x = side * (edge - FOCUS_W / 2 - 0.05), side * (SHARE_X + 0.55)
                link = Line([start_x, focus_y, 0], [end_x, y, 0], stroke_color=theme.accent if j == i else theme.heat_high,
                            stroke_width=1 + 8 * strength, stroke_opacity=0.25 + 0.75 * strength)
                links.add(link)
            at[j] = row
        return sides, focus, labels, shares, links, at

    def moved_beats(self, shares, at):
        """The token that moved most, and how far the whole row moved. Returns the frame left on the first."""
        ctx, theme, r, b = self.ctx, self.ctx.theme, self.ctx.result, self.ctx.contrast
        i, tok = ctx.focus, ctx.token(ctx.focus)
        key = moved_most(r, b, i)
        before = ctx.quote(r.weights[i, key], Source("weights", (i, key), format="pct"))
        after = ctx.quote(b.weights[i, key], Source("weights", (i, key), format="pct", of="contrast"))
        frame = SurroundingRectangle(at[key], color=theme.accent, buff=0.1)
        # no share moves as shown (a word changed after the focus, under causal attention): said so
        most, shares_of = ("contrast.same", dict(before=before)) if before.text == after.text else \
            ("contrast.most", dict(before=before, after=after))
        yield Beat(say("say." + most, key=ctx.token(key), **shares_of), (play(Create(frame), run_time=0.6),),
                   caption=say(most, key=ctx.token(key), **shares_of), hold=1.4, pause=True)
        distance = ctx.quote(moved(r, b, i), Source("moved", format="pct", of="contrast"))
        chosen = ctx.pick is not None and ctx.pick.searched > 1
        spoken = say("say.contrast.moved_most", token=tok, moved=distance, n=ctx.pick.searched) if chosen else \
            say("say.contrast.moved", token=tok, moved=distance)
        whole = SurroundingRectangle(shares, color=theme.accent, buff=0.12)  # every shared token's change counts
        # the token that moved most stays framed while the whole row's change is shown
        yield Beat(spoken, caption=say("contrast.moved", moved=distance), hold=1.6, still="moved", pause=True,
                   paced=(play(Create(whole), run_time=0.6), play(FadeOut(whole), run_time=0.4)))
        return frame
