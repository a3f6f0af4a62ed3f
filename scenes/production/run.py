"""The one render path of the video and the slides (`render_parts`), the fast run the stills and
the script come from (`fast_run`), the speech (`start_speech`: made while the frames render), and
the progress bar."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from ..view import View
from .cache import StageCache, cache_folder
from .lifecycle import scratch_folder
from .media import frame_rate_of, segment_suffix
from .options import render_options
from .pool import Job, render_stages


class Progress:
    """One progress bar for a whole render, on stderr: stages done of all, the time left (from the
    stages' pace), the stages being rendered and the frames so far. When stderr is not a terminal
    (a log), one line per finished stage instead. Nothing with `quiet`."""

    def __init__(self, stages, quiet: bool, fps: float):
        from tqdm import tqdm

        self.fps = fps
        self.total = len(stages)
        self.frames: dict[str, int] = {}  # frames made so far, per stage
        self.done: set[str] = set()
        self.lines = not quiet and not sys.stderr.isatty()
        self.started = time.perf_counter()
        self.bar = None if quiet or self.lines else tqdm(
            total=len(stages), desc="rendering", unit="stage", file=sys.stderr, leave=False, dynamic_ncols=True,
            bar_format="{desc}: {n_fmt}/{total_fmt} stages |{bar}| {elapsed}<{remaining}{postfix}")

    def on_progress(self, stage: str, seconds: float) -> None:
        """`stage` has made `seconds` of its video."""
        self.frames[stage] = round(seconds * self.fps)
        self.show()

    def on_done(self, stage: str, frames: int, cached: bool = False) -> None:
        self.frames[stage] = frames
        self.done.add(stage)
        if self.lines:
            print(f"rendering: {len(self.done)}/{self.total} stages, {stage} done ({frames} frames"
                  f"{', from the cache' if cached else ''}), {time.perf_counter() - self.started:.1f} s",
                  file=sys.stderr, flush=True)
        if self.bar is not None:
            self.bar.update(1)
        self.show()

    def show(self) -> None:
        if self.bar is not None:
            active = [s for s in self.frames if s not in self.done]
            self.bar.set_postfix_str(f"{', '.join(active) + ', ' if active else ''}{sum(self.frames.values())} frames")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class CourseProgress(Progress):
    """One progress bar for a whole course (scenes.course): lectures done, stages done of all, the
    time left; in a log, one line per finished lecture instead of one per stage."""

    def __init__(self, stages, lectures: int, quiet: bool, fps: float):
        super().__init__(stages, quiet, fps)
        self.lectures, self.finished = lectures, 0
        self.quiet = quiet
        self.describe()

    def describe(self) -> None:
        if self.bar is not None:
            self.bar.set_description(f"lectures {self.finished}/{self.lectures}")

    def on_done(self, stage: str, frames: int, cached: bool = False) -> None:
        lines, self.lines = self.lines, False  # a log has a line per lecture, not per stage
        try:
            super().on_done(stage, frames, cached)
        finally:
            self.lines = lines

    def on_lecture(self, line: str) -> None:
        """A lecture finished (made, skipped as already made, or failed): `line` says which."""
        self.finished += 1
        self.describe()
        if self.quiet:
            return
        text = f"course: {self.finished}/{self.lectures} lectures, {len(self.done)}/{self.total} stages, " \
               f"{time.perf_counter() - self.started:.1f} s: {line}"
        if self.bar is not None:
            self.bar.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr, flush=True)


def default_jobs() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def render_parts(view: View, *, tmp: Path, suffix: str, quiet: bool = True, jobs: int | None = None,
                 cache: bool = True):
    """The one render path of the video and the slides: every stage's pieces, from the cache of
    finished stages where they are there, the others rendered in `jobs` processes into `tmp`; a
    view that speaks lasts as its speech does.
    Returns (the stages' Made, manim's config of width, height and frame rate)."""
    from manim import config, tempconfig

    store = StageCache.open() if cache else None
    job = Job(view, segment_suffix(suffix), str(store.texts) if store else None)
    with tempconfig(render_options(view.quality, tmp, suffix)):
        fps, width, height = config.frame_rate, config.pixel_width, config.pixel_height
    progress = Progress(view.stages, quiet, fps)
    try:
        made = render_stages(job, view.stages, tmp, jobs=jobs or default_jobs(), cache=store,
                             on_progress=progress.on_progress, on_done=lambda m: progress.on_done(m.stage, m.frames, m.cached))
    finally:
        progress.close()
    if store is not None:
        store.prune()
    return made, dict(width=width, height=height, frame_rate=frame_rate_of(fps))


def sound_track(view: View, made, video_format):
    """The spoken video's sound track (48 kHz mono samples), or None when it does not speak."""
    from .media import joined_speech

    if view.speech is None:
        return None
    fps = video_format["frame_rate"]
    return view.speech.track(joined_speech(made, fps), sum(m.frames for m in made) / fps)


def fast_run(view: View, *, on_still=None):
    """Play the view's stages with animations skipped and nothing written (seconds, not minutes):
    the stills and the script come from this, timed as the view's speech. Returns the scene."""
    from manim import tempconfig

    from ..video import explainer_scene

    store = StageCache.open()
    with scratch_folder() as tmp:
        with tempconfig({**render_options(view.quality, tmp, ".mp4", store.texts if store else None), "dry_run": True}):
            scene = explainer_scene(view, on_still=on_still, skip_animations=True)
            scene.render()
    return scene


def start_speech(view: View, voice, *, cache: bool = True, quiet: bool = True, jobs: int | None = None):
    """`view` speaking, with its narration made while its frames render: every narration line in
    its spoken form, from a fast run of the stages (the words do not depend on the timing),
    synthesised by `voice` (scenes.production.voice) or taken from the cache, in a thread of its own
    (voice.Narration), in the order the stages rendered by `jobs` processes will want them; each
    beat lasts as long as its speech, and a stage waits only for the lines it speaks.
    Returns (the view, the narration: close() it when the outputs are made)."""
    from .voice import Narration

    scene = fast_run(view.speaking())
    texts = speaking_order(scene.log.cues, view.stages, jobs or default_jobs())
    narration = Narration(texts, voice, cache_folder() if cache else None, quiet=quiet)
    return view.spoken(narration), narration


def prepare_speech(view: View, voice, *, cache: bool = True, quiet: bool = True) -> View:
    """`view` speaking (as `start_speech`), its narration all made before it returns."""
    from dataclasses import replace

    spoken, narration = start_speech(view, voice, cache=cache, quiet=quiet)
    try:
        speech = narration.wait()
    finally:
        narration.close()
    return replace(spoken, timing=narration.timing, speech=speech)


def speaking_order(cues, stages: tuple[str, ...], jobs: int) -> list[str]:
    """The spoken texts of `cues` (a fast run's) in the order the stages' renders will reach them:
    the stages go to `jobs` processes the heaviest first (scenes.production.pool.submit_all), each
    taking as long as its video plays; a text is wanted when its stage has played up to its cue."""
    from .. import STAGE_WEIGHT

    span: dict[str, tuple[float, float]] = {}
    for cue in cues:
        first, last = span.get(cue.stage, (cue.start, cue.end))
        span[cue.stage] = (min(first, cue.start), max(last, cue.end))
    begins, free = {}, [0.0] * max(1, jobs)
    for stage in sorted((s for s in stages if s in span), key=lambda s: -STAGE_WEIGHT.get(s, 1)):
        worker = free.index(min(free))
        begins[stage] = free[worker] - span[stage][0]  # wall-clock place of the stage's video time 0
        free[worker] += span[stage][1] - span[stage][0]
    wanted = sorted((begins.get(c.stage, 0.0) + c.start, i) for i, c in enumerate(cues) if c.spoken)
    return list(dict.fromkeys(cues[i].spoken for _, i in wanted))
