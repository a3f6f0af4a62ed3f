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

What the sharing saves (`kv_cache_size`): a decoder generating text keeps every token's K and V, in every
layer (the KV cache), so its memory per token is layers x kv_heads x d_head x 2 (K and V) x the bytes of
one number, against layers x heads x d_head x 2 x bytes with one key/value head per query head.
Qwen2.5-0.5B in fp16: 24 x 2 x 64 x 2 x 2 = 12,288 bytes a token instead of 86,016, 7 times less.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .attention import FORMAT, AttentionResult, _frozen, _matrix, export_json, self_attention
from .errors import InputError

# The KV cache's number format: fp16, 2 bytes a number, what llama.cpp caches K and V in by default
# (cache_type_k / cache_type_v = f16) and what transformers caches in for a model run in half precision.
CACHE_DTYPE, CACHE_BYTES = "fp16", 2


@dataclass(frozen=True)
class KVCacheSize:
    """The KV cache's bytes per token of a model with grouped-query attention, from its config: every
    layer keeps each token's k and v (d_head numbers each) for each of its key/value heads."""

    layers: int
    heads: int  # query heads per layer
    kv_heads: int  # key/value heads per layer
    d_head: int
    dtype: str = CACHE_DTYPE
    value_bytes: int = CACHE_BYTES  # bytes of one cached number

    @property
    def per_token(self) -> int:
        """Bytes a token adds to the cache: layers x kv_heads x d_head x 2 (K and V) x value_bytes."""
        return self.layers * self.kv_heads * self.d_head * 2 * self.value_bytes

    @property
    def per_token_mha(self) -> int:
        """The same with one key/value head per query head (plain multi-head attention)."""
        return self.layers * self.heads * self.d_head * 2 * self.value_bytes

    @property
    def ratio(self) -> int:
        """How many times smaller grouped-query attention makes the cache: heads / kv_heads."""
        return self.per_token_mha // self.per_token

    def to_dict(self) -> dict:
        return {"layers": self.layers, "heads": self.heads, "kv_heads": self.kv_heads, "d_head": self.d_head,
                "dtype": self.dtype, "value_bytes": self.value_bytes, "per_token": self.per_token,
                "per_token_mha": self.per_token_mha, "ratio": self.ratio}


def kv_cache_size(layers: int, heads: int, kv_heads: int, d_head: int) -> KVCacheSize:
    """The KV cache per token of a model with `layers` layers of `heads` query heads sharing `kv_heads`
    key/value heads of `d_head` dimensions (config.json's num_hidden_layers, num_attention_heads,
    num_key_value_heads and head_dim or hidden_size / num_attention_heads), cached in fp16."""
    for name, value in (("layers", layers), ("heads", heads), ("kv_heads", kv_heads), ("d_head", d_head)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(f"{name}: expected a whole number >= 1, got {value!r}")
    if heads % kv_heads:
        raise InputError(f"kv_heads: {kv_heads} does not divide {heads} heads")
    return KVCacheSize(layers, heads, kv_heads, d_head)


@dataclass(frozen=True)
class MultiHeadResult:
    """Every head's AttentionResult (each with `.head` set), and how they are joined. Arrays read-only."""

    heads: tuple[AttentionResult, ...]
    W_O: np.ndarray  # (d_model, d_model)  rows: the concatenated heads' dimensions
    b_O: np.ndarray | None  # (d_model,)  a real model's output bias; None for the toy numbers
    concat: np.ndarray  # (S, d_model)  [Z_0 | Z_1 | ...]
    output: np.ndarray  # (S, d_model)  concat W_O (+ b_O)
    kv_heads: int | None = None  # grouped-query attention: the key/value heads the query heads share
    n_layers: int | None = None  # the model's layers (a decoder's: what its KV cache holds); None for the toy

    @property
    def n_heads(self) -> int:
        return len(self.heads)

    def check_head(self, head) -> int:
        """`head` when it is one of these heads' numbers; else InputError, one line (the check of --head,
        written once: scenes.view.View.resolve, attncore.pick, the Python API's contrast)."""
        if isinstance(head, bool) or not isinstance(head, int) or not 0 <= head < self.n_heads:
            raise InputError(f"head: {head!r} is out of range; there are heads 0 to {self.n_heads - 1} (0-based)")
        return head

    def kv_group(self, h: int) -> int:
        """The key/value head query head h reads (h itself without grouped-query attention)."""
        group = self.heads[h].kv_group
        return h if group is None else group

    def group_heads(self, g: int) -> tuple[int, ...]:
        """The query heads that share key/value head g."""
        return tuple(h for h in range(self.n_heads) if self.kv_group(h) == g)

    @property
    def grouped_query(self) -> bool:
        """True with grouped-query attention: fewer key/value heads than query heads, each shared."""
        return self.kv_heads is not None and self.kv_heads < self.n_heads

    @property
    def kv_cache(self) -> KVCacheSize | None:
        """The KV cache's bytes per token, with and without the sharing (`kv_cache_size`); None without
        grouped-query attention or when the model's layers are not known."""
        if not self.grouped_query or self.n_layers is None:
            return None
        return kv_cache_size(self.n_layers, self.n_heads, self.kv_heads, self.d_head)

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
        if self.n_layers is not None:
            out["n_layers"] = self.n_layers
        if self.kv_cache is not None:
            out["kv_cache"] = self.kv_cache.to_dict()
        out["heads"] = [h.to_dict() for h in self.heads]
        for key in ("W_O", "b_O", "concat", "output"):
            value = getattr(self, key)
            out[key] = None if value is None else value.tolist()
        return out

    def to_json(self, path: str | Path | None = None, *, indent: int | None = 1) -> str:
        """The `to_dict()` export as JSON text; also written to `path` when given."""
        return export_json(self.to_dict(), path, indent)


def multi_head_attention(X, W_Q, W_K, W_V, W_O, n_heads: int, *, b_Q=None, b_K=None, b_V=None, b_O=None,
                         kv_heads: int | None = None, n_layers: int | None = None, **recorded) -> MultiHeadResult:
    """`n_heads` heads over the rows of X. W_Q, W_K, W_V and W_O are (d_model, d_model); head h uses
    columns d_head h .. of W_Q, W_K, W_V (and of the biases). `recorded` (causal, tokens, embeddings,
    positional_encoding, model, layer, sentence, rope_theta, positions) goes to every head as in
    `self_attention`.

    With `kv_heads` (grouped-query attention), W_Q is (d_model, n_heads d_head), W_K and W_V (d_model,
    kv_heads d_head) and W_O (n_heads d_head, d_model): head h reads group h // (n_heads / kv_heads)'s
    columns of W_K and W_V. `n_layers` (a model's) is recorded for its KV cache's size (`kv_cache`)."""
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
                           output=_frozen(output), kv_heads=kv_heads, n_layers=n_layers)
