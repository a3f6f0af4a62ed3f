"""What a head measurably does, from its attention weights alone: the label under each head's heat
map in the video's heads stage (docs/models.md, "What a head does").

The rule, on the (S, S) weights (row i: query token i; every row sums to 1):

    rows counted   the rows with a choice: a causal mask's first row can attend only to itself and
                   is left out (when no row has a choice, as with one token, every row counts)
    offsets        for d in (-1, 0, +1, -2, +2), named previous, self, next, previous2, next2:
                   share = mean over the counted rows i whose key i + d exists and is allowed by the
                   mask, of weights[i, i + d]
    sinks          the first token (position 0; a BERT's [CLS]): share = mean over the counted rows of
                   weights[i, 0]; and each other special token ([SEP]): the mean, over the counted
                   rows, of the weight on all its positions (special tokens: `special_tokens`)
    role           the candidate with the largest share (the first in the order above on a tie), when
                   that share reaches THRESHOLD
    otherwise      peak = mean over the counted rows of the row's largest weight: "focused" when it
                   reaches THRESHOLD (each row leans on one key, but not at a fixed place), else
                   "broad"; the share is the peak

Every share is a mean of weights, so it reads as a percentage: "previous token 99.1%" is the
average weight a token gives the token just before it.

What the followed row does (`focus_look`), beside the whole matrix: the key the focus token gives
most, that weight, and the mean weight the other counted rows (those that may attend to that key) give
the same key. The focus row is special (`FocusLook.special`) when the others give that key at most
half as much (SPECIAL): MiniLM L3 H1, "it" -> "animal" 64.0% against 8.9%, is; L5 H11, 64.7% against
39.5%, is not: there every token looks at "animal", so the row says nothing about "it".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .attention import AttentionResult
from .focus import special_tokens
from .steps import allowed

THRESHOLD = 0.5  # a head is named after a place when, on average, it gives that place at least half its attention
OFFSETS = {"previous": -1, "self": 0, "next": 1, "previous2": -2, "next2": 2}  # role -> key position minus query position
POSITIONAL = (*OFFSETS, "first", "sink")  # the roles that name a fixed place; "focused" and "broad" do not
SPECIAL = 0.5  # the focus row is special when the other rows give its key at most this fraction of its weight


@dataclass(frozen=True)
class HeadRole:
    """A head's role, the mean weight it measures (0 to 1), and the sink's token when the role is
    "sink" ("[CLS]", "[SEP]"). Roles: previous, self, next, previous2, next2 (a fixed offset from the
    query), first (the first token, not a special one), sink (a special token), focused, broad."""

    role: str
    share: float
    token: str | None = None


def _allowed(r: AttentionResult) -> np.ndarray:
    """(S, S) bool: query i may attend to key j."""
    return np.array([allowed(r, i) for i in range(r.n_tokens)], dtype=bool)


def counted_rows(r: AttentionResult) -> np.ndarray:
    """The query rows the rule averages over: those that may attend to more than one key (every
    row when none may)."""
    choice = _allowed(r).sum(axis=1) > 1  # (S,)
    return np.flatnonzero(choice) if choice.any() else np.arange(r.n_tokens)


def candidates(r: AttentionResult) -> list[HeadRole]:
    """Every place the rule measures, with its share, in the rule's order; a place no counted row
    can attend to (the next token under a causal mask, a previous token with one token) is left out."""
    W, allowed, rows = r.weights, _allowed(r), counted_rows(r)
    S = r.n_tokens
    out = []
    for role, d in OFFSETS.items():
        keys = [(i, i + d) for i in rows if 0 <= i + d < S and allowed[i, i + d]]
        if keys:
            out.append(HeadRole(role, float(np.mean([W[i, j] for i, j in keys]))))
    special = special_tokens(r)
    first = r.tokens[0] if 0 in special else None
    out.append(HeadRole("sink" if first else "first", float(np.mean(W[rows, 0])), first))
    for token in dict.fromkeys(r.tokens[j] for j in special if j != 0):  # each special token once, in order
        cols = [j for j in special if j != 0 and r.tokens[j] == token]
        if allowed[np.ix_(rows, cols)].any():
            out.append(HeadRole("sink", float(np.mean(W[np.ix_(rows, cols)].sum(axis=1))), token))
    return out


def head_role(r: AttentionResult) -> HeadRole:
    """The head's role by the rule above (module docstring)."""
    best = max(candidates(r), key=lambda c: c.share)  # max keeps the first of equal shares
    if best.share >= THRESHOLD:
        return best
    peak = float(np.mean(r.weights[counted_rows(r)].max(axis=1)))
    return HeadRole("focused" if peak >= THRESHOLD else "broad", peak)


def clearest(roles) -> int | None:
    """The index of the role that names a place with the largest share (the first on a tie); None
    when no role names a place."""
    placed = [(role.share, -h) for h, role in enumerate(roles) if role.role in POSITIONAL]
    return -max(placed)[1] if placed else None


@dataclass(frozen=True)
class FocusLook:
    """What the followed row does against the rest of the matrix: the focus token gives `share` to
    `key`; the other rows that may attend to `key` give it `others` on average (None when there are
    none: one token, or a key only the focus may see)."""

    focus: int
    key: int
    share: float
    others: float | None

    @property
    def special(self) -> bool:
        """True when the row's choice is the focus token's own: the other rows give the key at most
        SPECIAL times as much (always, with no other row to compare)."""
        return self.others is None or self.others <= SPECIAL * self.share


def focus_look(r: AttentionResult, focus: int, key: int | None = None) -> FocusLook:
    """The focus row's weight on `key` (default: the key it gives most, the first on a tie) against
    the mean over the other counted rows (`counted_rows`) that may attend to that key."""
    row = r.weights[focus]
    key = int(np.argmax(row)) if key is None else key
    may = _allowed(r)
    others = [i for i in counted_rows(r) if i != focus and may[i, key]]
    mean = float(np.mean(r.weights[others, key])) if others else None
    return FocusLook(focus, key, float(row[key]), mean)
