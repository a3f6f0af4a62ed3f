"""The seeds' "current token" picture: the tokens in a row, one token linked to every token it may
attend to, each link as thick and as opaque as its weight and labelled with its percentage.

Links are arches over the row: the farther apart two tokens are, the higher the arch, so the
percentages (on the tops, over a patch of background) stay legible; in a long row, where the tops
are too close, each percentage stands over its token, at the arch's foot; a token's link to itself
is a small loop, and the arches leave a token a little to its left or right so that they do not cross
the loop's percentage. Masked
tokens (causal) get no link. Up to 16 tokens are all shown (`Layout.link_cols`); past that the row
is elided by weight, keeping the focus row's story (its largest keys, every key of 3% or more), and
under each "…" stand the number of tokens it holds and, for the row whose links are drawn, their
share.
"""

from __future__ import annotations

from manim import DOWN, BackgroundRectangle, CubicBezier, SurroundingRectangle, VGroup

from attncore import pct, steps

from .components import Picture
from .context import Ctx, Source
from .elision import run_count, run_label
from .layout import CONTENT_BOTTOM, CONTENT_TOP, Layout
from .texts import half_width, number_text, one_size, text

LOOP_H = 0.45  # the height of a token's loop to itself
FIRST_H = 1.2  # the height of the arch between neighbours
LABEL_SIZE = 18
TOKENS_BELOW = 0.4  # from the links' feet down to the token labels' centres
RUNS_BELOW = 0.6  # below the token labels: an elided run's count and share
STAGGER = 0.3  # the second line of staggered token labels, below the first
DENSE_STEP = 0.3  # arches closer than this (a percentage's card is 0.28 high) carry it at their feet instead


class ArcsRow:
    """The token row and the geometry the links of every token share."""

    def __init__(self, ctx: Ctx):
        self.ctx, self.lay = ctx, Layout(ctx)
        self.slots = self.lay.link_cols
        n = len(self.slots)
        self.runs = dict(zip((k for k, j in enumerate(self.slots) if j is None), self.lay.runs(self.slots)))
        below = RUNS_BELOW if self.runs else 0.0
        self.slot_w = min(1.6, 2 * half_width() / n)
        at = [(k - (n - 1) / 2) * self.slot_w for k in range(n)]  # each slot's x, elisions too
        self.x = {j: at[k] for k, j in enumerate(self.slots) if j is not None}
        # one size for every token; on two staggered lines (every other one a step down, with two slots' width)
        # when one line would need a size below the smallest
        size, self.staggered = one_size(ctx, [ctx.result.tokens[j] for j in self.slots if j is not None],
                                        ctx.theme.label_size, self.slot_w * 0.92, self.slot_w * 1.84)
        stagger = STAGGER if self.staggered else 0.0
        below += stagger
        space = CONTENT_TOP - CONTENT_BOTTOM - 1.1 - below  # less the token labels and the top percentages
        self.step = min(0.6, (space - FIRST_H) / max(1, n - 2))
        tallest = self.height(n - 1) + 0.45 + TOKENS_BELOW + 0.3 + below
        self.base = (CONTENT_TOP + CONTENT_BOTTOM) / 2 - tallest / 2 + TOKENS_BELOW + 0.3 + below  # centred
        theme = ctx.theme
        self.labels = {}
        room = self.slot_w * (1.84 if self.staggered else 0.92)  # staggered: a label reaches over its neighbours' slots
        for k, j in enumerate(self.slots):
            mark = "…" if j is None else ctx.result.tokens[j]
            label = text(ctx, mark, size, theme.dim if j is None else theme.text, max_width=room)
            self.labels[k] = label.move_to([at[k], self.base - TOKENS_BELOW - (stagger if k % 2 else 0.0), 0])
        # under a "…" the number of tokens it stands for (runs are never next to each other: two slots apart)
        self.counts = {k: run_count(ctx, keys, theme.min_font_size, 1.8 * self.slot_w).move_to(
            [at[k], self.base - TOKENS_BELOW - 0.3 - stagger, 0]) for k, keys in self.runs.items()}
        self.tokens = VGroup(*self.labels.values(), *self.counts.values())

    def height(self, distance: int) -> float:
        """The apex height of the arch between slots `distance` apart."""
        return LOOP_H if distance == 0 else FIRST_H + (distance - 1) * self.step

    def arch(self, x0: float, x1: float, h: float, spread: float = 0.0):
        c = 4 * h / 3  # a cubic Bézier whose handles are at height c peaks at 3c/4
        y = self.base
        return CubicBezier([x0, y, 0], [x0 - spread, y + c, 0], [x1 + spread, y + c, 0], [x1, y, 0])

    def links(self, i: int) -> Picture:
        """Token i's links: one per token it may attend to, with its percentage; i framed."""
        ctx, theme, r = self.ctx, self.ctx.theme, self.ctx.result
        a = r.weights[i]
        a_max = max(a[j] for j in self.slots if j is not None)
        k_i = self.slots.index(i)
        allowed = steps.allowed(r, i)
        arches, shares = VGroup(), VGroup()
        own = pct(a[i])
        gap = text(ctx, own, LABEL_SIZE).width / 2 + 0.12  # arches leave i clear of the loop's label
        for k, j in enumerate(self.slots):
            if j is None or not allowed[j]:
                continue
            h = self.height(abs(k - k_i))
            if j == i:
                arch = self.arch(self.x[i] - 0.12, self.x[i] + 0.12, h, spread=0.3)
            else:
                side = 1 if j > i else -1
                arch = self.arch(self.x[i] + side * gap, self.x[j], h)
            strength = a[j] / a_max
            arch.set_stroke(theme.accent if j == i else theme.heat_high, width=1.5 + 8 * strength,
                            opacity=0.35 + 0.65 * strength)
            arches.add(arch)
            share = number_text(ctx, pct(a[j]), Source("weights", (i, j), format="pct"), LABEL_SIZE,
                                theme.accent if j == i else theme.text)
            if j == i:  # over the loop
                share.move_to([self.x[i], self.base + h + share.height / 2 + 0.1, 0])
            elif self.step < DENSE_STEP:  # arches too close for their tops: over the token, where the arch lands
                share.move_to([self.x[j], self.base + share.height / 2 + 0.12, 0])
            else:  # on the arch's top, cutting it, so that a taller arch behind it does not cross the digits
                share.move_to([(arch.get_start()[0] + self.x[j]) / 2, self.base + h, 0])
            card = BackgroundRectangle(share, color=theme.background, fill_opacity=1, buff=0.05)
            shares.add(VGroup(card, share))
        shares.set_z_index(1)  # over every arch, whatever order they come on screen in
        frame = SurroundingRectangle(self.labels[k_i], color=theme.accent, buff=0.08)
        elided = VGroup(*(run_label(ctx, i, keys, theme.min_font_size, 1.8 * self.slot_w, tuple(self.runs.values()), count=False)
                          .next_to(self.counts[k], DOWN, buff=0.08) for k, keys in self.runs.items()))
        return Picture("links", arches=arches, shares=shares, frame=frame, elided=elided)

    def rows(self) -> list[int]:
        """The tokens whose links the picture shows in turn: those in the row, in order."""
        return [j for j in self.slots if j is not None]
