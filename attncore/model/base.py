"""A loaded model: its config, weights and tokenizer, and the sizes read from them through its
architecture (`attncore.architectures`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..architectures import ARCHITECTURES, Architecture
from ..errors import InputError


@dataclass(frozen=True)
class Model:
    name: str  # e.g. "all-MiniLM-L6-v2", "m3e-small", "gpt2", a folder's name
    architecture: str  # config.json's model_type, a key of attncore.architectures.ARCHITECTURES
    config: dict
    weights: dict  # parameter name (a task model's prefix dropped) -> array as stored (float32)
    tokenizer: object  # tokenizers.Tokenizer, padding and truncation off
    max_tokens: int  # longest input the model takes, special tokens included
    quantization: str | None = None  # a GGUF file's type, e.g. "Q4_K_M", "F32"; None for a Hugging Face folder
    # what identifies the load: the folder or GGUF file it was read from (attncore.model.find.locate's path, resolved);
    # its results record it (AttentionResult.model_origin) to find it again, two folders of one name never mixed up
    origin: str = ""
    # sentence ids -> (X_0 .. X_n, the attention weights of layers 0 .. n-1) computed so far (`forward`)
    memo: dict = field(default_factory=dict, init=False, compare=False, repr=False)  # a copy (replace) starts empty

    @property
    def kind(self) -> Architecture:
        return ARCHITECTURES[self.architecture]

    @property
    def n_layers(self) -> int:
        return self.config[self.kind.sizes[0]]

    @property
    def n_heads(self) -> int:
        return self.config[self.kind.sizes[1]]

    @property
    def d_model(self) -> int:
        return self.config[self.kind.sizes[2]]

    @property
    def d_head(self) -> int:
        key = self.kind.head_dim
        return (self.config.get(key) if key else None) or self.d_model // self.n_heads

    @property
    def n_kv_heads(self) -> int:
        """Key/value heads per layer: fewer than the query heads with grouped-query attention."""
        key = self.kind.kv_heads
        return (self.config.get(key) if key else None) or self.n_heads

    @property
    def grouped(self) -> bool:
        """True when the architecture may share K and V between heads (llama, Qwen2): its results record
        each head's key/value group, even when every head has its own."""
        return self.kind.kv_heads is not None

    def kv_group(self, head: int) -> int:
        """The key/value head query head `head` reads: head // (heads / kv_heads)."""
        return head // (self.n_heads // self.n_kv_heads)

    @property
    def rope_theta(self) -> float | None:
        """The base θ of rotary positions, None for a model with learned positions."""
        return self.kind.rope_theta(self.config)

    @property
    def causal(self) -> bool:
        return self.kind.causal

    @property
    def eps(self) -> float:
        key, default = self.kind.eps
        return self.config.get(key, default)

    @property
    def byte_level(self) -> bool:
        """True when the tokenizer splits bytes (GPT-2's byte-level BPE): a piece may hold part of a character."""
        return type(self.tokenizer.decoder).__name__ == "ByteLevel"

    def w(self, name: str) -> np.ndarray:
        """A parameter as float64, laid out as stored (torch's Linear (out, in), GPT-2's Conv1D (in, out))."""
        return self.weights[name].astype(np.float64)

    def times(self, name: str, x: np.ndarray, block: int = 256) -> np.ndarray:
        """x W^T (n, out) for a torch Linear W stored (out, in), in float64 as `x @ self.w(name).T`, with W
        converted `block` rows at a time: each block is multiplied while still in the CPU's cache, instead
        of writing the whole float64 copy (Qwen2.5-0.5B's feed-forward matrices: 35 MB each) to memory and
        reading it back. Each output column is the same dot product over the same inputs as before."""
        weights = self.weights[name]
        out = np.empty((x.shape[0], weights.shape[0]))
        for a in range(0, weights.shape[0], block):
            out[:, a:a + block] = x @ weights[a:a + block].astype(np.float64).T
        return out

    def rows(self, name: str, ids) -> np.ndarray:
        """Rows `ids` of a parameter (an embedding matrix), as stored: from a GGUF file only those rows
        are dequantized."""
        rows = getattr(self.weights, "rows", None)
        return rows(name, ids) if rows is not None else self.weights[name][np.asarray(ids)]

    def times_rows(self, name: str, x: np.ndarray, chunk: int = 8192) -> np.ndarray:
        """x W^T (n, rows of W) for a matrix W stored (rows, d) such as an LM head of 151,936 rows: from a
        GGUF file `chunk` rows at a time, never the whole matrix dequantized at once."""
        if getattr(self.weights, "rows", None) is None:
            return x @ self.w(name).T
        n_rows = self.weights.file.tensors[self.weights.names[name]].shape[0]
        return np.concatenate([x @ self.rows(name, np.arange(a, min(a + chunk, n_rows))).astype(np.float64).T
                               for a in range(0, n_rows, chunk)], axis=1)



def check_sizes(model: Model, where) -> None:
    """Refuse a config whose sizes do not fit together (or are missing), naming `where`."""
    try:
        n_layers, heads, d_model, kv_heads = model.n_layers, model.n_heads, model.d_model, model.n_kv_heads
    except KeyError as e:
        raise InputError(f"model: {where} lacks {e.args[0]}") from None
    for value in (n_layers, heads, d_model, kv_heads):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(f"model: {where} gives a size of {value!r}; sizes are whole numbers >= 1")
    if not (model.kind.head_dim and model.config.get(model.kind.head_dim)) and d_model % heads:
        raise InputError(f"model: hidden size {d_model} is not divisible by {heads} heads")
    if heads % kv_heads:
        raise InputError(f"model: {heads} query heads cannot share {kv_heads} key/value heads evenly")
    if model.rope_theta is not None and model.d_head % 2:
        raise InputError(f"model: rotary positions turn pairs of dimensions; a head's {model.d_head} is odd")
