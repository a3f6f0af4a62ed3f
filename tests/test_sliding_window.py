"""A sliding window is one architecture's own mask (Architecture.mask): a llama-shaped model whose queries
see only the last few keys, defined here as a subclass of one file's length, reaches every head's weights
and the forward pass with no other change."""

from __future__ import annotations

import math

import numpy as np

import attncore
from attncore.architectures import ARCHITECTURES
from attncore.architectures.llama import Llama
from attncore.model import load_model

SENTENCE = "the cat sat on the mat because it was tired"
WINDOW = 3


class Windowed(Llama):
    """Mistral's rule: query i sees keys i - WINDOW + 1 .. i (config.json's sliding_window)."""

    def mask(self, model, n_tokens: int) -> np.ndarray:
        i, j = np.indices((n_tokens, n_tokens))
        return (j <= i) & (i - j < model.config.get("sliding_window", WINDOW))


def window_loops(S: int) -> list[list[bool]]:
    return [[j <= i and i - j < WINDOW for j in range(S)] for i in range(S)]


def softmax_loops(Q, K, allowed) -> list[list[float]]:
    S, d = len(Q), len(Q[0])
    rows = []
    for i in range(S):
        seen = [j for j in range(S) if allowed[i][j]]
        scores = {j: sum(Q[i][c] * K[j][c] for c in range(d)) / math.sqrt(d) for j in seen}
        top = max(scores.values())
        e = {j: math.exp(s - top) for j, s in scores.items()}
        rows.append([e[j] / sum(e.values()) if j in e else 0.0 for j in range(S)])
    return rows


def test_a_sliding_window_reaches_every_head_and_the_forward_pass(tiny, monkeypatch):
    path = str(tiny("llama")["folder"])
    load_model.cache_clear()
    plain = attncore.run(SENTENCE, model=path, layer=1, head=2)
    monkeypatch.setitem(ARCHITECTURES, "llama", Windowed())
    load_model.cache_clear()
    try:
        windowed = attncore.run(SENTENCE, model=path, layer=1, head=2)
        layer0 = attncore.run(SENTENCE, model=path, layer=0, head=1)
    finally:
        load_model.cache_clear()
    S = windowed.n_tokens
    assert S > WINDOW + 2
    assert windowed.mask.tolist() == window_loops(S) == layer0.mask.tolist()
    want = softmax_loops(layer0.Q.tolist(), layer0.K.tolist(), window_loops(S))
    assert np.allclose(layer0.weights, want, rtol=1e-12, atol=1e-15)
    assert layer0.weights[S - 1, 0] == 0.0  # a key outside the window takes nothing
    # layer 1's input went through layer 0 with the window: it is not the plain model's
    assert not np.allclose(windowed.X, plain.X)
