"""BERT-family encoders (BERT, MiniLM, m3e): post-norm, every token attends to every token.

    X_0 = LN(word[ids] + position[0..S) + token_type[0])                                  (S, d_model)
    layer l: A_h = softmax(Q_h K_h^T / sqrt(d_head)) with Q = X_l W_Q + b_Q, ...
             Y = LN(X_l + concat_h(A_h V_h) W_O + b_O),  X_{l+1} = LN(Y + act(Y W_1 + b_1) W_2 + b_2)

Parameters as transformers' BertModel saves them; torch's Linear stores W as (out, in).
"""

from __future__ import annotations

import numpy as np

from .base import Architecture


class BERT(Architecture):
    name = "bert"
    prefix = "bert."
    sizes = ("num_hidden_layers", "num_attention_heads", "hidden_size")
    eps = ("layer_norm_eps", 1e-12)
    activation = ("hidden_act", "gelu")
    causal = False
    norm_first = False
    special_tokens = ("[CLS]", "[SEP]")
    positions = "embeddings.position_embeddings.weight"
    unsupported = (("position_embedding_type", "absolute"), ("is_decoder", False))

    def rename(self, key: str) -> str:
        """Also old checkpoints' LayerNorm gamma/beta as weight/bias."""
        key = super().rename(key)
        if "LayerNorm." in key:
            key = key.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias")
        return key

    def required(self, n_layers: int) -> list[str]:
        names = ["embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
                 "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias"]
        per_layer = [f"attention.self.{p}.{kind}" for p in ("query", "key", "value") for kind in ("weight", "bias")]
        per_layer += [f"{p}.{kind}" for p in ("attention.output.dense", "attention.output.LayerNorm", "intermediate.dense",
                                              "output.dense", "output.LayerNorm") for kind in ("weight", "bias")]
        return names + [f"encoder.layer.{layer}.{p}" for layer in range(n_layers) for p in per_layer]

    def embeddings(self, model, ids: np.ndarray) -> np.ndarray:
        """Word + position + token-type embeddings, layer-normalised."""
        S = len(ids)
        x = (model.weights["embeddings.word_embeddings.weight"][ids].astype(np.float64)
             + model.w("embeddings.position_embeddings.weight")[self.position_ids(model, S)])
        if "embeddings.token_type_embeddings.weight" in model.weights:
            x = x + model.w("embeddings.token_type_embeddings.weight")[0]
        return self.norm(model, "embeddings.LayerNorm", x)

    def projections(self, model, layer: int) -> dict[str, np.ndarray]:
        p = f"encoder.layer.{layer}.attention"
        out = {}
        for n, part in (("Q", "query"), ("K", "key"), ("V", "value")):
            out[f"W_{n}"] = model.w(f"{p}.self.{part}.weight").T  # torch's (out, in) -> (in, out)
            out[f"b_{n}"] = model.w(f"{p}.self.{part}.bias")
        return out | {"W_O": model.w(f"{p}.output.dense.weight").T, "b_O": model.w(f"{p}.output.dense.bias")}

    def after_attention(self, model, layer: int, x: np.ndarray, attended: np.ndarray) -> np.ndarray:
        p = f"encoder.layer.{layer}"
        act = self.act(model)
        y = self.norm(model, f"{p}.attention.output.LayerNorm", x + attended)
        ff = dense(model, f"{p}.output.dense", act(dense(model, f"{p}.intermediate.dense", y)))
        return self.norm(model, f"{p}.output.LayerNorm", y + ff)


def dense(model, prefix: str, x: np.ndarray) -> np.ndarray:
    """x W + b with torch's Linear W stored as (out, in)."""
    return x @ model.w(f"{prefix}.weight").T + model.w(f"{prefix}.bias")  # (S, in) x (in, out)
