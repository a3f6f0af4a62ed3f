"""English table headings. Placeholders are filled with str.format."""

STRINGS = {
    "tokens": "tokens",
    "embeddings": "embeddings ({s} x {d})",
    "positional": "positional encoding ({s} x {d})",
    "X": "X ({s} x {d}, tokens x d_model)",
    "W": "{name} ({r} x {c})",
    "bias": "{name} ({c})",
    "Q": "Q = X W_Q ({s} x {d})",
    "K": "K = X W_K ({s} x {d})",
    "V": "V = X W_V ({s} x {d})",
    "scores": "scores = Q K^T ({s} x {s}, rows: queries, columns: keys)",
    "scaled": "scaled = scores / sqrt({dk}) = scores / {scale}",
    "weights": "weights = softmax(scaled) per row",
    "causal": " (causal: later tokens masked)",
    "sum": "sum",
    "output": "output Z = weights V ({s} x {d})",
    "head": "head {h} of {n}: weights (d_head = {d})",
    "W_O": "W_O ({r} x {c}, output projection)",
    "concat": "concat = [Z_0 | ... | Z_{last}] ({s} x {d})",
    "multi": "output = concat W_O ({s} x {d})",
    "multi_bias": "output = concat W_O + b_O ({s} x {d})",
}
