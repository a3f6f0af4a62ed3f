"""attncore: transformer self-attention in plain numpy, with every intermediate kept.

    X = embeddings (+ positional encoding)            (S, d_model)
    Q, K, V = X W_Q, X W_K, X W_V                     (S, d_k), (S, d_k), (S, d_v)
    A = softmax(Q K^T / sqrt(d_k)), row-wise         (S, S)
    Z = A V                                           (S, d_v)

References: Vaswani et al., "Attention Is All You Need" (2017); karpathy/nanoGPT's
CausalSelfAttention. `run("I have a cat")` is the worked example of shared/seeds/001.
"""

from .attention import FORMAT, MAX_ABS, AttentionResult, causal_mask, self_attention, softmax
from .errors import InputError
from .focus import default_focus, join_tokens, resolve_focus, special_tokens
from .formatting import fmt, pct
from .multihead import MultiHeadResult, multi_head_attention
from .numbers import Numbers, load, parse
from .params import default_weights, embed, output_weights, positional_encoding, token_vector
from .pipeline import DEFAULT_SENTENCE, run
from .roles import HeadRole, head_role
from .tokens import tokenize

__all__ = [
    "AttentionResult",
    "DEFAULT_SENTENCE",
    "FORMAT",
    "HeadRole",
    "InputError",
    "MAX_ABS",
    "MultiHeadResult",
    "Numbers",
    "causal_mask",
    "default_focus",
    "default_weights",
    "embed",
    "fmt",
    "head_role",
    "join_tokens",
    "load",
    "multi_head_attention",
    "output_weights",
    "parse",
    "pct",
    "positional_encoding",
    "resolve_focus",
    "run",
    "self_attention",
    "softmax",
    "special_tokens",
    "token_vector",
    "tokenize",
]
