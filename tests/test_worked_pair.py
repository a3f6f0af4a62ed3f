"""The winning pair the scores stage works (the focus token's query with the key it matches best, and
the worst one for contrast), its largest terms and its angle, and the softmax stage's row without
÷ √d_k: each against explicit loops (here or in tests/reference.py), never against attncore.steps."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from conftest import need_model
from reference import worked
from scenetools import says

import attncore
from attncore import steps

MINILM = ("The animal didn't cross the street because it was too tired", dict(model="minilm", layer=5, heads=12))
CASES = {
    "default": ("I have a cat", {}),
    "causal": ("Le chat 🐈 a très faim & 我有一只猫 <b>!", dict(d_model=6, d_k=3, seed=2, causal=True, positional=True)),
    "minilm": MINILM,
}


@pytest.fixture(scope="module", params=list(CASES))
def result(request):
    sentence, kw = CASES[request.param]
    if "model" in kw:
        need_model(kw["model"])
    r = attncore.run(sentence, **kw)
    return r.heads[11] if "heads" in kw else r


def may(r, i):
    """The keys row i may attend to, by the rule: all, or (causal) those not after i."""
    return [j for j in range(r.n_tokens) if not r.causal or j <= i]


def test_winning_pair_is_the_largest_and_the_smallest_weight(result):
    r = result
    for i in range(r.n_tokens):
        drawn = [j for j in range(r.n_tokens) if r.tokens[j] not in ("[CLS]", "[SEP]")]
        for keys in (None, tuple(drawn)):
            candidates = [j for j in may(r, i) if keys is None or j in keys]
            if not candidates:
                continue
            w = [float(x) for x in r.weights[i]]
            best = candidates[0]
            for j in candidates:  # brute force: the first of the largest weights
                if w[j] > w[best]:
                    best = j
            rest = [j for j in candidates if j != best]
            worst = None
            for j in rest:  # the first of the smallest, other than the best
                if worst is None or w[j] < w[worst]:
                    worst = j
            assert steps.winning_pair(r, i, keys) == (best, worst), (i, keys)
            # the largest weight is the largest score (softmax keeps the order)
            assert all(r.scores[i, best] >= r.scores[i, j] for j in candidates)
            assert worked(r, "winning_pair", i, *(() if keys is None else (keys,))) == (best, worst)


def test_the_winning_dot_products_terms_and_angle_equal_loops(result):
    r = result
    for i in range(r.n_tokens):
        j, low = steps.winning_pair(r, i)
        for k in (j, low):
            if k is None:
                continue
            q, key = r.Q[i].tolist(), r.K[k].tolist()
            terms = [a * b for a, b in zip(q, key)]
            entry = steps.score_entry(r, i, k)
            assert entry.terms.tolist() == pytest.approx(terms, rel=1e-9, abs=1e-9)
            total = 0.0
            for t in terms:
                total += t
            assert entry.total == pytest.approx(total, rel=1e-6, abs=1e-6)
            # the angle: |q|, |k|, and cos θ = q . k / (|q| |k|), one multiply-add at a time
            qq = math.sqrt(sum(a * a for a in q))
            kk = math.sqrt(sum(b * b for b in key))
            angle = steps.score_angle(r, i, k)
            assert angle.q_norm == pytest.approx(qq, rel=1e-9)
            assert angle.k_norm == pytest.approx(kk, rel=1e-9)
            assert angle.cosine == pytest.approx(total / (qq * kk), rel=1e-6, abs=1e-9)
            assert steps.cosine(r.Q[i], r.K[k]) == pytest.approx(total / (qq * kk), rel=1e-6, abs=1e-9)
            assert -1 - 1e-9 <= angle.cosine <= 1 + 1e-9
            assert angle.q_norm * angle.k_norm * angle.cosine == pytest.approx(r.scores[i, k], rel=1e-6, abs=1e-6)
            want = worked(r, "score_angle", i, k)
            assert (angle.q_norm, angle.k_norm, angle.cosine) == pytest.approx((want.q_norm, want.k_norm, want.cosine))
            # the largest terms: sorted by a loop, pushing the score its own way
            sign = -1.0 if total < 0 else 1.0
            for n in (1, 2, 3):
                order = sorted(range(len(terms)), key=lambda c: (-sign * terms[c], c))[:n]
                top = steps.top_terms(r, i, k, n)
                assert top.dims == tuple(order), (i, k, n)
                assert top.terms.tolist() == pytest.approx([terms[c] for c in order], rel=1e-9, abs=1e-9)
                assert top.total == pytest.approx(sum(terms[c] for c in order), rel=1e-9, abs=1e-9)
                assert top.agreeing == sum(1 for t in terms if sign * t > 0)
                assert top.dims == worked(r, "top_terms", i, k, n).dims


def test_the_plane_of_q_and_its_best_key_keeps_the_pair_exact_and_projects_the_rest(result):
    """attncore.steps.score_plane (the scores stage's arrows): q on the first axis at its length; the best
    key at its true length and angle, so |q| times its first coordinate is the score; every other key's
    coordinates its projections on the plane's axes (tests/reference.py: explicit formulas, no basis
    built), the first of them its length along q, q . k / |q|."""
    r = result
    for i in range(r.n_tokens):
        j, low = steps.winning_pair(r, i)
        others = tuple(k for k in (low, (j + 1) % r.n_tokens) if k is not None)
        plane = steps.score_plane(r, i, j, *others)
        want = worked(r, "score_plane", i, j, *others)
        assert plane.points.ravel().tolist() == pytest.approx([c for p in want.points for c in p], rel=1e-6, abs=1e-6), i
        assert plane.along.tolist() == pytest.approx(want.along, rel=1e-6, abs=1e-6)
        assert plane.in_plane.tolist() == pytest.approx(want.in_plane, rel=1e-6, abs=1e-6)
        q, k = r.Q[i].tolist(), r.K[j].tolist()
        qq, kk = math.sqrt(sum(a * a for a in q)), math.sqrt(sum(b * b for b in k))
        (qx, qy), (kx, ky) = plane.points[0], plane.points[1]
        assert (qx, qy) == pytest.approx((qq, 0.0))
        assert math.hypot(kx, ky) == pytest.approx(kk, rel=1e-6)  # the pair: true length
        assert qx * kx == pytest.approx(r.scores[i, j], rel=1e-6, abs=1e-6)  # and true angle: the score exactly
        for n, o in enumerate(others, start=1):
            key = r.K[o].tolist()
            assert qq * plane.along[n] == pytest.approx(r.scores[i, o], rel=1e-6, abs=1e-6)
            assert plane.in_plane[n] <= math.sqrt(sum(b * b for b in key)) + 1e-9  # a projection is never longer


def test_the_plane_by_hand():
    """q = (2, 0, 0), k = (1, 1, 0), another key (0, 3, 4): the pair at (2, 0) and (1, 1); the other's part
    in the plane is (0, 3) (its 4 off the plane dropped)."""
    r = attncore.run("I have a cat")
    Q, K = r.Q.copy(), r.K.copy()
    Q[:] = 0.0
    K[:] = 0.0
    Q[0, :3], K[1, :3], K[2, :3] = (2, 0, 0), (1, 1, 0), (0, 3, 4)
    plane = steps.score_plane(replace(r, Q=Q, K=K), 0, 1, 2)
    assert plane.points.ravel().tolist() == pytest.approx([2, 0, 1, 1, 0, 3])
    assert plane.along.tolist() == pytest.approx([1, 0]) and plane.in_plane.tolist() == pytest.approx([math.sqrt(2), 3])
    K[1, :3] = (3, 0, 0)  # parallel to q: the second axis is empty
    assert steps.score_plane(replace(r, Q=Q, K=K), 0, 1, 2).points.ravel().tolist() == pytest.approx([2, 0, 3, 0, 0, 0])


def test_the_unscaled_row_is_softmax_of_the_scores_without_the_division(result):
    r = result
    Q, K = r.Q.tolist(), r.K.tolist()
    for i in range(r.n_tokens):
        raw = {j: sum(a * b for a, b in zip(Q[i], K[j])) for j in may(r, i)}  # no ÷ √d_k
        top = max(raw.values())
        e = {j: math.exp(x - top) for j, x in raw.items()}
        total = sum(e.values())
        want = [e[j] / total if j in e else 0.0 for j in range(r.n_tokens)]
        got = steps.unscaled_softmax_row(r, i)
        assert got.tolist() == pytest.approx(want, rel=1e-6, abs=1e-9), i
        assert all(got[j] == 0.0 for j in range(r.n_tokens) if j not in raw)  # masked keys take nothing
        assert worked(r, "unscaled_softmax_row", i) == pytest.approx(want, rel=1e-9, abs=1e-12)
        # the spread the softmax stage quotes: largest minus smallest allowed score, before and after ÷ √d_k
        spread = steps.score_spread(r, i)
        assert spread.before == pytest.approx(max(raw.values()) - min(raw.values()), rel=1e-6, abs=1e-9)
        assert spread.after == pytest.approx(spread.before / math.sqrt(r.d_k), rel=1e-6, abs=1e-9)


def test_dividing_by_root_dk_flattens_the_row():
    """The toy's "cat": 84.7% without ÷ √d_k, 58.8% with it (the issue's numbers)."""
    r = attncore.run("I have a cat")
    assert attncore.pct(worked(r, "unscaled_softmax_row", 3)[3]) == "84.7%"
    assert attncore.pct(r.weights[3, 3]) == "58.8%"


def test_minilm_it_finds_the_animal_and_would_take_it_all_unscaled():
    need_model("minilm")
    r = attncore.run(MINILM[0], **MINILM[1]).heads[11]
    i, j = r.tokens.index("it"), r.tokens.index("animal")
    drawn = tuple(k for k in range(r.n_tokens) if r.tokens[k] not in ("[CLS]", "[SEP]"))
    assert steps.winning_pair(r, i, drawn)[0] == j
    assert attncore.fmt(worked(r, "score_entry", i, j).total) == "23.43"
    assert attncore.pct(worked(r, "unscaled_softmax_row", i)[j]) == "100.0%"
    assert attncore.pct(r.weights[i, j]) == "64.7%"


# ---- the stages quote them ------------------------------------------------------------------------

def words(run, stage):
    return " ".join(c.text for c in run.scene.log.cues if c.stage == stage)


def test_minilm_scores_stage_works_it_with_animal(runs):
    result, run = runs("model")
    i, j = result.tokens.index("it"), result.tokens.index("animal")
    said = words(run, "scores")
    assert "“animal”" in said and says(said, "23.43")
    assert "“it” times k of “animal”" in said
    shown = {(s.source.step, s.source.field) for s in run.scene.log.shown if s.stage == "scores"}
    assert (("score_entry", i, j), "running") in shown and (("score_angle", i, j), "cosine") in shown
    # the largest terms are kept in view in the worked vector, however many dimensions are elided
    top = worked(result, "top_terms", i, j, 3).dims
    terms = {s.source.index for s in run.scene.log.shown if s.source.step == ("score_entry", i, j) and s.source.field == "terms"}
    assert {(c,) for c in top} <= terms


def test_m3e_scores_stage_works_it_with_the_cat(runs):
    result, run = runs("m3e")
    said = words(run, "scores")
    assert "“猫”" in said and says(said, "63.30")


def test_default_softmax_stage_quotes_the_unscaled_share(runs):
    result, run = runs("default")
    said = words(run, "softmax")
    assert "“cat” would give itself 84.7% of its attention instead of 58.8%" in said
    spread = worked(result, "score_spread", 3)
    assert f"span {attncore.fmt(spread.before)}; after, {attncore.fmt(spread.after)}" in said
    unscaled = [s for s in run.scene.log.shown if s.stage == "softmax" and s.source.step == ("unscaled_softmax_row", 3)]
    assert {s.source.index for s in unscaled} >= {(j,) for j in range(4)}
    assert "84.7%" in {s.text for s in unscaled}


def test_minilm_softmax_stage_quotes_all_of_it_unscaled(runs):
    result, run = runs("model")
    assert "“it” would give “animal” 100.0% of its attention instead of 64.7%" in words(run, "softmax")


def test_one_token_has_no_rival_and_no_unscaled_comparison(runs):
    result, run = runs("one token")
    assert steps.winning_pair(result, 0) == (0, None)
    stages = {s.source.step[:1] for s in run.scene.log.shown}
    assert ("unscaled_softmax_row",) not in stages and ("score_spread",) not in stages
    assert "For contrast" not in words(run, "scores")
