"""Manim scenes: the full explainer and one scene per stage.

    manim -ql scenes/video.py AttentionVideo      # the default sentence, all stages
    manim -ql scenes/video.py SoftmaxScene        # one stage on its own

`render.py` builds the same scenes for any sentence with `explainer_scene(...)`. This module imports
absolutely (`scenes.…`) because manim's CLI loads it by file path.
"""

from __future__ import annotations

from typing import Callable

from manim import FadeIn, FadeOut, ManimColor, Scene

import attncore
from attncore import AttentionResult, InputError, MultiHeadResult, resolve_focus, special_tokens
from scenes import SEVERAL_HEADS, default_stages, encoding, pango_cache
from scenes.beats import Driver, Play
from scenes.context import Break, Ctx
from scenes.stages import STAGE_NAMES, STAGES, stage_class
from scenes.strings import CATALOGUES
from scenes.theme import DEFAULT_THEME

pango_cache.install()  # renders at once may share manim's text cache

__all__ = ["AttentionVideo", "ExplainerScene", "explainer_scene", "resolve_focus"]


class ExplainerScene(Scene):
    """Plays `stage_names` in order for `result` (default: the worked example "I have a cat")."""

    result: AttentionResult | None = None
    focus: str | int | None = None
    stage_names: tuple[str, ...] = default_stages(False)
    language: str = "en"
    heads: MultiHeadResult | None = None  # every head, when `result` is heads.heads[result.head]
    hide_special: bool = False  # leave a model's [CLS] and [SEP] out of the pictures (not the numbers)
    # the stage played before this scene's first, when the video is made stage by stage (see
    # scenes.production): the scene opens on its last picture, as if it had just been played
    previous_stage: str | None = None
    # called as on_still(scene, stage, moment) at each stage's key moment ("key") and its end ("end")
    on_still: Callable[[Scene, str, str], None] | None = None
    # called as on_progress(stage, seconds) whenever the video has grown, in whole frames
    on_progress: Callable[[str, float], None] | None = None
    # seconds each spoken text lasts (scenes.voice), when the video speaks: a beat lasts at least that
    speech: dict[str, float] | None = None

    def setup(self):
        result = self.result if self.result is not None else attncore.run()
        hidden = frozenset(special_tokens(result) if self.hide_special else ())
        self.ctx = Ctx(result, resolve_focus(result, self.focus), language=self.language, heads=self.heads,
                       hidden=hidden)
        self.camera.background_color = ManimColor(DEFAULT_THEME.background)
        self.breaks: list[Break] = []  # where a lecturer pauses, in order

    @property
    def log(self):
        """What was shown and said: numbers with their sources, subtitle cues, pauses."""
        return self.ctx.log

    def construct(self):
        driver = self.driver = Driver(self, self.ctx, self.speech)
        previous = stage_class(self.previous_stage)(self.ctx) if self.previous_stage is not None else None
        for n, name in enumerate(self.stage_names):
            stage = stage_class(name)(self.ctx)
            start = stage.start()
            if previous is not None and previous.ends_on != stage.starts_from:
                # a subset of stages that do not meet: cross-fade instead of cutting
                if not self.mobjects:  # the stage before was played in another scene (scenes.production)
                    self.add(previous.handoff())
                driver.play(Play((FadeOut(*self.mobjects), FadeIn(start)), 0.6))
            self.remove(*self.mobjects)  # the previous stage ended on this very picture
            self.add(start)
            # the picture handed to the next stage: not built when nothing would show it
            handoff = n < len(self.stage_names) - 1 or self.on_still is not None
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


def explainer_scene(result: AttentionResult | MultiHeadResult, *, focus=None, stages=None, language="en",
                    on_still=None, on_progress=None, skip_animations: bool = False, head: int = 0,
                    hide_special: bool = False, previous_stage: str | None = None,
                    speech: dict[str, float] | None = None) -> ExplainerScene:
    """A scene instance for `result` (call `.render()` under manim's `tempconfig`). A MultiHeadResult
    is followed through its head `head`, and the heads stage shows them all. `stages` defaults to
    the whole video. With `skip_animations` every play jumps to its end (stills, scripts, tests:
    seconds, not minutes); the clock still advances by each animation's run time. `hide_special`
    leaves a model's [CLS] and [SEP] out of the pictures; they still take part in the softmax.
    `previous_stage` is the stage before the first of `stages` when the video is made stage by stage.
    `speech` gives the seconds each spoken text lasts when the video speaks (scenes.voice)."""
    heads = result if isinstance(result, MultiHeadResult) else None
    if heads is not None:
        if isinstance(head, bool) or not isinstance(head, int) or not 0 <= head < heads.n_heads:
            raise InputError(f"head: {head!r} is out of range; there are heads 0 to {heads.n_heads - 1} (0-based)")
        result = heads.heads[head]
    stages = default_stages(heads is not None) if stages is None else tuple(stages)
    unknown = [s for s in (*stages, *([previous_stage] if previous_stage else [])) if s not in STAGE_NAMES]
    if unknown:
        raise InputError(f"stage: unknown stage {unknown[0]!r}; choose from {', '.join(STAGE_NAMES)}")
    if heads is None and any(s in SEVERAL_HEADS for s in stages):
        raise InputError("stage: 'heads' shows several heads; use --heads N (toy numbers) or --model")
    if language not in CATALOGUES:
        raise InputError(f"lang: unknown language {language!r}; choose from {', '.join(CATALOGUES)}")
    hidden = special_tokens(result) if hide_special else []
    if hide_special and not hidden:
        raise InputError("hide-special: only a model's tokens include [CLS] and [SEP]; use it with --model"
                         if result.model is None else f"hide-special: {result.model} adds no [CLS] or [SEP] to hide")
    index = resolve_focus(result, focus)  # validate before any rendering starts
    if index in hidden:
        raise InputError(f"focus: {result.tokens[index]!r} is hidden by --hide-special; choose another token")
    cls = type("AttentionExplainer", (ExplainerScene,), {
        "result": result, "focus": focus, "stage_names": stages, "language": language, "heads": heads,
        "hide_special": hide_special, "previous_stage": previous_stage, "on_still": staticmethod(on_still) if on_still else None,
        "on_progress": staticmethod(on_progress) if on_progress else None, "speech": speech,
    })
    return cls(skip_animations=skip_animations, renderer=encoding.renderer(skip_animations))


class AttentionVideo(ExplainerScene):
    pass


def _stage_scene(stage) -> type[ExplainerScene]:
    name = "".join(part.title() for part in stage.name.split("-")) + "Scene"
    return type(name, (ExplainerScene,), {"stage_names": (stage.name,), "__module__": __name__})


for _stage in (s for s in STAGES if s.name not in SEVERAL_HEADS):  # the default sentence has one head
    _cls = _stage_scene(_stage)
    globals()[_cls.__name__] = _cls
