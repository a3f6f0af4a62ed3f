"""Sizes grow with the free space (issue 26, point 10): a 4-token sentence's matrices span most of the
frame's width, their numbers larger than a long sentence's, and no text or formula, however many
tokens, stands smaller than the floor at 480p. The videos are the recorder's (tests/recorder.py: each
played once per test session with animations skipped, shared with tests/test_overlap.py); after every
play() the visible texts and formulas are looked at.

The floor is tests/test_overlap.py's: digits at least 9.5 px tall at 480p (the theme's min_font_size,
16, draws Noto Sans digits 9.8 px tall). Measured here from a Text, not from the theme."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import FULL
from manim import Text, config, tempconfig
from recorder import DIGIT_PX_PER_POINT, RECORDED, watched
from scenetools import FAST

import attncore
from scenes.formulas import Formula
from scenes.texts import half_width

MIN_DIGIT_PX = 9.5  # as tests/test_overlap.py: digits at least this tall at 480p
SPAN = 0.70  # a 4-token stage ends on a picture at least this share of the usable width across
MATRIX_STAGES = ("embeddings", "projection", "scores", "softmax", "weighted-sum")
# (tokens, language) -> the recorder's video of a sentence that long (RECORDED; the Chinese 11 tokens stand for 12):
# the whole video, but for 40 tokens: the title, the matrices' stages and the summary
VIDEOS = {(1, "en"): "1-en", (4, "en"): "4-en", (12, "en"): "12-en", (40, "en"): "40-en",
          (1, "zh"): "1-zh", (4, "zh"): "4-zh", (12, "zh"): "11-zh", (40, "zh"): "40-zh"}


def digit_px(font_size: float) -> float:
    """How tall Noto Sans digits at `font_size` stand in a 480-pixel-high frame."""
    with tempconfig(FAST):
        digits = Text("0123456789", font="Noto Sans", font_size=100)
    return digits.height / 100 * font_size * 480 / config.frame_height


def played(request, tokens: int, language: str):
    """The recorder's video of a sentence of `tokens` tokens in `language`."""
    w = watched(request, *RECORDED[VIDEOS[tokens, language]])
    assert w.tokens == (11 if (tokens, language) == (12, "zh") else tokens)
    return w


def after_each_play(w):
    """(stage, the texts seen) after each play: the recorder's end moments."""
    return [(m.stage, m.texts) for m in w.moments if m.when == "end"]


def font_size(seen) -> float:
    """The font size a text is drawn at (the recorder measures its digits' height at the theme's ratio)."""
    return seen.digit_px / DIGIT_PX_PER_POINT


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("stage", MATRIX_STAGES)
def test_a_short_sentence_fills_the_width(request, stage, language):
    """For "I have a cat", each stage of matrices ends on a picture SPAN of the usable width across, in
    the English and the Chinese video."""
    w = watched(request, *RECORDED["4-en" if language == "en" else "4-latin-zh"])
    lo, hi = w.ends[stage]
    assert hi[0] - lo[0] >= SPAN * 2 * half_width(), (stage, round((hi[0] - lo[0]) / (2 * half_width()), 2))


@FULL
@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_short_sentence_has_larger_numbers_than_a_long_one(request, language):
    def numbers(tokens):
        return max(font_size(s) for stage, seen in after_each_play(played(request, tokens, language)) if stage == "scores"
                   for s in seen if s.label.replace(".", "").replace("−", "").isdigit())

    assert numbers(4) > numbers(12) * 1.2


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("tokens", [pytest.param(1, marks=FULL), 4, pytest.param(12, marks=FULL),
                                    pytest.param(40, marks=FULL)])
def test_no_text_below_the_floor_nor_outside_the_frame(request, tokens, language):
    """After every play, every visible text and formula: digits at least MIN_DIGIT_PX tall at 480p,
    inside the frame."""
    px = digit_px(1.0)
    half = np.array([config.frame_width / 2, config.frame_height / 2])
    small, outside = [], []
    w = played(request, tokens, language)
    for stage, seen in after_each_play(w):
        small += [(stage, s.label, round(font_size(s) * px, 1)) for s in seen if font_size(s) * px < MIN_DIGIT_PX]
        outside += [(stage, s.label) for s in seen if (s.box[0, :2] < -half - 1e-6).any() or (s.box[1, :2] > half + 1e-6).any()]
    assert all(w.plays.get(stage) for stage in ("title", *MATRIX_STAGES, "summary"))  # every stage was looked at
    assert not small, small[:8]
    assert not outside, outside[:8]


def test_formulas_stand_on_the_words_baseline():
    """A heading's words and formula share a baseline, and the formula is as tall as the words."""
    from scenes.context import Ctx
    from scenes.formulas import MixedLine, rich_line

    with tempconfig(FAST):
        line = rich_line(Ctx(attncore.run(), 3), "projection.heading", 30)
    assert isinstance(line, MixedLine)
    words, math = line.parts
    assert isinstance(math, Formula) and "W_Q" in math.latex
    base = [p.get_bottom()[1] + p.baseline_at * p.height for p in (words, math)]
    assert abs(base[0] - base[1]) < 0.01
    assert words.get_right()[0] < math.get_left()[0]  # side by side, a space between
    assert abs(math.font_size - 30) < 0.5


@pytest.mark.parametrize("language", ["en", "zh"])
def test_headings_captions_and_the_summary_typeset_their_formulas(language):
    """The headings' formulas, the ÷ √d_k caption and the summary's line are typeset (real subscripts, a
    superscript T, a radical over d_k, a fraction), beside words in the video's language; the caption's
    numbers are attncore's, recorded."""
    from scenes.beats import Driver, say
    from scenes.context import Ctx, Source
    from scenes.formulas import MixedLine
    from scenes.stages import STAGES as STAGE_CLASSES
    from scenes.stages.summary import SummaryStage

    result = attncore.run()
    ctx = Ctx(result, 3, language=language)
    stages = {s.name: s for s in STAGE_CLASSES}
    with tempconfig(FAST):
        heads = {name: stages[name](ctx).heading() for name in ("projection", "scores", "softmax", "weighted-sum")}
        dk, scale = ctx.quote(result.d_k, Source("d_k", format="int")), ctx.quote(result.scale, Source("scale"))
        caption = Driver(None, ctx).caption_mobject(say("softmax.scale", dk=dk, scale=scale))
        recorded = [(s.text, s.source.field) for s in ctx.log.shown]
        summary = SummaryStage(ctx).recap().formula
    wanted = {"projection": ["W_Q", "W_K", "W_V"], "scores": ["K^{T}"], "softmax": ["K^{T}", r"\sqrt{d_k}"],
              "weighted-sum": ["AV"]}
    for name, heading in heads.items():
        assert isinstance(heading, MixedLine), name
        words, math = heading.parts[0], [p for p in heading.parts if isinstance(p, Formula)]
        assert isinstance(words, Text) and words.text[:1].isdigit(), name
        assert (language == "zh") == any("\u4e00" <= c <= "\u9fff" for c in words.text), name
        assert len(math) == 1 and all(w in math[0].latex for w in wanted[name]), (name, math[0].latex)
    [root] = [p for p in caption.parts if isinstance(p, Formula)]
    assert root.latex == r"\div \sqrt{d_k} = \sqrt{4} = 2.00"
    assert recorded == [("4", "d_k"), ("2.00", "scale")]
    [line] = [p for p in summary.parts if isinstance(p, Formula)]
    assert r"\frac{QK^{T}}{\sqrt{d_k}}" in line.latex and line.height > 2 * heads["scores"].parts[0].height
