"""No two texts overlap at any moment of any animation, no text is too small to read, and no text
morphs into another (issue 26, point 10), in the whole video of sentences of 1, 4, 12 and 40
tokens, in English and in Chinese, with two heads, and in a decoder's own stages (RoPE, the KV cache).

The whole video is played with animations skipped (nothing drawn, seconds), but every play is
looked at three times: at its start (alpha 0), its middle (alpha 0.5) and its end (the picture it
leaves). A caption is replaced, never cross-faded over another: the old one is gone before the new
one comes, so at mid-animation at most one is visible. Numbers never morph glyph into glyph: a
number may move, or fade out while another fades in, but a Transform never turns one string into
another.

How the start and the middle are seen: the driver plays as it does for stills and tests, fades done
as what they end in (scenes.beats.Driver.apply_fade, no copies of the faded pictures: a fade of a
whole picture costs more than the rest of a play). Every other animation really passes through its
start and middle: manim, skipping, calls the scene's update_to_time once with the play's run time,
and here calls it at 0 and at half of it first. A fade is put back in by what manim's own does to
what it fades: at its progress a (its rate function of its time in its groups, AnimationGroup,
LaggedStart and Succession timed as manim times them), opacity times a (1 - a fading out), moved by
its shift and scaled by its scale linearly in a.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from unittest import mock

import numpy as np
import pytest
from manim import (
    LEFT,
    RIGHT,
    UP,
    AnimationGroup,
    DrawBorderThenFill,
    FadeIn,
    FadeOut,
    LaggedStart,
    MarkupText,
    ShowPartial,
    Succession,
    Text,
    Transform,
    VGroup,
    config,
    tempconfig,
)
from scenetools import FAST, overlapping_pairs

import attncore
from scenes import beats
from scenes.formulas import Formula, MixedLine
from scenes.theme import DEFAULT_THEME
from scenes.video import explainer_scene
from scenes.view import View

# ---- what is checked ------------------------------------------------------------------------------

VISIBLE = 0.05  # a text fainter than this (fill opacity) is not seen: it is fading in or out at its ends
SLACK = 0.02  # boxes may touch: they overlap when they share more than this (1.2 px at 480p) both ways
# The floor: digits at least 9.5 px tall at 480p. The theme's min_font_size (16) draws Noto Sans
# digits 9.8 px tall; a scaled-down text or formula must not go below it either.
MIN_DIGIT_PX = 9.5
DIGIT_PX_PER_POINT = 9.796875 / 16  # Noto Sans "0123456789" at font_size 16 is 0.1633 units: 9.8 px of 480


@dataclass
class Seen:
    """One visible text at one moment."""

    label: str  # as typed (a formula: its LaTeX)
    box: np.ndarray  # [lower-left, upper-right] corners (x, y, z)
    digit_px: float  # how tall its digits stand at 480p
    opacity: float = 1.0
    drawing: bool = False  # being drawn stroke by stroke (Write, Create): only part of it stands yet

    def faded(self, a: float, start: np.ndarray, scale: float, centre: np.ndarray) -> "Seen":
        """This text `a` of the way from its box scaled by `scale` about `centre` and moved by
        `start` (its opacity 0) to as it is: what a fade draws at progress `a`."""
        moved = (self.box - centre) * scale + centre + start
        size = (1 - a) * scale + a
        return Seen(self.label, (1 - a) * moved + a * self.box, self.digit_px * size, self.opacity * a, self.drawing)


@dataclass
class Moment:
    stage: str
    play: int  # the play's number in the stage (0-based)
    when: str  # "start", "middle" or "end"
    texts: list[Seen]

    def where(self) -> str:
        return f"{self.stage} play {self.play} ({self.when})"


@dataclass
class Watched:
    moments: list[Moment] = field(default_factory=list)
    morphs: list[tuple[str, str, list[str], list[str]]] = field(default_factory=list)  # (stage, kind, from, to)
    plays: dict[str, int] = field(default_factory=dict)  # plays per stage


def is_text(m) -> bool:
    """A text object: manim Text or MarkupText (numbers are Text), a typeset formula, or a line of
    words and formulas (scenes.formulas.MixedLine: its parts are set side by side as one line)."""
    return isinstance(m, (Text, MarkupText, Formula, MixedLine))


def label(m) -> str:
    if isinstance(m, MixedLine):
        return " ".join(label(p) for p in m.parts)
    return getattr(m, "latex", None) or getattr(m, "original_text", None) or m.text


def texts_in(m) -> list:
    """The text objects in `m`, in family order; a text's own parts (its glyphs, a line's words and
    formulas) are not texts of their own."""
    if is_text(m):
        return [m]
    return [t for sub in m.submobjects for t in texts_in(sub)]


def drawn_size(m, height: float | None = None) -> float:
    """The font size `m` is drawn at: the size it was made at times its height now over its height
    then, as Text's font_size property and Formula's compute it (here from `height`, its height now,
    when already measured: the property would measure it again)."""
    made = m._font_size if isinstance(m, (Text, MarkupText)) else m.size
    return made * (m.height if height is None else height) / m.initial_height


def drawn(m) -> list:
    """`m` and what is under it that has points (family_members_with_points, without its bookkeeping)."""
    out, todo = [], [m]
    while todo:
        k = todo.pop()
        if len(k.points):
            out.append(k)
        todo += k.submobjects
    return out


def seen(t) -> Seen:
    """`t` as drawn now: its box (of all its points, as manim measures a height), its digits' height
    from its font size (a line's smallest part's) and its opacity."""
    parts = drawn(t)
    points = np.concatenate([g.points for g in parts])
    box = np.array([points.min(axis=0), points.max(axis=0)])
    opacity = float(np.concatenate([g.fill_rgbas[:, 3] for g in parts]).max())
    size = min(map(drawn_size, t.parts)) if isinstance(t, MixedLine) else drawn_size(t, box[1, 1] - box[0, 1])
    return Seen(label(t), box, size * DIGIT_PX_PER_POINT, opacity)


def on_screen(scene, leave_out=frozenset(), drawing=frozenset()) -> list[Seen]:
    """The scene's texts with something drawn (their id not in `leave_out`), at any opacity; those
    in `drawing` marked as being drawn."""
    found, out = set(), []
    for m in scene.mobjects:
        for t in texts_in(m):
            if id(t) in found or id(t) in leave_out or not label(t).strip() or not drawn(t):
                continue
            found.add(id(t))
            out.append(replace(seen(t), drawing=id(t) in drawing))
    return out


GROUPS = (AnimationGroup, LaggedStart, Succession)  # the groups the driver takes apart (scenes.beats.flatten)


def timed(animations, start: float = 0.0, end: float = 1.0):
    """(animation, start, end) for the animations inside groups, the groups dropped: when each runs,
    as fractions of the play, as manim's AnimationGroup times them."""
    for a in animations:
        if type(a) in GROUPS:
            rows = a.anims_with_timings
            total = max(rows["end"], default=0) or 1.0
            for row in rows:
                yield from timed([row["anim"]], start + (end - start) * row["start"] / total,
                                 start + (end - start) * row["end"] / total)
        else:
            yield a, start, end


