"""attncore's computation against hand-worked cases and independent references."""

import math
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from reference import attention_loops

import attncore

# The worked example, typed in from shared/seeds/001 (not from attncore).
SEED_X = [[0.2, 0.4, 0.1, 0.5], [0.9, 0.1, 0.3, 0.7], [0.5, 0.2, 0.4, 0.1], [0.6, 0.9, 0.8, 0.3]]
SEED_W_Q = [[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8], [0.9, 0.1, 0.2, 0.3], [0.4, 0.5, 0.6, 0.7]]
SEED_W_K = [[0.2, 0.3, 0.4, 0.1], [0.5, 0.7, 0.8, 0.6], [0.9, 0.1, 0.3, 0.5], [0.4, 0.2, 0.9, 0.7]]
SEED_W_V = [[0.1, 0.3, 0.5, 0.7], [0.2, 0.4, 0.6, 0.8], [0.9, 0.1, 0.2, 0.3], [0.5, 0.6, 0.7, 0.8]]


def test_default_run_is_the_seed_worked_example():
    r = attncore.run("I have a cat")
    assert r.tokens == ("I", "have", "a", "cat")
    assert r.X.shape == (4, 4)  # the seed says 4 x 16 by mistake
    np.testing.assert_array_equal(r.X, SEED_X)
    np.testing.assert_array_equal(r.W_Q, SEED_W_Q)
    np.testing.assert_array_equal(r.W_K, SEED_W_K)
    np.testing.assert_array_equal(r.W_V, SEED_W_V)
    assert r.d_k == 4 and r.scale == 2.0


def test_seed_example_entries_worked_by_hand():
    r = attncore.run()
    # q_cat = x_cat W_Q, first entry: 0.6*0.1 + 0.9*0.5 + 0.8*0.9 + 0.3*0.4 = 0.06+0.45+0.72+0.12 = 1.35
    assert r.Q[3, 0] == pytest.approx(1.35)
    # q_cat = [1.35, 0.89, 1.15, 1.41], k_cat = [1.41, 0.95, 1.47, 1.21]
    # q_cat . k_cat = 1.9035 + 0.8455 + 1.6905 + 1.7061 = 6.1456; / sqrt(4) = 3.0728
    np.testing.assert_allclose(r.Q[3], [1.35, 0.89, 1.15, 1.41])
    np.testing.assert_allclose(r.K[3], [1.41, 0.95, 1.47, 1.21])
    assert r.scores[3, 3] == pytest.approx(6.1456)
    assert r.scaled[3, 3] == pytest.approx(3.0728)


def test_two_tokens_two_dims_by_hand():
    # X = I (2 x 2), all weights = I: Q = K = V = I, scores = I, scaled = I / sqrt(2).
    # Row 0: softmax([0.70711, 0]) = [e^0.70711, 1] / (e^0.70711 + 1) = [2.02811, 1] / 3.02811
    #      = [0.66976, 0.33024]; z_0 = 0.66976 v_0 + 0.33024 v_1 = [0.66976, 0.33024].
    eye = np.eye(2)
    r = attncore.self_attention(eye, eye, eye, eye, tokens=["a", "b"])
    np.testing.assert_allclose(r.scaled, [[0.70711, 0], [0, 0.70711]], atol=1e-5)
    np.testing.assert_allclose(r.weights, [[0.66976, 0.33024], [0.33024, 0.66976]], atol=1e-5)
    np.testing.assert_allclose(r.output, [[0.66976, 0.33024], [0.33024, 0.66976]], atol=1e-5)
    # causal: the first token sees only itself; the second is unchanged
    c = attncore.self_attention(eye, eye, eye, eye, causal=True)
    np.testing.assert_allclose(c.weights, [[1, 0], [0.33024, 0.66976]], atol=1e-5)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"causal": True},
        {"positional": True},
        {"d_model": 6, "d_k": 3, "seed": 7},
        {"d_model": 8, "positional": True, "causal": True},
    ],
)
@pytest.mark.parametrize("sentence", ["I have a cat", "The dog chased the ball because it was bored .", "猫"])
def test_matches_explicit_loop_reference(sentence, kwargs):
    r = attncore.run(sentence, **kwargs)
    scores, weights, output = attention_loops(
        r.X.tolist(), r.W_Q.tolist(), r.W_K.tolist(), r.W_V.tolist(), causal=r.causal
    )
    np.testing.assert_allclose(r.scores, scores, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(r.weights, weights, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(r.output, output, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("kwargs", [{}, {"d_model": 6, "d_k": 3, "seed": 3}])
def test_matches_torch_scaled_dot_product_attention(causal, kwargs):
    torch = pytest.importorskip("torch")
    r = attncore.run("the quick brown fox jumps over the lazy dog", causal=causal, **kwargs)
    q, k, v = (torch.tensor(np.array(m)[None, None]) for m in (r.Q, r.K, r.V))  # (1, 1, S, d)
    z = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
    np.testing.assert_allclose(r.output, z[0, 0].numpy(), rtol=1e-10, atol=1e-12)


def test_softmax_is_stable_for_huge_scores():
    w = attncore.softmax(np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]]))
    assert np.isfinite(w).all()
    np.testing.assert_allclose(w, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]])
    # through the whole pipeline: scores of 1e4 and 0
    X = np.diag([100.0, 100.0])
    r = attncore.self_attention(X, np.eye(2), np.eye(2), np.eye(2))
    assert r.scores[0, 0] == 1e4
    assert np.isfinite(r.weights).all()
    np.testing.assert_allclose(r.weights, np.eye(2))


