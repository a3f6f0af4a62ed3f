"""Manim scenes: the full explainer and one scene per stage.

    manim -ql scenes/video.py AttentionVideo      # the default sentence, all stages
    manim -ql scenes/video.py SoftmaxScene        # one stage on its own

`render.py` builds the same scenes for any sentence with `explainer_scene(...)`. This module imports
absolutely (`scenes.…`) because manim's CLI loads it by file path.
"""

from __future__ import annotations

from typing import Callable

from manim import Scene

import attncore
from attncore import AttentionResult, InputError

from scenes.components import Ctx
from scenes.stages import STAGE_NAMES, STAGES, stage_class
from scenes.theme import DEFAULT_THEME


def resolve_focus(result: AttentionResult, focus: str | int | None) -> int:
    """The focus token's index: None -> the last token; a token's text (its last occurrence) or an
    integer index (0-based, negative counts from the end)."""
    n = result.n_tokens
    if focus is None:
        return n - 1
    if isinstance(focus, str):
        if focus in result.tokens:
            return n - 1 - result.tokens[::-1].index(focus)
        try:
            focus = int(focus)
        except ValueError:
            raise InputError(f"focus: {focus!r} is not a token of the sentence ({', '.join(result.tokens)}) nor an index") from None
    if not -n <= focus < n:
        raise InputError(f"focus: index {focus} is out of range for {n} tokens (0 to {n - 1})")
    return focus % n


class ExplainerScene(Scene):
    """Plays `stage_names` in order for `result` (default: the worked example "I have a cat")."""

    result: AttentionResult | None = None
    focus: str | int | None = None
    stage_names: tuple[str, ...] = STAGE_NAMES
    language: str = "en"
    # called as on_still(scene, stage, moment) at each stage's key moment ("key") and its end ("end")
    on_still: Callable[[Scene, str, str], None] | None = None

    def setup(self):
        result = self.result if self.result is not None else attncore.run()
        self.ctx = Ctx(result, resolve_focus(result, self.focus), language=self.language)
        self.camera.background_color = DEFAULT_THEME.background

    def construct(self):
        for name in self.stage_names:
            self.ctx.stage = name
            stage = stage_class(name)(self.ctx)
            start = stage.begin()
            self.remove(*self.mobjects)  # the previous stage ended on this very picture
            self.add(start)
            stage.play(self, start)
            self.still("end")

    def still(self, moment: str) -> None:
        """A moment worth a still picture: passed to `on_still` when one is set."""
        if self.on_still is not None:
            self.on_still(self, self.ctx.stage, moment)

    def frame(self):
        """The current picture as an (H, W, 4) uint8 array."""
        self.renderer.update_frame(self)
        return self.renderer.get_frame().copy()


def explainer_scene(result: AttentionResult, *, focus=None, stages=STAGE_NAMES, language="en", on_still=None) -> ExplainerScene:
    """A scene instance for `result` (call `.render()` under manim's `tempconfig`)."""
    unknown = [s for s in stages if s not in STAGE_NAMES]
    if unknown:
        raise InputError(f"stage: unknown stage {unknown[0]!r}; choose from {', '.join(STAGE_NAMES)}")
    resolve_focus(result, focus)  # validate before any rendering starts
    cls = type("AttentionExplainer", (ExplainerScene,), {
        "result": result, "focus": focus, "stage_names": tuple(stages), "language": language,
        "on_still": staticmethod(on_still) if on_still else None,
    })
    return cls()


class AttentionVideo(ExplainerScene):
    pass


def _stage_scene(stage) -> type[ExplainerScene]:
    name = "".join(part.title() for part in stage.name.split("-")) + "Scene"
    return type(name, (ExplainerScene,), {"stage_names": (stage.name,), "__module__": __name__})


for _stage in STAGES:
    _cls = _stage_scene(_stage)
    globals()[_cls.__name__] = _cls
