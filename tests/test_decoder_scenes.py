"""The decoder stages (issue 27, point 5): RoPE and the KV cache, on the tiny random llama and Qwen2 models
tests/test_decoders.py builds; and point 4's honest quantization.

- attncore's new functions equal explicit loops (steps.rope_pairs, rope_turn, rope_term, rope_shifts: RoPE
  by hand) and transformers (attncore.generation: the next token and its row against the KV cache);
- the rope and kv-cache stages, played in English and Chinese: every number on screen and in the
  narration is attncore's as formatted, nothing overlaps or leaves the frame, the picture never stands
  still for more than 8 seconds;
- rope is in the default stages of a RoPE head only, kv-cache of a decoder model only;
- the projection shows Q and K before RoPE, as `python -m attncore` does;
- a quantized GGUF file is said to be one (title, handout)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from scenetools import assert_readable_layout, expected_value, run_scene
from test_decoders import CONFIGS, LIVE, SENTENCE, transformers_run

import attncore
from attncore import InputError, fmt, pct, steps
from attncore import model as M
from attncore.formatting import sig
from attncore.generation import can_generate, with_next
from scenes import default_stages
from scenes.view import View

live = pytest.mark.skipif(not LIVE, reason="torch and transformers are not installed (make setup installs them)")
FOCUS = "it"
HEAD = {"llama": 1, "qwen2": 5}  # a head of layer 1 whose K/V group is not head 0's
LAYER = 1
FORMATS = {"fmt": fmt, "pct": pct, "int": lambda v: str(int(v)), "sig": sig}
SHIFTS, FURTHER = (10, 1000), 5  # attncore.steps' placements of the two tokens, restated




@pytest.fixture(scope="module")
def layers(tiny):
    """Every head of layer 1 of each tiny model (from its folder), the followed head with its step of generation."""
    made = {}

    def get(kind: str):
        if kind not in made:
            computed = attncore.run(SENTENCE, model=str(tiny(kind)["folder"]), layer=LAYER,
                                    heads=CONFIGS[kind]["num_attention_heads"])
            made[kind] = with_next(computed, HEAD[kind])
        return made[kind]

    return get


# ---- RoPE and the next token by hand ---------------------------------------------------------------

def raw_loops(r, which: str) -> list[list[float]]:
    """X W (+ b) one multiply-add at a time: q or k before RoPE."""
    W, b = getattr(r, f"W_{which}").tolist(), getattr(r, f"b_{which}")
    bias = [0.0] * len(W[0]) if b is None else b.tolist()
    X = r.X.tolist()
    return [[sum(X[s][t] * W[t][c] for t in range(len(X[s]))) + bias[c] for c in range(len(W[0]))] for s in range(len(X))]


def turned_loops(vector, position: int, theta: float) -> list[float]:
    """A vector turned as if at `position`: pair c = dims (c, c + d/2) by position x theta^(-2c/d)."""
    d = len(vector)
    half = d // 2
    out = list(vector)
    for c in range(half):
        angle = position * theta ** (-2 * c / d)
        a, b = vector[c], vector[c + half]
        out[c], out[c + half] = a * math.cos(angle) - b * math.sin(angle), b * math.cos(angle) + a * math.sin(angle)
    return out


def dot(a, b) -> float:
    total = 0.0
    for x, y in zip(a, b):
        total += x * y
    return total


def rope_reference(r, theta: float, name: str, *args):
    """What attncore.steps.<name>(r, *args) must give, by loops (a namespace, or a tuple of pairs)."""
    from types import SimpleNamespace

    Q, K = raw_loops(r, "Q"), raw_loops(r, "K")
    d = r.d_k
    half = d // 2
    S = r.n_tokens
    if name == "rope":
        return SimpleNamespace(theta=theta, positions=list(range(S)), frequencies=[theta ** (-2 * c / d) for c in range(half)],
                               Q_raw=Q, K_raw=K, scores_raw=[[dot(Q[i], K[j]) for j in range(S)] for i in range(S)])
    if name == "rope_turn":
        which, s, c = args
        raw = (Q if which == "Q" else K)[s]
        turned = turned_loops(raw, s, theta)
        return SimpleNamespace(raw=[raw[c], raw[c + half]], turned=[turned[c], turned[c + half]], position=s,
                               frequency=theta ** (-2 * c / d), angle=s * theta ** (-2 * c / d))
    if name == "rope_term":
        i, j, c = args
        q, k = turned_loops(Q[i], i, theta), turned_loops(K[j], j, theta)
        return SimpleNamespace(before=Q[i][c] * K[j][c] + Q[i][c + half] * K[j][c + half],
                               after=q[c] * k[c] + q[c + half] * k[c + half])
    if name == "rope_shifts":
        i, j = args
        at = [(i, j), *((i + s, j + s) for s in SHIFTS), (i + FURTHER, j)]
        return SimpleNamespace(positions=at, distances=[a - b for a, b in at],
                               scores=[dot(turned_loops(Q[i], a, theta), turned_loops(K[j], b, theta)) for a, b in at])
    if name == "rope_pairs":
        i, j = args
        q, k = turned_loops(Q[i], i, theta), turned_loops(K[j], j, theta)
        change = [round(abs(q[c] * k[c] + q[c + half] * k[c + half] - Q[i][c] * K[j][c] - Q[i][c + half] * K[j][c + half]), 9)
                  for c in range(half)]
        middle = 1
        for c in range(1, half - 1):
            if change[c] > change[middle]:
                middle = c
        return (0, middle, half - 1)
    raise KeyError(name)


@live
@pytest.mark.parametrize("kind", ["llama", "qwen2"])
def test_rope_steps_equal_explicit_loops(layers, kind):
    """steps.rope, rope_pairs, rope_turn, rope_term and rope_shifts: RoPE's pairs, angles, the pairs'
    terms and the score with the tokens moved, each by loops; the score depends only on the distance."""
    r = layers(kind).heads[HEAD[kind]]
    theta = CONFIGS[kind]["rope_theta"]
    i = r.tokens.index(FOCUS)
    j = steps.winning_pair(r, i)[0]
    ro, want = steps.rope(r), rope_reference(r, theta, "rope")
    assert ro.theta == theta and ro.positions.tolist() == want.positions
    np.testing.assert_allclose(ro.frequencies, want.frequencies, rtol=1e-12)
    np.testing.assert_allclose(ro.Q_raw, want.Q_raw, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ro.scores_raw, want.scores_raw, rtol=1e-9, atol=1e-9)
    chosen = steps.rope_pairs(r, i, j)
    assert chosen == rope_reference(r, theta, "rope_pairs", i, j)
    for c in chosen:
        for which, s in (("Q", i), ("K", j)):
            got, ref = steps.rope_turn(r, which, s, c), rope_reference(r, theta, "rope_turn", which, s, c)
            np.testing.assert_allclose(got.raw, ref.raw, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(got.turned, ref.turned, rtol=1e-9, atol=1e-12)
            assert (got.position, got.frequency, got.angle) == pytest.approx((ref.position, ref.frequency, ref.angle))
            assert np.linalg.norm(got.turned) == pytest.approx(np.linalg.norm(got.raw))  # turned, not stretched
        got, ref = steps.rope_term(r, i, j, c), rope_reference(r, theta, "rope_term", i, j, c)
        assert (got.before, got.after) == pytest.approx((ref.before, ref.after), rel=1e-9, abs=1e-12)
    shifted, ref = steps.rope_shifts(r, i, j), rope_reference(r, theta, "rope_shifts", i, j)
    assert list(shifted.positions) == ref.positions and list(shifted.distances) == ref.distances
    np.testing.assert_allclose(shifted.scores, ref.scores, rtol=1e-8, atol=1e-9)
    assert shifted.scores[0] == pytest.approx(r.scores[i, j], rel=1e-9)  # where they are: the head's own score
    assert shifted.scores[1] == pytest.approx(shifted.scores[0], rel=1e-8) == pytest.approx(shifted.scores[2], rel=1e-6)
    assert abs(shifted.scores[-1] - shifted.scores[0]) > 1e-6  # another distance, another score


@live
@pytest.mark.parametrize("kind", ["llama", "qwen2"])
def test_the_next_step_equals_transformers(tiny, layers, kind):
    """attncore.generation.next_step: the next token and its probabilities (transformers' logits on the
    sentence), and the shown head's row for that token fed back in (transformers on sentence + token):
    its q, k and v, its weights; its scores by loops against the cached K (the sentence's own, unchanged)
    and its own k."""
    path = tiny(kind)["folder"]
    computed = layers(kind)
    h = HEAD[kind]
    r = computed.heads[h]
    nxt = r.next
    assert all(other.next is None for n, other in enumerate(computed.heads) if n != h)  # only the followed head's
    m = M.load_model(str(path))
    _, ids = M.encode(m, SENTENCE)
    ids = [int(i) for i in ids]
    logits = transformers_run(path, ids)["logits"]
    best = list(np.argsort(-logits, kind="stable")[:3])
    assert list(nxt.ids) == best and nxt.vocabulary == logits.size
    e = np.exp(logits - logits.max())
    np.testing.assert_allclose(nxt.probabilities, e[best] / e.sum(), rtol=1e-5, atol=1e-7)
    assert nxt.token == M.shown_byte_piece(tiny(kind)["tok"].id_to_token(int(best[0])))
    S = len(ids)
    assert nxt.position == S and nxt.cache_rows == S + 1
    longer = transformers_run(path, ids + [int(best[0])])[LAYER]
    H, G = CONFIGS[kind]["num_attention_heads"], CONFIGS[kind]["num_key_value_heads"]
    g = h // (H // G)
    np.testing.assert_allclose(nxt.q, longer["q"][h][S], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(nxt.k, longer["k"][g][S], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(nxt.v, longer["v"][g][S], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(nxt.weights, longer["weights"][h][S], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(r.K, longer["k"][g][:S], rtol=1e-5, atol=1e-5)  # the cache: the sentence's K, unchanged
    keys = [*r.K.tolist(), nxt.k.tolist()]
    for j in range(S + 1):
        assert nxt.scores[j] == pytest.approx(dot(nxt.q.tolist(), keys[j]), rel=1e-9, abs=1e-9)
        assert nxt.scaled[j] == pytest.approx(nxt.scores[j] / math.sqrt(r.d_k), rel=1e-12)
    assert sum(nxt.weights) == pytest.approx(1.0)
    assert nxt.strongest == int(np.argmax(longer["weights"][h][S]))


# ---- the stages -------------------------------------------------------------------------------------

def next_reference(r, source, want: dict):
    """A number of r.next (attncore.steps.next_step), from transformers' numbers (`want`)."""
    field, index = source.field, source.index
    S = r.n_tokens
    values = {"vocabulary": want["vocabulary"], "position": S, "cache_rows": S + 1, "probabilities": want["probabilities"],
              "q": want["q"], "k": want["k"], "v": want["v"], "weights": want["weights"], "scores": want["scores"]}
    value = values[field]
    for n in index:
        value = value[n]
    return value


def attncore_value(r, source):
    """What attncore gives for a number shown with `source`: a field of the result, or of a step."""
    if not source.step:
        return expected_value(r, source)
    name, *args = source.step
    value = getattr(steps, name)(r, *args)
    value = getattr(value, source.field) if source.field else value
    for n in source.index:
        value = value[n]
    return value


def transformers_numbers(tiny, kind, r) -> dict:
    """The step of generation as transformers computes it: what next_reference reads."""
    path = tiny(kind)["folder"]
    m = M.load_model(str(path))
    ids = [int(i) for i in M.encode(m, SENTENCE)[1]]
    logits = transformers_run(path, ids)["logits"]
    best = list(np.argsort(-logits, kind="stable")[:3])
    e = np.exp(logits - logits.max())
    longer = transformers_run(path, ids + [int(best[0])])[LAYER]
    H, G = CONFIGS[kind]["num_attention_heads"], CONFIGS[kind]["num_key_value_heads"]
    h = r.head
    g = h // (H // G)
    S = len(ids)
    q = longer["q"][h][S]
    keys = longer["k"][g]
    return {"vocabulary": logits.size, "probabilities": e[best] / e.sum(), "q": q, "k": keys[S], "v": longer["v"][g][S],
            "weights": longer["weights"][h][S], "scores": [dot(q, keys[j]) for j in range(S + 1)], "keys": keys[:S + 1],
            "logits": logits}


def next_scale(r, source, want: dict) -> float:
    """The size transformers' float32 number at `source` (r.next) is good to: a vector's largest entry; a score's
    Σ_c |q_c k_jc|; a weight (a probability) its own size times its row's largest logit-sized sum."""
    field, index = source.field, source.index
    q, keys = np.abs(np.asarray(want["q"])), np.abs(np.asarray(want["keys"]))
    sums = keys @ q  # Σ_c |q_c k_jc| for every cached key and the new one
    if field in ("q", "k", "v"):
        return float(np.abs(np.asarray(want[field])).max())
    if field == "scores":
        return float(sums[index[0]])
    if field == "weights":
        return float(want["weights"][index[0]]) * float(sums.max()) / math.sqrt(r.d_k)
    if field == "probabilities":
        return float(want["probabilities"][index[0]]) * float(np.abs(want["logits"]).max())
    return abs(float(next_reference(r, source, want)))  # counts: exact


def result_reference(tiny, kind, r) -> dict:
    """The followed head's fields as transformers computes them (the layer's q and k after RoPE, v, the weights;
    the scores and scaled scores from its q and k), each with the size its float32 entries are good to."""
    path = tiny(kind)["folder"]
    m = M.load_model(str(path))
    layer = transformers_run(path, [int(i) for i in M.encode(m, SENTENCE)[1]])[LAYER]
    H, G = CONFIGS[kind]["num_attention_heads"], CONFIGS[kind]["num_key_value_heads"]
    h = r.head
    g = h // (H // G)
    q, k, v = layer["q"][h], layer["k"][g], layer["v"][g]
    sums = np.abs(q) @ np.abs(k).T
    rows = lambda a: np.broadcast_to(np.abs(a).max(axis=1, keepdims=True), a.shape)
    weights = layer["weights"][h]
    return {"d_k": (CONFIGS[kind]["hidden_size"] // H, 0), "n_tokens": (len(q), 0),  # from the config, the ids
            "Q": (q, rows(q)), "K": (k, rows(k)), "V": (v, rows(v)), "scores": (q @ k.T, sums),
            "scaled": (q @ k.T / math.sqrt(r.d_k), sums / math.sqrt(r.d_k)),
            "weights": (weights, weights * sums.max(axis=1, keepdims=True) / math.sqrt(r.d_k)),
            # Σ_j p_j v_j: each v_j's error, and each weight's (its row's Σ|q k| / √d_k of it) times the largest |v|
            "output": (weights @ v, np.abs(v).max() * (1 + sums.max(axis=1, keepdims=True) / math.sqrt(r.d_k))
                       * np.ones((1, v.shape[1]))),
            "X": (layer["X"], rows(layer["X"]))}


@pytest.fixture(scope="module")
def played(layers):
    made = {}

    def get(kind: str, language: str):
        if (kind, language) not in made:
            computed = layers(kind)
            made[kind, language] = run_scene(computed, ["rope", "kv-cache"], focus=FOCUS, language=language,
                                             snapshots=True, head=HEAD[kind])
        return made[kind, language]

    return get


@live
@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("kind", ["llama", "qwen2"])
def test_ropes_position_times_theta_holds_as_shown_or_says_approximately(played, kind, language):
    """Issue 36: each pair's turn "q: m × θᵢ = angle" (θᵢ shown to two significant digits), on screen and in the
    narration, holds as shown or carries "≈" (the walker of tests/test_equations.py, its own arithmetic)."""
    from test_equations import wrong_equations

    run = played(kind, language)
    turns = [e for e in run.scene.log.equations if e.stage == "rope" and e.operation == "product"]
    assert len(turns) >= 4  # two panels at least, q and k each
    assert not wrong_equations(run.scene.log)
    drawn = {t[0] for s in run.snapshots if s.stage == "rope" for t in s.texts}
    assert {e.sign for e in turns} <= drawn


@live
@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("kind", ["llama", "qwen2"])
def test_every_number_of_the_decoder_stages_is_attncores(tiny, layers, played, kind, language):
    """Every number on screen and in the narration of the rope and kv-cache stages is attncore's value as
    formatted; each of those values equals explicit loops (RoPE) or transformers (the next token)."""
    run = played(kind, language)
    r = run.scene.ctx.result
    assert r.next is not None  # computed once, when the stage was asked for (View.resolve)
    theta = CONFIGS[kind]["rope_theta"]
    want = transformers_numbers(tiny, kind, r)
    fields = result_reference(tiny, kind, r)
    shown = [s for s in run.scene.log.shown if s.stage in ("rope", "kv-cache")]
    said = [(cue, n) for cue in run.scene.log.cues for n in cue.numbers]
    assert {s.stage for s in shown} == {"rope", "kv-cache"} and len(shown) > 40
    checked = {"next": 0, "rope": 0, "field": 0}
    for s in [*shown, *(n for _, n in said)]:
        value = attncore_value(r, s.source)
        assert s.text == FORMATS[s.source.format](float(value)), s.source
        if s.source.step[:1] == ("next_step",):
            ref, scale = next_reference(r, s.source, want), next_scale(r, s.source, want)
            checked["next"] += 1
        elif s.source.step:
            name, *args = s.source.step
            ref = rope_reference(r, theta, name, *args)
            ref = getattr(ref, s.source.field) if s.source.field else ref
            for n in s.source.index:
                ref = ref[n]
            scale = abs(float(ref))  # loops in float64 over the result's own inputs
            checked["rope"] += 1
        else:  # a field of the result: transformers' own (Q and K after RoPE, V, the scores, the weights)
            assert s.source.field in fields, s.source
            ref, scale = fields[s.source.field]
            for n in s.source.index:
                ref, scale = ref[n], scale[n]
            checked["field"] += 1
        bound = 64 * np.finfo(np.float32).eps * float(scale) + 1e-30
        assert abs(float(value) - float(ref)) <= bound, (s.source, float(value), float(ref), bound)
    assert checked["next"] >= 5 and checked["rope"] >= 20 and checked["field"] >= 5, checked
    for cue, n in said:
        assert n.text in cue.text
    import re

    for cue in run.scene.log.cues:  # no decimal number said without its source
        quoted = {n.text for n in cue.numbers}
        stray = [x for x in re.findall(r"−?\d+\.\d+(?:e[−+]\d+)?%?", cue.text) if x not in quoted]
        assert not stray, (cue.text, stray)


@live
@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("kind", ["llama", "qwen2"])
def test_the_decoder_stages_are_readable(played, kind, language):
    """After every animation step: texts inside the frame, none overlapping, none below 16 pt; each stage has
    a moment to stop and talk, a key still, and narration for every beat."""
    run = played(kind, language)
    assert_readable_layout(run)
    cues = run.scene.log.cues
    for stage in ("rope", "kv-cache"):
        assert any(c.pause for c in cues if c.stage == stage), stage
        assert len([c for c in cues if c.stage == stage]) >= 4, stage


@live
@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_decoder_stages_never_stand_still_for_long(layers, language):
    """Played with a voice's timing (tests/test_pacing.py), no stretch of the rope and kv-cache stages keeps
    the picture unchanged for more than 8 seconds."""
    from test_pacing import MAX_STILL, Voice, timeline_of

    timeline = timeline_of(lambda: run_scene(layers("qwen2"), ["rope", "kv-cache"], focus=FOCUS, language=language,
                                             speech=Voice(), head=HEAD["qwen2"]))
    long = [(stage, k, round(start, 1), round(seconds, 1)) for start, seconds, stage, k in timeline.stills()
            if seconds > MAX_STILL and stage != "title"]
    assert not long, long


@live
def test_rope_and_the_kv_cache_are_in_the_default_stages_of_a_decoder_only(tiny):
    """A RoPE head's whole video has the rope stage (before the scores) and, its model predicting next tokens,
    the kv-cache stage (after the heads); GPT-2 (learned positions) the kv-cache only; the toy numbers, causal
    or not, and an encoder neither. Asking for them where they cannot be shown is one line naming the stage."""
    llama = attncore.run(SENTENCE, model=str(tiny("llama")["q8_0"]), layer=LAYER, head=0)
    stages = View.resolve(replace(llama, next=object()), focus=FOCUS).stages  # (a step given: nothing computed)
    assert stages.index("projection") < stages.index("rope") < stages.index("scores") and "kv-cache" in stages
    several = attncore.run(SENTENCE, model=str(tiny("qwen2")["folder"]), layer=LAYER, heads=8)
    assert default_stages(True, rope=True, generating=True, model=True)[-3:] == ("heads", "kv-cache", "summary")
    assert can_generate(several.heads[0]) and several.heads[0].rope is not None
    from pathlib import Path

    gpt2 = attncore.run("it was tired", model=str(Path(__file__).parent / "data" / "tiny-gpt2"), layer=1, head=0)
    assert gpt2.rope is None and can_generate(gpt2)
    assert "rope" not in View.resolve(replace(gpt2, next=object())).stages
    toy = attncore.run("I have a cat", causal=True)
    assert not can_generate(toy) and toy.rope is None
    assert View.resolve(toy).stages == default_stages(False)
    for stage, words in (("rope", "stage: 'rope' shows rotary positions"), ("kv-cache", "stage: 'kv-cache' generates")):
        with pytest.raises(InputError, match=words):
            View.resolve(toy, stages=[stage])


def test_an_encoder_has_neither_decoder_stage():
    from conftest import need_model

    need_model("minilm")
    bert = attncore.run("The animal didn't cross the street", model="minilm", layer=5, head=11)
    assert bert.rope is None and not can_generate(bert)
    stages = View.resolve(bert).stages
    assert "rope" not in stages and "kv-cache" not in stages


@live
def test_the_projection_shows_q_and_k_before_rope(tiny):
    """Under "Q = X·W_Q + b_Q" the projection stage shows X W + b, before RoPE turns it: r.rope.Q_raw and
    K_raw (the rope stage turns them next); python -m attncore's Q and K tables likewise, the turned ones
    after them."""
    from attncore.__main__ import report

    r = attncore.run(SENTENCE, model=str(tiny("qwen2")["folder"]), layer=LAYER, head=HEAD["qwen2"])
    run = run_scene(r, ["projection"], focus=FOCUS)
    shown = [s.source for s in run.scene.log.shown]
    made = [n for n, s in enumerate(shown) if s.step == ("rope",)]
    turned = [n for n, s in enumerate(shown) if s.field in ("Q", "K") and not s.step]
    assert made and turned and max(made) < min(turned)  # the turned ones only in the handoff, the Q, K and V picture
    made = [shown[n] for n in made]
    assert {s.field for s in made} == {"Q_raw", "K_raw"}
    for s in made:
        assert attncore_value(r, s) == getattr(r.rope, s.field)[s.index]
    text = report(r)
    q_table = text.split("Q = X W_Q + b_Q")[1].split("\n\n")[0]
    turned = text.split("Q after RoPE")[1].split("\n\n")[0]
    assert fmt(r.rope.Q_raw[3, 0]) in q_table.splitlines()[5] and fmt(r.Q[3, 0]) in turned.splitlines()[5]


@live
def test_a_quantized_file_says_so(tiny):
    """A result from a quantized GGUF file records its formats (attncore.quantization), and the title, its
    narration and the handout say that the numbers are that file's; not for an F32 file or a folder."""
    from scenes.context import Ctx
    from scenes.outputs.blocks import intro_blocks

    q8 = attncore.run(SENTENCE, model=str(tiny("llama")["q8_0"]), layer=LAYER, head=1)
    q = q8.quantization
    assert (q.file_type, q.types, q.low, q.high, q.layer, q.mixed) == ("Q8_0", ("Q8_0",), 8, 8, ("Q8_0",) * 3, False)
    assert q8.to_dict()["quantization"]["file_type"] == "Q8_0"
    for source in ("f32", "folder"):
        assert attncore.run(SENTENCE, model=str(tiny("llama")[source]), layer=LAYER, head=1).quantization is None
    for language, words in (("en", "8-bit weights (Q8_0)"), ("zh", "权重 8 位（Q8_0 量化）")):
        run = run_scene(q8, ["title"], language=language, snapshots=True)
        assert any(words.replace(" ", "") in t for snap in run.snapshots for t, *_ in snap.texts), language  # (Text drops spaces)
        assert any("Q8_0" in c.text for c in run.scene.log.cues), language
        assert_readable_layout(run)
        handout = [text for kind, text in intro_blocks(Ctx(q8, 0, language=language)) if kind == "p"]
        assert any("Q8_0" in t for t in handout), language


@live
def test_the_summary_names_q_and_k_turned_by_rope_and_says_why_order_counts(tiny, monkeypatch):
    """The summary's q and k rows are the turned ones (as the scores use them: X W + b, then turned by the
    token's position, by explicit loops), so their names say RoPE: Q = RoPE(X·W_Q + b_Q), typeset; and the
    word-order lesson credits RoPE, not position embeddings (a RoPE model adds none to its input)."""
    import scenes.formulas as formulas

    typeset = []
    real = formulas.formula
    monkeypatch.setattr(formulas, "formula", lambda ctx, latex, *a, **k: typeset.append(latex) or real(ctx, latex, *a, **k))
    r = attncore.run(SENTENCE, model=str(tiny("qwen2")["folder"]), layer=LAYER, head=HEAD["qwen2"])
    run = run_scene(r, ["summary"], focus=FOCUS)
    assert r"Q = \mathrm{RoPE}(XW_Q + b_Q)" in typeset and r"K = \mathrm{RoPE}(XW_K + b_K)" in typeset
    assert "Q = XW_Q + b_Q" not in typeset and r"V = XW_V + b_V" in typeset  # V is not turned
    i = attncore.resolve_focus(r, FOCUS)
    differs = False
    for which in "QK":
        raw = raw_loops(r, which)[i]
        want = turned_loops(raw, i, r.rope.theta)
        shown = [n for n in run.scene.log.shown if n.source.field == which and n.source.index[:1] == (i,)]
        assert shown, which
        for n in shown:
            c = n.source.index[1]
            assert abs(float(n.text.replace("\u2212", "-")) - want[c]) <= 0.005 + 1e-9, (which, c, n.text, want[c])
            differs |= abs(raw[c] - want[c]) > 0.01
    assert differs  # the turned numbers are not the raw ones: the check tells them apart
    # word order: nothing is added to a RoPE model's input; the turn (and the causal mask) tell it the order
    said = " ".join(c.text for c in run.scene.log.cues if c.stage == "summary")
    assert "RoPE turned each query and key by its token's position" in said and "position embeddings" not in said