def test_causal_weights_are_exactly_zero_and_scaled_stays_finite():
    r = attncore.run("one two three four five", causal=True)
    assert (r.weights[np.triu_indices(5, k=1)] == 0.0).all()
    assert np.isfinite(r.scaled).all()
    np.testing.assert_array_equal(r.mask, np.tril(np.ones((5, 5), bool)))


def test_result_is_immutable():
    r = attncore.run()
    for name in ("X", "Q", "K", "V", "scores", "scaled", "weights", "output", "W_Q"):
        with pytest.raises(ValueError):
            getattr(r, name)[0, 0] = 1.0
    with pytest.raises(AttributeError):
        r.d_k = 3


def test_inputs_are_copied_not_shared():
    X = np.eye(2)
    r = attncore.self_attention(X, np.eye(2), np.eye(2), np.eye(2))
    X[0, 0] = 99.0
    assert r.X[0, 0] == 1.0
    assert X.flags.writeable


def test_positional_encoding_matches_the_paper():
    pe = attncore.positional_encoding(3, 4)
    # PE(pos, 2i) = sin(pos / 10000^(2i/4)), PE(pos, 2i+1) = cos(same angle)
    for pos in range(3):
        for i in range(2):
            angle = pos / 10000 ** (2 * i / 4)
            assert pe[pos, 2 * i] == pytest.approx(math.sin(angle))
            assert pe[pos, 2 * i + 1] == pytest.approx(math.cos(angle))
    assert attncore.positional_encoding(2, 5).shape == (2, 5)
    r = attncore.run("I have a cat", positional=True)
    np.testing.assert_allclose(r.X, np.array(SEED_X) + pe_full(4, 4))


