"""Multi-head self-attention: several heads side by side, their outputs concatenated and projected.

    head h:   Q_h = X W_Q[:, cols_h] (+ b_Q[cols_h]),  likewise K_h, V_h      cols_h = d_head h .. d_head (h+1) - 1
              Z_h = softmax(Q_h K_h^T / sqrt(d_head)) V_h                      (S, d_head)
    concat:   C = [Z_0 | Z_1 | ... | Z_{H-1}]                                 (S, H d_head) = (S, d_model)
    output:   O = C W_O (+ b_O)                                               (S, d_model)

This is the paper's MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W^O (Vaswani et al. 2017, 3.2.2)
and the layout of torch's nn.MultiheadAttention and BERT: each head owns a block of d_head columns of
one d_model x d_model projection.

Grouped-query attention (Ainslie et al. 2023; llama, Qwen2): `kv_heads` key/value heads, fewer than the
query heads. W_K and W_V have kv_heads x d_head columns, and query head h reads the K and V of group
g = h // (heads / kv_heads): Qwen2.5-0.5B's 14 heads share 2 groups, heads 0-6 group 0, 7-13 group 1.
With rotary positions (`rope_theta`) each head's q and k are rotated before their scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .attention import FORMAT, AttentionResult, _frozen, _matrix, export_json, self_attention
from .errors import InputError


@dataclass(frozen=True)
class MultiHeadResult:
    """Every head's AttentionResult (each with `.head` set), and how they are joined. Arrays read-only."""

    heads: tuple[AttentionResult, ...]
    W_O: np.ndarray  # (d_model, d_model)  rows: the concatenated heads' dimensions
    b_O: np.ndarray | None  # (d_model,)  a real model's output bias; None for the toy numbers
    concat: np.ndarray  # (S, d_model)  [Z_0 | Z_1 | ...]
    output: np.ndarray  # (S, d_model)  concat W_O (+ b_O)
    kv_heads: int | None = None  # grouped-query attention: the key/value heads the query heads share

    @property
    def n_heads(self) -> int:
        return len(self.heads)

    def kv_group(self, h: int) -> int:
        """The key/value head query head h reads (h itself without grouped-query attention)."""
        group = self.heads[h].kv_group
        return h if group is None else group

    def group_heads(self, g: int) -> tuple[int, ...]:
        """The query heads that share key/value head g."""
        return tuple(h for h in range(self.n_heads) if self.kv_group(h) == g)

    @property
    def tokens(self) -> tuple[str, ...]:
        return self.heads[0].tokens

    @property
    def d_head(self) -> int:
        return self.heads[0].d_v

    @property
    def d_model(self) -> int:
        return self.heads[0].d_model

    def __repr__(self) -> str:
        first = self.heads[0]
        where = f", {first.model} layer {first.layer}" if first.model else ""
        return f"MultiHeadResult(tokens={self.tokens!r}{where}, n_heads={self.n_heads}, d_head={self.d_head})"

    def _repr_html_(self) -> str:
        """A notebook shows each head's weights, W_O and the output (the handout's table code)."""
        from .tables import multihead_html

        return multihead_html(self)

    def columns(self, h: int) -> slice:
        """Head h's block of columns in `concat` (and of the full W_Q, W_K, W_V)."""
        return slice(h * self.d_head, (h + 1) * self.d_head)

    def to_dict(self) -> dict:
        """Every head's export (`AttentionResult.to_dict`), W_O, b_O, the concatenation and the output."""
        first = self.heads[0]
        out: dict = {"format": FORMAT, "tokens": list(self.tokens), "n_heads": self.n_heads,
                     "d_model": self.d_model, "d_head": self.d_head}
        for key in ("sentence", "model", "layer", "architecture", "kv_heads"):
            if getattr(first, key) is not None:
                out[key] = getattr(first, key)
        out["heads"] = [h.to_dict() for h in self.heads]
        for key in ("W_O", "b_O", "concat", "output"):
            value = getattr(self, key)
            out[key] = None if value is None else value.tolist()
        return out

    def to_json(self, path: str | Path | None = None, *, indent: int | None = 1) -> str:
        """The `to_dict()` export as JSON text; also written to `path` when given."""
        return export_json(self.to_dict(), path, indent)


