"""The numbers attention starts from: token embeddings, positional encoding and projection weights.

The toy vocabulary and the default 4 x 4 weights are the worked example of "I have a cat"
(``shared/seeds/001``). Everything else is derived deterministically: a token's vector from its text
(never from Python's salted ``hash``), weights from an integer seed through ``np.random.default_rng``.
"""

from __future__ import annotations

import hashlib

import numpy as np

# The worked example's embeddings, d_model = 4.
TOY_VOCABULARY: dict[str, tuple[float, ...]] = {
    "I": (0.2, 0.4, 0.1, 0.5),
    "have": (0.9, 0.1, 0.3, 0.7),
    "a": (0.5, 0.2, 0.4, 0.1),
    "cat": (0.6, 0.9, 0.8, 0.3),
}
TOY_D_MODEL = 4

# The worked example's projection weights, row-major 4 x 4 (d_model x d_k).
SEED_WEIGHTS: dict[str, tuple[float, ...]] = {
    "W_Q": (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7),
    "W_K": (0.2, 0.3, 0.4, 0.1, 0.5, 0.7, 0.8, 0.6, 0.9, 0.1, 0.3, 0.5, 0.4, 0.2, 0.9, 0.7),
    "W_V": (0.1, 0.3, 0.5, 0.7, 0.2, 0.4, 0.6, 0.8, 0.9, 0.1, 0.2, 0.3, 0.5, 0.6, 0.7, 0.8),
}
WEIGHT_NAMES = ("W_Q", "W_K", "W_V")
SEED_D_MODEL = SEED_D_K = 4


def token_vector(token: str, d_model: int) -> np.ndarray:
    """The embedding of one token: the toy vocabulary's vector, or one derived from its text.

    Derived vectors hold multiples of 0.1 in [-1, 1] (short enough to read on screen), seeded from a
    BLAKE2 digest of the token's UTF-8 bytes: the same token gets the same vector in every sentence,
    run and process.
    """
    if d_model == TOY_D_MODEL and token in TOY_VOCABULARY:
        return np.array(TOY_VOCABULARY[token], dtype=float)
    digest = hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest()
    rng = np.random.default_rng(int.from_bytes(digest, "little"))
    return rng.integers(-10, 11, size=d_model) / 10.0


def embed(tokens: list[str] | tuple[str, ...], d_model: int) -> np.ndarray:
    """Stack the tokens' vectors into E, shape (S, d_model)."""
    return np.stack([token_vector(t, d_model) for t in tokens])


def positional_encoding(n_positions: int, d_model: int) -> np.ndarray:
    """Sinusoidal positional encoding (Vaswani et al. 2017, section 3.5), shape (S, d_model).

    PE[pos, 2i] = sin(pos / 10000^(2i / d_model)),  PE[pos, 2i + 1] = cos(pos / 10000^(2i / d_model)).
    """
    pos = np.arange(n_positions)[:, None]  # (S, 1)
    two_i = np.arange(0, d_model, 2)[None, :]  # (1, ceil(d_model / 2))
    angles = pos / np.power(10000.0, two_i / d_model)  # (S, ceil(d_model / 2))
    pe = np.zeros((n_positions, d_model))
    pe[:, 0::2] = np.sin(angles)
    pe[:, 1::2] = np.cos(angles[:, : d_model // 2])
    return pe


def default_weights(d_model: int, d_k: int, seed: int = 0) -> dict[str, np.ndarray]:
    """W_Q, W_K, W_V of shape (d_model, d_k).

    Seed 0 at 4 x 4 is the worked example's matrices. Any other size or seed draws multiples of 0.1 in
    [-1, 1] from ``default_rng([seed, d_model, d_k, i])``, one stream per matrix.
    """
    if (d_model, d_k, seed) == (SEED_D_MODEL, SEED_D_K, 0):
        return {name: np.array(SEED_WEIGHTS[name]).reshape(d_model, d_k) for name in WEIGHT_NAMES}
    return {
        name: np.random.default_rng([seed, d_model, d_k, i]).integers(-10, 11, size=(d_model, d_k)) / 10.0
        for i, name in enumerate(WEIGHT_NAMES)
    }


def output_weights(d_model: int, seed: int = 0) -> np.ndarray:
    """W_O of multi-head attention, (d_model, d_model): multiples of 0.1 in [-1, 1] from
    ``default_rng([seed, d_model, d_model, 3])``, the stream after W_Q, W_K, W_V's."""
    return np.random.default_rng([seed, d_model, d_model, len(WEIGHT_NAMES)]).integers(-10, 11, size=(d_model, d_model)) / 10.0


def single_head_output(d_v: int, d_model: int) -> np.ndarray:
    """The toy single head's W_O, (d_v, d_model): the identity (1 where row = column, else 0), so that
    z·W_O is z itself, padded with zeros (or cut) to d_model when d_v differs. A layer of one head
    maps z back to the model's space by W_O before adding it to x; the toy states its choice."""
    return np.eye(d_v, d_model)
