"""The recorder: each test video played once per test session with animations skipped (nothing drawn),
every play looked at three times: at its start (alpha 0), its middle (alpha 0.5) and its end (the picture it
leaves), each stage's end picture measured. tests/test_overlap.py (overlaps, sizes, morphs) and
tests/test_layout_size.py (the floor, the frame, sizes growing with the free space) read the same recordings.

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
from manim import (
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
    tempconfig,
)
from scenetools import FAST

import attncore
from scenes import beats
from scenes.formulas import Formula, MixedLine
from scenes.video import explainer_scene
from scenes.view import View

VISIBLE = 0.05  # a text fainter than this (fill opacity) is not seen: it is fading in or out at its ends
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
    ends: dict[str, np.ndarray] = field(default_factory=dict)  # stage -> [lower-left, upper-right] of all it ends on
    tokens: int = 0  # the sentence's


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


def extent(scene) -> np.ndarray:
    """[lower-left, upper-right] around everything visible (fill or stroke), texts or not."""
    shown = [g.points for m in scene.mobjects for g in m.family_members_with_points()
             if g.get_fill_opacity() > VISIBLE or g.get_stroke_opacity() > VISIBLE]
    points = np.concatenate(shown) if shown else np.zeros((1, 3))
    return np.array([points.min(axis=0), points.max(axis=0)])


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

    def on_still(scene, stage, moment):
        if moment == "end":
            out.ends[stage] = extent(scene)

    with tempconfig(FAST), mock.patch.object(beats.Driver, "play", play), \
            mock.patch.object(beats.Driver, "play_stage", without_handoff):
        scene = explainer_scene(resolved, on_still=on_still, skip_animations=True)
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


# ---- the videos ------------------------------------------------------------------------------------

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
# id -> (sentence, attncore.run's options, language, view); view["parts"]: the runs of stages each played on its own
RECORDED = {
    "1-en": ("cat", {}, "en", {}),
    "1-zh": ("猫", {}, "zh", {}),
    "4-en": ("I have a cat", {}, "en", {}),
    "4-zh": ("我有只猫", {}, "zh", {}),
    # the matrices' stages of the Latin 4 tokens in the Chinese video: its matrices as wide as the English video's
    "4-latin-zh": ("I have a cat", {}, "zh", dict(parts=[("embeddings", "projection", "scores", "softmax", "weighted-sum")])),
    "12-en": ("The animal didn't cross the busy street because it was too tired", {}, "en", {}),
    "11-zh": ("我有一只猫，它很可爱。", {}, "zh", {}),
    "40-en": (FORTY, {}, "en", dict(parts=FORTY_STAGES)),
    "40-zh": ("冬天过去以后，老图书馆又开门了。孩子们跑进去，发现喜欢的书都还在书架上等着他们。", {}, "zh",
              dict(parts=FORTY_STAGES)),
    # the stages that differ with two heads: the title (which head), and the heads stage between the two it joins
    # (the others draw the same pictures with narrower matrices: the 4-token video above checks them)
    "4-en-two-heads": ("I have a cat", dict(heads=2), "en", dict(head=1, parts=[("title",), ("weighted-sum", "heads", "summary")])),
    # the decoder's own stages, each played from its own start: 13 tokens, following " it" (head 5, whose K/V group is
    # not head 0's), the next token generated against the KV cache
    **{f"13-{language}-decoder": ("the cat sat on the mat because it was tired", dict(model=TINY, layer=1, heads=8),
                                  language, dict(head=5, focus="it", parts=[("rope",), ("kv-cache",)]))
       for language in ("en", "zh")},
}
QUICK = {"4-en", "11-zh"}  # the cases of the quick loop (make test-quick); the others are marked `full`
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
        out = Watched(tokens=(computed.heads[0] if hasattr(computed, "heads") else computed).n_tokens)
        for stages in view.pop("parts", [None]):  # None: the video's own stages (View.resolve)
            part = watch(computed, stages, language, **view)
            out.moments += part.moments
            out.morphs += part.morphs
            out.plays.update(part.plays)
            out.ends.update(part.ends)
        _watched[key] = out
    return _watched[key]
