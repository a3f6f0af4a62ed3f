"""Scaled dot-product self-attention, keeping every intermediate.

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V          (Vaswani et al. 2017, eq. 1)

Convention: row i of the score grid is query token i, column j is key token j, and the softmax runs
along each row, so row i of `weights` says how token i spreads its attention (it sums to 1). This is
the seeds', the paper's and nanoGPT's layout.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from .errors import InputError
from .files import write_atomically
from .formatting import fmt

FORMAT = "attncore/1"
# The largest |value| accepted in X, the weights and the biases. With d_model up to 1024 the scores
# stay below about 1e15, far from float64's overflow, and their differences keep enough precision
# for the softmax; papers' and models' numbers are many orders of magnitude smaller.
MAX_ABS = 1e6


def softmax(x: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Row-wise softmax, stable for any finite input; masked-out entries (mask False) get exactly 0."""
    allowed = np.ones(x.shape, dtype=bool) if mask is None else mask
    shifted = np.where(allowed, x, -np.inf)
    shifted = shifted - shifted.max(axis=-1, keepdims=True)  # max of each row is now 0: exp <= 1
    e = np.where(allowed, np.exp(shifted), 0.0)
    return e / e.sum(axis=-1, keepdims=True)


def causal_mask(n: int) -> np.ndarray:
    """mask[i, j] is True where query i may attend to key j, i.e. j <= i."""
    return np.tril(np.ones((n, n), dtype=bool))


def rope_frequencies(d: int, theta: float) -> np.ndarray:
    """RoPE's angular frequencies θ_i = theta^(-2i/d), i = 0 .. d/2 - 1 (Su et al. 2021): pair i of a
    vector at position m turns by m θ_i radians. θ_0 = 1; the last is close to 1 / theta."""
    return float(theta) ** (-np.arange(0, d, 2, dtype=float) / d)


def rotate(x: np.ndarray, positions, theta: float) -> np.ndarray:
    """Rotary position embedding (RoPE) of the rows of `x` (..., S, d), row s turned as position
    positions[s]: in the rotate-half layout transformers' llama and Qwen2 use, dimensions i and
    i + d/2 form pair i, and each pair (a, b) turns by angle m θ_i:

        a' = a cos(m θ_i) - b sin(m θ_i),   b' = b cos(m θ_i) + a sin(m θ_i)

    So q_m . k_n depends on the positions only through m - n."""
    x = np.asarray(x, dtype=float)
    half = x.shape[-1] // 2
    angles = np.asarray(positions, dtype=float)[:, None] * rope_frequencies(x.shape[-1], theta)[None, :]  # (S, d/2)
    cos, sin = np.cos(angles), np.sin(angles)
    a, b = x[..., :half], x[..., half:]
    return np.concatenate([a * cos - b * sin, b * cos + a * sin], axis=-1)


def _frozen(a: np.ndarray | None, dtype=float) -> np.ndarray | None:
    if a is None:
        return None
    a = np.array(a, dtype=dtype)  # always a copy: the caller's array stays theirs
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class Rope:
    """A head's rotary position embedding (RoPE): q and k before their rotation, and the angles. The
    result's Q and K are after it (scores = Q K^T); these say what the rotation did.

    Pair i of a row is its dimensions (i, i + d_k/2) (rotate-half, as transformers' llama and Qwen2),
    turned by positions[s] x frequencies[i] radians."""

    theta: float  # the base θ (config rope_theta, GGUF rope.freq_base)
    positions: np.ndarray  # (S,) int  each token's position (0, 1, 2, ...)
    frequencies: np.ndarray  # (d_k/2,)  θ_i = theta^(-2i/d_k)
    Q_raw: np.ndarray  # (S, d_k)  X W_Q (+ b_Q), before the rotation
    K_raw: np.ndarray  # (S, d_k)  X W_K (+ b_K), before the rotation
    scores_raw: np.ndarray  # (S, S)  Q_raw K_raw^T: the scores if positions were not rotated in

    @property
    def angles(self) -> np.ndarray:
        """(S, d_k/2): the angle (radians) each token's pair i turns by, positions[s] θ_i."""
        return self.positions[:, None] * self.frequencies[None, :]

    def pair(self, which: str, s: int, i: int, rotated: bool = False) -> np.ndarray:
        """(2,): pair i (dims i and i + d_k/2) of token s's q ("Q") or k ("K"), before or after the rotation."""
        raw = self.Q_raw if which == "Q" else self.K_raw
        row = rotate(raw[s][None], self.positions[s:s + 1], self.theta)[0] if rotated else raw[s]
        half = raw.shape[1] // 2
        return np.array([row[i], row[i + half]])

    def score(self, i: int, j: int, query_position: int, key_position: int) -> float:
        """q_i rotated as if at `query_position` . k_j rotated as if at `key_position`: the score depends
        on the two positions only through their difference."""
        q = rotate(self.Q_raw[i][None], [query_position], self.theta)[0]
        k = rotate(self.K_raw[j][None], [key_position], self.theta)[0]
        return float(q @ k)

    def to_dict(self) -> dict:
        return {"theta": self.theta, "positions": self.positions.tolist(), "frequencies": self.frequencies.tolist(),
                "Q_raw": self.Q_raw.tolist(), "K_raw": self.K_raw.tolist(), "scores_raw": self.scores_raw.tolist()}


