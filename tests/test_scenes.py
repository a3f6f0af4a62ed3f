"""The scenes show and say attncore's numbers, legibly, inside the frame, in both languages, and look
as they did. Each test sentence (conftest.SENTENCES) is rendered once, animations skipped."""

from __future__ import annotations

import itertools
import re
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from manim import ManimColor
from PIL import Image
from scenetools import FAST, assert_readable_layout, expected_text, overlapping_pairs

import attncore
from scenes import default_stages, lecture
from scenes.beats import Stage
from scenes.components import token_rows
from scenes.stages import STAGES, check_order
from scenes.strings import CATALOGUES, PSEUDO_CLOSE, PSEUDO_OPEN, reading_time

STAGE_NAMES = default_stages(False)  # the single-head sentences: no heads stage

FRAMES = Path(__file__).parent / "frames"
NUMBER = re.compile(r"−?\d+\.\d+%?")  # how fmt and pct write numbers


@pytest.mark.parametrize("stage", STAGE_NAMES)
@pytest.mark.parametrize("name", ["default", "other", "chinese", "shifted"])
def test_every_number_on_screen_is_attncores(runs, name, stage):
    result, run = runs(name)
    shown = [s for s in run.scene.log.shown if s.stage == stage]
    if stage != "title":
        assert len(shown) >= result.n_tokens, "a stage that shows (almost) no number"
    for s in shown:
        assert s.text == expected_text(result, s.source), s.source


@pytest.mark.parametrize("name", ["default", "other", "chinese", "shifted"])
def test_every_number_in_the_narration_is_attncores(runs, name):
    """Each cue's quoted numbers equal attncore's values as formatted, and every decimal number in
    the words is one of them (nothing quoted without a source)."""
    result, run = runs(name)
    cues = run.scene.log.cues
    assert {c.stage for c in cues} == set(STAGE_NAMES)
    quoted = 0
    for cue in cues:
        for n in cue.numbers:
            assert n.text == expected_text(result, n.source), (cue.text, n.source)
            assert n.text in cue.text
        texts = {n.text for n in cue.numbers}
        stray = [x for x in NUMBER.findall(cue.text) if x not in texts]
        assert not stray, (cue.text, stray)
        quoted += len(cue.numbers)
    assert quoted >= 10


def test_narration_names_the_strongest_attention(runs):
    """The softmax narration says whom "cat" attends to most, and how much: 58.8% to itself."""
    result, run = runs("default")
    words = " ".join(c.text for c in run.scene.log.cues if c.stage == "softmax")
    assert "“cat” gives 58.8% of its attention to itself" in words
    assert attncore.pct(result.weights[3].max()) == "58.8%"


@pytest.mark.parametrize("name", ["default", "chinese"])
def test_cues_are_timed_in_order_and_readable(runs, name):
    _, run = runs(name)
    cues, language = run.scene.log.cues, run.scene.ctx.language
    assert cues[0].start == 0
    for before, after in zip(cues, cues[1:]):
        assert before.end <= after.start + 1e-9, (before.text, after.text)
    for cue in cues:
        assert cue.end - cue.start >= reading_time(language, cue.text) - 1e-6, cue.text
    for stage in STAGE_NAMES:  # each stage has a moment to stop and talk
        assert any(c.pause for c in cues if c.stage == stage), stage


def test_stages_show_their_whole_matrices(runs):
    """With 4 tokens nothing is elided: each stage shows every entry of the matrices it explains."""
    result, run = runs("default")
    wanted = {
        "embeddings": ["embeddings"],
        "projection": ["Q", "K", "V", "W_Q", "W_K", "W_V"],
        "scores": ["scores"],
        "softmax": ["scaled", "weights"],
        "weighted-sum": ["output"],
        "summary": [],
    }
    for stage, fields in wanted.items():
        sources = {(s.source.field, *s.source.index) for s in run.scene.log.shown if s.stage == stage and not s.source.step}
        for f in fields:
            shape = getattr(result, f).shape
            missing = [ix for ix in itertools.product(*map(range, shape)) if (f, *ix) not in sources]
            assert not missing, (stage, f, missing[:3])


