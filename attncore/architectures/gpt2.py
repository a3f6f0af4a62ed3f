"""GPT-2 decoders: pre-norm, causal (each token attends to itself and those before it).

    X_0 = wte[ids] + wpe[0..S)
    layer l: H = LN_1(X_l); Q = H W_Q + b_Q, ... (c_attn split in three); causal mask
             Y = X_l + concat_h(A_h V_h) W_O + b_O,  X_{l+1} = Y + act(LN_2(Y) W_fc + b_fc) W_proj + b_proj

A head's X is LN_1(X_l). Parameters as transformers' GPT2Model saves them; its Conv1D stores W as
(in, out).
"""

from __future__ import annotations

import numpy as np

from .base import Architecture


class GPT2(Architecture):
    name = "gpt2"
    prefix = "transformer."
    sizes = ("n_layer", "n_head", "n_embd")
    eps = ("layer_norm_epsilon", 1e-5)
    activation = ("activation_function", "gelu_new")
    causal = True
    norm_first = True
    positions = "wpe.weight"
    unsupported = (("scale_attn_weights", True), ("scale_attn_by_inverse_layer_idx", False),
                   ("add_cross_attention", False))

    def required(self, n_layers: int) -> list[str]:
        per_layer = [f"{p}.{kind}" for p in ("ln_1", "attn.c_attn", "attn.c_proj", "ln_2", "mlp.c_fc", "mlp.c_proj")
                     for kind in ("weight", "bias")]
        return ["wte.weight", "wpe.weight"] + [f"h.{layer}.{p}" for layer in range(n_layers) for p in per_layer]

    def embeddings(self, model, ids: np.ndarray) -> np.ndarray:
        """Word + position embeddings."""
        S = len(ids)
        at = self.position_ids(model, S)
        return model.weights["wte.weight"][ids].astype(np.float64) + model.weights["wpe.weight"][at].astype(np.float64)

    def projections(self, model, layer: int) -> dict[str, np.ndarray]:
        p, d = f"h.{layer}.attn", model.d_model
        W, b = model.w(f"{p}.c_attn.weight"), model.w(f"{p}.c_attn.bias")  # (d, 3d): Q | K | V
        out = {f"W_{n}": W[:, i * d:(i + 1) * d] for i, n in enumerate("QKV")}
        out |= {f"b_{n}": b[i * d:(i + 1) * d] for i, n in enumerate("QKV")}
        return out | {"W_O": model.w(f"{p}.c_proj.weight"), "b_O": model.w(f"{p}.c_proj.bias")}

    def attention_input(self, model, layer: int, x: np.ndarray) -> np.ndarray:
        return self.norm(model, f"h.{layer}.ln_1", x)

    def after_attention(self, model, layer: int, x: np.ndarray, attended: np.ndarray) -> np.ndarray:
        p = f"h.{layer}"
        act = self.act(model)
        y = x + attended
        return y + dense(model, f"{p}.mlp.c_proj", act(dense(model, f"{p}.mlp.c_fc", self.norm(model, f"{p}.ln_2", y))))

    def logits(self, model, x: np.ndarray) -> np.ndarray:
        """The final layer norm (ln_f), then the LM head: lm_head.weight, or the token embeddings (tied)."""
        if "ln_f.weight" not in model.weights:
            return super().logits(model, x)  # a checkpoint without its final norm predicts nothing
        head = "lm_head.weight" if "lm_head.weight" in model.weights else "wte.weight"
        return self.norm(model, "ln_f", x) @ model.w(head).T


def dense(model, prefix: str, x: np.ndarray) -> np.ndarray:
    """x W + b with Conv1D's W stored as (in, out)."""
    return x @ model.w(f"{prefix}.weight") + model.w(f"{prefix}.bias")
