"""An independent, explicit-loop self-attention: no numpy matrix products, no attncore code."""

import math


def attention_loops(X, W_Q, W_K, W_V, causal=False):
    """Return (scores, weights, output) as nested lists, computed one multiply-add at a time."""
    S, d_model = len(X), len(X[0])
    d_k, d_v = len(W_Q[0]), len(W_V[0])

    def project(W, width):
        return [[sum(X[i][m] * W[m][c] for m in range(d_model)) for c in range(width)] for i in range(S)]

    Q, K, V = project(W_Q, d_k), project(W_K, d_k), project(W_V, d_v)
    scores = [[sum(Q[i][c] * K[j][c] for c in range(d_k)) for j in range(S)] for i in range(S)]
    weights = []
    for i in range(S):
        visible = [j for j in range(S) if not causal or j <= i]
        top = max(scores[i][j] / math.sqrt(d_k) for j in visible)
        e = {j: math.exp(scores[i][j] / math.sqrt(d_k) - top) for j in visible}
        total = sum(e.values())
        weights.append([e[j] / total if j in e else 0.0 for j in range(S)])
    output = [[sum(weights[i][j] * V[j][c] for j in range(S)) for c in range(d_v)] for i in range(S)]
    return scores, weights, output


# ---- the worked arithmetic the scenes show, by explicit loops (never attncore.steps) -------------

SHIFT_ABOVE = 6.0  # attncore.steps' rule (MAX_PLAIN_EXPONENT), restated: the worked softmax shows e^(x − max) when the row's largest allowed x is above 6
_WORKED: dict = {}


def _rows(result):
    """Q, K, V (with a model head's biases) and the scaled scores, by loops from X and the weights."""
    key = id(result)
    if key not in _WORKED or _WORKED[key][0] is not result:
        X, S, d = result.X.tolist(), result.n_tokens, result.d_model

        def project(W, b):
            W, width = W.tolist(), W.shape[1]
            bias = [0.0] * width if b is None else b.tolist()
            return [[sum(X[i][m] * W[m][c] for m in range(d)) + bias[c] for c in range(width)] for i in range(S)]

        Q, K, V = project(result.W_Q, result.b_Q), project(result.W_K, result.b_K), project(result.W_V, result.b_V)
        scaled = [[sum(q * k for q, k in zip(Q[i], K[j])) / math.sqrt(result.d_k) for j in range(S)] for i in range(S)]
        _WORKED[key] = (result, dict(Q=Q, K=K, V=V, scaled=scaled, cache={}))
    return _WORKED[key][1]


def worked(result, name, *args):
    """What attncore.steps.<name>(result, *args) must give, field by field, as a plain namespace (or
    a nested list), from explicit loops over the result's inputs."""
    from types import SimpleNamespace

    m = _rows(result)
    if (name, args) in m["cache"]:
        return m["cache"][name, args]
    S = result.n_tokens
    allowed = lambda i: [j for j in range(S) if not result.causal or j <= i]
    if name == "score_entry":
        i, j = args
        terms = [q * k for q, k in zip(m["Q"][i], m["K"][j])]
        running, total = [], 0.0
        for t in terms:
            total += t
            running.append(total)
        value = SimpleNamespace(a=m["Q"][i], b=m["K"][j], terms=terms, running=running, total=total, bias=0.0)
    elif name == "softmax_row":
        (i,) = args
        x = m["scaled"][i]
        top = max(x[j] for j in allowed(i))
        shift = top if top > SHIFT_ABOVE else 0.0
        exps = [math.exp(x[j] - shift) if j in allowed(i) else 0.0 for j in range(S)]
        total = sum(exps)
        value = SimpleNamespace(x=x, shift=shift, exps=exps, total=total, weights=[e / total for e in exps])
    elif name == "weighted_values":
        (i,) = args
        weights = worked(result, "softmax_row", i).weights
        value = [[weights[j] * v for v in m["V"][j]] for j in range(S)]
    elif name == "row_sums":
        value = [sum(worked(result, "softmax_row", i).weights) for i in range(S)]
    elif name == "strongest":
        (i,) = args
        weights = worked(result, "softmax_row", i).weights
        value = max(range(S), key=lambda j: (weights[j], -j))
    else:
        raise KeyError(f"no reference for the worked step {name!r}")
    m["cache"][name, args] = value
    return value
