"""Grouped-query attention (issue 27): the heads stage, the handout and the page to explore show the query
heads grouped under the key/value head they share, and the KV cache's bytes per token that the sharing saves;
the handout's Q and K tables are X·W (+ b) before RoPE, the rotated ones under their own heading.

Every figure is checked against an explicit formula or loops written here (from the tiny models' configs,
tests/test_decoders.py, and the packaged Qwen file's own metadata), never against the code that made it."""

from __future__ import annotations

import html
import re

import numpy as np
import pytest
from reference import head_role_loops
from scenetools import assert_readable_layout, expected_text, run_scene
from test_decoder_scenes import raw_loops, turned_loops
from test_decoders import CONFIGS, LIVE, SENTENCE
from test_handout_story import md_tables

import attncore
from attncore import fmt, pct
from attncore.multihead import kv_cache_size
from scenes import outputs
from scenes.strings import catalogue

live = pytest.mark.skipif(not LIVE, reason="torch and transformers are not installed (make setup installs them)")
LAYER, FOCUS = 1, "it"
HEAD = {"llama": 1, "qwen2": 5}  # a head whose K/V group is not head 0's


def cache_formula(config: dict) -> dict:
    """The KV cache per token from a config, written out: layers x K/V heads x d_head x 2 (K and V) x 2 bytes
    (fp16), against one K/V head per query head."""
    layers, heads, kv = config["num_hidden_layers"], config["num_attention_heads"], config["num_key_value_heads"]
    d_head = config["hidden_size"] // heads
    return {"layers": layers, "heads": heads, "kv_heads": kv, "d_head": d_head, "value_bytes": 2,
            "per_token": layers * kv * d_head * 2 * 2, "per_token_mha": layers * heads * d_head * 2 * 2,
            "ratio": (layers * heads * d_head * 2 * 2) // (layers * kv * d_head * 2 * 2)}


def groups_by_loop(heads: int, kv: int) -> list[list[int]]:
    """Query head h reads K/V head h // (heads / kv)."""
    out = [[] for _ in range(kv)]
    for h in range(heads):
        out[h // (heads // kv)].append(h)
    return out


def memoized(make):
    """get(*key): make(*key), made once for each key."""
    made = {}

    def get(*key):
        if key not in made:
            made[key] = make(*key)
        return made[key]

    return get


@pytest.fixture(scope="module")
def layer(tiny):
    """Every head of layer 1 of a tiny model, from its folder or a GGUF file."""
    return memoized(lambda kind, source="folder": attncore.run(SENTENCE, model=str(tiny(kind)[source]), layer=LAYER,
                                                               heads=CONFIGS[kind]["num_attention_heads"]))


# ---- the bytes ------------------------------------------------------------------------------------------

@live
@pytest.mark.parametrize("kind", ["llama", "qwen2"])
@pytest.mark.parametrize("source", ["folder", "q8_0"])
def test_the_kv_cache_bytes_equal_the_formula(layer, kind, source):
    """From a folder's config.json or a GGUF file's metadata: the layers, heads, K/V heads and d_head of the
    config, the bytes per token with and without the sharing, and the ratio; the export has them."""
    heads = layer(kind, source)
    want = cache_formula(CONFIGS[kind])
    kv = heads.kv_cache
    got = {name: getattr(kv, name) for name in want}
    assert got == want and kv.dtype == "fp16"
    assert heads.n_layers == CONFIGS[kind]["num_hidden_layers"] and heads.grouped_query
    exported = heads.to_dict()
    assert exported["n_layers"] == want["layers"]
    assert {k: exported["kv_cache"][k] for k in want} == want and exported["kv_cache"]["dtype"] == "fp16"


def test_qwens_kv_cache_from_its_own_file():
    """Qwen2.5-Coder-0.5B, read with gguf's own reader: 24 layers, 14 query heads, 2 K/V heads, d 896, so
    d_head = 896 / 14 = 64 (and W_K has 2 x 64 rows): 24 x 2 x 64 x 2 x 2 = 12,288 bytes a token in fp16,
    against 24 x 14 x 64 x 2 x 2 = 86,016 with one K/V head per query head, 7 times as much."""
    from conftest import need_model

    need_model("qwen2.5-coder-0.5b")
    import gguf

    from attncore.model import load_model, locate

    reader = gguf.GGUFReader(str(locate("qwen2.5-coder-0.5b")[0]))
    meta = lambda key: reader.fields[f"qwen2.{key}"].contents()
    layers, heads, kv, d = (meta("block_count"), meta("attention.head_count"), meta("attention.head_count_kv"),
                            meta("embedding_length"))
    assert (layers, heads, kv, d) == (24, 14, 2, 896)
    d_head = d // heads
    k_rows = next(t for t in reader.tensors if t.name == "blk.0.attn_k.weight").shape[1]
    assert d_head == 64 and k_rows == kv * d_head
    assert layers * kv * d_head * 2 * 2 == 12288 and layers * heads * d_head * 2 * 2 == 86016
    m = load_model("qwen2.5-coder-0.5b")
    size = kv_cache_size(m.n_layers, m.n_heads, m.n_kv_heads, m.d_head)
    assert (size.per_token, size.per_token_mha, size.ratio) == (12288, 86016, 7)


def test_without_grouped_query_attention_nothing_changes():
    """The toy's heads, and a MultiHeadResult whose K/V heads are as many as its query heads: no cache
    figures, no new keys in the export; kv_cache_size refuses what is not a whole number of heads."""
    toy = attncore.run("I have a cat", heads=2)
    assert toy.kv_cache is None and not toy.grouped_query and not {"n_layers", "kv_cache"} & set(toy.to_dict())
    with pytest.raises(attncore.InputError, match="kv_heads: 3 does not divide 14 heads"):
        kv_cache_size(24, 14, 3, 64)
    with pytest.raises(attncore.InputError, match="layers: expected a whole number"):
        kv_cache_size(0, 14, 2, 64)


# ---- the heads stage ------------------------------------------------------------------------------------

def shown_text(result, source, heads) -> str:
    """What a number of the heads stage must read: scenetools' expected_text, but a head's role share from
    loops over attncore's weights (reference.worked's head_role recomputes the weights without RoPE)."""
    if source.step[:1] == ("head_role",):
        h = heads.heads[source.of]
        return pct(getattr(head_role_loops(h.weights.tolist(), h.mask.tolist(), h.tokens, True), source.field))
    if source.step[:1] == ("focus_look",):  # the other rows' mean on key k, by loops over attncore's (RoPE) weights
        i, k = source.step[1:]
        w, mask = result.weights.tolist(), result.mask.tolist()
        counted = [q for q in range(len(w)) if sum(mask[q]) > 1] or list(range(len(w)))
        others = [w[q][k] for q in counted if q != i and mask[q][k]]
        return pct({"share": w[i][k], "others": sum(others) / len(others)}[source.field])
    return expected_text(result, source, heads)


@pytest.fixture(scope="module")
def played(layer):
    """The heads stage of a tiny model's layer 1, played in a language (animations skipped, snapshots kept)."""
    return memoized(lambda kind, language: run_scene(layer(kind), ["heads"], focus=FOCUS, language=language,
                                                     snapshots=True, head=HEAD[kind]))


@live
@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("kind", ["llama", "qwen2"])
def test_every_number_of_the_grouped_heads_stage_is_attncores(played, kind, language):
    """Every number the heads stage shows or says is attncore's value as formatted; the KV cache's figures
    (on screen and said) equal the config's formula; the stage says what grouped-query attention is."""
    run = played(kind, language)
    heads = run.scene.ctx.heads
    result = heads.heads[HEAD[kind]]
    shown = [s for s in run.scene.log.shown if s.stage == "heads"]
    said = [(cue, n) for cue in run.scene.log.cues if cue.stage == "heads" for n in cue.numbers]
    for s in [*shown, *(n for _, n in said)]:
        assert s.text == shown_text(result, s.source, heads), s.source
    for cue, n in said:
        assert n.text in cue.text, (cue.text, n.text)
    want = cache_formula(CONFIGS[kind])
    cache = [s for s in [*shown, *(n for _, n in said)] if s.source.field.startswith("kv_cache.")]
    assert {s.source.field.removeprefix("kv_cache.") for s in cache} == set(want)
    for s in cache:
        assert s.text == str(want[s.source.field.removeprefix("kv_cache.")]), s.source
    words = " ".join(c.text for c in run.scene.log.cues if c.stage == "heads")
    term = {"en": "grouped-query attention", "zh": "分组查询注意力"}[language]
    assert term in words and str(want["per_token"]) in words and str(want["per_token_mha"]) in words


@live
@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("kind", ["llama", "qwen2"])
def test_the_grouped_heads_stage_is_readable(played, kind, language):
    """After every animation step: texts inside the frame, none overlapping, none below 16 pt; the K/V groups
    and the cache each a beat to pause on."""
    run = played(kind, language)
    assert_readable_layout(run)
    cues = [c for c in run.scene.log.cues if c.stage == "heads"]
    strings = catalogue(language)
    for key in ("heads.groups", "heads.cache"):
        template = strings[key].split("{")[0]
        assert any(c.pause and template in c.caption for c in cues), key


@live
@pytest.mark.parametrize("kind", ["llama", "qwen2"])
def test_each_box_holds_the_heads_of_its_kv_group(played, kind):
    """Each K/V head's box, named "K/V head g", surrounds the maps of exactly the query heads h with
    h // (heads / kv_heads) == g, and no other head's map."""
    from scenes.stages.heads import HeadsStage

    run = played(kind, "en")
    stage = HeadsStage(run.scene.ctx)
    maps = stage.maps()
    boxes = stage.groups(maps)
    H, G = CONFIGS[kind]["num_attention_heads"], CONFIGS[kind]["num_key_value_heads"]
    assert len(boxes) == G
    for g, (box, members) in enumerate(zip(boxes, groups_by_loop(H, G))):
        assert box.label.text.replace(" ", "") == f"K/Vhead{g}"
        lo, hi = box.box.get_corner((-1, -1, 0)), box.box.get_corner((1, 1, 0))
        inside = [h for h in range(H) if (maps[h].squares.get_center()[:2] > lo[:2]).all()
                  and (maps[h].squares.get_center()[:2] < hi[:2]).all()]
        assert inside == members, g
        assert box.label.get_bottom()[1] > hi[1]  # named above it


# ---- the handout and the page ---------------------------------------------------------------------------

@live
@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("kind", ["llama", "qwen2"])
def test_the_handout_and_the_page_group_heads_by_their_kv_head(layer, kind, language, tmp_path):
    """The handout: one table per K/V head listing exactly its query heads, and the KV cache table's cells
    equal to the formula; the page: a box per K/V head around exactly its heads' buttons, and the same table."""
    heads = layer(kind)
    strings = catalogue(language)
    view = dict(focus=FOCUS, head=HEAD[kind])
    outputs.make("handout", heads, tmp_path / "h.md", language=language, **view)
    outputs.make("explore", heads, tmp_path / "h.html", language=language, **view)
    tables = md_tables((tmp_path / "h.md").read_text(encoding="utf-8"))
    H, G = CONFIGS[kind]["num_attention_heads"], CONFIGS[kind]["num_key_value_heads"]
    name = lambda h: strings["heads.name"].format(head=h)
    assert strings["handout.roles_table"] not in tables  # no table of every head together
    for g, members in enumerate(groups_by_loop(H, G)):
        _, *rows = tables[strings["handout.group_table"].format(g=g)]
        want = [strings["handout.followed"].format(head=name(h)) if h == HEAD[kind] else name(h) for h in members]
        assert [row[0] for row in rows] == want, g
    want = cache_formula(CONFIGS[kind])
    caption = strings["handout.cache_table"]
    header, gqa, mha = tables[caption]
    assert gqa[1:] == [str(v) for v in (want["layers"], want["kv_heads"], want["d_head"], 2, 2, want["per_token"])]
    assert mha[1:] == [str(v) for v in (want["layers"], want["heads"], want["d_head"], 2, 2, want["per_token_mha"])]
    page = (tmp_path / "h.html").read_text(encoding="utf-8")
    boxes = re.findall(r'<fieldset class="group" data-g="(\d+)"><legend>(.*?)</legend>(.*?)</fieldset>', page)
    assert [int(g) for g, _, _ in boxes] == list(range(G))
    for (g, legend, inner), members in zip(boxes, groups_by_loop(H, G)):
        assert html.unescape(legend) == strings["heads.group"].format(g=g)
        assert [int(h) for h in re.findall(r'data-h="(\d+)"', inner)] == members
    assert f"<td>{want['per_token']}</td>" in page and f"<td>{want['per_token_mha']}</td>" in page


@live
@pytest.mark.parametrize("kind", ["llama", "qwen2"])
def test_the_handouts_q_and_k_are_before_rope_then_turned(layer, kind, tmp_path):
    """Under "Q = X·W_Q (+ b_Q)": X W (+ b) by loops, before the rotation; under "RoPE(Q)": those rows turned by
    their positions (loops), as the scores use them; likewise K. V is never turned."""
    heads = layer(kind)
    r = heads.heads[HEAD[kind]]
    outputs.make("handout", heads, tmp_path / "h.md", focus=FOCUS, head=HEAD[kind])
    tables = md_tables((tmp_path / "h.md").read_text(encoding="utf-8"))
    strings = catalogue("en")
    theta = CONFIGS[kind]["rope_theta"]
    biased = kind == "qwen2"
    for which in "QK":
        raw = raw_loops(r, which)
        turned = [turned_loops(raw[s], s, theta) for s in range(len(raw))]
        d = len(raw[0])
        made = strings[f"handout.{which}"].format(s=len(raw), d=d, bias=f" + b_{which}" if biased else "")
        rotated = strings[f"handout.rope_{which}"].format(s=len(raw), d=d)
        for caption, want in ((made, raw), (rotated, turned)):
            header, *rows = tables[caption]
            s, checked = -1, 0
            for row in rows:
                if row[0].startswith("⋮"):  # an elided run of tokens
                    continue
                s = r.tokens.index(row[0], s + 1)  # the next token of this text
                for cell, column in zip(row[1:], header[1:]):
                    if column == "…":
                        continue
                    value = want[s][int(column)]
                    checked += 1
                    assert abs(float(cell.replace("−", "-")) - value) <= 0.005 + 1e-9, (caption, s, column)
                    assert cell in (fmt(value - 1e-9), fmt(value + 1e-9), fmt(value)), (caption, s, column)
            assert checked >= 20, caption
        assert not np.allclose(raw, turned)  # the turn shows
    assert "RoPE(V)" not in " ".join(tables)
