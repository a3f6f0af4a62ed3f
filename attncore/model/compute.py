"""The forward pass, the same for every architecture: each layer's heads
A_h = softmax(Q_h K_g^T / sqrt(d_head) + the architecture's mask), then concat_h(A_h V_g) W_O + b_O,
with g the head's key/value group (g = h unless the model shares K and V between heads) and q, k
rotated by position first when the architecture has rotary positions (RoPE); one head's or one
layer's results, recording what the architecture says of them (its mask, its special tokens,
whether it normalises first)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..attention import AttentionResult, rotate, self_attention, softmax
from ..errors import InputError
from ..multihead import MultiHeadResult, multi_head_attention
from ..quantization import of_model as quantization_of
from .base import Model
from .load import load_model
from .pieces import encode, shown_byte_piece
from .threads import one_blas_thread


def embeddings(model: Model, ids: np.ndarray) -> np.ndarray:
    """X entering layer 0 (S, d_model)."""
    return model.kind.embeddings(model, ids)


def projections(model: Model, layer: int) -> dict[str, np.ndarray]:
    """The layer's full W_Q (d_model, heads d_head), W_K and W_V (d_model, kv_heads d_head) and W_O
    (heads d_head, d_model), laid out (in, out), and the biases it has. Head h owns columns
    d_head h .. d_head (h+1) - 1 of W_Q, and its key/value group's of W_K and W_V."""
    return model.kind.projections(model, layer)


def head_weights(model: Model, layer: int, head: int) -> dict[str, np.ndarray]:
    """W_Q, W_K, W_V (d_model, d_head) and b_Q, b_K, b_V (d_head,) of one head: its slice of the layer's
    projections (columns d_head * head onwards of W_Q; of W_K and W_V, its key/value group's)."""
    d = model.d_head
    group = model.kv_group(head)
    cols = {"Q": slice(head * d, (head + 1) * d), "K": slice(group * d, (group + 1) * d)}
    cols["V"] = cols["K"]
    full = projections(model, layer)
    return {name: (m[:, cols[name[-1]]] if name.startswith("W") else m[cols[name[-1]]])
            for name, m in full.items() if name[-1] in "QKV"}


def positions_of(model: Model, n_tokens: int) -> dict:
    """What self_attention needs to rotate q and k by position (nothing for learned positions)."""
    theta = model.rope_theta
    return {} if theta is None else {"rope_theta": theta, "positions": model.kind.position_ids(model, n_tokens)}


def attention_input(model: Model, layer: int, x: np.ndarray) -> np.ndarray:
    """What the layer's W_Q multiplies: its input X_l (post-norm, BERT), or X_l after its first layer
    norm (pre-norm, GPT-2)."""
    return model.kind.attention_input(model, layer, x)


