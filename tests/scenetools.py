"""Run scenes fast for tests: animations skipped, nothing written, every step's screen recorded."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from manim import MarkupText, Text, tempconfig
from reference import worked

from attncore import fmt, lessons, pct, run
from scenes.video import explainer_scene
from scenes.view import View

FAST = {
    "quality": "low_quality",
    "dry_run": True,
    "write_to_movie": False,
    "save_last_frame": False,
    "disable_caching": True,
    "verbosity": "ERROR",
    "progress_bar": "none",
}


@dataclass
class Snapshot:
    """The visible texts after one play(): (text, font size, [lower-left, upper-right] corners, font)."""

    stage: str
    texts: list[tuple[str, float, np.ndarray]]


@dataclass
class Run:
    scene: object
    snapshots: list[Snapshot]
    frames: dict[str, np.ndarray]  # stage name -> its last frame (H, W, 4)
    ends: dict = None  # stage name -> the visible texts of its last frame: (text as typed, [corners])


def visible_texts(scene) -> list[Text]:
    out = []
    for m in scene.mobjects:
        for t in m.get_family():
            if isinstance(t, (Text, MarkupText)) and t.text.strip() and t.get_fill_opacity() > 0.05:
                out.append(t)
    return out


def _anchors(m) -> np.ndarray:
    """The points VMobject.get_anchors lists (every curve's start and end anchor), as one array, in another order."""
    p, n = m.points, m.n_points_per_cubic_curve
    return p if len(p) <= 1 else np.concatenate([p[::n], p[n - 1::n]])


def corners(t) -> np.ndarray:
    """[lower-left, upper-right] of `t`, as t.get_corner((-1, -1, 0)) and t.get_corner((1, 1, 0)) give them (the
    extremes of its family's anchors, z in the middle), from array slices: manim's own gathers them point by
    point into lists and a tuple, twice: 4-5 times slower, for every visible text after every play of a run."""
    anchors = [a for m in t.get_family() if len(a := _anchors(m))]
    if not anchors:
        return np.zeros((2, 3))
    points = np.concatenate(anchors)
    lo, hi = points.min(axis=0), points.max(axis=0)
    z = (lo[2] + hi[2]) / 2
    return np.array([[lo[0], lo[1], z], [hi[0], hi[1], z]])


def run_scene(result, stages=None, focus=None, snapshots: bool = False, frames: bool = False, language: str = "en",
              **view) -> Run:
    """Render `stages` for `result` with animations skipped and nothing written. Optionally record a
    Snapshot of the visible texts after every play(), and each stage's last frame."""
    run = Run(None, [], {}, {})

    def on_still(scene, stage, moment):
        if frames and moment == "end":
            run.frames[stage] = scene.frame()
        if moment == "end":
            run.ends[stage] = [(getattr(t, "original_text", t.text), corners(t)) for t in visible_texts(scene)]

    with tempconfig(FAST):
        speech = view.pop("speech", None)
        resolved = replace(View.resolve(result, focus=focus, stages=stages, language=language, **view), timing=speech)
        scene = run.scene = explainer_scene(resolved, on_still=on_still, skip_animations=True)
        if snapshots:
            def record(*args, _play=scene.play, **kwargs):
                _play(*args, **kwargs)
                run.snapshots.append(Snapshot(scene.log.stage, [
                    (t.text, t.font_size, corners(t), t.font) for t in visible_texts(scene)
                ]))
            scene.play = record
        scene.render()
    return run


def expected_value(result, source, heads=None):
    """The attncore value a number recorded with `source` shows, read independently of the scenes.
    `heads` is the MultiHeadResult a source `of` a head (or of "heads") refers to; a source of "trained:KEY" is
    of the trained head attncore.lessons.EXAMPLES[KEY] names, run again here from its model, layer and head."""
    if isinstance(source.of, str) and source.of.startswith("trained:"):
        example = lessons.EXAMPLES[source.of.partition(":")[2]]
        result, source = run(example.sentence, model=example.model, layer=example.layer, head=example.head), \
            replace(source, of=None)
    if source.of is not None:
        assert heads is not None, source
        result = heads if source.of == "heads" else heads.heads[source.of]
    if source.step:  # worked arithmetic: from explicit loops (tests/reference.py), not attncore.steps
        step = worked(result, *source.step)
        value = getattr(step, source.field) if source.field else step
    else:  # a field, or a field's attribute ("kv_cache.per_token")
        value = result
        for name in source.field.split("."):
            value = getattr(value, name)
    for n in source.index:
        value = value[n]
    return value


def expected_text(result, source, heads=None) -> str:
    """What a number recorded as `source` must read, worked out from attncore's fields."""
    if source.format == "masked":
        # a cell of an S x S grid, or entry j of the worked softmax row i
        ij = source.index if len(source.index) == 2 else (source.step[1], *source.index)
        assert source.step[:1] in ((), ("softmax_row",)) and result.causal and not result.mask[ij], source
        return "\u2212\u221e"
    value = expected_value(result, source, heads)
    if source.format == "int":
        assert float(value).is_integer(), source
        return str(int(value))
    return {"fmt": fmt, "pct": pct}[source.format](float(value))


def overlapping_pairs(boxes: np.ndarray, slack: float = 0.01) -> list[tuple[int, int]]:
    """Index pairs of boxes ([n, 2, 3]: lower-left, upper-right) that overlap by more than `slack`."""
    lo, hi = boxes[:, 0, :2], boxes[:, 1, :2]
    hit = ((lo[:, None] + slack < hi[None, :]) & (lo[None, :] + slack < hi[:, None])).all(axis=-1)
    return [(a, b) for a, b in zip(*np.nonzero(np.triu(hit, k=1)))]


def assert_readable_layout(run: Run) -> None:
    """After every animation step of `run` (recorded with snapshots): texts inside the frame, none
    overlapping another, none below 16 pt."""
    from manim import config

    half = np.array([config.frame_width / 2, config.frame_height / 2])
    for step, snap in enumerate(run.snapshots):
        if not snap.texts:
            continue
        boxes = np.array([b for _, _, b, _ in snap.texts])
        outside = [t for (t, _, b, _) in snap.texts if (b[0, :2] < -half).any() or (b[1, :2] > half).any()]
        assert not outside, (snap.stage, step, outside)
        small = [(t, round(size, 1)) for t, size, _, _ in snap.texts if size < 15.5]  # minimum 16, rounding
        assert not small, (snap.stage, step, small)
        pairs = [(snap.texts[a][0], snap.texts[b][0]) for a, b in overlapping_pairs(boxes)]
        assert not pairs, (snap.stage, step, pairs[:5])


def assert_picture(path, size=(854, 480)) -> None:
    """A still that opens as a PNG of `size` and is not blank: something lighter than the background
    covers part of it, and not all of it."""
    from PIL import Image

    with Image.open(path) as im:
        assert im.format == "PNG" and (size is None or im.size == size), (path, im.size)
        assert_drawn(np.asarray(im.convert("L")), path)


def assert_drawn(pixels: np.ndarray, what) -> None:
    """A grey picture (a still, a video frame) that is not blank: something far from the background
    (its commonest shade) covers part of it, and not all of it."""
    pixels = pixels.astype(int)
    background = np.bincount(pixels.ravel()).argmax()
    drawn = (np.abs(pixels - background) > 40).mean()
    assert 0.0002 < drawn < 0.6, (what, drawn)  # a row of four short labels covers about 0.08%


def says(text: str, number: str) -> bool:
    """Whether `text` quotes `number` as a whole number ("72" in "of 72 heads", not in "0.72" or "172")."""
    import re

    return re.search(rf"(?<![\d.]){re.escape(number)}(?!\d|[.,]\d)", text) is not None
