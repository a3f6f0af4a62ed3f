"""The worked arithmetic behind single entries, for showing a computation term by term.

The video draws these; they live here so that scenes only read numbers and never compute them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .attention import AttentionResult
from .formatting import pct

# Above this, e^s of the raw scaled scores s gets too long to read (e^6 = 403.43), so the worked softmax shows the
# stable form e^(s - max) instead (the same weights).
MAX_PLAIN_EXPONENT = 6.0


@dataclass(frozen=True)
class DotProduct:
    """a . b + bias = sum_c a_c b_c + bias, with each term and the running sum after it."""

    a: np.ndarray  # (n,)
    b: np.ndarray  # (n,)
    terms: np.ndarray  # (n,)  a_c * b_c
    running: np.ndarray  # (n,)  cumulative sum; running[-1] is the dot product
    total: float  # running[-1] + bias, the entry itself
    bias: float = 0.0  # a real model's bias (Q = X W_Q + b_Q); 0 for the toy numbers


def _dot(a: np.ndarray, b: np.ndarray, total: float, bias: float = 0.0) -> DotProduct:
    terms = a * b  # (n,)
    return DotProduct(a=a, b=b, terms=terms, running=np.cumsum(terms), total=float(total), bias=float(bias))


def projection_entry(r: AttentionResult, which: str, i: int, j: int) -> DotProduct:
    """Entry (i, j) of Q, K or V as row i of X times column j of W_Q, W_K or W_V (plus the bias
    b_j of a real model's head). With rotary positions (r.rope) Q and K are rotated after this
    product: the entry is the one before the rotation, r.rope.Q_raw / K_raw."""
    W, b = getattr(r, f"W_{which}"), getattr(r, f"b_{which}")
    made = getattr(r.rope, f"{which}_raw") if r.rope is not None and which in "QK" else getattr(r, which)
    return _dot(r.X[i], W[:, j], made[i, j], 0.0 if b is None else b[j])


def score_entry(r: AttentionResult, i: int, j: int) -> DotProduct:
    """scores[i, j] = q_i . k_j."""
    return _dot(r.Q[i], r.K[j], r.scores[i, j])


@dataclass(frozen=True)
class SoftmaxRow:
    """Row i of the weights as e^(s_j - shift) / sum: shift is 0 unless the exponents are large."""

    x: np.ndarray  # (S,)  scaled scores of the row
    shift: float  # subtracted before exp (0, or the row max of the visible entries)
    exps: np.ndarray  # (S,)  e^(s_j - shift); 0 where masked
    total: float  # sum of exps
    weights: np.ndarray  # (S,)  exps / total


def allowed(r: AttentionResult, i: int) -> np.ndarray:
    """(S,) bool: the tokens query token i may attend to (all, unless causal attention masks later ones)."""
    return np.ones(r.n_tokens, bool) if r.mask is None else r.mask[i]


def softmax_row(r: AttentionResult, i: int) -> SoftmaxRow:
    may = allowed(r, i)
    x = r.scaled[i]
    top = x[may].max()
    shift = float(top) if top > MAX_PLAIN_EXPONENT else 0.0
    exps = np.where(may, np.exp(np.where(may, x - shift, 0.0)), 0.0)
    return SoftmaxRow(x=x, shift=shift, exps=exps, total=float(exps.sum()), weights=r.weights[i])


def weighted_values(r: AttentionResult, i: int) -> np.ndarray:
    """(S, d_v): row j is weights[i, j] * v_j; the rows add up to output[i]."""
    return r.weights[i][:, None] * r.V  # (S, 1) * (S, d_v) -> (S, d_v)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """cos θ of the angle between a and b: a . b / (|a| |b|), in [-1, 1]; 0 when either is all zeros."""
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    return 0.0 if norms == 0 else float(a @ b) / norms


def winning_pair(r: AttentionResult, i: int, keys=None) -> tuple[int, int | None]:
    """(top, low): among the keys query token i may attend to (only those in `keys`, when given: a
    video passes the tokens it draws), the one with the largest weight, and, to contrast with it, the
    one with the smallest weight other than top (None when top is the only one). Weights order the
    keys as the scores do (softmax is increasing), so top is also the row's largest score and low its
    smallest. Ties go to the first key."""
    may = allowed(r, i)
    candidates = [j for j in (range(r.n_tokens) if keys is None else sorted(set(keys))) if may[j]]
    w = r.weights[i]
    top = max(candidates, key=lambda j: (w[j], -j))
    rest = [j for j in candidates if j != top]
    return top, (min(rest, key=lambda j: (w[j], j)) if rest else None)


@dataclass(frozen=True)
class PairAngle:
    """q_i . k_j = |q_i| |k_j| cos θ: a score as the two vectors' lengths and the angle between them."""

    q_norm: float  # |q_i|
    k_norm: float  # |k_j|
    cosine: float  # cos θ, in [-1, 1]
    total: float  # q_i . k_j, the score itself (scores[i, j])


def score_angle(r: AttentionResult, i: int, j: int) -> PairAngle:
    """scores[i, j] as |q_i|, |k_j| and the cosine of their angle."""
    q, k = r.Q[i], r.K[j]
    return PairAngle(q_norm=float(np.linalg.norm(q)), k_norm=float(np.linalg.norm(k)), cosine=cosine(q, k),
                     total=float(r.scores[i, j]))


@dataclass(frozen=True)
class PairPlane:
    """q_i and key j's k drawn in the plane the two span, from one origin: axis 1 along q, axis 2 the
    part of k_j at right angles to q (Gram-Schmidt). The pair is exact there (true lengths, true
    angle); any other key is projected onto the plane (its part off the plane is dropped)."""

    points: np.ndarray  # (2 + n, 2): q, k_j, then each other key, as coordinates on the two axes
    along: np.ndarray  # (1 + n,): each key's length along q's direction, |k| cos θ (its first coordinate)
    in_plane: np.ndarray  # (1 + n,): the length of each key's part in the plane (|k_j| for the pair)


def score_plane(r: AttentionResult, i: int, j: int, *others: int) -> PairPlane:
    """q_i, k_j and the keys `others` in the plane of q_i and k_j (see PairPlane). q_i . k = |q_i| times
    k's first coordinate, for every key. A zero q puts every point at the origin; a k_j parallel to q_i
    leaves the second axis empty (all second coordinates 0)."""
    q, keys = r.Q[i], r.K[[j, *others]]  # (d_k,), (1 + n, d_k)
    q_norm = float(np.linalg.norm(q))
    if q_norm == 0:
        zero = np.zeros(len(keys))
        return PairPlane(points=np.zeros((len(keys) + 1, 2)), along=zero, in_plane=zero)
    e1 = q / q_norm
    rest = keys[0] - (keys[0] @ e1) * e1  # k_j's part at right angles to q
    rest_norm = float(np.linalg.norm(rest))
    e2 = rest / rest_norm if rest_norm > 1e-12 * max(1.0, float(np.linalg.norm(keys[0]))) else np.zeros_like(q)
    coords = keys @ np.stack([e1, e2], axis=1)  # (1 + n, 2)
    points = np.vstack([[q_norm, 0.0], coords])
    return PairPlane(points=points, along=coords[:, 0], in_plane=np.linalg.norm(coords, axis=1))


@dataclass(frozen=True)
class TopTerms:
    """The terms of q_i . k_j that push the score furthest its own way (the largest when the score
    is positive or zero, the most negative when it is negative)."""

    dims: tuple[int, ...]  # their dimensions, the strongest first (ties: the lower dimension first)
    terms: np.ndarray  # (n,)  q_i[c] * k_j[c] for c in dims
    total: float  # their sum
    agreeing: int  # how many of all d_k terms have the score's sign (0 counts as neither)


def top_terms(r: AttentionResult, i: int, j: int, n: int) -> TopTerms:
    """The n terms of scores[i, j] = sum_c q_i[c] k_j[c] that contribute most to it (see TopTerms)."""
    dot = score_entry(r, i, j)
    sign = -1.0 if dot.total < 0 else 1.0
    order = np.argsort(-sign * dot.terms, kind="stable")[:n]  # (n,)
    return TopTerms(dims=tuple(int(c) for c in order), terms=dot.terms[order], total=float(dot.terms[order].sum()),
                    agreeing=int((sign * dot.terms > 0).sum()))


def unscaled_softmax_row(r: AttentionResult, i: int) -> np.ndarray:
    """(S,): row i's softmax as it would be WITHOUT the division by √d_k: softmax of scores[i] over
    the keys token i may attend to, 0 at masked keys. Beside weights[i], it shows what the scaling
    does."""
    may = allowed(r, i)
    x = np.where(may, r.scores[i], -np.inf)
    e = np.exp(x - x[may].max())  # (S,); e^-inf = 0 at masked keys
    return e / e.sum()


@dataclass(frozen=True)
class RowSpread:
    """How far apart row i's scores lie, before and after the division by √d_k: the largest minus
    the smallest over the keys the row may attend to (softmax depends only on these gaps)."""

    before: float  # max - min of scores[i] over the allowed keys
    after: float  # the same for scaled[i] (after ÷ √d_k): before / √d_k


def score_spread(r: AttentionResult, i: int) -> RowSpread:
    may = allowed(r, i)
    raw, scaled = r.scores[i][may], r.scaled[i][may]
    return RowSpread(before=float(raw.max() - raw.min()), after=float(scaled.max() - scaled.min()))


def strongest(r: AttentionResult, i: int) -> int:
    """The key token that query token i attends to most (the first one on a tie)."""
    return int(np.argmax(r.weights[i]))


def row_sums(r: AttentionResult) -> np.ndarray:
    """(S,): each row of the weights added up (1 up to rounding: softmax is a distribution)."""
    return r.weights.sum(axis=1)  # (S, S) -> (S,)


def run_weight(r: AttentionResult, i: int, keys: tuple[int, ...]) -> float:
    """The share of query token i's attention that the tokens `keys` take together (an elided run
    of a picture, "… 4 tokens, 3.1%": attncore.tables.elided_runs)."""
    return float(r.weights[i, list(keys)].sum()) if keys else 0.0


def rest_share(r: AttentionResult, i: int, runs: tuple[tuple[int, ...], ...], keys: tuple[int, ...]) -> float:
    """The share a picture states for the tokens `keys` (one of `runs`, or several runs joined) of row i,
    where `runs` are all the runs of row i the picture leaves out (its elided runs, the hidden special
    tokens one more): together they take the rest of the row, 100.0% minus the shares of the tokens drawn
    (each rounded to 0.1% as shown), split among them by largest remainder (a tenth of a percent at a
    time to the run furthest below its own share; taken back from the one furthest above, never below
    0.0%), so that every share of the row shown adds up to 100.0%. When the rest is below zero (the
    drawn shares, rounded, pass 100.0%), each run keeps its own share."""
    tenths = lambda w: int(round(float(pct(w)[:-1].replace("\u2212", "-")) * 10))  # "58.8%" -> 588, as shown
    left = {j for run in runs for j in run}
    rest = 1000 - sum(tenths(r.weights[i, j]) for j in range(r.n_tokens) if j not in left)
    own = [1000 * run_weight(r, i, run) for run in runs]  # each run's share, in tenths of a percent
    given = [int(np.floor(v)) for v in own]
    if rest < 0:
        given = [tenths(v / 1000) for v in own]
    else:
        while sum(given) < rest:  # to the run furthest below its own share (the first on a tie)
            k = max(range(len(runs)), key=lambda n: (own[n] - given[n], -n))
            given[k] += 1
        while sum(given) > rest:  # from the one furthest above it that has any
            k = min((n for n in range(len(runs)) if given[n] > 0), key=lambda n: (own[n] - given[n], n))
            given[k] -= 1
    chosen = set(keys)
    return sum(g for run, g in zip(runs, given) if set(run) <= chosen) / 1000


def weighted_run(r: AttentionResult, i: int, keys: tuple[int, ...]) -> np.ndarray:
    """(d_v,): the products a_j v_j of the tokens `keys` (an elided run of the weighted sum) added up,
    so that the lines shown and the runs' sums add up to z."""
    return weighted_values(r, i)[list(keys)].sum(axis=0)  # (len(keys), d_v) -> (d_v,)


def exp_run(r: AttentionResult, i: int, keys: tuple[int, ...]) -> float:
    """The powers of e of the tokens `keys` (an elided run of the worked softmax row) added up, so that
    the powers shown and the runs' sums add up to the row's sum."""
    return float(softmax_row(r, i).exps[list(keys)].sum())


def term_run(r: AttentionResult, i: int, j: int, dims: tuple[int, ...]) -> float:
    """The terms q_c k_c of the worked q_i . k_j at `dims` (an elided run of its dimensions) added up, so
    that the running sum shown after them adds up as shown."""
    return float(score_entry(r, i, j).terms[list(dims)].sum())


# ---- rotary positions (RoPE): what the rope stage shows --------------------------------------------

SHIFTS = (10, 1000)  # the rope stage moves both tokens this many places later: the score stays
FURTHER = 5  # ... and the query alone this many places later: the score changes


def rope(r: AttentionResult):
    """The head's rotary positions (attncore.attention.Rope: θ, positions, frequencies θ_i, Q_raw, K_raw,
    scores_raw), for a Source to read a field of."""
    if r.rope is None:
        raise ValueError("this head has no rotary positions (r.rope is None)")
    return r.rope


def rope_pairs(r: AttentionResult, i: int, j: int) -> tuple[int, ...]:
    """The pairs the rope stage draws for query i and key j: the fastest (pair 0, θ_0 = 1), the slowest
    (the last), and between them the one whose term of the score the turn changes most (the largest
    |after - before| of q_c k_c + q_c' k_c', c' = c + d_k/2, to 9 decimals; the first on a tie). Fewer when
    d_k / 2 < 3."""
    ro = rope(r)
    half = ro.frequencies.size
    if half <= 2:
        return tuple(range(half))
    pair_terms = lambda q, k: q[:half] * k[:half] + q[half:] * k[half:]  # (d_k/2,)
    # rounded: at one position (a token and itself) every change is 0 but for float rounding, and the first pair wins
    change = np.round(np.abs(pair_terms(r.Q[i], r.K[j]) - pair_terms(ro.Q_raw[i], ro.K_raw[j])), 9)
    middle = 1 + int(np.argmax(change[1:half - 1]))
    return (0, middle, half - 1)


@dataclass(frozen=True)
class PairTurn:
    """Pair c (dimensions c and c + d_k/2) of token s's q or k, before and after RoPE turned it by
    position x θ_c radians."""

    raw: np.ndarray  # (2,)  before the rotation (X W + b)
    turned: np.ndarray  # (2,)  after it
    position: int  # the token's position m
    frequency: float  # θ_c, radians per position
    angle: float  # m θ_c, radians: how far the pair turned


def rope_turn(r: AttentionResult, which: str, s: int, c: int) -> PairTurn:
    """Pair c of token s's q ("Q") or k ("K"): before, after, and the angle it turned by."""
    ro = rope(r)
    position, frequency = int(ro.positions[s]), float(ro.frequencies[c])
    return PairTurn(raw=ro.pair(which, s, c), turned=ro.pair(which, s, c, rotated=True), position=position,
                    frequency=frequency, angle=position * frequency)


@dataclass(frozen=True)
class PairTerm:
    """Pair c's share of q_i . k_j (q_c k_c + q_c' k_c', with c' = c + d_k/2), before and after the
    rotation: it depends on the angle between the two arrows, which RoPE changes by (m - n) θ_c."""

    before: float
    after: float


def rope_term(r: AttentionResult, i: int, j: int, c: int) -> PairTerm:
    q, k = rope_turn(r, "Q", i, c), rope_turn(r, "K", j, c)
    return PairTerm(before=float(q.raw @ k.raw), after=float(q.turned @ k.turned))


@dataclass(frozen=True)
class RopeShifts:
    """q_i . k_j with the two tokens placed at other positions: `positions` (query's, key's) and the
    score at each. The first is where they are; the next keep their distance (both moved SHIFTS
    places later): the same score; the last moves the query alone FURTHER places on: another score."""

    positions: tuple[tuple[int, int], ...]
    scores: np.ndarray  # (len(positions),)

    @property
    def distances(self) -> tuple[int, ...]:
        return tuple(m - n for m, n in self.positions)


def rope_shifts(r: AttentionResult, i: int, j: int) -> RopeShifts:
    ro = rope(r)
    m, n = int(ro.positions[i]), int(ro.positions[j])
    at = ((m, n), *((m + s, n + s) for s in SHIFTS), (m + FURTHER, n))
    return RopeShifts(positions=at, scores=np.array([ro.score(i, j, a, b) for a, b in at]))


# ---- one step of generation (the kv-cache stage) -----------------------------------------------------

def next_step(r: AttentionResult):
    """The head's step of generation (attncore.generation.NextStep), for a Source to read a field of."""
    if r.next is None:
        raise ValueError("no step of generation computed (attncore.generation.with_next)")
    return r.next