def layer_forward(model: Model, layer: int, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One layer: (its output X_{l+1}, the attention weights of every head (heads, S, S))."""
    S, d, H, G = len(x), model.d_head, model.n_heads, model.n_kv_heads
    P = projections(model, layer)
    h = attention_input(model, layer, x)
    q, k, v = (h @ P[f"W_{n}"] + P.get(f"b_{n}", 0.0) for n in "QKV")  # (S, H d), (S, G d), (S, G d)
    split = lambda m, n: m.reshape(S, n, d).transpose(1, 0, 2)  # (S, n d) -> (n, S, d)
    q, k, v = split(q, H), split(k, G), split(v, G)
    theta = model.rope_theta
    if theta is not None:  # rotary positions: each head's q and k turned by position
        at = model.kind.position_ids(model, S)
        q, k = rotate(q, at, theta), rotate(k, at, theta)
    k, v = np.repeat(k, H // G, axis=0), np.repeat(v, H // G, axis=0)  # head h reads group h // (H / G)
    weights = softmax(q @ k.transpose(0, 2, 1) / math.sqrt(d), model.kind.mask(model, S))  # (H, S, S)
    context = (weights @ v).transpose(1, 0, 2).reshape(S, H * d)  # (S, H d)
    attended = context @ P["W_O"] + P.get("b_O", 0.0)  # (S, d_model)
    return model.kind.after_attention(model, layer, x, attended), weights


MEMO_SENTENCES = 8  # sentences whose layer inputs a model keeps (`forward`)


@one_blas_thread
def forward(model: Model, ids: np.ndarray, upto: int | None = None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The input of every layer (X_0 .. X_upto) and every layer's attention weights up to `upto`
    (default: all layers). Kept per sentence (read-only arrays): asking again, or for a later layer,
    computes only the layers not computed yet."""
    upto = model.n_layers if upto is None else upto
    key = tuple(int(i) for i in ids)
    xs, attentions = model.memo.pop(key, None) or ([_read_only(embeddings(model, ids))], [])
    while len(attentions) < upto:
        x, weights = layer_forward(model, len(attentions), xs[-1])
        xs.append(_read_only(x))
        attentions.append(_read_only(weights))
    model.memo[key] = (xs, attentions)  # the most recent last
    while len(model.memo) > MEMO_SENTENCES:
        model.memo.pop(next(iter(model.memo)))
    return xs[:upto + 1], attentions[:upto]


def _read_only(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class NextToken:
    """What a decoder predicts after the sentence: its most likely next tokens, best first."""

    ids: np.ndarray  # (top,)  token ids
    tokens: tuple[str, ...]  # as shown (byte-level pieces decoded)
    probabilities: np.ndarray  # (top,)  softmax of the logits over the whole vocabulary
    logits: np.ndarray  # (top,)


@one_blas_thread
def next_token(model: Model, ids, top: int = 5) -> NextToken:
    """The model's next-token prediction after `ids`: every layer, then the final norm and the LM head
    on the last token's vector (`Architecture.logits`), softmax over the vocabulary."""
    xs, _ = forward(model, ids)
    logits = model.kind.logits(model, xs[-1][-1:])[0]  # (vocab,)
    probabilities = softmax(logits[None])[0]
    best = np.argsort(-logits, kind="stable")[:top]
    pieces = [model.tokenizer.id_to_token(int(i)) or "" for i in best]
    shown = tuple(shown_byte_piece(p) if model.byte_level else p for p in pieces)
    return NextToken(ids=best, tokens=shown, probabilities=probabilities[best], logits=logits[best])


def check_position(model: Model, layer, head) -> tuple[int, int]:
    for name, value, n in (("layer", layer, model.n_layers), ("head", head, model.n_heads)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < n:
            raise InputError(f"{name}: {value!r} is out of range; {model.name} has {name}s 0 to {n - 1} (0-based)")
    return layer, head


def recorded_of(m: Model, tokens, sentence: str) -> dict:
    """What every head of `m` records of where it came from and what its architecture says of it: the
    keys each query may see (its mask), the tokens its tokenizer added, whether X is normalised first."""
    return dict(tokens=tokens, model=m.name, model_origin=m.origin or None, sentence=sentence, mask=m.kind.mask(m, len(tokens)),
                architecture=m.architecture, norm_first=m.kind.norm_first, specials=m.kind.special_tokens)


def _layer_input(m: Model, sentence: str, layer: int) -> tuple[list[str], np.ndarray, dict]:
    """(tokens, the X the layer's heads multiply, what every head records about where it came from)."""
    tokens, ids = encode(m, sentence)
    xs, _ = forward(m, ids, upto=layer)
    recorded = recorded_of(m, tokens, sentence) | dict(layer=layer, quantization=quantization_of(m, layer))
    return tokens, attention_input(m, layer, xs[layer]), recorded


@one_blas_thread
def run_model(sentence: str, *, model: str = "minilm", layer: int = 0, head: int = 0) -> AttentionResult:
    """One head of a pretrained model on `sentence`: X is what that layer's W_Q multiplies, W_Q/W_K/W_V
    and b_Q/b_K/b_V the head's slices, and weights the head's attention (Q = X W_Q + b_Q, ...; with
    rotary positions, Q and K rotated, `rope` holding them before)."""
    m = load_model(model)
    layer, head = check_position(m, layer, head)
    tokens, X, recorded = _layer_input(m, sentence, layer)
    grouped = {"kv_group": m.kv_group(head), "kv_heads": m.n_kv_heads} if m.grouped else {}
    return self_attention(X, head=head, **recorded, **head_weights(m, layer, head), **grouped,
                          **positions_of(m, len(tokens)))


@one_blas_thread
def layer_heads(m: Model, layer: int, X: np.ndarray, **recorded) -> MultiHeadResult:
    """Every head of `layer` on X (what its W_Q multiplies), joined and projected by W_O."""
    grouped = {"kv_heads": m.n_kv_heads, "n_layers": m.n_layers} if m.grouped else {}  # n_layers: its KV cache's size
    return multi_head_attention(X, n_heads=m.n_heads, layer=layer, **projections(m, layer), **grouped,
                                **positions_of(m, len(X)), **recorded)


def run_layer(sentence: str, *, model: str | Model = "minilm", layer: int = 0, heads: int | None = None) -> MultiHeadResult:
    """All heads of one layer of a pretrained model on `sentence`, their concatenation and the
    layer's output projection (W_O, before the residual and any layer norm). `model`: a name as
    load_model takes, or the Model itself (a server that keeps its models loaded)."""
    m = model if isinstance(model, Model) else load_model(model)
    layer, _ = check_position(m, layer, 0)
    if heads is not None and heads != m.n_heads:
        raise InputError(f"heads: {m.name} has {m.n_heads} heads in each layer, not {heads!r}")
    _, X, recorded = _layer_input(m, sentence, layer)
    del recorded["layer"]
    return layer_heads(m, layer, X, **recorded)
