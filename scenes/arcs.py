"""The seeds' "current token" picture: the tokens in a row, one token linked to every token it may
attend to, each link as thick and as opaque as its weight and labelled with its percentage.

Links are arches over the row: the farther apart two tokens are, the higher the arch, so the
percentages (on the tops, over a patch of background) stay legible; a token's link to itself is a
small loop, and the arches leave a token a little to its left or right so that they do not cross
the loop's percentage. Masked
tokens (causal) get no link. The row is elided as the grids' columns are, keeping the token the
focus token attends to most (`Layout.focus_cols`).
"""

from __future__ import annotations

from manim import BackgroundRectangle, CubicBezier, SurroundingRectangle, VGroup

from attncore import pct, steps

from .components import Picture, half_width, number_text, text
from .context import Ctx, Source
from .layout import CONTENT_BOTTOM, CONTENT_TOP, Layout

LOOP_H = 0.45  # the height of a token's loop to itself
FIRST_H = 1.2  # the height of the arch between neighbours
LABEL_SIZE = 18
TOKENS_BELOW = 0.4  # from the links' feet down to the token labels' centres


class ArcsRow:
    """The token row and the geometry the links of every token share."""

    def __init__(self, ctx: Ctx):
        self.ctx, self.lay = ctx, Layout(ctx)
        self.slots = self.lay.focus_cols
        n = len(self.slots)
        self.slot_w = min(1.6, 2 * half_width() / n)
        at = [(k - (n - 1) / 2) * self.slot_w for k in range(n)]  # each slot's x, elisions too
        self.x = {j: at[k] for k, j in enumerate(self.slots) if j is not None}
        space = CONTENT_TOP - CONTENT_BOTTOM - 1.1  # less the token labels and the top percentages
        self.step = min(0.6, (space - FIRST_H) / max(1, n - 2))
        tallest = self.height(n - 1) + 0.45 + TOKENS_BELOW + 0.3
        self.base = (CONTENT_TOP + CONTENT_BOTTOM) / 2 - tallest / 2 + TOKENS_BELOW + 0.3  # centred
        theme = ctx.theme
        self.labels = {}
        for k, j in enumerate(self.slots):
            mark = "…" if j is None else ctx.result.tokens[j]
            label = text(ctx, mark, theme.label_size, theme.dim if j is None else theme.text, max_width=self.slot_w * 0.92)
            self.labels[k] = label.move_to([at[k], self.base - TOKENS_BELOW, 0])
        self.tokens = VGroup(*self.labels.values())

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
            else:  # on the arch's top, cutting it, so that a taller arch behind it does not cross the digits
                share.move_to([(arch.get_start()[0] + self.x[j]) / 2, self.base + h, 0])
            card = BackgroundRectangle(share, color=theme.background, fill_opacity=1, buff=0.05)
            shares.add(VGroup(card, share))
        shares.set_z_index(1)  # over every arch, whatever order they come on screen in
        frame = SurroundingRectangle(self.labels[k_i], color=theme.accent, buff=0.08)
        return Picture("links", arches=arches, shares=shares, frame=frame)

    def rows(self) -> list[int]:
        """The tokens whose links the picture shows in turn: those in the row, in order."""
        return [j for j in self.slots if j is not None]
