"""Sizes grow with the free space (issue 26, point 10): a 4-token sentence's matrices span most of the
frame's width, their numbers larger than a long sentence's, and no text or formula, however many
tokens, stands smaller than the floor at 480p. Each sentence is played once per language with
animations skipped (scenetools.FAST); after every play() the visible texts and formulas are looked at.

The floor is tests/test_overlap.py's: digits at least 9.5 px tall at 480p (the theme's min_font_size,
16, draws Noto Sans digits 9.8 px tall). Measured here from a Text, not from the theme."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pytest
from manim import MarkupText, Text, config, tempconfig
from scenetools import FAST

import attncore
from scenes.components import half_width
from scenes.formulas import Formula
from scenes.video import explainer_scene
from scenes.view import View

MIN_DIGIT_PX = 9.5  # as tests/test_overlap.py: digits at least this tall at 480p
SPAN = 0.70  # a 4-token stage ends on a picture at least this share of the usable width across
MATRIX_STAGES = ("embeddings", "projection", "scores", "softmax", "weighted-sum")
STAGES = ["title", *MATRIX_STAGES, "summary"]

FORTY = ("When the old library finally opened its doors again after the long winter the children ran "
         "inside and found that every book they had loved was still waiting on the shelf for them to read "
         "once more on a morning")
SENTENCES = {  # as many tokens as the toy tokenizer makes
    1: "cat",
    4: "I have a cat",
    12: "The tired animal didn't cross the street because it was too tired",
    40: FORTY,
}


def digit_px(font_size: float) -> float:
    """How tall Noto Sans digits at `font_size` stand in a 480-pixel-high frame."""
    with tempconfig(FAST):
        digits = Text("0123456789", font="Noto Sans", font_size=100)
    return digits.height / 100 * font_size * 480 / config.frame_height


@dataclass
class Seen:
    label: str
    font_size: float
    box: np.ndarray  # [lower-left, upper-right]


@dataclass
class Played:
    plays: list[tuple[str, list[Seen]]] = field(default_factory=list)  # (stage, what is seen) after each play
    ends: dict[str, np.ndarray] = field(default_factory=dict)  # stage -> [lower-left, upper-right] of its end picture


def shown(m) -> bool:
    return any(g.get_fill_opacity() > 0.05 or g.get_stroke_opacity() > 0.05 for g in m.family_members_with_points())


def texts(scene) -> list[Seen]:
    """The visible texts (Text, MarkupText) and typeset formulas."""
    out, seen = [], set()
    for m in scene.mobjects:
        for t in m.get_family():
            if id(t) in seen or not isinstance(t, (Text, MarkupText, Formula)) or not shown(t):
                continue
            seen.add(id(t))
            label = t.latex if isinstance(t, Formula) else getattr(t, "original_text", t.text)
            if label.strip():
                out.append(Seen(label, t.font_size, np.array([t.get_corner((-1, -1, 0)), t.get_corner((1, 1, 0))])))
    return out


def extent(scene) -> np.ndarray:
    """[lower-left, upper-right] around everything visible."""
    points = [p for m in scene.mobjects for g in m.family_members_with_points() if shown(g) for p in g.points]
    return np.array([np.min(points, axis=0), np.max(points, axis=0)]) if points else np.zeros((2, 3))


_played: dict[tuple[int, str], Played] = {}


def played(tokens: int, language: str) -> Played:
    if (tokens, language) in _played:
        return _played[tokens, language]
    out = Played()
    result = attncore.run(SENTENCES[tokens])
    assert result.n_tokens == tokens

    def on_still(scene, stage, moment):
        if moment == "end":
            out.ends[stage] = extent(scene)

    with tempconfig(FAST):
        view = replace(View.resolve(result, stages=STAGES, language=language), timing=None)
        scene = explainer_scene(view, on_still=on_still, skip_animations=True)

        def record(*args, _play=scene.play, **kwargs):
            _play(*args, **kwargs)
            out.plays.append((scene.log.stage, texts(scene)))

        scene.play = record
        scene.render()
    _played[tokens, language] = out
    return out


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("stage", MATRIX_STAGES)
def test_a_short_sentence_fills_the_width(stage, language):
    """For "I have a cat", each stage of matrices ends on a picture SPAN of the usable width across."""
    lo, hi = played(4, language).ends[stage]
    assert hi[0] - lo[0] >= SPAN * 2 * half_width(), (stage, round((hi[0] - lo[0]) / (2 * half_width()), 2))


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_short_sentence_has_larger_numbers_than_a_long_one(language):
    def numbers(tokens):
        return max(s.font_size for stage, seen in played(tokens, language).plays if stage == "scores"
                   for s in seen if s.label.replace(".", "").replace("−", "").isdigit())

    assert numbers(4) > numbers(12) * 1.2


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("tokens", [1, 4, 12, 40])
def test_no_text_below_the_floor_nor_outside_the_frame(tokens, language):
    """After every play, every visible text and formula: digits at least MIN_DIGIT_PX tall at 480p,
    inside the frame."""
    px = digit_px(1.0)
    half = np.array([config.frame_width / 2, config.frame_height / 2])
    small, outside = [], []
    for stage, seen in played(tokens, language).plays:
        small += [(stage, s.label, round(s.font_size * px, 1)) for s in seen if s.font_size * px < MIN_DIGIT_PX]
        outside += [(stage, s.label) for s in seen if (s.box[0, :2] < -half - 1e-6).any() or (s.box[1, :2] > half + 1e-6).any()]
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
