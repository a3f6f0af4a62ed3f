"""The worked arithmetic behind single entries, for showing a computation term by term.

The video draws these; they live here so that scenes only read numbers and never compute them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .attention import AttentionResult

# Above this, e^x of the raw scaled scores gets too long to read (e^6 = 403.43), so the worked softmax shows the
# stable form e^(x - max) instead (the same weights).
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
    b_j of a real model's head)."""
    W, b = getattr(r, f"W_{which}"), getattr(r, f"b_{which}")
    return _dot(r.X[i], W[:, j], getattr(r, which)[i, j], 0.0 if b is None else b[j])


def score_entry(r: AttentionResult, i: int, j: int) -> DotProduct:
    """scores[i, j] = q_i . k_j."""
    return _dot(r.Q[i], r.K[j], r.scores[i, j])


@dataclass(frozen=True)
class SoftmaxRow:
    """Row i of the weights as e^(x_j - shift) / sum: shift is 0 unless the exponents are large."""

    x: np.ndarray  # (S,)  scaled scores of the row
    shift: float  # subtracted before exp (0, or the row max of the visible entries)
    exps: np.ndarray  # (S,)  e^(x_j - shift); 0 where masked
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


def strongest(r: AttentionResult, i: int) -> int:
    """The key token that query token i attends to most (the first one on a tie)."""
    return int(np.argmax(r.weights[i]))


def row_sums(r: AttentionResult) -> np.ndarray:
    """(S,): each row of the weights added up (1 up to rounding: softmax is a distribution)."""
    return r.weights.sum(axis=1)  # (S, S) -> (S,)