def test_summary_recaps_the_focus_token_through_every_step(runs):
    result, run = runs("default")
    fields = {s.source.field for s in run.scene.log.shown if s.stage == "summary" and s.source.index[:1] == (3,)}
    assert {"X", "Q", "K", "V", "scaled", "weights", "output"} <= fields


@pytest.mark.parametrize("name", ["other", "gpt2"])
def test_causal_masked_cells_show_as_masked(runs, name):
    """Every scaled-score cell on screen is "−∞" exactly where the key comes after the query: the
    toy --causal, and a GPT-2 decoder's own mask."""
    result, run = runs(name)
    assert result.causal
    scaled = [s.source for s in run.scene.log.shown if s.source.field == "scaled" and s.stage == "softmax"]
    assert sum(src.format == "masked" for src in scaled) >= 10
    for src in scaled:
        i, j = src.index
        assert (src.format == "masked") == (j > i), src
    later = [s for s in run.scene.log.shown if s.source.field == "weights" and s.source.index[1] > s.source.index[0]
             and s.source.of is None]  # not the trained stage's head, which is no decoder
    assert later and all(s.text == "0.0%" for s in later)


@pytest.mark.parametrize("name", ["default", "other", "one token", "twelve tokens", "chinese", "pseudo", "model",
                                  "m3e", "gpt2", "toy heads"])
def test_layout_inside_frame_no_overlap_readable(runs, name):
    """After every animation step: texts inside the frame, none overlapping, none below 16 pt."""
    result, run = runs(name)
    assert len(run.snapshots) > 30
    assert_readable_layout(run)


def test_long_sentences_are_elided_and_say_so(runs):
    result, run = runs("twelve tokens")
    shown = run.scene.log.shown
    shown_keys = {s.source.index[1] for s in shown if s.source.field == "scores"}
    # tokens are elided by weight, keeping the focus row's story: these near-uniform toy weights give every
    # key 3% or more, so the grids grow to show all twelve (tests/test_elision.py elides longer sentences)
    assert shown_keys == set(range(result.n_tokens))
    shown_dims = {s.source.index[1] for s in shown if s.source.field == "X"}
    assert len(shown_dims) < result.d_model
    texts = {t for snap in run.snapshots for t, _, _, _ in snap.texts}
    assert any(t.startswith("“…”") and "dimensions" in t for t in texts)  # the stage's note on what "…" leave out
    assert "⋯" in texts


def test_overlap_check_detects_overlap():
    boxes = np.array([[[0, 0, 0], [1, 1, 0]], [[0.5, 0.5, 0], [2, 2, 0]], [[3, 3, 0], [4, 4, 0]]], float)
    assert overlapping_pairs(boxes) == [(0, 1)]


@pytest.mark.parametrize("tokens, rows", [
    # Qwen's tokens of the Chinese sentence: "。" would start a row of its own; it stays on the first
    (["我", "有一", "只", "猫", "，", "它", "很", "可爱", "。"], ["我 有一 只 猫 ， 它 很 可爱 。"]),
    ("One two three four five six seven eight , nine ten eleven".split(),
     ["One two three four five six seven eight ,", "nine ten eleven"]),
    (["a", "b", "c", "d", "e", "f", "g", "h", " .", "”", "i"], ["a b c d e f g h  . ”", "i"]),  # two marks stay
    # three marks are too many to keep: the row breaks before the word they close, which goes down with them
    (["a", "b", "c", "d", "e", "f", "g", "h", "。", "”", "）", "i"], ["a b c d e f g", "h 。 ” ） i"]),
    (list("我有一只猫它很可爱真的很可爱"), ["我 有 一 只 猫 它 很 可", "爱 真 的 很 可 爱"]),  # no mark: rows of 8
    (list("猫，它很可爱。"), ["猫 ， 它 很 可 爱 。"]),
    (["cat"], ["cat"]),
    ([], []),
])
def test_token_rows_never_start_with_closing_punctuation(tokens, rows):
    """The title's chips break into rows as Chinese typesetting breaks lines (kinsoku): a row never
    starts with 。，、；：？！）」』” or . , ; : ? ! (hand cases, 8 to a row)."""
    assert [" ".join(tokens[k] for k in r) for r in token_rows(tokens, 8)] == rows


