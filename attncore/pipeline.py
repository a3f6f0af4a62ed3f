"""sentence -> tokens -> X -> self-attention: the whole worked example in one call."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from .attention import AttentionResult, self_attention
from .errors import InputError
from .multihead import MultiHeadResult, multi_head_attention
from .numbers import Numbers, load, parse
from .params import default_weights, embed, output_weights, positional_encoding
from .tokens import tokenize

DEFAULT_SENTENCE = "I have a cat"
DEFAULT_D_MODEL = 4


def _size(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(f"{name}: expected a whole number >= {minimum}, got {value!r}")
    return value


def _numbers(weights) -> Numbers:
    if weights is None:
        return Numbers()
    if isinstance(weights, Numbers):
        return weights
    if isinstance(weights, (str, Path)):
        return load(weights)
    if isinstance(weights, Mapping):
        return parse(weights)
    raise InputError("weights: expected a file path, a mapping or attncore.Numbers")


def _agree(name: str, asked: int | None, given: int | None) -> int | None:
    if asked is not None and given is not None and asked != given:
        raise InputError(f"{name}: asked for {asked}, but the given numbers have {name} = {given}")
    return asked if asked is not None else given


def run(
    sentence: str | None = DEFAULT_SENTENCE,
    *,
    d_model: int | None = None,
    d_k: int | None = None,
    seed: int = 0,
    positional: bool = False,
    causal: bool = False,
    weights: Numbers | Mapping | str | Path | None = None,
    model: str | None = None,
    layer: int = 0,
    head: int = 0,
    heads: int | None = None,
) -> AttentionResult | MultiHeadResult:
    """Self-attention over `sentence`, with every intermediate.

    d_model defaults to 4 (the worked example) and d_k to d_model. `weights` gives custom numbers
    (a path to a JSON/.npz file, a mapping with the same schema, or `Numbers`): its tokens,
    embeddings and matrices replace the built-in ones, and its sizes win over the defaults.
    `positional` and `causal` are on when either the argument or the numbers say so.

    `model="minilm"` takes one head of a pretrained model instead (`layer`, `head`: 0-based; see
    `attncore.model`): its tokens, its layer's real input X, the head's weights and biases.

    `heads=N` returns a `MultiHeadResult` instead: N heads of d_model / N dimensions (d_model must be
    divisible by N), each head's result, their concatenation and the output projection W_O. With a
    model, `heads` must be the model's own count (12): all heads of `layer`.

    >>> r = run("I have a cat")
    >>> r.weights.shape
    (4, 4)
    """
    if model is not None:
        toy = {"weights": weights is not None, "d_model": d_model is not None, "d_k": d_k is not None,
               "seed": seed != 0, "positional": positional, "causal": causal}
        clash = [name for name, given in toy.items() if given]
        if clash:
            raise InputError(f"{clash[0]}: applies to the toy numbers, not to model={model!r}")
        from .model import run_layer, run_model

        sentence = sentence if sentence is not None else DEFAULT_SENTENCE
        if heads is not None:
            return run_layer(sentence, model=model, layer=layer, heads=heads)
        return run_model(sentence, model=model, layer=layer, head=head)
    if heads is not None:
        if weights is not None:
            raise InputError("heads: custom numbers (weights) are single-head; leave out heads or weights")
        if d_k is not None:
            raise InputError("d_k: with heads, each head has d_model / heads dimensions; leave out d_k")
    numbers = _numbers(weights)
    _size("seed", seed, 0)
    d_model = _agree("d_model", None if d_model is None else _size("d_model", d_model, 1), numbers.d_model)
    d_k = _agree("d_k", None if d_k is None else _size("d_k", d_k, 1), numbers.d_k)
    d_model = d_model or DEFAULT_D_MODEL
    d_k = d_k or d_model

    if sentence is None:
        if numbers.tokens is None:
            raise InputError("sentence: required (the given numbers hold no tokens)")
        tokens = list(numbers.tokens)
    else:
        tokens = tokenize(sentence)
        if numbers.tokens is not None and tuple(tokens) != numbers.tokens:
            raise InputError(f"sentence: its tokens {tokens} differ from the numbers' tokens {list(numbers.tokens)}")
    if numbers.embeddings is not None and len(numbers.embeddings) != len(tokens):
        raise InputError(
            f"embeddings: expected shape ({len(tokens)}, {d_model}) (one row per token), got {numbers.embeddings.shape}"
        )

    E = numbers.embeddings if numbers.embeddings is not None else embed(tokens, d_model)  # (S, d_model)
    pe = positional_encoding(len(tokens), d_model) if positional or numbers.positional else None
    X = E if pe is None else E + pe  # (S, d_model)
    recorded = dict(causal=causal or numbers.causal, tokens=tokens, embeddings=E, positional_encoding=pe,
                    sentence=sentence)
    if heads is not None:
        _size("heads", heads, 1)
        if d_model % heads:
            raise InputError(f"heads: d_model = {d_model} is not divisible by {heads} heads")
        W = default_weights(d_model, d_model, seed)
        return multi_head_attention(X, W["W_Q"], W["W_K"], W["W_V"], output_weights(d_model, seed), heads, **recorded)
    W = default_weights(d_model, d_k, seed)
    result = self_attention(
        X,
        numbers.W_Q if numbers.W_Q is not None else W["W_Q"],
        numbers.W_K if numbers.W_K is not None else W["W_K"],
        numbers.W_V if numbers.W_V is not None else W["W_V"],
        b_Q=numbers.b_Q,
        b_K=numbers.b_K,
        b_V=numbers.b_V,
        rope_theta=numbers.rope_theta,
        positions=numbers.positions,
        **recorded,
    )
    numbers.check(result)
    return result
