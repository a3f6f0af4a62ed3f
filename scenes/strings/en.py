"""English. Keys without "say." are drawn on screen; "say." keys are the narration (subtitles and
script). Placeholders are filled with str.format; a dict holds plural forms chosen by {n}."""


CHARS_PER_SECOND = 20  # a comfortable subtitle reading speed: a beat holds until its cue can be read


def plural(n: int) -> str:
    return "one" if n == 1 else "other"


STRINGS = {
    # title
    "title": "Self-attention, step by step",
    "title.sentence": "“{sentence}”",
    "title.tokens": {"one": "{n} token", "other": "{n} tokens"},
    "say.title": "Self-attention, step by step: how each token gathers information from the others.",
    "say.title.sentence": "Our sentence: “{sentence}”.",
    "say.title.tokens": {
        "one": "It is a single token. We follow “{token}” through every step.",
        "other": "It is split into {n} tokens. We follow “{token}” through every step.",
    },
    "say.title.rows": "Each token becomes one row of the computation.",
    # embeddings
    "embeddings.heading": "1. Embeddings → X",
    "embeddings.caption": "Each token looks up its embedding vector ({d} numbers)",
    "embeddings.positional": "+ positional encoding (sin/cos of the position)",
    "embeddings.stack": "Stacked as rows, the vectors form X",
    "embeddings.shape": "X: {s} × {d}  (tokens × d_model)",
    "say.embeddings.lookup": "Each token looks up its embedding, a vector of {d} numbers; “{token}” is {vector}.",
    "say.embeddings.stack": "Stacked as rows, the vectors form the matrix X: {s} × {d}, tokens by d_model.",
    "say.embeddings.positional": "Positional encoding is added, so each row also says where its token stands; “{token}” becomes {vector}.",
    # projection
    "projection.heading": "2. Projections: Q = X·W_Q, K = X·W_K, V = X·W_V",
    "projection.weight": "W_{w}  ({r} × {c})",
    "projection.shape": "{name}: {s} × {d}",
    "projection.entry": "row of X · column of W_{w}:",
    "projection.query": "query: what this token looks for",
    "projection.key": "key: what it offers, to be found by",
    "projection.value": "value: what it passes on",
    "say.projection.intro": "Three learned projection matrices turn X into queries, keys and values. First Q = X · W_Q.",
    "say.projection.entry": "One entry: row “{token}” of X times column {col} of W_{w}, term by term, gives {value}.",
    "say.projection.query": "Every entry is such a product: Q holds one query per token, {s} × {d}, what each token looks for.",
    "say.projection.key": "The same with W_K gives the keys K, {s} × {d}: what each token offers, to be found by.",
    "say.projection.value": "And W_V gives the values V, {s} × {d}: what each token passes on.",
    # scores
    "scores.heading": "3. Dot products: scores = Q·Kᵀ",
    "scores.focus": "How much does “{token}” attend to each token?",
    "scores.q": "q  “{token}”",
    "scores.k": "k  “{token}”",
    "scores.terms": "q × k",
    "scores.running": "running sum",
    "scores.result": "q · k =",
    "scores.row": "“{token}” compares its query with every key",
    "scores.grid": "Rows: queries   Columns: keys",
    "say.scores.intro": "How much should “{token}” attend to each token? Its query is compared with every key.",
    "say.scores.dot": "q of “{token}” times k of “{key}”, entry by entry, with a running sum: the score is {value}.",
    "say.scores.row": "Against every key this gives the row of scores for “{token}”; the largest, {value}, is with “{top}”.",
    "say.scores.grid": "Every token does the same: the {s} × {s} score matrix Q·Kᵀ, queries as rows and keys as columns.",
    # softmax
    "softmax.heading": "4. Scale and softmax",
    "softmax.scale": "÷ √d_k = √{dk} = {scale}",
    "softmax.masked": "causal: later tokens are masked (−∞ → 0%)",
    "softmax.x": "x",
    "softmax.exp": "e^x",
    "softmax.exp_shifted": "e^(x − {shift})",
    "softmax.sum": "sum",
    "softmax.sum_is": "sum =",
    "softmax.divide": "each e^x ÷ sum = its share",
    "softmax.top": "“{token}” → “{top}”: {pct}, the largest in its row",
    "softmax.top_self": "“{token}” → itself: {pct}, the largest in its row",
    "softmax.caption": "softmax per row: every row sums to 100%",
    "say.softmax.scale": "The scores are divided by √d_k = √{dk} = {scale}, so that softmax does not saturate.",
    "say.softmax.masked": "This is causal attention: a token may not look at later tokens, so their scores become minus infinity.",
    "say.softmax.row": "For “{token}”: e to the power of each scaled score; they add up to {total}, and each share is e^x divided by that sum.",
    "say.softmax.row_shifted": "For “{token}”: e to the power of each scaled score minus the largest, {shift} (no share changes); they add up to {total}, and each share is e^x divided by that sum.",
    "say.softmax.top": "“{token}” gives {pct} of its attention to “{top}”, more than to any other token.",
    "say.softmax.top_self": "“{token}” gives {pct} of its attention to itself, more than to any other token.",
    "say.softmax.all": "Softmax turns every row into percentages that add up to 100%: the attention weights A.",
    # weighted sum
    "weighted.heading": "5. Weighted sum of the values",
    "weighted.caption": "“{token}”: z = Σ aⱼ · vⱼ",
    "weighted.z": "z  “{token}” = Σ",
    "weighted.all": "Z = A·V: {s} × {d}",
    "weighted.message": "Each token's new vector now carries context from the others",
    "say.weighted.intro": "Now “{token}” collects information: every token's value vector, weighted by the attention “{token}” pays it.",
    "say.weighted.scale": "Each value vector is scaled by its weight; “{top}”, at {pct}, counts most.",
    "say.weighted.sum": "Added up, they give the new vector of “{token}”: z = {vector}.",
    "say.weighted.all": "Every token does this at once: Z = A·V, {s} × {d}. Each new vector now carries context from the whole sentence.",
    # summary
    "summary.heading": "Summary: the whole path",
    "summary.x": "X  embeddings",
    "summary.q": "Q = X·W_Q  queries",
    "summary.k": "K = X·W_K  keys",
    "summary.v": "V = X·W_V  values",
    "summary.scores": "Q·Kᵀ / √d_k  scores",
    "summary.weights": "A = softmax  weights",
    "summary.output": "Z = A·V  output",
    "summary.shape": "{r} × {c}",
    "summary.vec": "{v}  “{token}”",
    "summary.row": "row “{token}”",
    "summary.formula": "Attention(Q, K, V) = softmax(Q·Kᵀ / √d_k) · V",
    "say.summary.path": "The whole path for {s} tokens: X, queries, keys and values, scores, weights and the output Z, each shown for “{token}”.",
    "say.summary.formula": "In one line: Attention(Q, K, V) = softmax(Q·Kᵀ / √d_k) · V. “{token}” ends up as {vector}.",
    # shared
    "elided": "showing {shown} of {total} {what}; “…” marks the rest",
    "what.tokens": "tokens",
    "what.dims": "dimensions",
    # the lecture script (render.py --script)
    "script.title": "Self-attention, step by step: “{sentence}”",
    "script.intro": "Narration of the video, beat by beat, with the time each beat starts. ⏸ marks a place to pause.",
}
