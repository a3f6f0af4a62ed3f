"""English on-screen text. Placeholders are filled with str.format."""

STRINGS = {
    # title
    "title": "Self-attention, step by step",
    "title.tokens": "{n} tokens",
    "title.token": "1 token",
    # embeddings
    "embeddings.heading": "1. Embeddings → X",
    "embeddings.caption": "Each token looks up its embedding vector ({d} numbers)",
    "embeddings.positional": "+ positional encoding (sin/cos of the position)",
    "embeddings.stack": "Stacked as rows, the vectors form X",
    "embeddings.shape": "X: {s} × {d}  (tokens × d_model)",
    # projection
    "projection.heading": "2. Projections: Q = X·W_Q, K = X·W_K, V = X·W_V",
    "projection.entry": "row of X · column of W_{w}:",
    "projection.query": "query: what this token looks for",
    "projection.key": "key: what it offers, to be found by",
    "projection.value": "value: what it passes on",
    "projection.shape": "{name}: {s} × {d}",
    # scores
    "scores.heading": "3. Dot products: scores = Q·Kᵀ",
    "scores.focus": "How much does “{token}” attend to each token?",
    "scores.running": "running sum",
    "scores.row": "“{token}” compares its query with every key",
    "scores.grid": "Rows: queries   Columns: keys",
    # softmax
    "softmax.heading": "4. Scale and softmax",
    "softmax.scale": "÷ √d_k = √{dk} = {scale}",
    "softmax.masked": "causal: later tokens are masked (−∞ → 0%)",
    "softmax.exp": "e^x",
    "softmax.exp_shifted": "e^(x − {shift})",
    "softmax.sum": "sum",
    "softmax.caption": "softmax per row: every row sums to 100%",
    # weighted sum
    "weighted.heading": "5. Weighted sum of the values",
    "weighted.caption": "“{token}”: z = Σ aⱼ · vⱼ",
    "weighted.all": "Z = A·V: {s} × {d}",
    "weighted.message": "Each token's new vector now carries context from the others",
    # summary
    "summary.heading": "Summary",
    "summary.formula": "Attention(Q, K, V) = softmax(Q·Kᵀ / √d_k) · V",
    "summary.scores": "Q·Kᵀ:  ({s} × {dk}) · ({dk} × {s}) → {s} × {s} scores",
    "summary.weights": "softmax(scores / √{dk}) per row → A: {s} × {s}, rows sum to 100%",
    "summary.output": "A·V:  ({s} × {s}) · ({s} × {dv}) → Z: {s} × {dv}, one new vector per token",
    # shared
    "elided": "showing {shown} of {total} {what}; “…” marks the rest",
    "what.tokens": "tokens",
    "what.dims": "dimensions",
}
