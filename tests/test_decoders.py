"""Today's decoders in attncore (llama, Qwen2): RoPE, grouped-query attention, and GGUF files.

Tiny randomly initialised llama and Qwen2 models are built here with transformers' config classes and
saved three ways: a Hugging Face folder (config.json, model.safetensors, a byte-level BPE tokenizer.json)
and two GGUF files written with gguf's GGUFWriter (F32, and Q8_0 for the matrices), Q and K rows
permuted for llama as llama.cpp's convert_hf_to_gguf does. Each is checked against transformers (eager
attention, its own GGUF loader for the GGUF files): the shown head's weights, Q and K after RoPE, the
scores, the attention weights and the layer inputs. Then RoPE and grouped-query attention by explicit
loops, the lazy GGUF reader against gguf's own GGUFReader and dequantizer, every refusal, and (slow,
skipped when `models/` lacks them) the packaged models' figures from the issue.
"""

from __future__ import annotations

import json
import math
import os
import struct
from pathlib import Path

import numpy as np
import pytest
from model_reference import TRAINING_TEXT, assert_float32_close, attention_scale

import attncore
from attncore import model as M
from attncore import steps

gguf = pytest.importorskip("gguf", reason="the gguf package reads GGUF files (make setup installs it)")
try:
    import torch
    import transformers  # noqa: F401

    LIVE = True
except ImportError:
    LIVE = False
live = pytest.mark.skipif(not LIVE, reason="torch and transformers are not installed (make setup installs them "
                                           "where the CPU torch wheel is on disk)")
MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
QWEN = MODELS_DIR / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
SMOLLM2 = MODELS_DIR / "SmolLM2-135M-Instruct.Q4_1.gguf"
SENTENCE = "the cat sat on the mat because it was tired"
ANIMAL = "The animal didn't cross the street because it was too tired"
CAT = "我有一只猫，它很可爱。"
SPECIAL = "<|endoftext|>"

# The tiny models: 64 wide (a multiple of Q8_0's 32-value blocks), 3 layers, fewer K/V heads than query heads,
# a RoPE θ of their own (not the default) so that reading it is checked.
CONFIGS = {
    "llama": dict(hidden_size=64, intermediate_size=96, num_hidden_layers=3, num_attention_heads=4,
                  num_key_value_heads=2, rope_theta=500.0, max_position_embeddings=64, rms_norm_eps=1e-5),
    "qwen2": dict(hidden_size=64, intermediate_size=96, num_hidden_layers=3, num_attention_heads=8,
                  num_key_value_heads=2, rope_theta=2000.0, max_position_embeddings=64, rms_norm_eps=1e-6),
}
# GGUF tensor names, written out here (not taken from attncore): transformers' name after "model." ->
# llama.cpp's, per layer after "layers.N." -> after "blk.N."
GGUF_LAYER = {
    "input_layernorm.weight": "attn_norm.weight", "post_attention_layernorm.weight": "ffn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight", "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.v_proj.weight": "attn_v.weight", "self_attn.o_proj.weight": "attn_output.weight",
    "self_attn.q_proj.bias": "attn_q.bias", "self_attn.k_proj.bias": "attn_k.bias", "self_attn.v_proj.bias": "attn_v.bias",
    "mlp.gate_proj.weight": "ffn_gate.weight", "mlp.up_proj.weight": "ffn_up.weight", "mlp.down_proj.weight": "ffn_down.weight",
}
GGUF_MODEL = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
              "lm_head.weight": "output.weight"}


# ---- building the tiny models ---------------------------------------------------------------------

