"""Run scenes fast for tests: animations skipped, nothing written, every step's screen recorded."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from manim import Text, tempconfig

from attncore import fmt, pct, steps
from scenes.video import explainer_scene

FAST = {
    "quality": "low_quality",
    "dry_run": True,
    "skip_animations": True,
    "write_to_movie": False,
    "save_last_frame": False,
    "disable_caching": True,
    "verbosity": "ERROR",
    "progress_bar": "none",
}


@dataclass
class Snapshot:
    """The visible texts after one play(): (text, font size, [lower-left, upper-right] corners)."""

    stage: str
    texts: list[tuple[str, float, np.ndarray]]


@dataclass
class Run:
    scene: object
    snapshots: list[Snapshot]
    frames: dict[str, np.ndarray]  # stage name -> its last frame (H, W, 4)


def visible_texts(scene) -> list[Text]:
    out = []
    for m in scene.mobjects:
        for t in m.get_family():
            if isinstance(t, Text) and t.text.strip() and t.get_fill_opacity() > 0.05:
                out.append(t)
    return out


def run_scene(result, stages, focus=None, snapshots: bool = False, frames: bool = False) -> Run:
    """Render `stages` for `result` with animations skipped and nothing written. Optionally record a
    Snapshot of the visible texts after every play(), and each stage's last frame."""
    run = Run(None, [], {})

    def on_still(scene, stage, moment):
        if frames and moment == "end":
            run.frames[stage] = scene.frame()

    with tempconfig(FAST):
        scene = run.scene = explainer_scene(result, focus=focus, stages=stages, on_still=on_still)
        if snapshots:
            def record(*args, _play=scene.play, **kwargs):
                _play(*args, **kwargs)
                run.snapshots.append(Snapshot(scene.ctx.stage, [
                    (t.text, t.font_size, np.array([t.get_corner((-1, -1, 0)), t.get_corner((1, 1, 0))]))
                    for t in visible_texts(scene)
                ]))
            scene.play = record
        scene.render()
    return run


def expected_text(result, source) -> str:
    """What a number recorded as `source` must read, worked out from attncore's fields."""
    kind, field, *idx = source
    if kind == "masked":
        assert result.causal and not result.mask[tuple(idx)], source
        return "\u2212\u221e"
    if field == "scale":
        value = math.sqrt(result.d_k)
    elif field == "weights_sum":
        value = result.weights[idx[0]].sum()
    elif isinstance(field, tuple):
        worked = getattr(steps, field[0])(result, *field[1:-1] if isinstance(field[-1], str) else field[1:])
        value = getattr(worked, field[-1]) if isinstance(field[-1], str) else worked
        value = value[tuple(idx)] if idx else value
    else:
        value = getattr(result, field)[tuple(idx)]
    return {"fmt": fmt, "pct": pct}[kind](float(value))