def multi_head_attention(X, W_Q, W_K, W_V, W_O, n_heads: int, *, b_Q=None, b_K=None, b_V=None, b_O=None,
                         kv_heads: int | None = None, **recorded) -> MultiHeadResult:
    """`n_heads` heads over the rows of X. W_Q, W_K, W_V and W_O are (d_model, d_model); head h uses
    columns d_head h .. of W_Q, W_K, W_V (and of the biases). `recorded` (causal, tokens, embeddings,
    positional_encoding, model, layer, sentence, rope_theta, positions) goes to every head as in
    `self_attention`.

    With `kv_heads` (grouped-query attention), W_Q is (d_model, n_heads d_head), W_K and W_V (d_model,
    kv_heads d_head) and W_O (n_heads d_head, d_model): head h reads group h // (n_heads / kv_heads)'s
    columns of W_K and W_V."""
    X = _matrix("X", X)
    d_model = X.shape[1]
    if isinstance(n_heads, bool) or not isinstance(n_heads, int) or n_heads < 1:
        raise InputError(f"heads: expected a whole number >= 1, got {n_heads!r}")
    if kv_heads is None:
        if d_model % n_heads:
            raise InputError(f"heads: d_model = {d_model} is not divisible by {n_heads} heads")
        d_head, groups = d_model // n_heads, n_heads
        mats = {name: _matrix(name, m, d_model, d_model)
                for name, m in (("W_Q", W_Q), ("W_K", W_K), ("W_V", W_V), ("W_O", W_O))}
    else:
        if isinstance(kv_heads, bool) or not isinstance(kv_heads, int) or kv_heads < 1 or n_heads % kv_heads:
            raise InputError(f"kv_heads: expected a whole number that divides {n_heads} heads, got {kv_heads!r}")
        W_Q = _matrix("W_Q", W_Q, d_model, "heads x d_head")
        if W_Q.shape[1] % n_heads:
            raise InputError(f"heads: W_Q's {W_Q.shape[1]} columns are not divisible by {n_heads} heads")
        d_head, groups = W_Q.shape[1] // n_heads, kv_heads
        mats = {"W_Q": W_Q, "W_K": _matrix("W_K", W_K, d_model, kv_heads * d_head),
                "W_V": _matrix("W_V", W_V, d_model, kv_heads * d_head),
                "W_O": _matrix("W_O", W_O, n_heads * d_head, d_model)}
    biases = {"b_Q": b_Q, "b_K": b_K, "b_V": b_V}
    heads = []
    for h in range(n_heads):
        g = h // (n_heads // groups)
        cols, kv = slice(h * d_head, (h + 1) * d_head), slice(g * d_head, (g + 1) * d_head)
        heads.append(self_attention(
            X, mats["W_Q"][:, cols], mats["W_K"][:, kv], mats["W_V"][:, kv], head=h,
            **{name: None if b is None else np.asarray(b, dtype=float)[cols if name == "b_Q" else kv]
               for name, b in biases.items()},
            **({} if kv_heads is None else {"kv_group": g, "kv_heads": kv_heads}),
            **recorded,
        ))
    concat = np.concatenate([r.output for r in heads], axis=1)  # H x (S, d_head) -> (S, d_model)
    output = concat @ mats["W_O"]  # (S, d_model) x (d_model, d_model) -> (S, d_model)
    if b_O is not None:
        b_O = _matrix("b_O", np.reshape(b_O, (1, -1)), 1, d_model)[0]
        output = output + b_O
    return MultiHeadResult(heads=tuple(heads), W_O=_frozen(mats["W_O"]), b_O=_frozen(b_O), concat=_frozen(concat),
                           output=_frozen(output), kv_heads=kv_heads)
