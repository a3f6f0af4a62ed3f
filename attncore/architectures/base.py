"""What a model architecture tells attncore: how its checkpoint names and sizes things, and how a
sentence runs through it up to the head shown. attncore.model does the rest (finding and reading
the files, tokens, attention itself) the same way for every architecture."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..layers import activation, layer_norm

if TYPE_CHECKING:
    from ..model import Model


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
    added_tokens: str  # how a too-long sentence's error counts the tokens the tokenizer adds ("" for none)
    positions: str  # the parameter with a row per position the model takes
    unsupported: tuple[tuple[str, object], ...] = ()  # config settings (key, the only value supported)

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
        """The layer's full W_Q, W_K, W_V, W_O (d_model, d_model), laid out (in, out), and b_Q, b_K,
        b_V, b_O (d_model,). Head h owns columns d_head h .. d_head (h+1) - 1 of W_Q, W_K, W_V."""
        raise NotImplementedError

    def attention_input(self, model: Model, layer: int, x: np.ndarray) -> np.ndarray:
        """What the layer's W_Q multiplies, from the layer's input `x`."""
        return x

    def after_attention(self, model: Model, layer: int, x: np.ndarray, attended: np.ndarray) -> np.ndarray:
        """The layer's output X_{l+1} from its input `x` and its heads' joined output `attended`
        (after W_O and b_O): the residuals, layer norms and the feed-forward step."""
        raise NotImplementedError

    # helpers for the steps

    def norm(self, model: Model, prefix: str, x: np.ndarray) -> np.ndarray:
        return layer_norm(x, model.w(f"{prefix}.weight"), model.w(f"{prefix}.bias"), model.eps)

    def act(self, model: Model):
        key, default = self.activation
        return activation(model.config.get(key, default))
