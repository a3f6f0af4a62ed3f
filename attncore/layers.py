"""The pieces a transformer layer is made of besides attention, in numpy: layer norm and the
feed-forward activations, as torch and transformers compute them."""

from __future__ import annotations

import math

import numpy as np

from .errors import InputError


def layer_norm(x: np.ndarray, gain: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)  # population variance, as torch's LayerNorm
    return (x - mean) / np.sqrt(var + eps) * gain + bias


def rms_norm(x: np.ndarray, gain: np.ndarray, eps: float) -> np.ndarray:
    """RMSNorm (Zhang and Sennrich 2019), as llama and Qwen2 use it: x / sqrt(mean(x^2) + eps) * gain."""
    return x / np.sqrt((x * x).mean(axis=-1, keepdims=True) + eps) * gain


def silu(x: np.ndarray) -> np.ndarray:
    """SiLU (swish): x sigmoid(x), the gate of llama's and Qwen2's SwiGLU feed-forward step."""
    return 0.5 * x * (1.0 + np.tanh(0.5 * x))  # sigmoid(x) = (1 + tanh(x / 2)) / 2, without overflow


_erf = np.vectorize(math.erf, otypes=[float])


def gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU: x Φ(x) = x (1 + erf(x / √2)) / 2."""
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def gelu_tanh(x: np.ndarray) -> np.ndarray:
    """GPT-2's GELU ("gelu_new"): the tanh approximation."""
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


ACTIVATIONS = {"gelu": gelu, "gelu_new": gelu_tanh, "gelu_pytorch_tanh": gelu_tanh, "gelu_fast": gelu_tanh,
               "relu": lambda x: np.maximum(x, 0.0), "silu": silu, "swish": silu}


def activation(name: str):
    """config.json's activation name -> the function."""
    if name not in ACTIVATIONS:
        raise InputError(f"model: activation {name!r} is not supported; supported: {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]