@dataclass(frozen=True)
class AttentionResult:
    """Every stage of one self-attention pass. Arrays are read-only copies.

    Shapes: S tokens, d_model, d_k (queries and keys), d_v (values; d_k unless W_V says otherwise).
    """

    tokens: tuple[str, ...]
    embeddings: np.ndarray  # (S, d_model)  token vectors before positional encoding
    positional_encoding: np.ndarray | None  # (S, d_model)  or None when not used
    X: np.ndarray  # (S, d_model)  embeddings (+ positional encoding)
    W_Q: np.ndarray  # (d_model, d_k)
    W_K: np.ndarray  # (d_model, d_k)
    W_V: np.ndarray  # (d_model, d_v)
    Q: np.ndarray  # (S, d_k)
    K: np.ndarray  # (S, d_k)
    V: np.ndarray  # (S, d_v)
    scores: np.ndarray  # (S, S)  Q K^T
    scaled: np.ndarray  # (S, S)  scores / sqrt(d_k)
    mask: np.ndarray | None  # (S, S) bool, True = may attend; None when not causal
    weights: np.ndarray  # (S, S)  row-wise softmax of scaled; rows sum to 1
    output: np.ndarray  # (S, d_v)  Z = weights V
    d_k: int
    b_Q: np.ndarray | None = None  # (d_k,)  biases of a real model's head (Q = X W_Q + b_Q); None in toy mode
    b_K: np.ndarray | None = None  # (d_k,)
    b_V: np.ndarray | None = None  # (d_v,)
    model: str | None = None  # e.g. "all-MiniLM-L6-v2"; None for the toy numbers
    layer: int | None = None  # a real model's layer (0-based); None for the toy numbers
    head: int | None = None  # which head of several (0-based): a model's, or toy multi-head's
    sentence: str | None = None  # the text the tokens came from; None when the tokens were given
    architecture: str | None = None  # a real model's kind: "bert" (X is the layer's input) or "gpt2", "llama",
    # "qwen2" (X is the layer's input after its first layer norm; causal); None for the toy numbers
    kv_group: int | None = None  # grouped-query attention: the key/value head whose K and V this head reads
    kv_heads: int | None = None  # how many key/value heads the layer has (its query heads share them)
    rope: Rope | None = None  # rotary positions: Q and K above are rotated; this holds them before, and the angles
    # a GGUF file's formats (attncore.quantization.Quantization): the numbers are that file's, dequantized
    quantization: object = None
    # one step of generation (attncore.generation.NextStep: the next token and its row against the KV cache); set by
    # attncore.generation.with_next, only when asked for (it runs the whole model and its LM head)
    next: object = None
    # what a real model's architecture (attncore.architectures) says of this head, recorded as data: X is the layer's
    # input after its first layer norm (pre-norm: GPT-2, llama); the tokens its tokenizer adds around the sentence
    norm_first: bool = False
    specials: tuple[str, ...] = ()
    model_origin: str | None = None  # the folder or file a model was read from: how the result finds it again

    @property
    def source(self) -> str | None:
        """Where the numbers come from, e.g. "all-MiniLM-L6-v2 layer 5 head 11"; None for toy numbers."""
        if self.model is None:
            return None
        return f"{self.model} layer {self.layer} head {self.head}"

    def __repr__(self) -> str:
        """Short: where the numbers come from and the shapes (the arrays are fields; a notebook shows tables)."""
        where = f", {self.source}" if self.source else ""
        return (f"AttentionResult(tokens={self.tokens!r}{where}, d_model={self.d_model}, d_k={self.d_k}, d_v={self.d_v}"
                f"{', causal' if self.causal else ''})")

    def _repr_html_(self) -> str:
        """A notebook shows the sentence, the shapes and the tables (the handout's table code)."""
        from .tables import result_html

        return result_html(self)

    @property
    def n_tokens(self) -> int:
        return len(self.tokens)

    @property
    def d_model(self) -> int:
        return self.X.shape[1]

    @property
    def d_v(self) -> int:
        return self.V.shape[1]

    @property
    def causal(self) -> bool:
        return self.mask is not None

    @property
    def positional(self) -> bool:
        return self.positional_encoding is not None

    @property
    def scale(self) -> float:
        """sqrt(d_k), the divisor of the scores."""
        return math.sqrt(self.d_k)

    def to_dict(self) -> dict:
        """Plain lists and numbers, with shapes and token labels, ready for JSON."""
        out: dict = {
            "format": FORMAT,
            "tokens": list(self.tokens),
            "d_model": self.d_model,
            "d_k": self.d_k,
            "d_v": self.d_v,
            "positional": self.positional,
            "causal": self.causal,
            "shapes": {},
        }
        for key in ("sentence", "model", "layer", "head", "architecture", "kv_group", "kv_heads"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.rope is not None:
            out["rope"] = self.rope.to_dict()
        if self.quantization is not None:
            out["quantization"] = self.quantization.to_dict()
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                out[f.name] = value.tolist()
                out["shapes"][f.name] = list(value.shape)
            elif f.name in ("positional_encoding", "mask"):
                out[f.name] = None
        return out

    def to_json(self, path: str | Path | None = None, *, indent: int | None = 1) -> str:
        """The `to_dict()` export as JSON text; also written to `path` when given.

        `attncore.load(path)` reads it back, and `attncore.run(weights=path)` reproduces this result.
        """
        return export_json(self.to_dict(), path, indent)


def export_json(data: dict, path: str | Path | None, indent: int | None) -> str:
    """`data` as JSON text (non-ASCII kept), also written atomically to `path` when given."""
    text = json.dumps(data, indent=indent, ensure_ascii=False)
    if path is not None:
        write_atomically(Path(path), text.encode("utf-8"))
    return text


def _matrix(name: str, a, rows: str | int | None = None, cols: str | int | None = None) -> np.ndarray:
    """Validate a 2-D finite numeric array; `rows`/`cols` are an int to match or a label for messages."""
    try:
        m = np.asarray(a, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected numbers, got non-numeric values") from None
    want = f"({rows if rows is not None else 'n'}, {cols if cols is not None else 'm'})"
    if m.ndim != 2:
        raise InputError(f"{name}: expected a matrix of shape {want}, got shape {m.shape}")
    for axis, n in enumerate((rows, cols)):
        if isinstance(n, int) and m.shape[axis] != n:
            raise InputError(f"{name}: expected shape {want}, got {m.shape}")
    if not np.isfinite(m).all():
        raise InputError(f"{name}: expected finite numbers, found NaN or infinity")
    if m.size and np.abs(m).max() > MAX_ABS:
        raise InputError(f"{name}: values must lie within ±{MAX_ABS:.0e}, found {fmt(float(m.flat[np.abs(m).argmax()]))}"
                         " (larger ones would overflow the scores or leave softmax no precision)")
    return m


def _finite(**computed: np.ndarray) -> None:
    """Refuse a computation with a non-finite intermediate (a guard: MAX_ABS keeps them finite)."""
    for name, M in computed.items():
        if not np.isfinite(M).all():
            raise InputError(f"{name}: the computation overflowed (NaN or infinity); "
                             f"keep every input within ±{MAX_ABS:.0e}")


def self_attention(
    X,
    W_Q,
    W_K,
    W_V,
    *,
    causal: bool = False,
    mask=None,
    tokens: list[str] | tuple[str, ...] | None = None,
    embeddings=None,
    positional_encoding=None,
    b_Q=None,
    b_K=None,
    b_V=None,
    model: str | None = None,
    layer: int | None = None,
    head: int | None = None,
    sentence: str | None = None,
    architecture: str | None = None,
    rope_theta: float | None = None,
    positions=None,
    kv_group: int | None = None,
    kv_heads: int | None = None,
    quantization=None,
    norm_first: bool = False,
    specials=(),
    model_origin: str | None = None,
) -> AttentionResult:
    """Single-head scaled dot-product self-attention of the rows of X.

    `tokens` label the rows (default "#1", "#2", ...). `embeddings` and `positional_encoding` are only
    recorded (X is their sum); `run` fills them in. `b_Q`, `b_K`, `b_V` are a real model's biases
    (Q = X W_Q + b_Q); `model`, `layer`, `head`, `sentence` and `architecture` say where the numbers
    come from, `kv_group` and `kv_heads` a grouped-query head's key/value head, `quantization` a GGUF
    file's formats (attncore.quantization). A real model's architecture gives `mask` (S, S) bool, True =
    may attend (its causal mask or sliding window; default: the causal mask when `causal`, else none),
    `norm_first` and `specials` (the tokens its tokenizer adds), recorded as they are.

    `rope_theta` turns q and k by their positions (`positions`, default 0 .. S-1) before the scores
    (`rotate`): Q and K are the rotated ones, and `rope` keeps them before.
    """
    X = _matrix("X", X)
    S, d_model = X.shape
    if S == 0 or d_model == 0:
        raise InputError(f"X: expected at least one token and one dimension, got shape {X.shape}")
    W_Q = _matrix("W_Q", W_Q, d_model, "d_k")
    d_k = W_Q.shape[1]
    W_K = _matrix("W_K", W_K, d_model, d_k)
    W_V = _matrix("W_V", W_V, d_model, "d_v")
    if tokens is None:
        tokens = [f"#{i + 1}" for i in range(S)]
    if len(tokens) != S:
        raise InputError(f"tokens: expected {S} labels (one per row of X), got {len(tokens)}")

    biases = {name: None if b is None else _matrix(name, np.reshape(b, (1, -1)), 1, n)[0]
              for name, b, n in (("b_Q", b_Q, d_k), ("b_K", b_K, d_k), ("b_V", b_V, W_V.shape[1]))}
    Q = X @ W_Q  # (S, d_model) x (d_model, d_k) -> (S, d_k)
    K = X @ W_K  # (S, d_model) x (d_model, d_k) -> (S, d_k)
    V = X @ W_V  # (S, d_model) x (d_model, d_v) -> (S, d_v)
    for name, M in (("b_Q", Q), ("b_K", K), ("b_V", V)):
        if biases[name] is not None:
            M += biases[name]  # (S, d) + (d,) -> (S, d)
    rope = None
    if rope_theta is not None:
        theta, at = _rope_inputs(rope_theta, positions, S, d_k)
        rope = Rope(theta=theta, positions=_frozen(at, dtype=np.int64), frequencies=_frozen(rope_frequencies(d_k, theta)),
                    Q_raw=_frozen(Q), K_raw=_frozen(K), scores_raw=_frozen(Q @ K.T))
        Q, K = rotate(Q, at, theta), rotate(K, at, theta)  # (S, d_k) each, pair i turned by position x θ_i
    elif positions is not None:
        raise InputError("positions: only rotary positions (rope_theta) take them")
    scores = Q @ K.T  # (S, d_k) x (d_k, S) -> (S, S)
    scaled = scores / math.sqrt(d_k)  # (S, S)
    if mask is None:
        mask = causal_mask(S) if causal else None  # (S, S), True where j <= i
    else:
        mask = _matrix("mask", np.asarray(mask, dtype=float), S, S).astype(bool)
        if not mask.diagonal().all():
            raise InputError("mask: every token must be allowed to attend to itself")
    weights = softmax(scaled, mask)  # (S, S), each row sums to 1
    output = weights @ V  # (S, S) x (S, d_v) -> (S, d_v)
    _finite(Q=Q, K=K, V=V, scores=scores, weights=weights, output=output)

    return AttentionResult(
        tokens=tuple(str(t) for t in tokens),
        embeddings=_frozen(X if embeddings is None else embeddings),
        positional_encoding=_frozen(positional_encoding),
        X=_frozen(X),
        W_Q=_frozen(W_Q),
        W_K=_frozen(W_K),
        W_V=_frozen(W_V),
        Q=_frozen(Q),
        K=_frozen(K),
        V=_frozen(V),
        scores=_frozen(scores),
        scaled=_frozen(scaled),
        mask=_frozen(mask, dtype=bool),
        weights=_frozen(weights),
        output=_frozen(output),
        d_k=d_k,
        **{name: _frozen(b) for name, b in biases.items()},
        model=model,
        layer=layer,
        head=head,
        sentence=sentence,
        architecture=architecture,
        kv_group=kv_group,
        kv_heads=kv_heads,
        rope=rope,
        quantization=quantization,
        norm_first=bool(norm_first),
        specials=tuple(specials),
        model_origin=model_origin,
    )


def _rope_inputs(theta, positions, S: int, d_k: int) -> tuple[float, np.ndarray]:
    """Validated RoPE settings: the base θ and one whole-number position per token."""
    if isinstance(theta, bool) or not isinstance(theta, (int, float, np.floating, np.integer)) \
            or not math.isfinite(theta) or theta <= 1:
        raise InputError(f"rope: theta must be a number above 1, got {theta!r}")
    if d_k % 2:
        raise InputError(f"rope: rotates pairs of dimensions; d_k = {d_k} is odd")
    at = np.arange(S) if positions is None else np.asarray(positions)
    if at.shape != (S,) or at.dtype.kind not in "iu" or (at < 0).any():
        raise InputError(f"rope: positions must be {S} whole numbers >= 0 (one per token), got {np.asarray(positions).tolist()!r}")
    return float(theta), at.astype(np.int64)