def _tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(TRAINING_TEXT, trainers.BpeTrainer(vocab_size=300, special_tokens=[SPECIAL],
                                                               initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return tok


def _permute(weights: np.ndarray, n_head: int, n_head_kv: int | None) -> np.ndarray:
    """llama.cpp's convert_hf_to_gguf LlamaModel.permute: each head's rows (2, d/2) -> (d/2, 2)."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
            .swapaxes(1, 2).reshape(weights.shape))


def write_gguf(path: Path, kind: str, state: dict, config: dict, tok, qtype=None, *, arch: str | None = None,
               context: int | None = None) -> Path:
    """A GGUF file as llama.cpp's converter writes one: metadata, the byte-level BPE vocabulary, the tensors
    (2-D ones quantized to `qtype`, 1-D ones F32; llama's Q and K rows permuted)."""
    qtype = qtype or gguf.GGMLQuantizationType.F32
    arch = arch or kind
    writer = gguf.GGUFWriter(str(path), arch)
    heads, kv = config["num_attention_heads"], config["num_key_value_heads"]
    writer.add_block_count(config["num_hidden_layers"])
    writer.add_context_length(context or config["max_position_embeddings"])
    writer.add_embedding_length(config["hidden_size"])
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv)
    writer.add_rope_freq_base(config["rope_theta"])
    writer.add_layer_norm_rms_eps(config["rms_norm_eps"])
    writer.add_rope_dimension_count(config["hidden_size"] // heads)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32 if qtype == gguf.GGMLQuantizationType.F32
                         else gguf.LlamaFileType.MOSTLY_Q8_0)
    vocab = sorted(tok.get_vocab().items(), key=lambda item: item[1])
    merges = json.loads(tok.to_str())["model"]["merges"]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt-2")
    writer.add_token_list([t for t, _ in vocab])
    writer.add_token_merges([m if isinstance(m, str) else " ".join(m) for m in merges])
    writer.add_token_types([3 if t == SPECIAL else 1 for t, _ in vocab])
    writer.add_add_bos_token(False)
    for name, array in state.items():
        if name in GGUF_MODEL:
            target = GGUF_MODEL[name]
        else:
            layer, rest = name.removeprefix("model.layers.").split(".", 1)
            target = f"blk.{layer}.{GGUF_LAYER[rest]}"
        array = np.asarray(array, dtype=np.float32)
        if kind == "llama" and ".q_proj." in name:
            array = _permute(array, heads, heads)
        elif kind == "llama" and ".k_proj." in name:
            array = _permute(array, heads, kv)
        if array.ndim == 2 and qtype != gguf.GGMLQuantizationType.F32:
            writer.add_tensor(target, gguf.quants.quantize(array, qtype), raw_dtype=qtype)
        else:
            writer.add_tensor(target, array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def build(kind: str, folder: Path) -> dict:
    """The tiny `kind` model: {"folder": ..., "f32": ..gguf, "q8_0": ..gguf, "state": numpy state dict,
    "config": ...}. Weights drawn wider than transformers' 0.02 (norm gains and biases too), so that the
    heads' attention is far from uniform and a wrong rotation, group or bias shows."""
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed({"llama": 1, "qwen2": 2}[kind])
    tok = _tokenizer()
    make, net_class = (LlamaConfig, LlamaForCausalLM) if kind == "llama" else (Qwen2Config, Qwen2ForCausalLM)
    config = make(vocab_size=tok.get_vocab_size(), tie_word_embeddings=False, **CONFIGS[kind])
    net = net_class(config)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.3 * torch.randn_like(p))
            elif name.endswith(".bias"):
                p.normal_(0.0, 0.3)
            else:
                p.normal_(0.0, 0.15)
    folder.mkdir(parents=True, exist_ok=True)
    # each kind's folder a name of its own: a result names its model by the folder's name (attncore.model.loaded
    # finds it again by that name), and the suite builds both kinds once per session
    net.save_pretrained(folder / f"tiny-{kind}")
    tok.save(str(folder / f"tiny-{kind}" / "tokenizer.json"))
    state = {k: v.numpy().copy() for k, v in net.state_dict().items()}
    out = {"folder": folder / f"tiny-{kind}", "state": state, "config": CONFIGS[kind], "tok": tok}
    out["f32"] = write_gguf(folder / f"tiny-{kind}-f32.gguf", kind, state, CONFIGS[kind], tok)
    out["q8_0"] = write_gguf(folder / f"tiny-{kind}-q8_0.gguf", kind, state, CONFIGS[kind], tok,
                             gguf.GGMLQuantizationType.Q8_0)
    return out




# ---- transformers' numbers ------------------------------------------------------------------------

def transformers_run(source: Path, ids: list[int]) -> dict:
    """transformers' eager forward pass on `ids` from a folder or (its own GGUF loader) a GGUF file: per
    layer its input (hidden_states), what its heads multiply (input_layernorm of it), q and k after RoPE
    as the attention function receives them (k, v: one per K/V head), the scaled scores and the weights,
    and the layer's projection weights."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModelForCausalLM
    from transformers.models.llama import modeling_llama
    from transformers.models.qwen2 import modeling_qwen2

    if source.is_file():
        net = AutoModelForCausalLM.from_pretrained(str(source.parent), gguf_file=source.name,
                                                   attn_implementation="eager")
    else:
        net = AutoModelForCausalLM.from_pretrained(str(source), attn_implementation="eager")
    net.eval()
    seen = {}
    originals = {mod: mod.eager_attention_forward for mod in (modeling_llama, modeling_qwen2)}

    def capture(original):
        def eager(module, query, key, value, attention_mask, scaling, **kwargs):
            out, weights = original(module, query, key, value, attention_mask, scaling, **kwargs)
            seen[module.layer_idx] = dict(q=query[0].double().numpy(), k=key[0].double().numpy(),
                                          v=value[0].double().numpy(), weights=weights[0].double().numpy(),
                                          scaling=scaling)
            return out, weights
        return eager

    try:
        for mod, original in originals.items():
            mod.eager_attention_forward = capture(original)
        with torch.no_grad():
            out = net(input_ids=torch.tensor([ids]), output_attentions=True, output_hidden_states=True)
            layers = net.model.layers
            for n, layer in enumerate(layers):
                seen[n]["hidden"] = out.hidden_states[n][0].double().numpy()
                seen[n]["X"] = layer.input_layernorm(out.hidden_states[n])[0].double().numpy()
                attn = layer.self_attn
                for part in ("q", "k", "v"):
                    proj = getattr(attn, f"{part}_proj")
                    seen[n][f"W_{part}"] = proj.weight.double().numpy()  # (out, in)
                    seen[n][f"b_{part}"] = None if proj.bias is None else proj.bias.double().numpy()
                seen[n]["attentions"] = out.attentions[n][0].double().numpy()
            seen["logits"] = out.logits[0, -1].double().numpy()
    finally:
        for mod, original in originals.items():
            mod.eager_attention_forward = original
    return seen


def close(got, want, what: str, scale=None) -> None:
    """`got` equals transformers' float32 `want` within what float32 promises (model_reference.ULPS roundings)
    of `scale`: by default each row's largest |want| (a copy, a layer's input, a norm's output); a sum's own
    terms' size where cancellation can leave it smaller (model_reference.assert_float32_close). A fixed
    tolerance failed on another CPU."""
    want = np.asarray(want, dtype=float)
    if scale is None:
        scale = np.abs(want).max(axis=-1, keepdims=True) if want.ndim else abs(want)
    assert_float32_close(got, want, scale, what)


def projection_scale(r, which: str) -> np.ndarray:
    """The size a float32 projection row X W (+ b) of head `r` is good to: max_c Σ_t |x_t w_tc| + |b_c| per
    token (before RoPE, which mixes a row's pairs)."""
    W, b = getattr(r, f"W_{which}"), getattr(r, f"b_{which}")
    terms = np.abs(r.X) @ np.abs(W) + (0 if b is None else np.abs(b))
    return terms.max(axis=1, keepdims=True)


# ---- against transformers -------------------------------------------------------------------------

@live
@pytest.mark.parametrize("kind", ["llama", "qwen2"])
@pytest.mark.parametrize("source", ["folder", "f32", "q8_0"])
def test_every_head_equals_transformers(tiny, kind, source):
    """Every head of every layer: the head's W_Q, W_K, W_V (its K/V group's) and biases, X (the layer's
    input after RMSNorm), Q and K after RoPE, V, the scaled scores and the attention weights; and the
    layer inputs. Within 1e-5 of transformers (float32), from a folder and from GGUF files (transformers'
    own GGUF loader reading the same file)."""
    built = tiny(kind)
    path = built["folder"] if source == "folder" else built[source]
    m = M.load_model(str(path))
    tokens, ids = M.encode(m, SENTENCE)
    ids = [int(i) for i in ids]
    assert ids == built["tok"].encode(SENTENCE).ids  # the GGUF's rebuilt tokenizer gives the folder's ids
    want = transformers_run(path, ids)
    config = CONFIGS[kind]
    H, G = config["num_attention_heads"], config["num_key_value_heads"]
    d = config["hidden_size"] // H
    xs, _ = M.forward(m, ids)
    for layer in range(config["num_hidden_layers"]):
        w = want[layer]
        close(xs[layer], w["hidden"], f"{kind} {source} layer {layer} input")
        heads = attncore.run(SENTENCE, model=str(path), layer=layer, heads=H)
        assert heads.kv_heads == G and heads.n_heads == H
        close(heads.heads[0].X, w["X"], f"layer {layer} X")
        for h, r in enumerate(heads.heads):
            g = h // (H // G)
            where = f"{kind} {source} layer {layer} head {h}"
            assert (r.kv_group, r.kv_heads, r.architecture, r.causal) == (g, G, kind, True), where
            close(r.W_Q, w["W_q"][h * d:(h + 1) * d].T, f"{where} W_Q")
            close(r.W_K, w["W_k"][g * d:(g + 1) * d].T, f"{where} W_K")
            close(r.W_V, w["W_v"][g * d:(g + 1) * d].T, f"{where} W_V")
            for n in "qkv":
                b = w[f"b_{n}"]
                got = getattr(r, f"b_{n.upper()}")
                if b is None:
                    assert got is None, where
                else:
                    close(got, b[(h if n == "q" else g) * d:((h if n == "q" else g) + 1) * d], f"{where} b_{n}")
            close(r.Q, w["q"][h], f"{where} Q after RoPE", projection_scale(r, "Q"))
            close(r.K, w["k"][g], f"{where} K after RoPE", projection_scale(r, "K"))
            close(r.V, w["v"][g], f"{where} V", projection_scale(r, "V"))
            scaled = w["q"][h] @ w["k"][g].T * w["scaling"]
            allowed = np.tril(np.ones_like(scaled, dtype=bool))
            sizes = projection_scale(r, "Q") @ projection_scale(r, "K").T * w["scaling"] * d  # Σ_c |q_c k_c| at most
            close(np.where(allowed, r.scaled, 0), np.where(allowed, scaled, 0), f"{where} scaled scores", sizes)
            close(r.weights, w["weights"][h], f"{where} weights", attention_scale([r], w["weights"][h][None])[0])
            close(r.weights, w["attentions"][h], f"{where} output_attentions",
                  attention_scale([r], w["attentions"][h][None])[0])
            single = attncore.run(SENTENCE, model=str(path), layer=layer, head=h)
            np.testing.assert_array_equal(single.weights, r.weights)
            np.testing.assert_array_equal(single.Q, r.Q)
    assert r.rope.theta == config["rope_theta"] and list(r.rope.positions) == list(range(len(tokens)))
    predicted = M.next_token(m, ids, top=5)  # the final norm and the LM head: the next token
    logits = want["logits"]
    assert list(predicted.ids) == list(np.argsort(-logits)[:5])
    close(predicted.logits, logits[predicted.ids], "next-token logits")
    close(predicted.probabilities, np.exp(logits - logits.max())[predicted.ids] / np.exp(logits - logits.max()).sum(),
          "next-token probabilities")
    assert predicted.tokens == tuple(M.shown_byte_piece(built["tok"].id_to_token(int(i))) for i in predicted.ids)


@live
def test_the_gguf_files_hold_the_folders_numbers(tiny):
    """The F32 GGUF gives the folder's numbers (to float32's rounding); the Q8_0 one differs by its
    quantization only (a few hundredths of the weights' spread)."""
    for kind in ("llama", "qwen2"):
        built = tiny(kind)
        a, b, c = (attncore.run(SENTENCE, model=str(built[s]), layer=2, head=3) for s in ("folder", "f32", "q8_0"))
        close(b.weights, a.weights, f"{kind} F32 GGUF")
        close(b.W_Q, a.W_Q, f"{kind} F32 GGUF W_Q (llama's permutation undone)")
        assert np.abs(c.W_Q - a.W_Q).max() < 0.01 and not np.array_equal(c.W_Q, a.W_Q)
        assert M.load_model(str(built["f32"])).quantization == "F32"
        assert M.load_model(str(built["q8_0"])).quantization == "Q8_0"
        assert M.load_model(str(built["folder"])).quantization is None


# ---- RoPE and grouped-query attention by hand -----------------------------------------------------

@live
def test_rope_by_explicit_loops(tiny):
    """Q = rotate(X W_Q + b_Q): pair i = dims (i, i + d/2) of token s turned by s θ^(-2i/d), by loops;
    rope keeps the rows before and their scores; a score depends on the positions only by their distance."""
    r = attncore.run(SENTENCE, model=str(tiny("qwen2")["folder"]), layer=1, head=5)
    d, theta = r.d_k, 2000.0
    for s in range(r.n_tokens):
        for c in range(d):
            raw = sum(r.X[s, t] * r.W_Q[t, c] for t in range(r.d_model)) + r.b_Q[c]
            assert r.rope.Q_raw[s, c] == pytest.approx(raw, rel=1e-9, abs=1e-12)
        for i in range(d // 2):
            angle = s * theta ** (-2 * i / d)
            a, b = r.rope.Q_raw[s, i], r.rope.Q_raw[s, i + d // 2]
            assert r.Q[s, i] == pytest.approx(a * math.cos(angle) - b * math.sin(angle), rel=1e-9, abs=1e-12)
            assert r.Q[s, i + d // 2] == pytest.approx(b * math.cos(angle) + a * math.sin(angle), rel=1e-9, abs=1e-12)
            k = r.rope.K_raw[s, i], r.rope.K_raw[s, i + d // 2]
            assert r.K[s, i] == pytest.approx(k[0] * math.cos(angle) - k[1] * math.sin(angle), rel=1e-9, abs=1e-12)
            assert r.rope.frequencies[i] == pytest.approx(theta ** (-2 * i / d), rel=1e-12)
    np.testing.assert_allclose(r.rope.scores_raw, r.rope.Q_raw @ r.rope.K_raw.T, rtol=1e-12)
    np.testing.assert_allclose(r.scores, r.Q @ r.K.T, rtol=1e-12)
    np.testing.assert_allclose(r.rope.angles[3], 3 * r.rope.frequencies, rtol=1e-12)
    i, j = 6, 2
    assert r.rope.score(i, j, i, j) == pytest.approx(r.scores[i, j], rel=1e-9)
    assert r.rope.score(i, j, 0, 0) == pytest.approx(r.rope.scores_raw[i, j], rel=1e-9)
    assert r.rope.score(i, j, 20, 16) == pytest.approx(r.rope.score(i, j, 7, 3), rel=1e-9)
    assert r.rope.score(i, j, 20, 16) != pytest.approx(r.rope.score(i, j, 20, 10), rel=1e-3)
    worked = steps.projection_entry(r, "Q", 4, 3)  # the projection's arithmetic ends before the rotation
    assert worked.total == r.rope.Q_raw[4, 3] and worked.running[-1] + worked.bias == pytest.approx(worked.total)
    pair, turned = r.rope.pair("Q", 4, 1), r.rope.pair("Q", 4, 1, rotated=True)
    assert np.hypot(*pair) == pytest.approx(np.hypot(*turned), rel=1e-12)  # a rotation keeps the length
    np.testing.assert_allclose(turned, [r.Q[4, 1], r.Q[4, 1 + d // 2]], rtol=1e-12)


@live
def test_grouped_heads_share_their_keys_and_values(tiny):
    """Qwen2's 8 heads under 2 K/V heads: heads 0-3 read group 0, 4-7 group 1; heads of one group have the
    same W_K, K, W_V and V, and different queries."""
    heads = attncore.run(SENTENCE, model=str(tiny("qwen2")["folder"]), layer=1, heads=8)
    assert [heads.kv_group(h) for h in range(8)] == [0, 0, 0, 0, 1, 1, 1, 1]
    assert heads.group_heads(1) == (4, 5, 6, 7) and heads.kv_heads == 2
    for h in range(1, 4):
        for field in ("W_K", "K", "W_V", "V", "b_K"):
            np.testing.assert_array_equal(getattr(heads.heads[h], field), getattr(heads.heads[0], field))
        assert not np.array_equal(heads.heads[h].Q, heads.heads[0].Q)
    assert not np.array_equal(heads.heads[4].K, heads.heads[0].K)
    assert heads.concat.shape == (heads.heads[0].n_tokens, 64) and heads.W_O.shape == (64, 64)
    np.testing.assert_allclose(heads.output, heads.concat @ heads.W_O, rtol=1e-12)
    data = heads.to_dict()
    assert data["kv_heads"] == 2 and data["heads"][5]["kv_group"] == 1 and data["architecture"] == "qwen2"


@live
def test_an_export_reloads_with_its_rotation(tiny, tmp_path):
    """A decoder head's export (numbers JSON) records the architecture, the K/V group, the positions and
    θ, and reads back as custom numbers that reproduce every number, the rotation included."""
    r = attncore.run(SENTENCE, model=str(tiny("llama")["f32"]), layer=2, head=3)
    path = tmp_path / "head.json"
    r.to_json(path)
    data = json.loads(path.read_text())
    assert (data["architecture"], data["kv_group"], data["kv_heads"]) == ("llama", 1, 2)
    assert data["rope"]["theta"] == 500.0 and data["rope"]["positions"] == list(range(r.n_tokens))
    again = attncore.run(None, weights=path)
    np.testing.assert_allclose(again.Q, r.Q, rtol=1e-12)
    np.testing.assert_allclose(again.weights, r.weights, rtol=1e-12)
    np.testing.assert_allclose(again.rope.Q_raw, r.rope.Q_raw, rtol=1e-12)
    assert again.causal and again.rope.theta == 500.0
    data["rope"]["theta"] = 600.0  # a different rotation no longer gives the exported Q
    with pytest.raises(attncore.InputError, match=r"^(Q|rope): does not match"):
        attncore.run(None, weights=data)


def test_toy_and_encoder_results_are_unchanged_by_the_new_fields():
    """Without rope_theta nothing rotates and the new fields stay empty; the toy export has no new keys."""
    r = attncore.run("I have a cat")
    assert (r.rope, r.kv_group, r.kv_heads) == (None, None, None)
    assert not {"rope", "kv_group", "kv_heads"} & set(r.to_dict())
    heads = attncore.run("I have a cat", heads=2)
    assert heads.kv_heads is None and heads.kv_group(1) == 1 and heads.group_heads(0) == (0,)


# ---- the lazy GGUF reader -------------------------------------------------------------------------

@live
def test_the_header_is_read_as_ggufs_own_reader_reads_it(tiny):
    """Every tensor's name, shape, type and place, and every metadata value, as gguf.GGUFReader finds
    them; the big arrays only when asked for."""
    from attncore.gguf_file import GGUFFile

    for path in (tiny("llama")["q8_0"], tiny("qwen2")["f32"]):
        ours, theirs = GGUFFile(path), gguf.GGUFReader(str(path))
        assert list(ours.tensors) == [t.name for t in theirs.tensors]
        for t in theirs.tensors:
            info = ours.tensors[t.name]
            assert (info.shape, info.qtype, info.start, info.nbytes) == (
                tuple(int(n) for n in reversed(t.shape)), int(t.tensor_type), int(t.data_offset), int(t.n_bytes))
            np.testing.assert_array_equal(ours.raw(t.name).reshape(-1), np.asarray(t.data).reshape(-1).view(np.uint8))
        assert not ours.metadata._read  # nothing read yet
        assert ours.metadata.is_array("tokenizer.ggml.tokens")
        for key, field in theirs.fields.items():
            if key.startswith("GGUF."):
                continue
            assert key in ours.metadata
            want = field.contents()
            got = ours.metadata[key]
            assert got == pytest.approx(want) if isinstance(want, float) else got == want, key


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning", "ignore:overflow:RuntimeWarning")
@pytest.mark.parametrize("name", ["Q4_0", "Q4_1", "Q5_0", "Q8_0", "Q4_K", "Q5_K", "Q6_K", "F16"])
def test_dequantizing_in_long_rows_equals_ggufs_own(monkeypatch, name):
    """Random bytes as blocks of each type (every bit pattern a file may hold), dequantized in several
    calls (a small CHUNK_BYTES) and a few rows alone: gguf.quants.dequantize's values, bit for bit."""
    from attncore import gguf_file

    kind = gguf.GGMLQuantizationType[name]
    block, block_bytes = gguf.GGML_QUANT_SIZES[kind]
    raw = np.random.default_rng(7).integers(0, 256, size=(24, 5 * block_bytes), dtype=np.uint8)
    want = gguf.quants.dequantize(raw, kind)  # (24, 5 block)
    monkeypatch.setattr(gguf_file, "CHUNK_BYTES", 3 * block_bytes)
    got = gguf_file._dequantize(raw, int(kind)).reshape(want.shape)
    np.testing.assert_array_equal(got, want)
    rows = np.ascontiguousarray(raw[[3, 17, 3]])
    np.testing.assert_array_equal(gguf_file._dequantize(rows, int(kind)).reshape(3, -1), want[[3, 17, 3]])


@live
def test_only_the_sentences_rows_and_the_layers_up_to_the_one_shown_are_dequantized(tiny, monkeypatch):
    """Layer 1 of a Q8_0 file: the embedding's rows of the sentence's ids only (token_embd is never
    dequantized whole), nothing of layer 2 or of the LM head."""
    from attncore.gguf_file import GGUFFile

    path = tiny("llama")["q8_0"]
    whole, rows = [], []
    real_dequantize, real_rows = GGUFFile.dequantize, GGUFFile.rows
    monkeypatch.setattr(GGUFFile, "dequantize", lambda self, name: whole.append(name) or real_dequantize(self, name))
    monkeypatch.setattr(GGUFFile, "rows", lambda self, name, ids: rows.append((name, list(ids))) or real_rows(self, name, ids))
    M.load_model.cache_clear()
    try:
        r = attncore.run(SENTENCE, model=str(path), layer=1, head=0)
    finally:
        M.load_model.cache_clear()
    ids = [int(i) for i in M.encode(M.load_model(str(path)), SENTENCE)[1]]
    assert rows == [("token_embd.weight", ids)]
    assert "token_embd.weight" not in whole and "output.weight" not in whole
    assert {n.split(".")[1] for n in whole if n.startswith("blk.")} == {"0", "1"}
    file = GGUFFile(path)
    np.testing.assert_array_equal(file.rows("token_embd.weight", ids), file.dequantize("token_embd.weight")[ids])
    assert r.tokens == tuple(M.encode(M.load_model(str(path)), SENTENCE)[0])


# ---- bad input: one line naming the problem -------------------------------------------------------

def _one_line(excinfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


@live
def test_refusals(tiny, tmp_path):
    built = tiny("llama")
    good = built["f32"].read_bytes()

    def refused(data: bytes, pattern: str, name: str = "bad.gguf"):
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(attncore.InputError, match=pattern) as e:
            attncore.run("the cat", model=str(path))
        return _one_line(e)

    refused(b"GGML" + good[4:], r"^model: bad.gguf is not a GGUF file \(bad magic b'GGML', expected b'GGUF'\)$")
    refused(b"", r"^model: bad.gguf is empty, not a GGUF file$")
    refused(good[:3000], r"^model: bad.gguf is damaged or truncated: its header ends early \(the file has 3,000 bytes\)$")
    refused(good[:-100], r"^model: bad.gguf is truncated: tensor \S+ needs bytes up to [\d,]+, the file has [\d,]+$")
    refused(good[:4] + struct.pack("<I", 1) + good[8:], r"^model: bad.gguf is GGUF version 1; only little-endian versions 2 and 3")
    with pytest.raises(attncore.InputError, match=r"^model: .*missing.gguf does not exist \(no such GGUF file\)$"):
        attncore.run("the cat", model=str(tmp_path / "missing.gguf"))

    config, state, tok = built["config"], built["state"], built["tok"]
    other = write_gguf(tmp_path / "mamba.gguf", "llama", state, config, tok, arch="mamba")
    with pytest.raises(attncore.InputError, match=r"^model: mamba.gguf is a GGUF of architecture 'mamba', which is not "
                                                  r"supported; supported: llama, qwen2$") as e:
        attncore.run("the cat", model=str(other))
    _one_line(e)

    # a type id nobody knows, then one gguf knows but cannot dequantize (Q8_1)
    patched = bytearray(good)
    name = b"blk.1.ffn_up.weight"
    at = patched.index(name) + len(name)
    n_dims = struct.unpack_from("<I", patched, at)[0]
    type_at = at + 4 + 8 * n_dims
    assert struct.unpack_from("<I", patched, type_at)[0] == 0  # F32
    struct.pack_into("<I", patched, type_at, 99)
    refused(bytes(patched), r"^model: type99.gguf: tensor blk.1.ffn_up.weight has ggml type 99, which the gguf package "
                            r"does not know \(an unsupported quantization type\)$", "type99.gguf")
    struct.pack_into("<I", patched, type_at, int(gguf.GGMLQuantizationType.Q8_1))  # 32-value blocks: sizes fit
    refused(bytes(patched), r"^model: q8_1.gguf: tensor blk.1.ffn_up.weight is quantized as Q8_1, which cannot be "
                            r"dequantized here \(an unsupported quantization type\)$", "q8_1.gguf")

    short = write_gguf(tmp_path / "short.gguf", "llama", state, config, tok, context=8)
    with pytest.raises(attncore.InputError, match=r"^sentence: 13 tokens; short takes at most 8$") as e:
        attncore.run(SENTENCE, model=str(short))
    _one_line(e)


@live
def test_unsupported_settings_of_a_folder_are_refused(tiny, tmp_path):
    import shutil

    folder = tmp_path / "scaled"
    shutil.copytree(tiny("llama")["folder"], folder)
    config = json.loads((folder / "config.json").read_text())
    config["rope_parameters"] = {"rope_type": "linear", "factor": 2.0, "rope_theta": 500.0}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(attncore.InputError, match=r"^model: .*config.json scales RoPE \('linear'\); only plain RoPE is "
                                                  r"supported$"):
        attncore.run("the cat", model=str(folder))
    config["rope_parameters"] = {"rope_type": "default", "rope_theta": 500.0}
    config["num_key_value_heads"] = 3
    (folder / "config.json").write_text(json.dumps(config))
    M.load_model.cache_clear()
    with pytest.raises(attncore.InputError, match=r"^model: 4 query heads cannot share 3 key/value heads evenly$"):
        attncore.run("the cat", model=str(folder))


# ---- the packaged models' figures (slow: the real files) ------------------------------------------

def assert_shown_as(weight: float, figure: str) -> None:
    """`weight` is the percentage `figure` within its rounding (±0.05 points) and float32's reach past it: a
    weight from a quantized file a rounding's width from the figure's edge may print either side of it on
    another CPU, and is still the figure measured."""
    assert float(weight) * 100 == pytest.approx(float(figure.rstrip("%")), abs=0.05 + 1e-4), (float(weight), figure)
    if abs(abs(float(weight) * 1000 % 1) - 0.5) > 1e-3:  # not on the edge: exactly as printed
        assert attncore.pct(weight) == figure


def _need(path: Path) -> str:
    if not path.is_file():
        pytest.skip(f"{path.name} is not in models/ (make models fetches it)")
    return str(path)


@pytest.mark.slow
def test_qwen_finds_the_cat_and_the_animal():
    """The issue's figures from transformers 5.24 on this file: layer 5 head 4 它 -> 猫 91.1%; head 5
    " it" -> " animal" 94.1%; heads 4 and 5 share K/V group 0 of 2 (14 query heads); θ = 1e6."""
    path = _need(QWEN)
    r = attncore.run(CAT, model=path, layer=5, head=4)
    assert r.tokens == ("我", "有一", "只", "猫", "，", "它", "很", "可爱", "。")
    assert_shown_as(r.weights[r.tokens.index("它"), r.tokens.index("猫")], "91.1%")
    assert (r.kv_group, r.kv_heads, r.rope.theta, r.architecture) == (0, 2, 1e6, "qwen2")
    r = attncore.run(ANIMAL, model=path, layer=5, head=5)
    assert len(r.tokens) == 12 and r.kv_group == 0
    assert_shown_as(r.weights[r.tokens.index("it"), r.tokens.index("animal")], "94.1%")
    assert M.load_model(path).quantization == "Q4_K_M"


@pytest.mark.slow
def test_smollm2_finds_the_animal():
    """SmolLM2-135M-Instruct (llama, Q4_1, Q and K rows permuted in the file): layer 13 head 8 it ->
    animal 75.0%, as transformers 5.24 gives on this file."""
    path = _need(SMOLLM2)
    r = attncore.run(ANIMAL, model=path, layer=13, head=8)
    assert_shown_as(r.weights[r.tokens.index("it"), r.tokens.index("animal")], "75.0%")
    assert (r.kv_group, r.kv_heads, r.architecture) == (2, 3, "llama")


# ---- speed: numpy's BLAS on one thread -------------------------------------------------------------

def _blas_threads() -> list[int]:
    threadpoolctl = pytest.importorskip("threadpoolctl", reason="threadpoolctl comes with the model extra")
    return [pool["num_threads"] for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"]


@live
def test_a_models_products_run_on_one_blas_thread(tiny, monkeypatch):
    """Every layer of the forward pass, a head, a layer's heads and the LM head run with numpy's BLAS on
    one thread (a sentence's few rows do not pay for OpenBLAS's threads: benchmarks/decoder_bench.py),
    and the caller's thread count is given back afterwards."""
    from threadpoolctl import threadpool_limits

    seen = {}

    def spy(name, real):
        return lambda *a, **k: seen.setdefault(name, set()).update(_blas_threads()) or real(*a, **k)

    from attncore.model import compute as passes  # the module whose names the forward pass calls

    monkeypatch.setattr(passes, "layer_forward", spy("layer", passes.layer_forward))
    monkeypatch.setattr(passes, "self_attention", spy("head", passes.self_attention))
    monkeypatch.setattr(passes, "multi_head_attention", spy("heads", passes.multi_head_attention))
    monkeypatch.setattr(M.Model, "times_rows", spy("lm head", M.Model.times_rows))
    path = str(tiny("qwen2")["q8_0"])
    M.load_model.cache_clear()
    try:
        with threadpool_limits(limits=2, user_api="blas"):
            callers = _blas_threads()
            attncore.run(SENTENCE, model=path, layer=2, head=1)
            attncore.run(SENTENCE, model=path, layer=1, heads=8)
            m = M.load_model(path)
            M.next_token(m, M.encode(m, SENTENCE)[1])
            assert _blas_threads() == callers
    finally:
        M.load_model.cache_clear()
    assert seen == {"layer": {1}, "head": {1}, "heads": {1}, "lm head": {1}}


@live
@pytest.mark.parametrize("block", [1, 7, 64, 256, 10_000])
def test_a_linear_converted_in_blocks_is_the_whole_product(tiny, block):
    """Model.times (the feed-forward's x W^T, W converted to float64 a block of rows at a time, for speed:
    benchmarks/live_bench.py) equals x @ W.T with the whole W converted first, for every block size (the
    last block short, one block, more rows than W has): each output is the same dot product, so the same
    within a rounding of the largest term (here the same bit for bit)."""
    m = M.load_model(str(tiny("qwen2")["q8_0"]))
    for name in ("layers.1.mlp.gate_proj.weight", "layers.1.mlp.down_proj.weight"):  # (96, 64) and (64, 96)
        w = np.asarray(m.weights[name], dtype=np.float64)
        x = np.random.default_rng(3).standard_normal((5, w.shape[1]))
        want = x @ w.T
        got = m.times(name, x, block=block)
        assert got.dtype == np.float64 and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=0, atol=4 * np.finfo(float).eps * np.abs(x).max() * np.abs(w).max()
                                   * w.shape[1])


@pytest.mark.slow
def test_one_blas_thread_changes_no_number(monkeypatch):
    """Qwen's layers 0-5 and layer 5's heads, run on one BLAS thread (attncore's limit) and on two (the
    limit off): every array the same within 64 roundings of its row's largest entry (a product's sums are split
    by rows and columns between threads, so it is the same bit for bit here; but OpenBLAS promises no more
    than rounding on another CPU's kernels)."""
    from dataclasses import replace

    from threadpoolctl import threadpool_limits

    path = _need(QWEN)
    _blas_threads()
    model = M.load_model(path)
    ids = M.encode(model, ANIMAL)[1]

    def layers() -> list[np.ndarray]:
        m = replace(model)  # a copy computes again: its memo starts empty
        xs, attentions = M.forward(m, ids, upto=6)
        return [*xs, *attentions, M.layer_heads(m, 5, M.attention_input(m, 5, xs[5])).output]

    one = layers()
    from attncore.model import threads

    monkeypatch.setattr(threads, "_blas_threads", lambda: None)  # attncore's limit off
    with threadpool_limits(limits=2, user_api="blas"):
        two = layers()
    for n, (a, b) in enumerate(zip(one, two, strict=True)):  # OpenBLAS does not promise the same bits on more threads
        assert a.dtype == b.dtype and a.shape == b.shape
        scale = np.abs(a).max(axis=-1, keepdims=True) if a.ndim else np.abs(a)
        assert (np.abs(a.astype(float) - b) <= 64 * np.finfo(a.dtype).eps * scale).all(), f"array {n}"


@live
def test_the_plain_report_says_where_a_decoders_numbers_come_from(tiny, capsys):
    """`python -m attncore --model FILE.gguf`: before the tables, the model, layer and head in the report's
    language, that the numbers are a quantized file's, and which K/V head the head shares with which query
    heads (the tiny llama: 4 query heads, 2 K/V heads, so head 3 reads K/V head 1 with heads 2 and 3)."""
    from attncore.__main__ import main

    path = str(tiny("llama")["q8_0"])
    name = attncore.run(SENTENCE, model=path, layer=1, head=3).model
    capsys.readouterr()  # the fixture's own logging
    want = {
        "en": [f"{name} layer 1 head 3",
               "GGUF file quantized as Q8_0: 8-bit weights. The numbers are this file's, not the full-precision model's.",
               "Grouped-query attention: this head's K and V (and W_K, W_V) are key/value head 1 of 2, shared by query "
               "heads 2 to 3."],
        "zh": [f"{name}，第 1 层，3 号头",
               "GGUF 文件，Q8_0 量化：权重 8 位。这里的数字来自这个文件，而不是全精度的原模型。",
               "分组查询注意力：这个头的 K 和 V（以及 W_K、W_V）是 2 个键/值头中的 1 号，由 2 到 3 号查询头共用。"],
    }
    for language, lines in want.items():
        assert main([SENTENCE, "--model", path, "--layer", "1", "--head", "3", "--lang", language]) == 0
        head = capsys.readouterr().out.split("\n\n")[0]
        joined = " " if language == "en" else ""  # how `wrapped` broke the lines: between words, or anywhere (CJK)
        assert joined.join(head.splitlines()[:-1]) == joined.join(lines), head
    assert main([SENTENCE, "--model", path, "--layer", "1", "--heads", "4"]) == 0
    head = capsys.readouterr().out.split("\n\n")[0]
    assert head.startswith(f"{name} layer 1\nGGUF file quantized as Q8_0") and \
        "these 4 query heads share 2 key/value heads, 2 to each." in " ".join(head.splitlines())
    assert main([SENTENCE, "--model", str(tiny("llama")["f32"]), "--layer", "1", "--head", "3"]) == 0
    assert "GGUF" not in capsys.readouterr().out.split("\n\n")[0]  # an F32 file: nothing rounded, nothing said
    # render.py --dry-run says the same in English
    from click.testing import CliRunner

    import render

    result = CliRunner().invoke(render.main, ["--model", path, "--layer", "1", "--head", "3", "--sentence", SENTENCE,
                                              "--dry-run"])
    assert result.exit_code == 0, result.output
    assert f"model: {want['en'][0]}\n{want['en'][1]}\n{want['en'][2]}\ntokens (" in result.output