# ---- languages ------------------------------------------------------------------------------------

def forms(value) -> list[str]:
    return list(value.values()) if isinstance(value, dict) else [value]


def placeholders(value) -> set[str]:
    return {name for form in forms(value) for name in re.findall(r"{(\w+)}", form)}


def test_catalogues_have_the_same_keys_and_placeholders():
    en, zh = CATALOGUES["en"], CATALOGUES["zh"]
    assert set(en) == set(zh), (set(en) ^ set(zh))
    for key in en:
        assert placeholders(en[key]) == placeholders(zh[key]), key
    # translated, except pure notation that reads the same in both
    same = {key for key in en if forms(en[key]) == forms(zh[key])}
    assert same <= {"softmax.scale", "softmax.exp", "softmax.exp_shifted", "scores.result", "scores.result_approx",
                    "summary.attended_one", "summary.shape",
                    "summary.formula", "title.sentence", "softmax.x", "heads.top", "explore.weight", "explore.v_row",
                    "explore.z_row", "contrast.swap", "kv.score_head", "rope.table_s", "kv.candidate", "rope.pair_label",
                    "rope.turned_name", "live.language.en", "live.language.zh", "heads.legend", "trained.quoted"}, same  # a language named in its own words
    assert set(en["title.tokens"]) == {"one", "other"} and set(zh["title.tokens"]) == {"other"}


def test_every_key_the_scenes_use_is_in_the_catalogue():
    used = set()
    for path in (Path(__file__).parent.parent / "scenes").rglob("*.py"):
        used |= set(re.findall(r'(?:say|ctx\.s|\.s)\(\s*f?"([a-z_.]+[a-z_])"', path.read_text()))
    assert len(used) > 50
    missing = sorted(k for k in used if k not in CATALOGUES["en"] and not k.endswith("."))
    assert not missing, missing


def test_chinese_strings_use_the_seeds_terms():
    zh = " ".join(v for value in CATALOGUES["zh"].values() for v in forms(value))
    for term in ("查询", "键", "值", "投影矩阵", "注意力分数", "缩放", "注意力权重", "加权求和", "当前词元", "词元"):
        assert term in zh, term


MATH_ONLY = re.compile(r"^[XQKVZW_·=≈+×…⋮⋯⋱→↓Σ%θ\s]+$")  # θ: the scores stage's angle; ≈: a sum of unrounded numbers


@pytest.mark.parametrize("name", ["pseudo", "toy heads"])
def test_pseudo_language_leaves_no_text_outside_the_catalogue(runs, name):
    """Rendered with every catalogue string between ⟦ ⟧, each visible text is marked, a number
    attncore gave, a token (possibly cut with "…"), or math symbols."""
    from attncore import lessons

    result, run = runs(name)
    numbers = {s.text for s in run.scene.log.shown}
    seen = {t for snap in run.snapshots for t, _, _, _ in snap.texts}
    assert any(PSEUDO_OPEN in t for t in seen)
    # the trained stage's tokens (its trained head's sentence) are tokens too, when that model is installed
    shown = lessons.trained(lessons.example_for(run.scene.ctx.language))
    trained_tokens = shown.result.tokens if shown is not None else ()
    unmarked = []
    for t in seen:
        if PSEUDO_OPEN in t or PSEUDO_CLOSE in t or t in numbers or MATH_ONLY.match(t):
            continue
        if any(tok.startswith(t.rstrip("…")) for tok in (*result.tokens, *trained_tokens)):
            continue
        unmarked.append(t)
    assert not unmarked, unmarked