@dataclass
class Fade:
    """A fade the driver does as what it ends in: its texts as they are before it (fading out) or
    after it (fading in), and where it starts from or goes to."""

    into: bool
    texts: list[Seen]
    ids: set
    start: float
    end: float
    rate: object
    away: np.ndarray  # the shift from where it is (after a fade in, before a fade out) to where it is faded
    scale: float  # and the scale there, about the centre of what fades
    centre: np.ndarray

    def at(self, alpha: float) -> list[Seen]:
        t = 1.0 if self.end <= self.start else min(1.0, max(0.0, (alpha - self.start) / (self.end - self.start)))
        a = float(self.rate(t))
        shown = a if self.into else 1 - a  # how far from faded
        return [s.faded(shown, self.away, self.scale, self.centre) for s in self.texts]


def fades(animations) -> list[Fade]:
    out = []
    for a, start, end in timed(animations):
        if type(a) not in (FadeIn, FadeOut):
            continue
        into = type(a) is FadeIn
        texts = [t for t in texts_in(a.mobject) if label(t).strip() and drawn(t)]
        away = a.shift_vector * (-1 if into and not a.point_target else 1)
        centre = a.mobject.get_center() if a.scale_factor != 1 and texts else np.zeros(3)
        out.append(Fade(into, [seen(t) for t in texts], {id(t) for t in texts}, start, end, a.rate_func,
                        np.asarray(away, float), a.scale_factor, centre))
    return out


