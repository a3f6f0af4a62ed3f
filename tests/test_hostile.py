"""Any script, any number: hostile text and numbers render or fail cleanly, never crash or mislead."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import attncore
from attncore import InputError, fmt, tokenize

ROOT = Path(__file__).parent.parent

# (name, sentence, expected tokens)
TOKENS = [
    ("arabic", "لدي قطة صغيرة", ["لدي", "قطة", "صغيرة"]),
    ("hebrew", "יש לי חתול", ["יש", "לי", "חתול"]),
    ("mixed rtl/ltr", "The word قطة means cat", ["The", "word", "قطة", "means", "cat"]),
    ("hindi", "मेरे पास एक बिल्ली है", ["मेरे", "पास", "एक", "बिल्ली", "है"]),
    ("bengali conjunct", "ক্ষমা করো", ["ক্ষমা", "করো"]),
    ("thai", "ฉันมีแมว", ["ฉั", "น", "มี", "แ", "ม", "ว"]),
    ("khmer", "ខ្ញុំ", ["ខ្ញុំ"]),
    ("emoji sequences", "🏳️‍🌈 👨‍👩‍👧 🇫🇷 1️⃣ 👍🏽", ["🏳️\u200d🌈", "👨\u200d👩\u200d👧", "🇫🇷", "1️⃣", "👍🏽"]),
    ("emoji without a glyph", "I am 🫨 today", ["I", "am", "🫨", "today"]),
    ("combining marks", "cafe\u0301 \u0301x nai\u0308ve", ["café", "x", "naïve"]),
    ("zero-width space", "a\u200bb c\u2060d", ["a", "b", "cd"]),
    ("controls", "one\ttwo\x07three\u00adfour", ["one", "two", "threefour"]),
    ("bidi controls", "\u202bשלום\u202c hi", ["שלום", "hi"]),
    ("inner apostrophes", "don't well-known 'quoted'", ["don't", "well-known", "'", "quoted", "'"]),
    ("cjk and latin", "我有cat", ["我", "有", "cat"]),
]


@pytest.mark.parametrize("name, sentence, tokens", TOKENS, ids=[t[0] for t in TOKENS])
def test_tokenizer_keeps_graphemes_and_words_whole(name, sentence, tokens):
    assert tokenize(sentence) == tokens


def test_only_invisible_characters_is_empty():
    with pytest.raises(InputError, match="sentence: is empty"):
        tokenize("\u200b\u200d\u2060 \u0301")


# Sentences rendered (animations skipped): each token's text visible and inside the frame at the end
# of each stage. Arabic (which crashed) goes through every stage; the others through the stages
# that draw tokens in all their ways (chips, row labels, grid columns, the links, the recap).
EVERY = ("title", "embeddings", "projection", "scores", "softmax", "weighted-sum", "summary")
TOKEN_STAGES = ("title", "softmax", "summary")  # chips, row labels, grid columns, the links, the recap
LABELS = ("title", "summary")
RENDERED = {
    "arabic": ("لدي قطة صغيرة جدا", {}, "en", EVERY),
    "mixed": ("The word قطة means cat 🐈", {}, "zh", TOKEN_STAGES),
    "emoji": ("🏳️‍🌈 👨‍👩‍👧 🇫🇷 1️⃣ 👍🏽 🫨", {}, "en", LABELS),
    "hebrew": ("יש לי חתול קטן", {}, "en", LABELS),
    "hindi": ("मेरे पास एक बिल्ली है", {}, "en", LABELS),
    "thai": ("ฉันมีแมว", {}, "en", LABELS),
    "long token": ("Pneumonoultramicroscopicsilicovolcanoconiosis strikes", dict(d_model=6), "en", LABELS),
    "40 tokens": (" ".join(f"w{k}" for k in range(40)), {}, "en", ("title",)),
}


@pytest.mark.parametrize("name", list(RENDERED))
def test_every_token_is_visible_in_every_stage(name):
    from scenes.glyphs import stand_in
    from scenetools import run_scene

    sentence, kw, language, stages = RENDERED[name]
    result = attncore.run(sentence, **kw)
    run = run_scene(result, list(stages), language=language)
    from manim import config

    half = np.array([config.frame_width / 2, config.frame_height / 2])
    focus = run.scene.ctx.focus
    sentence = run.scene.ctx.sentence().replace(" ", "")
    for stage, texts in run.ends.items():
        for words, box in texts:
            size = box[1, :2] - box[0, :2]
            assert (size > 0).all(), (stage, words)
            assert (box[0, :2] >= -half - 1e-6).all() and (box[1, :2] <= half + 1e-6).all(), (stage, words)
        # each token as a label of its own in this stage (a long one cut with "…"), never only inside
        # the quoted sentence; the recap labels the focus token's rows
        labels = [w for w, _ in texts if sentence not in w]
        tokens = [focus] if stage == "summary" else [*range(min(10, result.n_tokens)), result.n_tokens - 1]
        for i in tokens:
            token = stand_in(result.tokens[i]).replace(" ", "")
            assert any(w == token or (stage == "summary" and f"“{token}”" in w)
                       or (w.endswith("…") and len(w) > 2 and token.startswith(w[:-1])) for w in labels), (stage, token)


@pytest.fixture
def no_font_has_the_shaking_face(monkeypatch):
    """U+1FAE8 (🫨) with no font that draws it, whatever this machine has installed."""
    from scenes import glyphs

    real = glyphs.drawable
    monkeypatch.setattr(glyphs, "drawable", lambda ch: ch != "🫨" and real(ch))


def test_a_glyph_no_font_has_shows_its_code_point(no_font_has_the_shaking_face):
    from scenes.components import text
    from scenes.context import Ctx
    from scenes.glyphs import missing, stand_in
    from scenes import glyphs

    drawable = glyphs.drawable

    assert not drawable("🫨") and drawable("猫") and drawable("क") and drawable("ق")
    assert stand_in("I 🫨 it") == "I U+1FAE8 it" and missing("🫨a🫨") == ["🫨"]
    ctx = Ctx(attncore.run(), 3)
    t = text(ctx, "🫨")
    assert t.width > 0.3 and len(t.family_members_with_points()) >= 6  # "U+1FAE8", drawn


def test_the_video_says_why_a_code_point_stands_in(no_font_has_the_shaking_face):
    from scenetools import run_scene

    run = run_scene(attncore.run("I am 🫨 today"), ["title"])
    words = [c.text for c in run.scene.log.cues]
    assert "No installed font can draw U+1FAE8, so the video shows the code point instead of an empty box." in words
    assert any(w == "U+1FAE8" for w, _ in run.ends["title"])  # the token's label


def test_right_to_left_text_is_drawn_in_its_own_direction():
    from scenes.components import text
    from scenes.context import Ctx

    ctx = Ctx(attncore.run(), 3)
    word = text(ctx, "שלום")  # four letters, the first (ש) drawn rightmost
    letters = sorted(word.family_members_with_points(), key=lambda m: m.get_x())
    assert len(letters) == 4 and word.width > 0.5
    alone = text(ctx, "ש")
    assert np.isclose(letters[-1].width, alone.family_members_with_points()[0].width, rtol=0.05)


# ---- numbers -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("field, value", [("embeddings", 1e200), ("W_Q", 1e300), ("W_V", -2e6), ("b_K", 1e7)])
def test_huge_inputs_are_refused_naming_the_field(field, value):
    data = {"tokens": ["a", "b"], "embeddings": [[0.1, 0.2], [0.3, 0.4]], "W_Q": [[1, 0], [0, 1]],
            "W_K": [[1, 0], [0, 1]], "W_V": [[1, 0], [0, 1]]}
    if field == "b_K":
        data["b_K"] = [0.0, value]
    else:
        data[field] = [[value, 0], [0, 1]] if field != "embeddings" else [[0.1, value], [0.3, 0.4]]
    with pytest.raises(InputError, match=rf"^{field}: values must lie within ±1e\+06, found "):
        attncore.run(weights=attncore.numbers.parse(data))


def test_largest_accepted_inputs_stay_finite():
    big = 1e6
    result = attncore.run("a b c", weights=attncore.numbers.parse({
        "embeddings": [[big, -big, big, -big]] * 3, "W_Q": np.full((4, 4), big).tolist(),
        "W_K": np.full((4, 4), -big).tolist(), "W_V": np.full((4, 4), big).tolist()}))
    for field in ("Q", "scores", "weights", "output"):
        assert np.isfinite(getattr(result, field)).all()
    assert np.allclose(result.weights.sum(axis=1), 1)


def test_large_numbers_are_written_compactly():
    assert fmt(123456.7) == "1.2e+05" and fmt(-2.5e7) == "\u22122.5e+07" and fmt(99999.99) == "99999.99"
    assert fmt(1e6) == "1.0e+06" and fmt(0.001) == "0.00"


def test_attncore_cli_refuses_huge_numbers_in_one_line(tmp_path):
    path = tmp_path / "w.json"
    path.write_text(json.dumps({"W_Q": [[1e300, 0, 0, 0]] * 4}))
    done = subprocess.run([sys.executable, "-m", "attncore", "I have a cat", "--weights", str(path)], capture_output=True, text=True,
                          cwd=ROOT)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [done.stderr.strip()] and "W_Q: values must lie within" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stdout) < 200


def test_attncore_cli_tables_stay_aligned_with_large_values(tmp_path):
    path = tmp_path / "w.json"
    path.write_text(json.dumps({"W_Q": (np.eye(4) * 9e5).tolist()}))
    done = subprocess.run([sys.executable, "-m", "attncore", "I have a cat", "--weights", str(path)], capture_output=True, text=True,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "e+05" in done.stdout and max(len(line) for line in done.stdout.splitlines()) < 120


# ---- interrupted and impossible outputs ------------------------------------------------------------------
@pytest.mark.render
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_render_leaves_nothing(tmp_path, sig):
    out = tmp_path / "v.mp4"
    import tempfile

    # a cache of its own: with stages an earlier test cached, the render would end before the signal
    env = dict(os.environ, ATTENTION_EXPLAINER_CACHE=tempfile.mkdtemp(prefix="interrupted-cache-"))
    # the whole video (about 10 s on two cores), so that the signal comes well before its end
    proc = subprocess.Popen([sys.executable, str(ROOT / "render.py"), "--output", str(out), "--jobs", "1"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 120
    while not list(tmp_path.glob(".render-*/*/videos")) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)  # until manim is writing frames
    time.sleep(1.0)
    assert proc.poll() is None, "the render ended before it could be interrupted"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130  # as the README promises, for SIGINT and SIGTERM alike
    assert err.strip().splitlines()[-1] == "error: interrupted; nothing was written"
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # no video, no hidden part, no temporary folder


def test_an_output_folder_that_cannot_be_made_is_named(tmp_path):
    import render

    (tmp_path / "file").write_text("in the way")
    for args, option in ((["--output", str(tmp_path / "file" / "v.mp4")], "--output"),
                         (["--handout", str(tmp_path / "file" / "h.md")], "--handout"),
                         (["--script", str(tmp_path / "file" / "s.md")], "--script"),
                         (["--numbers", str(tmp_path / "file" / "n.json"), "--handout", str(tmp_path / "h.md")],
                          "--numbers"),
                         (["--slides", "--output", str(tmp_path / "file" / "d.html")], "--output"),
                         (["--stills", str(tmp_path / "file" / "st")], "--stills")):
        result = CliRunner().invoke(render.main, args)
        assert result.exit_code != 0
        assert result.output.strip() == (f"error: {option}: cannot write in the folder "
                                          f"'{tmp_path / 'file'}{'' if option != '--stills' else '/st'}' "
                                          "(a file is in the way)"), result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]
