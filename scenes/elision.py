"""What an elided run of keys holds: where a picture of the focus row (or of any row i) leaves tokens
out ("…"), it says how many and how much of row i's attention they take together, "4 tokens"
over "3.1%" under the mark, or "… 4 tokens, 3.1%" in a line of text. Which tokens are left out is
planned by weight (attncore.tables.plan_by_weight, through scenes.layout.Layout); the shares are
attncore's (`steps.rest_share`: the rest of the row, so that the shares a picture shows, the hidden
special tokens' included, add up to 100.0%), recorded as every number on screen is.
"""

from __future__ import annotations

from manim import DOWN, VGroup

from attncore import pct, steps

from .context import Ctx, Source
from .texts import number_text, text


def row_runs(ctx: Ctx, runs) -> tuple[tuple[int, ...], ...]:
    """All that a picture of a row leaves out: its elided runs, and the hidden special tokens as one more."""
    runs = tuple(tuple(run) for run in runs)
    hidden = tuple(sorted(ctx.hidden))
    return runs + ((hidden,) if hidden and hidden not in runs else ())


def run_source(i: int, keys: tuple[int, ...], runs: tuple[tuple[int, ...], ...]) -> Source:
    """The source of the share a picture states for `keys` of row i, among all it leaves out (`row_runs`)."""
    return Source("", (), ("rest_share", i, runs, tuple(keys)), "pct")


def run_share(ctx: Ctx, i: int, keys: tuple[int, ...], runs) -> tuple[float, Source]:
    """The share of row i's attention stated for the tokens `keys` (a run, or several joined) of a picture
    leaving out `runs` (and the hidden tokens): the row's rest, so that the shares shown add up to 100.0%
    (`steps.rest_share`)."""
    full = row_runs(ctx, runs)
    return steps.rest_share(ctx.result, i, full, tuple(keys)), run_source(i, keys, full)


def run_label(ctx: Ctx, i: int, keys: tuple[int, ...], size: float, max_width: float, runs, count: bool = True) -> VGroup:
    """Under a "…": the number of tokens it stands for (with `count`) over their share of row i's
    attention (`run_share`: `runs` are all the picture's runs of that row), centred on each other, in the
    dim colour."""
    theme = ctx.theme
    value, source = run_share(ctx, i, keys, runs)
    share = number_text(ctx, pct(value), source, size, theme.dim)
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
    formatted as on screen (`run_share`), recorded nowhere (nothing is drawn)."""
    return ctx.s("elided.sep").join(ctx.s("elided.run", n=len(keys), pct=pct(run_share(ctx, i, keys, runs)[0]))
                                    for keys in runs)
