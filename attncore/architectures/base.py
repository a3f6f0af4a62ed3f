"""What a model architecture tells attncore: how its checkpoint names and sizes things, the tokens
its tokenizer adds, which keys a query may see (its mask), the positions of the tokens, how many
tokens it takes, and how a sentence runs through it up to the head shown. attncore.model does the
rest (finding and reading the files, tokens, attention itself) the same way for every architecture,
and records what differs on every result as data (`AttentionResult.specials`, `.norm_first`, `.mask`).

Decoders of today add three things an architecture states here: grouped-query attention (`kv_heads`:
fewer key/value heads than query heads, head h reading group h // (heads / kv_heads)), rotary
positions (`rope_theta`: q and k turned by position before their dot product) and a GGUF file's
names (`gguf_keys`, `gguf_names`, `from_gguf`) besides a Hugging Face folder's."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..attention import causal_mask
from ..errors import InputError
from ..layers import activation, layer_norm

# attncore.model.Model, the loaded model the steps read: named, not imported (attncore.model imports this package)
Model = Any
MAX_POSITIONS_KEYS = ("max_position_embeddings", "n_positions")  # config.json's keys of the longest input


class Architecture:
    """One family of checkpoints, named by config.json's `model_type`. A subclass sets the facts
    below and the four steps of the forward pass."""

    name: str  # config.json's model_type
    prefix: str  # what a task model (e.g. BertForMaskedLM) puts before the bare model's parameter names
    sizes: tuple[str, str, str]  # config.json's keys of the number of layers, of heads, of the hidden size
    eps: tuple[str, float]  # config.json's key of the layer norms' epsilon, and its default
    activation: tuple[str, str]  # config.json's key of the feed-forward activation, and its default
    causal: bool  # a decoder: each token attends only to itself and those before it
    norm_first: bool  # pre-norm: what W_Q multiplies is the layer's input after its first layer norm
    # the tokens its tokenizer adds around a sentence, as shown: left out of the default focus, of --head auto's count
    # and of the pictures with --hide-special, and named by the title's narration and the messages
    special_tokens: tuple[str, ...] = ()
    positions: str  # the parameter with a row per position the model takes ("" when positions are rotary)
    unsupported: tuple[tuple[str, object], ...] = ()  # config settings (key, the only value supported)
    kv_heads: str | None = None  # config.json's key of the number of key/value heads (None: one per query head)
    head_dim: str | None = None  # config.json's key of a head's width, when it may differ from hidden / heads
    # GGUF: metadata "{arch}.<suffix>" -> config key; None when this architecture is not read from GGUF files
    gguf_keys: dict[str, str] | None = None
    gguf_arch: str = ""  # general.architecture of its GGUF files

    @property
    def added_tokens(self) -> str:
        """How a too-long sentence's error counts the tokens the tokenizer adds: " with [CLS] and [SEP]"."""
        return f" with {' and '.join(self.special_tokens)}" if self.special_tokens else ""

    def mask(self, model: Model, n_tokens: int) -> np.ndarray | None:
        """Which keys each query may see, (S, S) bool, True = may attend (None: every key): the causal mask
        for a decoder. A sliding window (Mistral: config.json's sliding_window) narrows it here."""
        return causal_mask(n_tokens) if self.causal else None

    def position_ids(self, model: Model, n_tokens: int) -> np.ndarray:
        """Each token's position: the row of the learned position embeddings it reads, or the angle RoPE
        turns it by (0, 1, 2, ...; RoBERTa counts from its padding id + 1)."""
        return np.arange(n_tokens)

    def token_limit(self, config: dict, weights) -> int | None:
        """The longest input the model takes, its tokens added included (None: not stated): config.json's
        max_position_embeddings, else the rows of its position embeddings."""
        stated = next((config[k] for k in MAX_POSITIONS_KEYS if k in config), None)
        return stated or (len(weights[self.positions]) if self.positions else None)

    def validate(self, config: dict, where: str) -> None:
        """Refuse settings the forward pass does not implement (InputError naming `where`)."""
        for key, usual in self.unsupported:
            if config.get(key, usual) != usual:
                raise InputError(f"model: {where} sets {key} = {config[key]!r}; only {usual!r} is supported")

    def rope_theta(self, config: dict) -> float | None:
        """The base θ of rotary position embeddings (RoPE), or None: no rotation (learned positions)."""
        return None

    def rename(self, key: str) -> str:
        """A parameter's name as the bare model saves it (the task model's prefix dropped)."""
        return key[len(self.prefix):] if key.startswith(self.prefix) else key

    def required(self, n_layers: int) -> list[str]:
        """The parameters the forward pass reads."""
        raise NotImplementedError

    def embeddings(self, model: Model, ids: np.ndarray) -> np.ndarray:
        """X entering layer 0 (S, d_model)."""
        raise NotImplementedError

    def projections(self, model: Model, layer: int) -> dict[str, np.ndarray]:
        """The layer's full W_Q (d_model, heads d_head), W_K and W_V (d_model, kv_heads d_head), W_O
        (heads d_head, d_model), laid out (in, out), and the biases b_Q, b_K, b_V, b_O the model has
        (one entry per column; an absent bias is left out). Head h owns columns d_head h .. d_head (h+1) - 1
        of W_Q, and its key/value group g those of W_K and W_V (g = h without grouped-query attention)."""
        raise NotImplementedError

    def attention_input(self, model: Model, layer: int, x: np.ndarray) -> np.ndarray:
        """What the layer's W_Q multiplies, from the layer's input `x`."""
        return x

    def after_attention(self, model: Model, layer: int, x: np.ndarray, attended: np.ndarray) -> np.ndarray:
        """The layer's output X_{l+1} from its input `x` and its heads' joined output `attended`
        (after W_O and b_O): the residuals, layer norms and the feed-forward step."""
        raise NotImplementedError

    def logits(self, model: Model, x: np.ndarray) -> np.ndarray:
        """Next-token scores (n, vocab) from the last layer's output rows `x` (n, d_model): the final
        norm and the language-model head. Only a decoder trained to predict the next token has them."""
        raise InputError(f"model: {model.name} ({self.name}) does not predict next tokens")

    # GGUF files

    def gguf_names(self, n_layers: int) -> dict[str, str]:
        """Parameter name (as `required` names it) -> the GGUF tensor name."""
        raise NotImplementedError

    def from_gguf(self, config: dict, name: str, array: np.ndarray) -> np.ndarray:
        """A tensor as read from a GGUF file -> as the Hugging Face checkpoint holds it (e.g. llama's Q
        and K rows, permuted by the converter for llama.cpp's RoPE, put back)."""
        return array

    def config_from_gguf(self, metadata, where: str) -> dict:
        """config.json's keys from a GGUF file's metadata ("{arch}.block_count" -> num_hidden_layers ...)."""
        arch = self.gguf_arch or self.name
        config = {"model_type": self.name}
        for suffix, key in (self.gguf_keys or {}).items():
            value = metadata.get(f"{arch}.{suffix}")
            if value is None:
                continue
            if isinstance(value, list):
                raise InputError(f"model: {where} gives {arch}.{suffix} per layer; only one value for all layers is "
                                 "supported")
            config[key] = value
        return config

    # helpers for the steps

    def norm(self, model: Model, prefix: str, x: np.ndarray) -> np.ndarray:
        return layer_norm(x, model.w(f"{prefix}.weight"), model.w(f"{prefix}.bias"), model.eps)

    def act(self, model: Model):
        key, default = self.activation
        return activation(model.config.get(key, default))