def test_chinese_video_joins_tokens_and_draws_chinese_with_the_cjk_font(runs):
    result, run = runs("chinese")
    texts = [(t, font) for snap in run.snapshots for t, _, _, font in snap.texts]
    sentences = [t for t, _ in texts if t.startswith("“我有")]  # manim's Text.text drops spaces: check the narration
    assert sentences and all(t == "“我有一只猫，它很可爱。”" for t in sentences), sentences
    assert "我们的句子是：“我有一只猫，它很可爱。”" in [c.text for c in run.scene.log.cues]
    assert any(t.startswith("1.嵌入向量") for t, _ in texts)  # Text.text drops spaces
    for t, font in texts:
        chinese = any(unicodedata.east_asian_width(c) in "WF" for c in t)  # Han, or full-width punctuation
        assert font.startswith("Noto Sans CJK") == chinese, (t, font)
    words = " ".join(c.text for c in run.scene.log.cues)
    assert "当前词元“爱”" in words  # the focus skips the final "。"


def test_english_text_is_drawn_with_a_latin_font_first(runs):
    """Noto Sans CJK draws “ ” full width; English text (quotes included) must not lead with it."""
    _, run = runs("default")
    fonts = {font for snap in run.snapshots for t, _, _, font in snap.texts if "“" in t}
    assert fonts and all(f.startswith("Noto Sans,") for f in fonts), fonts


# ---- structure ------------------------------------------------------------------------------------

def test_stages_must_meet_on_the_same_picture():
    check_order(STAGES)  # the video's own order agrees
    a = type("A", (Stage,), {"name": "a", "ends_on": "x"})
    b = type("B", (Stage,), {"name": "b", "starts_from": "qkv"})
    with pytest.raises(ValueError, match="stage 'b' starts from 'qkv', but 'a' before it ends on 'x'"):
        check_order([a, b])


def test_script_lists_every_cue_under_its_stage_with_times(runs):

    _, run = runs("default")
    script = lecture.script_text(run.scene.ctx, run.scene.log.cues)
    assert script.startswith("# Self-attention, step by step: “I have a cat”")
    assert script.count("\n## ") == len(STAGE_NAMES)
    assert re.search(r"\n## 4\. Scale and softmax  \(\d:\d\d\.\d\)\n", script)
    for cue in run.scene.log.cues:  # m:ss.s, written out here (not by lecture.timestamp)
        assert f"**{int(cue.start // 60)}:{cue.start % 60:04.1f}** {cue.text}" in script
    assert "- **0:00.0** Self-attention, step by step" in script
    assert lecture.timestamp(83.25) == "1:23.2" and lecture.timestamp(9.96) == "0:10.0"
    assert script.count("⏸") == sum(c.pause for c in run.scene.log.cues) + 1  # +1: the intro explains it


# ---- last frames against stored pictures ------------------------------------------------------
# manim's frames_comparison skips itself on cairo < 1.18 (Debian 12 has 1.16), so this is our own:
# each stage's last frame at 854 x 480 against tests/frames/<stage>.png, with a tolerance for
# anti-aliasing. `pytest --update-frames` rewrites the pictures (look at them before committing).


