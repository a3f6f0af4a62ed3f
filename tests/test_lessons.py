"""What the video teaches around the computation (attncore.lessons and the beats that show it), each
checked against explicit loops: the shuffled sentence's row, with positional encoding the two orders'
rows, the residual of a real layer, the causal
mask's masked cells and default focus, and the toy's limit (one key wins every row)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from model_reference import TINY
from reference import (
    _dense_loops,
    _layer_norm_loops,
    attention_loops,
    gpt2_attended_loops,
    gpt2_loops,
    gpt2_stream_loops,
    positioned_loops,
    reordered_loops,
    shuffle_order_loops,
)
from scenetools import assert_readable_layout, expected_text, run_scene

import attncore
from attncore import lessons, pct
from scenes.strings import catalogue


def softmax_row_loops(X, W_Q, W_K, i, causal=False):
    """Row i of the attention weights, one multiply-add at a time (no biases: the toy numbers)."""
    S, d_model, d_k = len(X), len(X[0]), len(W_Q[0])
    q = [sum(X[i][m] * W_Q[m][c] for m in range(d_model)) for c in range(d_k)]
    keys = [[sum(X[j][m] * W_K[m][c] for m in range(d_model)) for c in range(d_k)] for j in range(S)]
    visible = [j for j in range(S) if not causal or j <= i]
    x = {j: sum(a * b for a, b in zip(q, keys[j])) / math.sqrt(d_k) for j in visible}
    top = max(x.values())
    e = {j: math.exp(v - top) for j, v in x.items()}
    total = sum(e.values())
    return [e[j] / total if j in e else 0.0 for j in range(S)]


# ---- word order --------------------------------------------------------------------------------------

@pytest.mark.parametrize("sentence, kw", [
    ("I have a cat", {}),
    ("The cat sat on the mat because it was tired", dict(d_model=6, d_k=3, seed=2)),
    ("我有一只猫，它很可爱。", {}),
])
def test_the_shuffled_sentence_gives_the_same_row_shuffled(sentence, kw):
    """Without positional encoding, the shuffled sentence's row for the followed token is its row in
    the sentence, reordered: both rows by explicit-loop softmax, the shuffled one from the embeddings
    taken in the new order."""
    r = attncore.run(sentence, **kw)
    W_Q, W_K = r.W_Q.tolist(), r.W_K.tolist()
    for i in range(r.n_tokens):
        s = lessons.shuffled(r, i)
        order = s.order
        assert sorted(order) == list(range(r.n_tokens)) and [r.tokens[k] for k in order] != list(r.tokens)
        assert s.tokens == tuple(r.tokens[k] for k in order) and order[s.focus] == i
        original = softmax_row_loops(r.embeddings.tolist(), W_Q, W_K, i)
        shuffled = softmax_row_loops([r.embeddings[k].tolist() for k in order], W_Q, W_K, s.focus)
        np.testing.assert_allclose(shuffled, [original[k] for k in order], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(s.row, shuffled, rtol=1e-12, atol=1e-15)


def test_shuffle_order_reverses_else_rotates_else_none():
    assert lessons.shuffle_order(["I", "have", "a", "cat"]) == (3, 2, 1, 0)
    assert lessons.shuffle_order(["a", "b", "a"]) == (1, 2, 0)  # reversed reads the same
    assert lessons.shuffle_order(["cat", "cat"]) is None and lessons.shuffle_order(["cat"]) is None
    assert lessons.shuffled(attncore.run("cat"), 0) is None


def test_positional_encoding_and_the_mask_make_order_count():
    """With positional encoding (the new positions' encoding added) or the causal mask, the shuffled
    row is no longer the row reordered: that is what the summary says instead of shuffling."""
    for kw in (dict(positional=True), dict(causal=True)):
        r = attncore.run("I have a cat", **kw)
        s = lessons.shuffled(r, 3)
        X = [[r.embeddings[k][c] + (r.positional_encoding[p][c] if r.positional else 0.0) for c in range(4)]
             for p, k in enumerate(s.order)]
        np.testing.assert_allclose(s.row, softmax_row_loops(X, r.W_Q.tolist(), r.W_K.tolist(), s.focus, r.causal),
                                   rtol=1e-12, atol=1e-15)
        assert not np.allclose(s.row, r.weights[3][list(s.order)], atol=1e-3), kw
    model = attncore.run("the cat", model=str(TINY["tiny-bert"]), layer=1)
    assert lessons.shuffled(model, 1) is None  # a model's X already holds positions and context


TOLD = [("I have a cat", "en"), ("我有一只猫", "zh"), ("我有一只猫，它很可爱。", "zh")]  # the summaries the tests render


@pytest.mark.parametrize("sentence, kw", [
    ("I have a cat", {}),
    ("The cat sat on the mat because it was tired", dict(d_model=6, d_k=3, seed=2)),
    ("我有一只猫，它很可爱。", {}),
    ("a b a", {}),  # reversed reads the same: the first token moved to the end
])
def test_positioned_rows_are_explicit_loops_with_positional_encoding(sentence, kw):
    """What positional encoding changes (attncore.lessons.positioned): the followed token's row in the
    sentence and in its other order, each with the sinusoid of its own positions added, equal the
    explicit-loop reference (its own sinusoid, tests/reference.positioned_loops); the sentence's row
    is what the toy run with positional encoding gives."""
    r = attncore.run(sentence, **kw)
    with_pe = attncore.run(sentence, positional=True, **kw)
    for i in range(r.n_tokens):
        p, loops = lessons.positioned(r, i), positioned_loops(r, i)
        assert p.shuffled.order == lessons.shuffled(r, i).order and p.sentence.order == tuple(range(r.n_tokens))
        assert p.sentence.result.positional and p.shuffled.result.positional
        np.testing.assert_allclose(p.sentence.row, loops.sentence, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(p.shuffled.row, loops.shuffled, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(p.sentence.row, with_pe.weights[i], rtol=1e-12, atol=1e-15)


def test_positioned_is_only_for_the_toy_without_positional_encoding():
    assert lessons.positioned(attncore.run("I have a cat", positional=True), 3) is None  # its own rows show that
    assert lessons.positioned(attncore.run("cat"), 0) is None  # no other order
    assert lessons.positioned(attncore.run("the cat", model=str(TINY["tiny-bert"]), layer=1), 1) is None


def test_same_numbers_compares_rows_as_shown_in_any_order():
    assert lessons.same_numbers([0.1, 0.9], [0.9, 0.1], pct)
    assert lessons.same_numbers([0.12341, 0.87659], [0.8766, 0.1234], pct)  # alike to the digits shown
    assert not lessons.same_numbers([0.1, 0.9], [0.2, 0.8], pct)
    assert not lessons.same_numbers([0.5, 0.5], [0.5, 0.499], pct)  # 50.0% against 49.9%


@pytest.mark.parametrize("sentence, language", TOLD)
def test_the_summary_shows_positional_encoding_change_the_numbers(sentence, language):
    """The word-order beat's claim, for the sentences the tests render: without positional encoding
    the two orders' rows are the same numbers reordered (as shown); with it they are other numbers;
    the caption and the narration name the strongest key and its share in either order, from the
    explicit loops (never attncore's own rows)."""
    r = attncore.run(sentence)
    run = run_scene(r, ["summary"], language=language)
    i = run.scene.ctx.focus
    order = shuffle_order_loops(r.tokens)
    plain = reordered_loops(r, i, list(range(r.n_tokens)), False).weights
    assert sorted(map(pct, plain)) == sorted(map(pct, reordered_loops(r, i, order, False).weights))
    loops = positioned_loops(r, i)
    assert sorted(map(pct, loops.sentence)) != sorted(map(pct, loops.shuffled))
    cues = [c for c in run.scene.log.cues if any(n.source.step == ("positioned", i) for n in c.numbers)]
    assert len(cues) == 1, [c.text for c in run.scene.log.cues]
    key = max(range(r.n_tokens), key=lambda j: (loops.sentence[j], -j))
    other = max(range(r.n_tokens), key=lambda k: (loops.shuffled[k], -k))
    for said in (cues[0].text, cues[0].caption):
        assert f"“{r.tokens[key]}”" in said and pct(loops.sentence[key]) in said, said
        assert f"“{r.tokens[order[other]]}”" in said and pct(loops.shuffled[other]) in said, said
        assert said.index(pct(loops.sentence[key])) < said.index(pct(loops.shuffled[other])), said
    shown = [s.source for s in run.scene.log.shown if s.source.step == ("positioned", i)]
    rows = {f: sorted({s.index for s in shown if s.field == f}) for f in ("sentence", "shuffled")}
    assert (key,) in rows["sentence"] and (other,) in rows["shuffled"]  # the keys said are shown, even elided
    assert len(rows["sentence"]) == len(rows["shuffled"]) == min(r.n_tokens, 9)  # 10 slots, one a "…" when elided


def test_rows_alike_even_with_positions_are_not_called_changed(monkeypatch):
    """Should the two orders' rows with positional encoding be alike to the digits shown, the beat says
    in words what positional encoding is and shows no with-encoding number."""
    monkeypatch.setattr(lessons, "same_numbers", lambda a, b, show: True)
    run = run_scene(attncore.run("I have a cat"), ["summary"], snapshots=True)
    assert not any(s.source.step[:1] == ("positioned",) for s in run.scene.log.shown)
    assert any("positional encoding adds" in c.caption for c in run.scene.log.cues)
    assert_readable_layout(run)


def test_word_orders_long_rows_set_every_token_at_one_size_legibly():
    """A long toy sentence's word-order rows (ten tokens, four rows of weights): every token label at
    one size ("because" no smaller than its neighbours), texts inside the frame, none overlapping,
    none below 16 pt."""
    r = attncore.run("The cat sat on the mat because it was tired", d_model=6, d_k=3, seed=2)
    run = run_scene(r, ["summary"], snapshots=True)
    words = {"because", "was", "sat", "on", "mat", "it"}
    panels = [snap for snap in run.snapshots  # the two orders' rows on screen (manim's Text.text drops spaces)
              if any("wasitbecausemat" in t.replace(" ", "") for t, *_ in snap.texts)]
    assert panels
    for snap in panels:
        sizes = {round(size, 1) for t, size, *_ in snap.texts if t in words}
        assert len(sizes) == 1, sizes
    assert_readable_layout(run)


# ---- the residual ------------------------------------------------------------------------------------

def bert_loops(folder, sentence, layer):
    """A BERT folder by explicit loops from its raw tensors: (X_layer, its attention output rows
    concat_h(A_h V_h) W_O + b_O). Embeddings: word + position + token type 0, layer-normalised; each
    layer before: y = LN(x + attention), x = LN(y + W_2 gelu(W_1 y)). torch's Linear stores (out, in)."""
    import json

    from tokenizers import Tokenizer

    from attncore.checkpoint import read_safetensors

    config = json.loads((folder / "config.json").read_text())
    w = {k.removeprefix("bert."): v.astype(float).tolist() for k, v in read_safetensors(folder / "model.safetensors").items()}
    d, H, eps = config["hidden_size"], config["num_attention_heads"], config["layer_norm_eps"]
    dh = d // H
    ids = Tokenizer.from_file(str(folder / "tokenizer.json")).encode(sentence).ids
    S = len(ids)
    T = lambda M: [list(col) for col in zip(*M)]  # (out, in) -> (in, out)
    e = lambda name: w[f"embeddings.{name}"]
    x = [_layer_norm_loops([e("word_embeddings.weight")[t][c] + e("position_embeddings.weight")[p][c]
                            + e("token_type_embeddings.weight")[0][c] for c in range(d)],
                           e("LayerNorm.weight"), e("LayerNorm.bias"), eps) for p, t in enumerate(ids)]
    gelu = lambda v: 0.5 * v * (1 + math.erf(v / math.sqrt(2)))

    def attended(x, n):
        p = f"encoder.layer.{n}.attention."
        q, k, v = (_dense_loops(x, T(w[p + f"self.{m}.weight"]), w[p + f"self.{m}.bias"]) for m in ("query", "key", "value"))
        context = [[0.0] * d for _ in range(S)]
        for a in range(H):
            for i in range(S):
                scores = [sum(q[i][a * dh + c] * k[j][a * dh + c] for c in range(dh)) / math.sqrt(dh) for j in range(S)]
                top = max(scores)
                ex = [math.exp(s - top) for s in scores]
                for c in range(dh):
                    context[i][a * dh + c] = sum(ex[j] / sum(ex) * v[j][a * dh + c] for j in range(S))
        return _dense_loops(context, T(w[p + "output.dense.weight"]), w[p + "output.dense.bias"])

    for n in range(layer):
        p = f"encoder.layer.{n}."
        out = attended(x, n)
        y = [_layer_norm_loops([a + b for a, b in zip(x[i], out[i])], w[p + "attention.output.LayerNorm.weight"],
                               w[p + "attention.output.LayerNorm.bias"], eps) for i in range(S)]
        f = [[gelu(v) for v in row] for row in _dense_loops(y, T(w[p + "intermediate.dense.weight"]),
                                                             w[p + "intermediate.dense.bias"])]
        f = _dense_loops(f, T(w[p + "output.dense.weight"]), w[p + "output.dense.bias"])
        x = [_layer_norm_loops([a + b for a, b in zip(y[i], f[i])], w[p + "output.LayerNorm.weight"],
                               w[p + "output.LayerNorm.bias"], eps) for i in range(S)]
    return x, attended(x, layer)


@pytest.mark.parametrize("kind, sentence", [("tiny-gpt2", "the cat sat on the mat because it was tired"),
                                            ("tiny-bert", "the cat sat on the mat because it was tired")])
def test_the_residual_of_a_real_layer_by_explicit_loops(kind, sentence):
    """x + z·W_O for every token of layer 1 of the tiny GPT-2 and BERT: x is the vector entering the
    layer (for the pre-norm GPT-2, before its layer norm, not the heads' X), a the heads' joined
    output times W_O plus b_O, and the sum; all from the raw tensors by loops."""
    heads = attncore.run(sentence, model=str(TINY[kind]), layer=1, heads=4)
    if kind == "tiny-gpt2":
        config, w, _ = gpt2_loops(TINY[kind])
        x = gpt2_stream_loops(TINY[kind], sentence, 1)
        a = gpt2_attended_loops(config, w, x, 1)
        assert not np.allclose(heads.heads[0].X, x)  # the heads see ln_1(x)
    else:
        x, a = bert_loops(TINY[kind], sentence, 1)
    for i in range(len(x)):
        res = lessons.residual(heads, i)
        np.testing.assert_allclose(res.x, x[i], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(res.attended, a[i], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(res.total, [p + q for p, q in zip(x[i], a[i])], rtol=1e-9, atol=1e-9)


def test_two_folders_of_one_name_are_two_models(tmp_path):
    """A result finds its own model again, never another folder's of the same name (loaded once each, in either
    order): the memo is keyed on the folder the model was read from, not on its name."""
    import shutil

    from attncore.alike import run_alike

    folders = {kind: tmp_path / kind / "tiny" for kind in ("gpt2", "bert")}  # one name, two parents
    for kind, folder in folders.items():
        shutil.copytree(TINY[f"tiny-{kind}"], folder)
    results = {kind: attncore.run("the cat sat", model=str(folder), layer=1, head=0) for kind, folder in folders.items()}
    assert {r.model for r in results.values()} == {"tiny"}  # the same name on screen
    for kind, result in results.items():
        found = attncore.model.loaded(result)
        assert found is attncore.model.load_model(str(folders[kind])) and found.architecture == kind
        again = run_alike(result, "the dog sat")  # --contrast's sentence, computed by the result's own model
        assert again.architecture == kind and again.model_origin == str(folders[kind].resolve())
        assert again.W_Q.shape == result.W_Q.shape and np.array_equal(again.W_Q, result.W_Q)


def test_a_model_is_found_again_by_its_name_and_the_toy_heads_add_to_x():
    heads = attncore.run("the cat", model=str(TINY["tiny-gpt2"]), layer=1, heads=4)
    assert attncore.model.loaded(heads.heads[0]) is attncore.model.load_model(str(TINY["tiny-gpt2"]))
    assert attncore.model.loaded(heads.heads[0].model) is not None  # by its name alone (a result read from JSON)
    assert attncore.model.loaded("no such model") is None
    toy = attncore.run("I have a cat", heads=2)
    res = lessons.residual(toy, 3)
    concat = [v for h in toy.heads for v in attention_loops(h.X.tolist(), h.W_Q.tolist(), h.W_K.tolist(),
                                                             h.W_V.tolist())[2][3]]
    a = [sum(concat[m] * toy.W_O[m, c] for m in range(4)) for c in range(4)]
    np.testing.assert_allclose(res.x, [0.6, 0.9, 0.8, 0.3])
    np.testing.assert_allclose(res.attended, a, rtol=1e-12)


@pytest.mark.parametrize("sentence, kw", [("I have a cat", {}), ("我有一只猫", {}),
                                          ("the cat sat", dict(d_model=6, d_k=3, causal=True, positional=True)),
                                          ("the cat sat", dict(d_model=4, d_k=6))])
def test_the_toy_single_head_adds_z_times_an_identity_w_o_to_x(sentence, kw):
    """The toy's one head: a = z·W_O with W_O the identity (d_v x d_model, 1 where row = column), so a is z
    padded with zeros to d_model (or cut to it); x + a entry by entry. z by explicit loops from X and the weights.
    The summary's caption says which: the identity, padded with zeros, or cut."""
    r = attncore.run(sentence, **kw)
    model_head = attncore.run("the cat", model=str(TINY["tiny-gpt2"]), layer=1, head=0)
    assert lessons.residual(model_head, 0) is None  # a model's single head: its W_O needs the layer's heads
    Z = attention_loops(r.X.tolist(), r.W_Q.tolist(), r.W_K.tolist(), r.W_V.tolist(), causal=r.causal)[2]
    for i in range(r.n_tokens):
        res = lessons.residual(r, i)
        a = [Z[i][c] if c < r.d_v else 0.0 for c in range(r.d_model)]
        np.testing.assert_allclose(res.x, r.X[i].tolist(), rtol=1e-12)
        np.testing.assert_allclose(res.attended, a, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(res.total, [p + q for p, q in zip(r.X[i].tolist(), a)], rtol=1e-12, atol=1e-15)
    run = run_scene(r, ["summary"])
    said = {c.caption for c in run.scene.log.cues if c.stage == "summary"}
    key = "summary.identity" if r.d_v == r.d_model else "summary.identity_pad" if r.d_v < r.d_model else "summary.identity_cut"
    assert catalogue("en")[key].format(dv=r.d_v, d=r.d_model) in said, said


# ---- the causal mask -----------------------------------------------------------------------------------

@pytest.mark.parametrize("sentence, kw", [("The cat sat on the mat", dict(causal=True)),
                                          ("the cat sat on the mat", dict(model=str(TINY["tiny-gpt2"]), layer=1))])
def test_causal_default_focus_masks_cells_and_the_softmax_says_how_many(sentence, kw):
    """A causal result's default focus is a middle token, not the last: its row has masked cells, and
    the softmax stage says their real number (counted here by loop), with a checkable source."""
    r = attncore.run(sentence, **kw)
    i = attncore.resolve_focus(r, None)
    S = r.n_tokens
    assert 0 < i < S - 1 and abs(i - (S - 1) / 2) <= 1
    masked = sum(1 for j in range(S) if j > i)
    assert masked > 0 and lessons.masked_cells(r, i) == masked
    assert lessons.masked_cells(r, S - 1) == 0
    run = run_scene(r, ["scores", "softmax"], snapshots=True)
    cues = [c for c in run.scene.log.cues if c.stage == "softmax" and any(n.source.step == ("masked_cells", i)
                                                                         for n in c.numbers)]
    assert len(cues) == 1 and f"masks {masked} cells" in cues[0].text and f"“{r.tokens[i]}”" in cues[0].text
    for s in run.scene.log.shown:
        assert s.text == expected_text(r, s.source), s.source
    assert_readable_layout(run)


def test_without_causal_attention_nothing_is_said_about_masking():
    r = attncore.run("I have a cat")
    assert all(lessons.masked_cells(r, i) == 0 for i in range(r.n_tokens))
    run = run_scene(r, ["scores", "softmax"])
    assert not any("masks" in c.text for c in run.scene.log.cues)


# ---- the toy's limit, and the summary's lessons ----------------------------------------------------------

def test_the_toy_limits_beat_quotes_every_rows_top_key_and_share():
    """The seed's numbers are all positive: every row's strongest key is "cat" (argmax by explicit
    loops), and the beat quotes each row's share of it, in order, with sources checkable here."""
    r = attncore.run()
    weights = attention_loops(r.X.tolist(), r.W_Q.tolist(), r.W_K.tolist(), r.W_V.tolist())[1]
    tops = [max(range(4), key=lambda j: weights[i][j]) for i in range(4)]
    assert [r.tokens[t] for t in tops] == ["cat"] * 4 and lessons.shared_top(r) == 3 and lessons.all_positive(r)
    run = run_scene(r, ["summary"], snapshots=True)
    cue = next(c for c in run.scene.log.cues if "favours" in c.text)
    assert "“cat”" in cue.text and "all-positive" in cue.text
    assert [n.text for n in cue.numbers] == [pct(weights[i][tops[i]]) for i in range(4)] == \
        ["41.3%", "46.1%", "37.2%", "58.8%"]
    assert [n.source.index for n in cue.numbers] == [(i, 3) for i in range(4)]
    said = " ".join(c.text for c in run.scene.log.cues)
    shown = {t for snap in run.snapshots for t, *_ in snap.texts}
    # no command, and no trained head named without its numbers: the trained stage after the summary shows one
    # (tests/test_trained.py)
    assert "--" not in said and "MiniLM" not in said and not any("--" in t or "MiniLM" in t for t in shown)


def test_mixed_top_keys_are_not_called_one_winner():
    r = attncore.run("The cat sat on the mat because it was tired", d_model=6, d_k=3, seed=2)
    assert lessons.shared_top(r) is None and not lessons.all_positive(r)
    run = run_scene(r, ["summary"])
    assert any("made-up toy numbers" in c.text for c in run.scene.log.cues)


@pytest.mark.parametrize("name, sentence, kw, language, view", [
    ("default", "I have a cat", {}, "en", {}),
    ("causal", "The cat sat on the mat", dict(causal=True), "en", {}),
    ("positional", "I have a cat", dict(positional=True), "en", {}),
    ("chinese", "我有一只猫，它很可爱。", {}, "zh", {}),
    ("gpt2", "我有一只猫 because it was tired", dict(model=str(TINY["tiny-gpt2"]), layer=1, heads=4), "en", dict(head=2)),
    ("toy heads", "I have a cat", dict(heads=2), "pseudo", dict(head=1)),
])
def test_summary_lessons_show_and_say_attncores_numbers_legibly(name, sentence, kw, language, view):
    """Every number the summary shows or says (the path, the residual, the shuffled row, the toy's
    limit) equals the explicit-loop reference of its source; texts inside the frame, none overlapping,
    none below 16 pt; each new beat short."""
    computed = attncore.run(sentence, **kw)
    run = run_scene(computed, ["summary"], snapshots=True, language=language, **view)
    result, heads = run.scene.ctx.result, run.scene.ctx.heads
    for s in run.scene.log.shown:
        assert s.text == expected_text(result, s.source, heads), s.source
    for cue in run.scene.log.cues:
        for n in cue.numbers:
            assert n.text == expected_text(result, n.source, heads) and n.text in cue.text, (cue.text, n.source)
        if cue.text and not cue.text.startswith(("The whole path", "In one line", "完整的路径", "一句话概括", "⟦")):
            assert cue.end - cue.start <= 8.5, cue.text
    assert_readable_layout(run)
    steps = {s.source.step[:1] for s in run.scene.log.shown}
    assert ("residual",) in steps  # z·W_O added to x: a layer's heads, or the toy's one head (W_O the identity)
    assert (("shuffled",) in steps) == (name in ("default", "chinese", "toy heads"))
    assert (("positioned",) in steps) == (name in ("default", "chinese", "toy heads"))
