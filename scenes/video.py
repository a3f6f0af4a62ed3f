"""Manim scenes: the full explainer and one scene per stage.

    manim -ql scenes/video.py AttentionVideo      # the default sentence, all stages
    manim -ql scenes/video.py SoftmaxScene        # one stage on its own

`render.py` builds the same scenes for any sentence with `explainer_scene(...)`. This module imports
absolutely (`scenes.…`) because manim's CLI loads it by file path.
"""

from __future__ import annotations

from typing import Callable

from manim import FadeIn, FadeOut, Scene

import attncore
from attncore import AttentionResult, InputError, resolve_focus

from scenes.beats import Driver, Play
from scenes.context import Ctx
from scenes.stages import STAGE_NAMES, STAGES, stage_class
from scenes.strings import CATALOGUES
from scenes.theme import DEFAULT_THEME

__all__ = ["AttentionVideo", "ExplainerScene", "explainer_scene", "resolve_focus"]


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

    @property
    def log(self):
        """What was shown and said: numbers with their sources, subtitle cues, pauses."""
        return self.ctx.log

    def construct(self):
        driver = Driver(self, self.ctx)
        previous = None
        for name in self.stage_names:
            stage = stage_class(name)(self.ctx)
            start = stage.start()
            if previous is not None and previous.ends_on != stage.starts_from:
                # a subset of stages that do not meet: cross-fade instead of cutting
                driver.play(Play((FadeOut(*self.mobjects), FadeIn(start)), 0.6))
            self.remove(*self.mobjects)  # the previous stage ended on this very picture
            self.add(start)
            driver.play_stage(stage, start)
            self.still("end")
            previous = stage

    def still(self, moment: str) -> None:
        """A moment worth a still picture: passed to `on_still` when one is set."""
        if self.on_still is not None:
            self.on_still(self, self.ctx.log.stage, moment)

    def frame(self):
        """The current picture as an (H, W, 4) uint8 array."""
        self.renderer.update_frame(self)
        return self.renderer.get_frame().copy()


def explainer_scene(result: AttentionResult, *, focus=None, stages=STAGE_NAMES, language="en", on_still=None,
                    skip_animations: bool = False) -> ExplainerScene:
    """A scene instance for `result` (call `.render()` under manim's `tempconfig`). With
    `skip_animations` every play jumps to its end (stills, scripts, tests: seconds, not minutes);
    the clock still advances by each animation's run time."""
    unknown = [s for s in stages if s not in STAGE_NAMES]
    if unknown:
        raise InputError(f"stage: unknown stage {unknown[0]!r}; choose from {', '.join(STAGE_NAMES)}")
    if language not in CATALOGUES:
        raise InputError(f"lang: unknown language {language!r}; choose from {', '.join(CATALOGUES)}")
    resolve_focus(result, focus)  # validate before any rendering starts
    cls = type("AttentionExplainer", (ExplainerScene,), {
        "result": result, "focus": focus, "stage_names": tuple(stages), "language": language,
        "on_still": staticmethod(on_still) if on_still else None,
    })
    return cls(skip_animations=skip_animations)


class AttentionVideo(ExplainerScene):
    pass


def _stage_scene(stage) -> type[ExplainerScene]:
    name = "".join(part.title() for part in stage.name.split("-")) + "Scene"
    return type(name, (ExplainerScene,), {"stage_names": (stage.name,), "__module__": __name__})


for _stage in STAGES:
    _cls = _stage_scene(_stage)
    globals()[_cls.__name__] = _cls