def frame_difference(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(mean absolute difference in 0..255, fraction of pixels differing by more than 48)."""
    d = np.abs(a[..., :3].astype(int) - b[..., :3].astype(int))
    return float(d.mean()), float((d.max(axis=-1) > 48).mean())


@pytest.mark.parametrize("stage", STAGE_NAMES)
def test_last_frame_matches_stored_picture(runs, stage, request):
    _, run = runs("default")
    frame = run.frames[stage]
    assert frame.shape[:2] == (FAST_HEIGHT, FAST_WIDTH)
    path = FRAMES / f"{stage}.png"
    if request.config.getoption("--update-frames"):
        FRAMES.mkdir(exist_ok=True)
        Image.fromarray(frame[..., :3]).save(path)
    assert path.exists(), f"no stored picture {path}: run pytest --update-frames and look at it"
    stored = np.asarray(Image.open(path).convert("RGB"))
    mean, share = frame_difference(frame, stored)
    assert mean < 1.5 and share < 0.005, f"{stage}: mean difference {mean:.2f}, {share:.2%} of pixels differ"


def test_frame_difference_notices_a_change():
    a = np.zeros((480, 854, 4), np.uint8)
    b = a.copy()
    b[100:140, 100:200, :3] = 255  # a missing label is this big
    mean, share = frame_difference(a, b)
    assert share > 0.005


FAST_WIDTH, FAST_HEIGHT = 854, 480
assert FAST["quality"] == "low_quality"


# ---- several heads: a real model's layer, toy multi-head ------------------------------------------

@pytest.mark.parametrize("name", ["model", "m3e", "gpt2", "toy heads"])
def test_several_heads_every_number_shown_or_said_is_attncores(runs, name):
    """Every number on screen and in the narration, the other heads' and W_O's included, equals
    attncore's value as formatted; every stage of the video plays, the heads stage among them."""
    result, run = runs(name)
    heads = run.scene.ctx.heads
    assert heads is not None and result is heads.heads[result.head]
    shown = run.scene.log.shown
    for s in shown:
        assert s.text == expected_text(result, s.source, heads), s.source
    for cue in run.scene.log.cues:
        for n in cue.numbers:
            assert n.text == expected_text(result, n.source, heads) and n.text in cue.text, (cue.text, n.source)
    assert {c.stage for c in run.scene.log.cues} == set(default_stages(True, model=result.model is not None))
    of = {s.source.of for s in shown if s.stage == "heads"}
    assert set(range(heads.n_heads)) | {"heads"} <= of  # every head's share, and the joined vectors


def test_model_video_hides_cls_sep_but_says_they_count(runs):
    """--hide-special: [CLS] and [SEP] are drawn nowhere, the softmax says they still take part,
    the numbers stay the full computation (the sum column is 100%), and the focus follows "it"."""
    result, run = runs("model")
    ctx = run.scene.ctx
    assert [result.tokens[i] for i in sorted(ctx.hidden)] == ["[CLS]", "[SEP]"]
    texts = [t for snap in run.snapshots for t, _, _, _ in snap.texts]
    assert not [t for t in texts if t in ("[CLS]", "[SEP]")]
    drawn = {s.source.index[1] for s in run.scene.log.shown if s.source.field == "weights" and s.source.of is None
             and len(s.source.index) == 2}
    assert drawn and not drawn & ctx.hidden
    i = result.tokens.index("it")
    share = attncore.pct(sum(float(result.weights[i, j]) for j in ctx.hidden))  # the hidden specials' share, by a loop
    assert any(f"specialtokensnotdrawn:{share}of“it”'sattention" in t for t in texts)  # Text.text drops spaces
    words = " ".join(c.text for c in run.scene.log.cues)
    assert "The special tokens are not drawn, but they still take part in the softmax" in words
    assert f"they hold {share} of the attention of “it”" in words
    assert "“it” gives 64.7% of its attention to “animal”" in words
    sums = [s.text for s in run.scene.log.shown if s.source.step == ("row_sums",)]
    assert sums and set(sums) == {"100.0%"}


def test_model_video_names_the_model_the_sentence_and_the_bias(runs):
    result, run = runs("model")
    texts = {t for snap in run.snapshots for t, _, _, _ in snap.texts}
    assert "“Theanimaldidn'tcrossthestreetbecauseitwastootired”" in texts  # the sentence, not the pieces
    assert any(t.startswith("all-MiniLM-L6-v2·layer5·head11") for t in texts)
    assert any(t.startswith("1.Theinputoflayer5") for t in texts)
    assert "X:15×384" in texts and "Q:15×32" in texts  # elided, with the true shapes
    assert any(s.source.field == "b_Q" for s in run.scene.log.shown)
    words = [c.text for c in run.scene.log.cues]
    assert any("Layer 5's input is what layer 4 wrote" in w for w in words)
    heads_words = " ".join(c.text for c in run.scene.log.cues if c.stage == "heads")
    assert "In head 11, the one we followed, “it” gives 64.7% to “animal”" in heads_words


def test_heads_stage_highlights_the_followed_head(runs):
    """The followed head's name is drawn in the accent colour, every other head's not."""
    result, run = runs("model")
    scene = run.scene
    from scenes.stages.heads import HeadsStage

    stage = HeadsStage(scene.ctx)
    maps = stage.maps()
    accent = ManimColor(scene.ctx.theme.accent)
    names = [(m.name.text, ManimColor(m.name.get_fill_color()) == accent) for m in maps]
    assert names == [(f"head{h}", h == 11) for h in range(12)]


def test_chinese_model_video_shows_it_finding_the_cat(runs):
    """m3e-small layer 0 head 4 in Chinese: the softmax stage shows 它 → 猫 with transformers' own
    percentage (the stored reference, formatted), the title names model, layer and head in Chinese,
    [CLS]/[SEP] are drawn nowhere, and the narration says where 它 looks."""
    from model_reference import REFERENCE

    result, run = runs("m3e")
    i, j = result.tokens.index("它"), result.tokens.index("猫")
    want = attncore.pct(np.load(REFERENCE)["m3e-small_attention_0_0"][4][i, j])
    assert want == "98.2%"
    softmax = [s for s in run.scene.log.shown if s.stage == "softmax" and s.source.field == "weights"
               and s.source.of is None and s.source.index == (i, j)]
    assert softmax and {s.text for s in softmax} == {want}
    texts = {t for snap in run.snapshots for t, _, _, _ in snap.texts}
    assert any(t.startswith("m3e-small，第0层，4号头") for t in texts)
    assert not texts & {"[CLS]", "[SEP]"}
    words = " ".join(c.text for c in run.scene.log.cues)
    assert f"“它”把 {want} 的注意力给了“猫”，比给任何其他词元都多。" in words
    assert "第 0 层的输入是 m3e-small 中每个词元的嵌入向量" in words


def test_gpt2_video_explains_the_decoder_its_norm_and_byte_pieces(runs):
    """A GPT-2 checkpoint: the title says it is a decoder and why a token shows as ⟨E6⟩, X is named
    as normalised, the heads stage's note follows GPT-2's residual; no [CLS]/[SEP] anywhere."""
    result, run = runs("gpt2")
    assert result.tokens[:3] == ("⟨E6⟩", "⟨88⟩", "⟨91⟩")  # 我 = E6 88 91, one byte a token
    words = " ".join(c.text for c in run.scene.log.cues)
    assert "It is a decoder: its tokenizer adds no special tokens" in words
    assert "A token holding only part of a character is shown as its bytes, like ⟨E6⟩." in words
    assert "tiny-gpt2 normalises before attention, so X is that after the layer's first layer norm" in words
    assert "[CLS]" not in words
    texts = {t for snap in run.snapshots for t, _, _, _ in snap.texts}
    assert "⟨E6⟩:bytesofacharactersplitacrosstokens" in texts
    assert "Xlayer1'sinput,normalised" in texts
    assert any(t.startswith("Inthemodel,thisisaddedtothelayer'sinput") for t in texts)


def test_large_scores_are_worked_in_the_shifted_form(runs):
    """Scaled scores above 6: the softmax stage shows e^(x − max) with the row's largest allowed
    score (from explicit loops), its label says so, and the narration quotes the shift."""
    from reference import worked

    result, run = runs("shifted")
    i = run.scene.ctx.focus
    row = worked(result, "softmax_row", i)
    assert row.shift > 6 and row.shift == max(row.x)
    shown = [s for s in run.scene.log.shown if s.stage == "softmax" and s.source.step == ("softmax_row", i)]
    assert {s.source.field for s in shown} >= {"x", "exps", "total"}
    texts = {t for snap in run.snapshots for t, _, _, _ in snap.texts}
    assert f"e^(s−{attncore.fmt(row.shift)})" in texts
    words = " ".join(c.text for c in run.scene.log.cues if c.stage == "softmax")
    assert attncore.fmt(row.shift) in words and attncore.fmt(row.total) in words
