"""Custom numbers from a file: tokens, embeddings and/or weights, validated field by field.

A lecturer reproduces a textbook example with a JSON (or .npz) file such as::

    {"tokens": ["I", "have", "a", "cat"],
     "embeddings": [[0.2, 0.4, 0.1, 0.5], ...],          # (S, d_model)
     "W_Q": [[...], ...], "W_K": [...], "W_V": [...]}   # (d_model, d_k), (d_model, d_k), (d_model, d_v)

Every key is optional; what is missing comes from the built-in vocabulary and seeded weights. A file
written by `AttentionResult.to_json()` is accepted too: its computed fields (X, Q, ..., output) are
checked against the recomputation, so an edited export cannot silently disagree with itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .attention import FORMAT, AttentionResult, _matrix
from .errors import InputError

INPUT_KEYS = ("tokens", "embeddings", "W_Q", "W_K", "W_V", "b_Q", "b_K", "b_V", "positional", "causal", "rope",
              "description")
# Fields of a to_json() export: accepted, and checked against what the inputs give.
EXPORT_ARRAYS = ("positional_encoding", "X", "Q", "K", "V", "scores", "scaled", "mask", "weights", "output")
EXPORT_SCALARS = ("format", "d_model", "d_k", "d_v", "shapes")
EXPORT_META = ("sentence", "model", "layer", "head", "architecture", "kv_group", "kv_heads", "quantization")  # where an export's numbers
# came from: accepted, not checked
ROPE_ARRAYS = ("frequencies", "Q_raw", "K_raw", "scores_raw")  # an export's rope: computed, checked


@dataclass(frozen=True)
class Numbers:
    """Validated custom inputs for `attncore.run(weights=...)`. Any field may be None (not given)."""

    tokens: tuple[str, ...] | None = None
    embeddings: np.ndarray | None = None  # (S, d_model)
    W_Q: np.ndarray | None = None  # (d_model, d_k)
    W_K: np.ndarray | None = None  # (d_model, d_k)
    W_V: np.ndarray | None = None  # (d_model, d_v)
    b_Q: np.ndarray | None = None  # (d_k,)  biases, as a real model's head has (Q = X W_Q + b_Q)
    b_K: np.ndarray | None = None  # (d_k,)
    b_V: np.ndarray | None = None  # (d_v,)
    positional: bool = False
    causal: bool = False
    rope_theta: float | None = None  # rotary positions: q and k turned by position x theta^(-2i/d_k) (a decoder's head)
    positions: tuple[int, ...] | None = None  # the tokens' positions for the rotation (default 0, 1, 2, ...)
    expected: Mapping[str, Any] | None = None  # an export's computed fields, to check

    @property
    def d_model(self) -> int | None:
        if self.embeddings is not None:
            return self.embeddings.shape[1]
        for m in (self.W_Q, self.W_K, self.W_V):
            if m is not None:
                return m.shape[0]
        return None

    @property
    def d_k(self) -> int | None:
        for m in (self.W_Q, self.W_K):
            if m is not None:
                return m.shape[1]
        return None

    def check(self, result: AttentionResult) -> None:
        """Raise InputError unless an export's computed fields equal `result`'s."""
        if not self.expected:
            return
        exported = result.to_dict()
        for key, want in self.expected.items():
            got = exported.get(key)
            if key == "rope":
                same = got is not None and all(np.shape(want[k]) == np.shape(got[k]) and np.allclose(want[k], got[k], rtol=1e-9, atol=1e-12)
                                               for k in ROPE_ARRAYS if k in want)
            elif key in EXPORT_ARRAYS and want is not None and got is not None:
                same = np.shape(want) == np.shape(got) and np.allclose(want, got, rtol=1e-9, atol=1e-12)
            else:
                same = want == got
            if not same:
                raise InputError(f"{key}: does not match the value recomputed from the file's inputs")


def _flag(data: Mapping, key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, (bool, np.bool_)):
        raise InputError(f"{key}: expected true or false, got {value!r}")
    return bool(value)


def _tokens(value) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple, np.ndarray)):
        raise InputError('tokens: expected a list of strings, e.g. ["I", "have", "a", "cat"]')
    tokens = tuple(value)
    if not tokens:
        raise InputError("tokens: expected at least one token, got an empty list")
    for i, t in enumerate(tokens):
        if not isinstance(t, (str, np.str_)) or not t.strip():
            raise InputError(f"tokens: entry {i} must be a non-empty string, got {t!r}")
    return tuple(str(t) for t in tokens)


def _rope(value) -> tuple[float | None, tuple[int, ...] | None]:
    """An export's (or a file's) "rope": {"theta": 10000, "positions": [0, 1, ...]} -> (theta, positions).
    Their values are checked by self_attention (theta above 1, one whole-number position per token)."""
    if value is None:
        return None, None
    if not isinstance(value, Mapping) or "theta" not in value:
        raise InputError('rope: expected an object with theta (and positions), e.g. {"theta": 10000}')
    unknown = sorted(set(value) - {"theta", "positions", *ROPE_ARRAYS})
    if unknown:
        raise InputError(f"rope: unknown key {unknown[0]!r}; expected theta, positions")
    theta = value["theta"]
    if isinstance(theta, bool) or not isinstance(theta, (int, float)):
        raise InputError(f"rope: theta must be a number, got {theta!r}")
    positions = value.get("positions")
    if positions is not None:
        if not isinstance(positions, (list, tuple, np.ndarray)) or not all(
                isinstance(p, (int, np.integer)) and not isinstance(p, bool) for p in positions):
            raise InputError(f"rope: positions must be a list of whole numbers, got {positions!r}")
        positions = tuple(int(p) for p in positions)
    return float(theta), positions


def parse(data: Mapping) -> Numbers:
    """Validate a mapping with the file schema (see the module docstring) into `Numbers`."""
    if not isinstance(data, Mapping):
        raise InputError("numbers: expected an object with keys such as tokens, embeddings, W_Q, W_K, W_V")
    known = {*INPUT_KEYS, *EXPORT_ARRAYS, *EXPORT_SCALARS, *EXPORT_META}
    unknown = sorted(set(data) - known)
    if unknown:
        raise InputError(f"{unknown[0]}: unknown key; expected some of {', '.join(INPUT_KEYS)}")
    if "format" in data and data["format"] != FORMAT:
        raise InputError(f"format: expected {FORMAT!r}, got {data['format']!r}")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise InputError("description: expected a string")

    tokens = _tokens(data["tokens"]) if "tokens" in data else None
    S = len(tokens) if tokens is not None else "S"
    embeddings = None
    if data.get("embeddings") is not None:
        embeddings = _matrix("embeddings", data["embeddings"], S, "d_model")
    d_model: int | str = embeddings.shape[1] if embeddings is not None else "d_model"

    weights: dict[str, np.ndarray | None] = {}
    d_k: int | str = "d_k"
    for name in ("W_Q", "W_K", "W_V"):
        if data.get(name) is None:
            weights[name] = None
            continue
        m = _matrix(name, data[name], d_model, d_k if name != "W_V" else "d_v")
        d_model = m.shape[0]
        if name != "W_V":
            d_k = m.shape[1]
        weights[name] = m

    biases = {}
    for name, size in (("b_Q", d_k), ("b_K", d_k), ("b_V", weights["W_V"].shape[1] if weights["W_V"] is not None else "d_v")):
        if data.get(name) is not None:
            if weights[f"W_{name[-1]}"] is None:
                raise InputError(f"{name}: a bias needs its matrix W_{name[-1]} in the same file")
            biases[name] = _matrix(name, np.reshape(np.asarray(data[name], dtype=object), (1, -1)), 1, size)[0]
    expected = {k: data[k] for k in (*EXPORT_ARRAYS, *EXPORT_SCALARS) if k in data and k != "format"}
    rope_theta, positions = _rope(data.get("rope"))
    if rope_theta is not None and any(k in data["rope"] for k in ROPE_ARRAYS):
        expected["rope"] = data["rope"]
    return Numbers(
        tokens=tokens,
        embeddings=embeddings,
        positional=_flag(data, "positional"),
        causal=_flag(data, "causal"),
        rope_theta=rope_theta,
        positions=positions,
        expected=expected or None,
        **weights,
        **biases,
    )


def _read_npz(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as z:
        data = {}
        for key in z.files:
            a = z[key]
            data[key] = a.item() if a.ndim == 0 else (a.tolist() if a.dtype.kind in "US" else a)
        return data


def load(path: str | Path) -> Numbers:
    """Read custom numbers from a .json or .npz file (schema in the module docstring and docs/models.md)."""
    path = Path(path)
    if path.suffix.lower() not in (".json", ".npz"):
        raise InputError(f"numbers file: expected a .json or .npz file, got {path.name!r}")
    if not path.is_file():
        raise InputError(f"numbers file: {str(path)!r} does not exist")
    try:
        if path.suffix.lower() == ".npz":
            data = _read_npz(path)
        else:
            data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise InputError(f"numbers file: {path.name} is not valid JSON (line {e.lineno}: {e.msg})") from None
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise InputError(f"numbers file: cannot read {path.name} ({e})") from None
    return parse(data)
