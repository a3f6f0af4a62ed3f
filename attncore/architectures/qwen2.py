"""Qwen2 decoders (Qwen2, Qwen2.5, Qwen2.5-Coder): llama's layer with biases on Q, K and V.

    layer l: H = RMSNorm_1(X_l); Q = H W_Q + b_Q, K = H W_K + b_K, V = H W_V + b_V; RoPE on q and k
             (rotate-half, θ from rope_theta: 1e6 for Qwen2.5); grouped-query attention; W_O without bias;
             the SwiGLU feed-forward step, as llama's (`attncore.architectures.llama`)

llama.cpp's converter does not permute Qwen2's Q and K rows: its GGUF files hold them as transformers
does. Sliding-window attention (use_sliding_window, off in Qwen2.5) only matters past the window's
thousands of tokens, far beyond a sentence.

References: Qwen Team, "Qwen2 Technical Report" (2024), "Qwen2.5-Coder Technical Report" (2024);
transformers' Qwen2Model.
"""

from __future__ import annotations

from .llama import Llama


class Qwen2(Llama):
    name = "qwen2"
    attention_biases = True
    permuted_in_gguf = False
    default_theta = 10000.0  # transformers' Qwen2Config; Qwen2.5's files say 1e6
