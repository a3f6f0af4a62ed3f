"""No two texts overlap at any moment of any animation, no text is too small to read, and no text
morphs into another (issue 26, point 10), in the whole video of sentences of 1, 4, 12 and 40
tokens, in English and in Chinese, with two heads, and in a decoder's own stages (RoPE, the KV cache).

The whole video is played once per test session by the recorder (tests/recorder.py, animations
skipped, nothing drawn), every play looked at three times: at its start (alpha 0), its middle
(alpha 0.5) and its end (the picture it leaves). A caption is replaced, never cross-faded over
another: the old one is gone before the new one comes, so at mid-animation at most one is visible.
Numbers never morph glyph into glyph: a number may move, or fade out while another fades in, but a
Transform never turns one string into another. How the start and the middle are seen: see the
recorder.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import FULL
from manim import (
    LEFT,
    RIGHT,
    UP,
    AnimationGroup,
    FadeIn,
    FadeOut,
    Succession,
    Text,
    Transform,
    VGroup,
    config,
    tempconfig,
)
from recorder import DIGIT_PX_PER_POINT, QUICK, RECORDED, VISIBLE, Watched, fades, morphs, seen, watched
from scenetools import FAST, overlapping_pairs

from scenes.theme import DEFAULT_THEME

# ---- what is checked ------------------------------------------------------------------------------

SLACK = 0.02  # boxes may touch: they overlap when they share more than this (1.2 px at 480p) both ways
# The floor: digits at least 9.5 px tall at 480p. The theme's min_font_size (16) draws Noto Sans
# digits 9.8 px tall; a scaled-down text or formula must not go below it either.
MIN_DIGIT_PX = 9.5


def overlaps(watched: Watched) -> list[tuple[str, str, str]]:
    """(where, text, text) for every two visible texts overlapping at a checked moment. One
    exception: the same text over itself (the same words, the same box within SLACK) is one text to
    the eye, e.g. a copy at the start of TransformFromCopy, on the original it leaves from."""
    found = []
    for moment in watched.moments:
        if len(moment.texts) < 2:
            continue
        boxes = np.array([s.box for s in moment.texts])
        for a, b in overlapping_pairs(boxes, SLACK):
            one, other = moment.texts[a], moment.texts[b]
            if one.label == other.label and np.allclose(one.box[:, :2], other.box[:, :2], atol=SLACK):
                continue
            found.append((moment.where(), one.label, other.label))
    return found


def too_small(watched: Watched) -> list[tuple[str, str, float]]:
    """(where, text, its digits' height) for every visible text below the floor at a checked moment,
    but a text half-drawn by Write or Create (its height is that of the strokes drawn so far)."""
    return [(m.where(), s.label, round(s.digit_px, 1)) for m in watched.moments for s in m.texts
            if s.digit_px < MIN_DIGIT_PX and not s.drawing]


# ---- the videos: the recorder's (tests/recorder.py), each played once per session --------------------------------

CASES = [pytest.param(*case, id=name, marks=() if name in QUICK else FULL) for name, case in RECORDED.items()]


@pytest.mark.parametrize("sentence, kw, language, view", CASES)
def test_no_two_texts_overlap_at_any_moment(request, sentence, kw, language, view):
    """At the start, middle and end of every play of the whole video: no two visible texts overlap."""
    w = watched(request, sentence, kw, language, view)
    assert sum(w.plays.values()) > 20 and len(w.moments) > 40
    assert all(w.plays.get(s) for part in view.get("parts", ()) for s in part)  # every stage asked for was played
    found = overlaps(w)
    assert not found, found[:8]


@pytest.mark.parametrize("sentence, kw, language, view", CASES)
def test_no_text_below_the_minimum_height(request, sentence, kw, language, view):
    """Digits stand at least MIN_DIGIT_PX tall at 480p, in every visible text at every checked moment."""
    found = too_small(watched(request, sentence, kw, language, view))
    assert not found, found[:8]


@pytest.mark.parametrize("sentence, kw, language, view", CASES)
def test_no_text_morphs_into_another(request, sentence, kw, language, view):
    """No Transform turns a text (a number) into a different one: it moves, or fades out for another."""
    w = watched(request, sentence, kw, language, view)
    assert not w.morphs, w.morphs[:8]


def test_the_checks_see_what_they_look_for():
    """The checks find an overlap, a cross-fade of captions at mid-animation, a small text and a morph."""
    boxes = np.array([[[0, 0, 0], [1, 1, 0]], [[0.5, 0.5, 0], [2, 2, 0]], [[1, 0, 0], [2, 0.4, 0]]], float)
    assert overlapping_pairs(boxes, SLACK) == [(0, 1)]  # touching boxes (0 and 2) do not overlap
    with tempconfig(FAST):
        a, b = Text("0.25", font_size=20), Text("0.75", font_size=20)
        assert morphs([AnimationGroup(Transform(a, b))]) == [("Transform", ["0.25"], ["0.75"])]
        assert morphs([Transform(a, a.copy().shift((1, 0, 0)))]) == []
        assert morphs([FadeIn(a), FadeOut(b)]) == []
        # the floor in pixels is the theme's: digits at min_font_size stand as tall as measured, above the floor
        digits = Text("0123456789", font=DEFAULT_THEME.number_font, font_size=DEFAULT_THEME.min_font_size)
        assert digits.height * 480 / config.frame_height == pytest.approx(
            DEFAULT_THEME.min_font_size * DIGIT_PX_PER_POINT, rel=0.02)
        assert MIN_DIGIT_PX <= DEFAULT_THEME.min_font_size * DIGIT_PX_PER_POINT < MIN_DIGIT_PX + 0.5
        small = Text("0.25", font=DEFAULT_THEME.number_font, font_size=20).scale(0.7)  # 14 pt on screen
        assert seen(small).digit_px == pytest.approx(14 * DIGIT_PX_PER_POINT) and seen(small).digit_px < MIN_DIGIT_PX


def test_a_fade_is_seen_where_manim_draws_it():
    """A fade as the checks put it back in (Fade.at) is where manim's own fade draws it half-way:
    moved, scaled about the centre of what fades, and half as opaque."""
    with tempconfig(FAST):
        for kind in (FadeIn, FadeOut):
            for how in ({"shift": UP * 0.3}, {"scale": 1.3}, {"target_position": np.array([2.0, 1.0, 0.0])}):
                group = VGroup(Text("0.25", font_size=20).shift(LEFT), Text("sum", font_size=20).shift(RIGHT + UP))
                expected = fades([kind(group, **how)])[0].at(0.5)  # before it plays, as the driver does it
                fade = kind(group, **how)
                fade.begin()
                fade.interpolate(0.5)
                for want, t in zip(expected, group):
                    got = seen(t)
                    assert np.allclose(want.box, got.box, atol=1e-6), (kind, how, t.text)
                    assert want.opacity == pytest.approx(got.opacity) and want.digit_px == pytest.approx(got.digit_px)


def test_a_cross_fade_is_seen_half_way_and_a_replacement_is_not():
    """Two captions faded together are both seen half-way; one replaced by the other in turn (the
    driver's Succession) is not, and each is seen alone in its half."""
    with tempconfig(FAST):
        old, new = Text("the old caption", font_size=22), Text("the new caption", font_size=22)

        def visible(animations, alpha):
            return sorted(s.label for f in fades(animations) for s in f.at(alpha) if s.opacity > VISIBLE)

        crossed = [AnimationGroup(FadeOut(old, shift=UP * 0.15), FadeIn(new, shift=UP * 0.15))]
        assert visible(crossed, 0.5) == ["the new caption", "the old caption"]
        replaced = [Succession(FadeOut(old, shift=UP * 0.15), FadeIn(new, shift=UP * 0.15))]
        assert visible(replaced, 0.5) == []
        assert visible(replaced, 0.25) == ["the old caption"] and visible(replaced, 0.75) == ["the new caption"]
