"""The scores stage's arrows (issue 36, point 7; scenes/parts/score_arrows.py): q and the key it matches
best drawn from one origin at their true lengths and angle, the worst key projected onto their plane,
each key's shadow on q as long as |k| cos θ; read from the mobjects' coordinates and checked against
numpy here (norms, arccos, projections), never against attncore.steps. Its lines' equations add up as
shown or carry "≈", and the picture is in the video in both languages and for a trained head."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest
from conftest import need_model
from manim import tempconfig

import attncore
from attncore import fmt, steps
from scenes.context import Ctx
from scenes.parts.score_arrows import plane_picture

CASES = {
    "default": ("I have a cat", {}, "en", "cat"),
    "chinese": ("我有一只猫", {}, "zh", "猫"),
    "minilm": ("The animal didn't cross the street because it was too tired", dict(model="minilm", layer=3, heads=12),
               "en", "it"),
}


def drawn(mob, origin) -> np.ndarray:
    """An arrow's drawn end relative to the origin, in the plane."""
    return (mob.get_end() - origin)[:2]


@pytest.fixture(scope="module", params=list(CASES))
def picture(request):
    sentence, kw, language, focus = CASES[request.param]
    if "model" in kw:
        need_model(kw["model"])
    r = attncore.run(sentence, **kw)
    r = r.heads[1] if "heads" in kw else r
    i = r.tokens.index(focus)
    drawn_keys = tuple(k for k in range(r.n_tokens) if r.tokens[k] not in ("[CLS]", "[SEP]"))
    j, low = steps.winning_pair(r, i, drawn_keys)
    with tempconfig({"quality": "low_quality"}):
        ctx = Ctx(r, i, language=language)
        return r, i, j, low, ctx, plane_picture(ctx, j, low)


def test_the_pair_is_drawn_at_its_true_angle_and_lengths(picture):
    r, i, j, low, _, pic = picture
    q, k = r.Q[i].astype(float), r.K[j].astype(float)
    dq, dk = drawn(pic.q, pic.origin), drawn(pic.k, pic.origin)
    # q along the axis, the key at θ from it: arccos of q . k / (|q| |k|), by numpy
    theta = math.acos(max(-1.0, min(1.0, float(q @ k) / (np.linalg.norm(q) * np.linalg.norm(k)))))
    assert dq[1] == pytest.approx(0.0, abs=1e-6) and dq[0] > 0
    assert math.atan2(dk[1], dk[0]) == pytest.approx(theta, abs=1e-4)
    assert np.linalg.norm(dk) / np.linalg.norm(dq) == pytest.approx(np.linalg.norm(k) / np.linalg.norm(q), rel=1e-4)
    assert np.linalg.norm(dq) == pytest.approx(pic.scale * np.linalg.norm(q), rel=1e-4)


def test_the_rival_is_its_projection_and_each_shadow_its_length_along_q(picture):
    r, i, j, low, _, pic = picture
    q, k = r.Q[i].astype(float), r.K[j].astype(float)
    e1 = q / np.linalg.norm(q)
    shadow = float(k @ e1)  # |k| cos θ
    bar = pic.shadow[1]
    assert (bar.get_end() - bar.get_start())[0] == pytest.approx(pic.scale * shadow, rel=1e-4, abs=1e-6)
    if low is None:
        return
    # the plane's second axis by least squares: the rival's in-plane part is its projection onto span(q, k)
    basis = np.stack([q, k], axis=1)
    coef, *_ = np.linalg.lstsq(basis, r.K[low].astype(float), rcond=None)
    part = basis @ coef
    ends = np.concatenate([m.points for m in pic.rival]) if len(pic.rival) else None
    tip = ends[np.argmax(np.linalg.norm(ends[:, :2] - pic.origin[:2], axis=1))] - pic.origin  # the farthest point: its tip
    assert np.linalg.norm(tip[:2]) == pytest.approx(pic.scale * np.linalg.norm(part), rel=1e-3)
    assert tip[0] == pytest.approx(pic.scale * float(part @ e1), rel=1e-3, abs=1e-4)
    rival_bar = pic.other[2][1]
    assert (rival_bar.get_end() - rival_bar.get_start())[0] == pytest.approx(pic.scale * float(r.K[low] @ e1), rel=1e-4,
                                                                             abs=1e-6)


def test_each_score_line_adds_up_as_shown_or_says_approximately(picture):
    """"k “cat”: 2.43 × 2.52 ≈ 6.15": |q| × |k| cos θ as shown against the score as shown (exact decimals)."""
    r, i, j, low, ctx, pic = picture
    lines = [pic.score[1], *([pic.other_score[0]] if low is not None else [])]
    for line, key in zip(lines, (j, low)):
        q_norm, shadow = float(np.linalg.norm(r.Q[i])), float(r.K[key] @ r.Q[i]) / float(np.linalg.norm(r.Q[i]))
        a, b, total = (Decimal(fmt(v).replace("−", "-")) for v in (q_norm, shadow, float(r.scores[i, key])))
        places = -total.as_tuple().exponent
        exact = (a * b).quantize(Decimal(1).scaleb(-places)) == total
        sign = line[4].original_text if hasattr(line[4], "original_text") else line[4].text
        assert sign == ("=" if exact else "≈"), (key, a, b, total)


@pytest.mark.parametrize("name", ["default", "chinese", "model"])
def test_the_video_draws_the_arrows_in_both_languages(runs, name):
    result, run = runs(name)
    log = run.scene.log
    along = [s for s in log.shown if s.stage == "scores" and s.source.step[:1] == ("score_plane",)]
    assert along and all(s.source.field == "along" for s in along)
    captions = [c.caption for c in log.cues if c.stage == "scores"]
    word = "projected" if name != "chinese" else "投影"
    assert any(word in c for c in captions)
    assert any(t == "θ" for s in run.snapshots if s.stage == "scores" for t, *_ in s.texts)
