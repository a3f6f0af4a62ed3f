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
