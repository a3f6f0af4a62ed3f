"""Llama-family decoders (Llama 2, SmolLM2, Mistral-shaped checkpoints): pre-RMSNorm, causal, rotary
positions (RoPE) and grouped-query attention (GQA).

    X_0 = embed[ids]                                   (no position added: positions enter by rotation)
    layer l: H = RMSNorm_1(X_l); Q = H W_Q, K = H W_K, V = H W_V  (K, V: kv_heads x d_head columns)
             q, k of each head rotated by RoPE: pair i = dims (i, i + d_head/2) turned by position x θ_i,
             θ_i = rope_theta^(-2i/d_head); head h attends with the K and V of group h // (heads / kv_heads)
             Y = X_l + concat_h(A_h V_g(h)) W_O,  X_{l+1} = Y + (silu(G W_gate) * (G W_up)) W_down, G = RMSNorm_2(Y)

A head's X is RMSNorm_1(X_l). Parameters as transformers' LlamaForCausalLM saves them (torch's Linear:
W as (out, in)), or a GGUF file's (llama.cpp's names, Q and K rows permuted by its converter: put back).

References: Touvron et al., "Llama 2" (2023); Su et al., "RoFormer" (RoPE, 2021); Ainslie et al.,
"GQA" (2023); Zhang and Sennrich, "Root Mean Square Layer Normalization" (2019); transformers'
LlamaModel and its GGUF loader (LlamaTensorProcessor).
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..layers import rms_norm
from .base import Architecture

PROJECTIONS = (("Q", "q_proj", "attn_q"), ("K", "k_proj", "attn_k"), ("V", "v_proj", "attn_v"),
               ("O", "o_proj", "attn_output"))
# per layer: parameter (after "layers.N.") -> GGUF tensor (after "blk.N.")
LAYER_TENSORS = {
    "input_layernorm.weight": "attn_norm.weight",
    **{f"self_attn.{hf}.{kind}": f"{gguf}.{kind}" for _, hf, gguf in PROJECTIONS for kind in ("weight", "bias")},
    "post_attention_layernorm.weight": "ffn_norm.weight",
    **{f"mlp.{hf}.{kind}": f"{gguf}.{kind}" for hf, gguf in (("gate_proj", "ffn_gate"), ("up_proj", "ffn_up"),
                                                             ("down_proj", "ffn_down")) for kind in ("weight", "bias")},
}
MODEL_TENSORS = {"embed_tokens.weight": "token_embd.weight", "norm.weight": "output_norm.weight",
                 "lm_head.weight": "output.weight"}


class Llama(Architecture):
    name = "llama"
    prefix = "model."
    sizes = ("num_hidden_layers", "num_attention_heads", "hidden_size")
    kv_heads = "num_key_value_heads"
    head_dim = "head_dim"
    eps = ("rms_norm_eps", 1e-6)
    activation = ("hidden_act", "silu")
    causal = True
    norm_first = True
    positions = ""
    default_theta = 10000.0  # transformers' LlamaConfig
    attention_biases = False  # Q/K/V biases always there (Qwen2); llama has them only with attention_bias
    permuted_in_gguf = True  # llama.cpp's converter permutes llama's Q and K rows for its RoPE
    gguf_keys = {
        "block_count": "num_hidden_layers",
        "attention.head_count": "num_attention_heads",
        "attention.head_count_kv": "num_key_value_heads",
        "embedding_length": "hidden_size",
        "feed_forward_length": "intermediate_size",
        "context_length": "max_position_embeddings",
        "rope.freq_base": "rope_theta",
        "attention.layer_norm_rms_epsilon": "rms_norm_eps",
        "attention.key_length": "head_dim",
        "rope.dimension_count": "rotary_dim",  # must be the whole head: checked by validate
        "rope.scaling.type": "gguf_rope_scaling",
    }

    def validate(self, config: dict, where: str) -> None:
        super().validate(config, where)
        rope = config.get("rope_parameters") or config.get("rope_scaling") or {}
        kind = rope.get("rope_type", rope.get("type", "default")) if isinstance(rope, dict) else rope
        if kind not in ("default", None):
            raise InputError(f"model: {where} scales RoPE ({kind!r}); only plain RoPE is supported")
        if isinstance(rope, dict) and rope.get("partial_rotary_factor", 1.0) != 1.0:
            raise InputError(f"model: {where} rotates part of each head (partial_rotary_factor); only whole heads are "
                             "supported")
        if config.get("gguf_rope_scaling", "none") != "none":
            raise InputError(f"model: {where} scales RoPE ({config['gguf_rope_scaling']!r}); only plain RoPE is "
                             "supported")
        d_head = config.get("head_dim") or config[self.sizes[2]] // config[self.sizes[1]]
        if config.get("rotary_dim", d_head) != d_head:
            raise InputError(f"model: {where} rotates {config['rotary_dim']} of each head's {d_head} dimensions; only "
                             "whole heads are supported")

    def rope_theta(self, config: dict) -> float:
        rope = config.get("rope_parameters")
        if isinstance(rope, dict) and rope.get("rope_theta") is not None:
            return float(rope["rope_theta"])
        return float(config.get("rope_theta") or self.default_theta)

    def required(self, n_layers: int) -> list[str]:
        per_layer = ["input_layernorm.weight", "post_attention_layernorm.weight",
                     *(f"self_attn.{hf}.weight" for _, hf, _ in PROJECTIONS),
                     *(f"mlp.{hf}.weight" for hf in ("gate_proj", "up_proj", "down_proj"))]
        if self.attention_biases:
            per_layer += [f"self_attn.{hf}.bias" for _, hf, _ in PROJECTIONS[:3]]
        return ["embed_tokens.weight"] + [f"layers.{layer}.{p}" for layer in range(n_layers) for p in per_layer]

    def embeddings(self, model, ids: np.ndarray) -> np.ndarray:
        """The token embeddings' rows of `ids` (nothing added: positions enter by rotation)."""
        return model.rows("embed_tokens.weight", ids).astype(np.float64)

    def projections(self, model, layer: int) -> dict[str, np.ndarray]:
        p = f"layers.{layer}.self_attn"
        out = {}
        for n, hf, _ in PROJECTIONS:
            out[f"W_{n}"] = model.w(f"{p}.{hf}.weight").T  # torch's (out, in) -> (in, out)
            if f"{p}.{hf}.bias" in model.weights:
                out[f"b_{n}"] = model.w(f"{p}.{hf}.bias")
        return out

    def attention_input(self, model, layer: int, x: np.ndarray) -> np.ndarray:
        return rms_norm(x, model.w(f"layers.{layer}.input_layernorm.weight"), model.eps)

    def after_attention(self, model, layer: int, x: np.ndarray, attended: np.ndarray) -> np.ndarray:
        """The residual, then the SwiGLU feed-forward step on RMSNorm_2 of it, and its residual."""
        p = f"layers.{layer}"
        y = x + attended
        h = rms_norm(y, model.w(f"{p}.post_attention_layernorm.weight"), model.eps)
        gated = self.act(model)(linear(model, f"{p}.mlp.gate_proj", h)) * linear(model, f"{p}.mlp.up_proj", h)
        return y + linear(model, f"{p}.mlp.down_proj", gated)

    def logits(self, model, x: np.ndarray) -> np.ndarray:
        """RMSNorm (norm.weight), then the LM head (lm_head.weight, or the embeddings when tied)."""
        head = "lm_head.weight" if "lm_head.weight" in model.weights else "embed_tokens.weight"
        return model.times_rows(head, rms_norm(x, model.w("norm.weight"), model.eps))

    # GGUF

    def gguf_names(self, n_layers: int) -> dict[str, str]:
        names = dict(MODEL_TENSORS)
        for layer in range(n_layers):
            names |= {f"layers.{layer}.{hf}": f"blk.{layer}.{gguf}" for hf, gguf in LAYER_TENSORS.items()}
        return names

    def from_gguf(self, config: dict, name: str, array: np.ndarray) -> np.ndarray:
        """llama.cpp's converter permuted W_Q's and W_K's rows (and their biases) so that each head's
        rotation pairs are neighbours (2i, 2i+1), for its RoPE; transformers' rotate-half pairs i and
        i + d_head/2. Undone as transformers' GGUF loader does (LlamaTensorProcessor)."""
        if not self.permuted_in_gguf:
            return array
        if ".self_attn.q_proj." in name:
            return unpermute(array, config["num_attention_heads"])
        if ".self_attn.k_proj." in name:
            return unpermute(array, config.get("num_key_value_heads") or config["num_attention_heads"])
        return array


def unpermute(weights: np.ndarray, n_heads: int) -> np.ndarray:
    """Undo convert_hf_to_gguf's permute(w, n_head): rows (head, pair, 2) -> (head, 2, pair)."""
    half = weights.shape[0] // n_heads // 2
    return weights.reshape(n_heads, half, 2, *weights.shape[1:]).swapaxes(2, 1).reshape(weights.shape)


def linear(model, prefix: str, x: np.ndarray) -> np.ndarray:
    """x W^T (+ b) with torch's Linear W stored as (out, in); the bias only when the model has one."""
    out = model.times(f"{prefix}.weight", x)  # (S, in) x (in, out)
    bias = f"{prefix}.bias"
    return out + model.w(bias) if bias in model.weights else out
