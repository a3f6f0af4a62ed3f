"""Another sentence computed as a result was computed: the contrast sentence of a minimal pair when
only the first sentence's result is at hand (the Python API's `scenes.outputs.make(...,
contrast="SENTENCE")`; render.py computes both sentences from its own options).

- a model's head or layer: the same model (found again by `attncore.model.loaded`'s rule), the
  same layer, the same head or every head;
- the toy numbers: the sentence's tokens (attncore.tokens.tokenize) with the built-in embedding of
  each token, positional encoding and the causal mask when the result has them, and the result's
  own W_Q, W_K, W_V (W_O for several heads) and biases. A result whose embeddings are not the
  built-in ones (custom numbers) cannot be repeated on other tokens: InputError, one line.
"""

from __future__ import annotations

import numpy as np

from .attention import AttentionResult, self_attention
from .errors import InputError
from .multihead import MultiHeadResult, multi_head_attention
from .params import embed, positional_encoding
from .tokens import tokenize


def run_alike(computed: AttentionResult | MultiHeadResult, sentence: str) -> AttentionResult | MultiHeadResult:
    """`sentence` computed as `computed` was (see the module's docstring), shaped alike: one head or
    every head of the layer."""
    several = isinstance(computed, MultiHeadResult)
    first = computed.heads[0] if several else computed
    if not isinstance(sentence, str) or not sentence.strip():
        raise InputError("contrast: expected a sentence (text), or a result computed as the sentence's was")
    if first.model is not None:
        from . import run
        from .model import load_name, loaded

        if loaded(first) is None:
            raise InputError(f"contrast: the model {first.model!r} of the result is not found again; compute the "
                             "contrast sentence with attncore.run and pass its result")
        name = load_name(first)
        if several:
            return run(sentence, model=name, layer=first.layer, heads=computed.n_heads)
        return run(sentence, model=name, layer=first.layer, head=first.head or 0)
    if not np.array_equal(first.embeddings, embed(first.tokens, first.d_model)):
        raise InputError("contrast: the result's embeddings are custom numbers, which hold no vector for the contrast "
                         "sentence's tokens; compute it with attncore.run and pass its result")
    tokens = tokenize(sentence)
    E = embed(tokens, first.d_model)  # (S, d_model)
    pe = positional_encoding(len(tokens), first.d_model) if first.positional else None
    X = E if pe is None else E + pe
    recorded = dict(causal=first.causal, tokens=tokens, embeddings=E, positional_encoding=pe, sentence=sentence)
    if several:
        heads = computed.heads
        full = {name: np.concatenate([getattr(h, name) for h in heads], axis=1) for name in ("W_Q", "W_K", "W_V")}
        biases = {name: None if getattr(first, name) is None else np.concatenate([getattr(h, name) for h in heads])
                  for name in ("b_Q", "b_K", "b_V")}
        return multi_head_attention(X, full["W_Q"], full["W_K"], full["W_V"], computed.W_O, computed.n_heads,
                                    b_O=computed.b_O, **biases, **recorded)
    return self_attention(X, first.W_Q, first.W_K, first.W_V, b_Q=first.b_Q, b_K=first.b_K, b_V=first.b_V,
                          head=first.head, **recorded)
