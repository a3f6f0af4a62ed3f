"""What an elided run of keys holds: where a picture of the focus row (or of any row i) leaves tokens
out ("…"), it says how many and how much of row i's attention they take together, "4 tokens"
over "3.1%" under the mark, or "… 4 tokens, 3.1%" in a line of text. Which tokens are left out is
planned by weight (attncore.tables.plan_by_weight, through scenes.layout.Layout); the shares are
attncore's (`steps.run_weight`), recorded as every number on screen is.
"""

from __future__ import annotations

from manim import DOWN, VGroup

from attncore import pct, steps

from .context import Ctx, Source
from .texts import number_text, text


def run_source(i: int, keys: tuple[int, ...]) -> Source:
    """The source of the share that row i gives the tokens `keys`."""
    return Source("", (), ("run_weight", i, tuple(keys)), "pct")


def run_label(ctx: Ctx, i: int, keys: tuple[int, ...], size: float, max_width: float, count: bool = True) -> VGroup:
    """Under a "…": the number of tokens it stands for (with `count`) over their share of row i's
    attention, centred on each other, in the dim colour."""
    theme = ctx.theme
    share = number_text(ctx, pct(steps.run_weight(ctx.result, i, keys)), run_source(i, keys), size, theme.dim)
    if not count:
        return VGroup(share)
    n = text(ctx, ctx.s("elided.count", n=len(keys)), size, theme.dim, max_width=max_width)
    return VGroup(n, share.next_to(n, DOWN, buff=0.08))


def run_count(ctx: Ctx, keys: tuple[int, ...], size: float, max_width: float):
    """The number of tokens a "…" stands for ("4 tokens"), to stand under it; their share comes
    apart (`run_label(count=False)`), when it changes with the row drawn."""
    return text(ctx, ctx.s("elided.count", n=len(keys)), size, ctx.theme.dim, max_width=max_width)


def runs_line(ctx: Ctx, i: int, runs: list[tuple[int, ...]]) -> str:
    """"… 4 tokens, 3.1%; … 1 token, 0.6%": row i's elided runs in a line of text (the handout's),
    formatted as on screen, recorded nowhere (nothing is drawn)."""
    return ctx.s("elided.sep").join(ctx.s("elided.run", n=len(keys), pct=pct(steps.run_weight(ctx.result, i, keys)))
                                    for keys in runs)
