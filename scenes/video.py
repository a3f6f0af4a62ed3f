"""Manim scenes: the full explainer and one scene per stage.

    manim -ql scenes/video.py AttentionVideo      # the default sentence, all stages
    manim -ql scenes/video.py SoftmaxScene        # one stage on its own

`render.py` builds the same scenes for any sentence with `explainer_scene(view)`. This module imports
absolutely (`scenes.…`) because manim's CLI loads it by file path.
"""

from __future__ import annotations

from typing import Callable

from manim import FadeIn, FadeOut, ManimColor, Scene, Succession

import attncore
from scenes import SEVERAL_HEADS, STAGE_NAMES, manim_adapter
from scenes.beats import Driver, Play
from scenes.context import Break, Ctx
from scenes.stages import STAGES, stage_class
from scenes.theme import THEMES
from scenes.view import View

manim_adapter.share_text_cache()  # renders at once may share manim's text cache

__all__ = ["AttentionVideo", "ExplainerScene", "explainer_scene"]


class ExplainerScene(Scene):
    """Plays the stages of `view` (default: the worked example "I have a cat", its stages `stages`)."""

    view: View | None = None
    stages: tuple[str, ...] | None = None  # without a view: these stages of the worked example (default all)
    # the stage played before this scene's first, when the video is made stage by stage (see
    # scenes.production): the scene opens on its last picture, as if it had just been played
    previous_stage: str | None = None
    # called as on_still(scene, stage, moment) at each stage's key moment ("key") and its end ("end")
    on_still: Callable[[Scene, str, str], None] | None = None
    # called as on_progress(stage, seconds) whenever the video has grown, in whole frames
    on_progress: Callable[[str, float], None] | None = None

    def setup(self):
        view = self.view = self.view or View.resolve(attncore.run(), stages=self.stages)
        self.ctx = Ctx(view.result, view.focus, language=view.language, heads=view.heads, hidden=view.hidden,
                       keep=view.keep, contrast=view.contrast_result, pick=view.pick, theme=THEMES[view.theme])
        self.camera.background_color = ManimColor(self.ctx.theme.background)
        self.breaks: list[Break] = []  # where a lecturer pauses, in order

    @property
    def log(self):
        """What was shown and said: numbers with their sources, subtitle cues, pauses."""
        return self.ctx.log

    def construct(self):
        driver = self.driver = Driver(self, self.ctx, self.view.timing)
        previous = stage_class(self.previous_stage)(self.ctx) if self.previous_stage is not None else None
        names = self.view.stages
        for n, name in enumerate(names):
            stage = stage_class(name)(self.ctx)
            start = stage.start()
            if previous is not None and previous.ends_on != stage.starts_from:
                # a subset of stages that do not meet: a fade out, then in, instead of a cut
                if not self.mobjects:  # the stage before was played in another scene (scenes.production)
                    self.add(previous.handoff())
                driver.play(Play((Succession(FadeOut(*self.mobjects), FadeIn(start)),), 0.6))
            self.remove(*self.mobjects)  # the previous stage ended on this very picture
            self.add(start)
            # the picture handed to the next stage: not built when nothing would show it
            handoff = n < len(names) - 1 or self.on_still is not None
            driver.play_stage(stage, start, handoff=handoff)
            self.still("end")
            previous = stage

    def progressed(self, seconds: float) -> None:
        """The video is now `seconds` long (the driver's clock)."""
        if self.on_progress is not None:
            self.on_progress(self.ctx.log.stage, seconds)

    def slide_break(self) -> None:
        """A lecturer pauses here: a slide ends (scenes.production cuts the stage into pieces here)."""
        writer = getattr(self.renderer, "file_writer", None)
        files = len(writer.partial_movie_files) if writer is not None else 0
        self.breaks.append(Break(files, self.driver.clock, len(self.log.cues)))

    def still(self, moment: str) -> None:
        """A moment worth a still picture: passed to `on_still` when one is set."""
        if self.on_still is not None:
            self.on_still(self, self.ctx.log.stage, moment)

    def frame(self):
        """The current picture as an (H, W, 4) uint8 array."""
        self.renderer.update_frame(self)
        return self.renderer.get_frame().copy()


def explainer_scene(view: View, *, on_still=None, on_progress=None, skip_animations: bool = False,
                    previous_stage: str | None = None) -> ExplainerScene:
    """A scene instance playing `view` (call `.render()` under manim's `tempconfig`). With
    `skip_animations` every play jumps to its end (stills, scripts, tests: seconds, not minutes); the
    clock still advances by each animation's run time. `previous_stage` is the stage before the
    view's first when the video is made stage by stage."""
    if previous_stage is not None and previous_stage not in STAGE_NAMES:
        raise attncore.InputError(f"stage: unknown stage {previous_stage!r}; choose from {', '.join(STAGE_NAMES)}")
    cls = type("AttentionExplainer", (ExplainerScene,), {
        "view": view, "previous_stage": previous_stage, "on_still": staticmethod(on_still) if on_still else None,
        "on_progress": staticmethod(on_progress) if on_progress else None,
    })
    return cls(skip_animations=skip_animations, renderer=manim_adapter.renderer(skip_animations))


class AttentionVideo(ExplainerScene):
    pass


def _stage_scene(stage) -> type[ExplainerScene]:
    name = "".join(part.title() for part in stage.name.split("-")) + "Scene"
    return type(name, (ExplainerScene,), {"stages": (stage.name,), "__module__": __name__})


for _stage in (s for s in STAGES if s.name not in SEVERAL_HEADS):  # the default sentence has one head
    _cls = _stage_scene(_stage)
    globals()[_cls.__name__] = _cls