def pe_full(S, d):
    return [[math.sin(p / 10000 ** (2 * (c // 2) / d)) if c % 2 == 0 else math.cos(p / 10000 ** (2 * (c // 2) / d))
             for c in range(d)] for p in range(S)]


def test_embeddings_are_deterministic_and_readable():
    v = attncore.token_vector("dog", 6)
    assert v.shape == (6,)
    np.testing.assert_array_equal(v, np.round(v, 1))  # one decimal: short on screen
    assert np.abs(v).max() <= 1.0
    a = attncore.run("the dog sat")
    b = attncore.run("a big dog")
    np.testing.assert_array_equal(a.X[1], b.X[2])  # same token, same vector in any sentence
    assert not np.array_equal(attncore.token_vector("dog", 4), attncore.token_vector("cat", 4))


def test_weights_for_other_sizes_come_from_the_seed():
    a = attncore.default_weights(6, 3, seed=1)
    assert all(a[n].shape == (6, 3) for n in ("W_Q", "W_K", "W_V"))
    np.testing.assert_array_equal(a["W_Q"], attncore.default_weights(6, 3, seed=1)["W_Q"])
    assert not np.array_equal(a["W_Q"], attncore.default_weights(6, 3, seed=2)["W_Q"])
    assert not np.array_equal(attncore.default_weights(4, 4, 1)["W_Q"], SEED_W_Q)


def test_numpy_global_random_state_is_untouched():
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    attncore.run("any new words here", d_model=5, d_k=2, seed=9)
    np.testing.assert_array_equal(np.random.get_state()[1], before)


_SNIPPET = "import attncore; print(attncore.run('zebras, 猫 and 👍 rock', d_model=5, d_k=3, seed=4).to_json())"


def test_deterministic_across_processes_and_hash_seeds():
    outs = {
        subprocess.run(
            [sys.executable, "-c", _SNIPPET], env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True, text=True, check=True,
        ).stdout
        for seed in ("1", "2", "random")
    }
    assert len(outs) == 1
    assert '"zebras"' in outs.pop()


def test_import_does_not_import_manim():
    code = "import sys, attncore; attncore.run(); print('manim' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# ---- properties ---------------------------------------------------------------------------------

finite = st.floats(-4, 4, allow_nan=False, width=64)


@st.composite
def problems(draw):
    S, d_model, d_k, d_v = (draw(st.integers(1, n)) for n in (7, 6, 5, 5))
    X = draw(arrays(float, (S, d_model), elements=finite))
    W_Q, W_K = (draw(arrays(float, (d_model, d_k), elements=finite)) for _ in range(2))
    W_V = draw(arrays(float, (d_model, d_v), elements=finite))
    return X, W_Q, W_K, W_V


@settings(max_examples=60, deadline=None)
@given(problems(), st.booleans())
def test_shapes_and_rows_sum_to_one(p, causal):
    X, W_Q, W_K, W_V = p
    r = attncore.self_attention(X, W_Q, W_K, W_V, causal=causal)
    S = len(X)
    assert r.Q.shape == r.K.shape == (S, W_Q.shape[1])
    assert r.V.shape == r.output.shape == (S, W_V.shape[1])
    assert r.scores.shape == r.scaled.shape == r.weights.shape == (S, S)
    assert (r.weights >= 0).all()
    np.testing.assert_allclose(r.weights.sum(axis=1), 1.0, rtol=1e-12)


@settings(max_examples=60, deadline=None)
@given(problems(), st.booleans(), st.integers(0, 2**32 - 1))
def test_each_output_row_lies_in_the_convex_hull_of_the_values(p, causal, seed):
    # z lies in conv(v_1..v_S) iff for every direction u: min_j v_j.u <= z.u <= max_j v_j.u.
    # Check axis directions and random ones, using only V and the output (not the weights).
    X, W_Q, W_K, W_V = p
    r = attncore.self_attention(X, W_Q, W_K, W_V, causal=causal)
    d_v = r.V.shape[1]
    dirs = np.vstack([np.eye(d_v), -np.eye(d_v), np.random.default_rng(seed).normal(size=(8, d_v))])
    for i, z in enumerate(r.output):
        visible = r.V[: i + 1] if causal else r.V  # a causal row mixes only earlier values
        proj = visible @ dirs.T  # (S_visible, n_dirs)
        tol = 1e-9 * (1 + np.abs(proj).max())
        assert ((z @ dirs.T) <= proj.max(axis=0) + tol).all()
        assert ((z @ dirs.T) >= proj.min(axis=0) - tol).all()


@settings(max_examples=60, deadline=None)
@given(problems(), st.randoms(use_true_random=False))
def test_permuting_tokens_permutes_the_result(p, rnd):
    X, W_Q, W_K, W_V = p
    perm = list(range(len(X)))
    rnd.shuffle(perm)
    a = attncore.self_attention(X, W_Q, W_K, W_V)
    b = attncore.self_attention(X[perm], W_Q, W_K, W_V)
    np.testing.assert_allclose(b.output, a.output[perm], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(b.weights, a.weights[np.ix_(perm, perm)], rtol=1e-9, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(problems())
def test_causal_rows_ignore_later_tokens(p):
    X, W_Q, W_K, W_V = p
    r = attncore.self_attention(X, W_Q, W_K, W_V, causal=True)
    S = len(X)
    for i in range(S):
        assert (r.weights[i, i + 1 :] == 0).all()
        # row i is exactly attention over the prefix 0..i: later tokens cannot influence it
        prefix = attncore.self_attention(X[: i + 1], W_Q, W_K, W_V)
        np.testing.assert_allclose(r.output[i], prefix.output[i], rtol=1e-9, atol=1e-9)