def leaves(animations):
    """The animations inside groups (any AnimationGroup), the groups dropped."""
    for a in animations:
        if isinstance(a, AnimationGroup):
            yield from leaves(a.animations)
        else:
            yield a


def morphs(animations) -> list[tuple[str, list[str], list[str]]]:
    """(kind, texts, texts) for every Transform (not a fade) whose mobject and target show different
    texts, pair by pair as Transform matches their families: one string would morph into another."""
    out = []
    for a in leaves(animations):
        if isinstance(a, Transform) and not isinstance(a, (FadeIn, FadeOut)):
            target = a.target_mobject
            if not target.get_family()[1:] and not target.has_points():  # made as it begins (Indicate, GrowFromCenter)
                target = a.create_target()
            before, after = [label(t) for t in texts_in(a.mobject)], [label(t) for t in texts_in(target)]
            if before != after:
                out.append((type(a).__name__, before, after))
    return out


def watch(computed, stages=None, language="en", **view) -> Watched:
    """Play `stages` of `computed` with animations skipped, looking at the texts at the start, the
    middle and the end of every play."""
    out = Watched()
    resolved = replace(View.resolve(computed, stages=stages, language=language, **view), timing=None)
    driver_play = beats.Driver.play
    now = {}  # the play being played: its fades, and whether it has been looked at half-way

    def look(scene, when, alpha=None):
        stage = scene.log.stage
        playing = now["fades"] if alpha is not None else []
        texts = on_screen(scene, {i for f in playing if f.into for i in f.ids}, now["drawing"] if alpha is not None else ())
        texts += [s for f in playing for s in f.at(alpha)]
        out.moments.append(Moment(stage, out.plays.get(stage, 0), when, [s for s in texts if s.opacity > VISIBLE]))

    def play(driver, p):
        animations = [a for a in p.animations if type(a).__name__ != "Wait"]
        if not animations:  # a hold
            return driver_play(driver, p)
        scene, stage = driver.scene, driver.scene.log.stage
        out.morphs += [(stage, *m) for m in morphs(animations)]
        drawing = {id(t) for a in leaves(animations) if isinstance(a, (ShowPartial, DrawBorderThenFill))
                   for t in texts_in(a.mobject)}
        now.update(fades=fades(p.animations), drawing=drawing, looked=False)
        driver_play(driver, p)
        if not now["looked"]:  # nothing but fades: manim held a still picture; it starts as the last play ended
            look(scene, "middle", 0.5)
        look(scene, "end")
        out.plays[stage] = out.plays.get(stage, 0) + 1

    play_stage = beats.Driver.play_stage

    def without_handoff(driver, stage, start, handoff=True):
        """A stage played without building the picture it hands over: the next stage starts from its own
        start picture, the same picture built again (scenes.video), and nothing looks at it in between."""
        play_stage(driver, stage, start, handoff=False)

    with tempconfig(FAST), mock.patch.object(beats.Driver, "play", play), \
            mock.patch.object(beats.Driver, "play_stage", without_handoff):
        scene = explainer_scene(resolved, skip_animations=True)
        # no picture is drawn: manim sorts what moves from what stands still and draws the still part of each
        # play, and nothing here looks at either
        scene.renderer.update_frame = lambda *args, **kwargs: None
        scene.get_moving_and_static_mobjects = lambda animations: (scene.mobjects, [])
        update = scene.update_to_time

        def update_to_time(t):
            update(0.0)
            look(scene, "start", 0.0)
            update(t / 2)
            look(scene, "middle", 0.5)
            update(t)
            now["looked"] = True

        scene.update_to_time = update_to_time
        scene.render()
    return out


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


# ---- the videos -----------------------------------------------------------------------------------

# the sentences: 1, 4, 12 and 40 tokens, each in the English video and (a Chinese sentence as long) in the Chinese
# one; the Chinese one the tests share (11 tokens) stands for 12. Then the toy's two heads, so that the heads stage plays,
# and a decoder (the tiny random Qwen2 of tests/test_decoders.py: RoPE, grouped K/V heads, causal) for the rope and
# kv-cache stages.
# The 40-token videos play every stage whose picture depends on how many tokens there are past 12 (where token rows
# start to be elided): all but the analogy, whose shelf already holds its most books (COL_SLOTS) at 11 and 12 tokens.
FORTY_STAGES = [("title",), ("embeddings", "projection", "scores", "softmax", "weighted-sum", "summary")]
TINY = "tiny-qwen2"  # a model name standing for the tiny Qwen2's folder, built on first use (conftest's `tiny`)
FORTY = ("When the old library finally opened its doors again after the long cold winter the children ran inside "
         "and found that every single book they had loved was still waiting for them on the same wooden shelf by the window")
CASES = [
    pytest.param("cat", {}, "en", {}, id="1-en"),
    pytest.param("猫", {}, "zh", {}, id="1-zh"),
    pytest.param("I have a cat", {}, "en", {}, id="4-en"),
    pytest.param("我有只猫", {}, "zh", {}, id="4-zh"),
    pytest.param("The animal didn't cross the busy street because it was too tired", {}, "en", {}, id="12-en"),
    pytest.param("我有一只猫，它很可爱。", {}, "zh", {}, id="11-zh"),
    pytest.param(FORTY, {}, "en", dict(parts=FORTY_STAGES), id="40-en"),
    pytest.param("冬天过去以后，老图书馆又开门了。孩子们跑进去，发现喜欢的书都还在书架上等着他们。", {}, "zh",
                 dict(parts=FORTY_STAGES), id="40-zh"),
    # the stages that differ with two heads: the title (which head), and the heads stage between the two it joins
    # (the others draw the same pictures with narrower matrices: the 4-token video above checks them)
    pytest.param("I have a cat", dict(heads=2), "en", dict(head=1, parts=[("title",), ("weighted-sum", "heads", "summary")]),
                 id="4-en-two-heads"),
]
# the decoder's own stages, each played from its own start: 13 tokens, following " it" (head 5, whose K/V group is
# not head 0's), the next token generated against the KV cache
DECODERS = [pytest.param("the cat sat on the mat because it was tired", dict(model=TINY, layer=1, heads=8), language,
                         dict(head=5, focus="it", parts=[("rope",), ("kv-cache",)]), id=f"13-{language}-decoder")
            for language in ("en", "zh")]
_watched: dict[str, Watched] = {}


def watched(request, sentence, kw, language, view) -> Watched:
    """The whole video of `sentence` watched (once per session), or, with view["parts"], those runs of
    its stages, each played on its own. The model TINY is the tiny Qwen2's folder (skipped without torch)."""
    if kw.get("model") == TINY:
        kw = {**kw, "model": str(request.getfixturevalue("tiny")("qwen2")["folder"])}
    key = repr((sentence, kw, language, view))
    if key not in _watched:
        view = dict(view)
        computed = attncore.run(sentence, **kw)
        out = Watched()
        for stages in view.pop("parts", [None]):  # None: the video's own stages (View.resolve)
            part = watch(computed, stages, language, **view)
            out.moments += part.moments
            out.morphs += part.morphs
            out.plays.update(part.plays)
        _watched[key] = out
    return _watched[key]


@pytest.mark.parametrize("sentence, kw, language, view", CASES + DECODERS)
def test_no_two_texts_overlap_at_any_moment(request, sentence, kw, language, view):
    """At the start, middle and end of every play of the whole video: no two visible texts overlap."""
    w = watched(request, sentence, kw, language, view)
    assert sum(w.plays.values()) > 20 and len(w.moments) > 40
    assert all(w.plays.get(s) for part in view.get("parts", ()) for s in part)  # every stage asked for was played
    found = overlaps(w)
    assert not found, found[:8]


@pytest.mark.parametrize("sentence, kw, language, view", CASES + DECODERS)
def test_no_text_below_the_minimum_height(request, sentence, kw, language, view):
    """Digits stand at least MIN_DIGIT_PX tall at 480p, in every visible text at every checked moment."""
    found = too_small(watched(request, sentence, kw, language, view))
    assert not found, found[:8]


@pytest.mark.parametrize("sentence, kw, language, view", CASES + DECODERS)
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
