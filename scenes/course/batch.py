"""A course's lectures rendered as one batch: every stage still to make is one task of one executor
(scenes.production.batch), the longest first; a lecture's outputs made and published as soon as its
last stage is rendered; its poster and the site's WebVTT subtitles."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path

from attncore.files import write_atomically

from ..view import View
from .file import FILES, Course
from .lectures import SEGMENT, Item, input_key
from .record import Manifest

# the poster's moment: the first of these whose stage the lecture has (else its first stage's key
# moment): the focus token's links to every token, the picture a student remembers of the lecture;
# else the softmax's worked row; else the title card (the sentence, the focus token marked)
POSTER_MOMENTS = (("softmax", "arcs"), ("softmax", "key"), ("title", "key"))


@contextmanager
def stage_cache(root: Path):
    """The stage cache the batch fills and the lectures' outputs read: the user's, or, when it is
    turned off, one for this run in a scratch folder of the course's folder."""
    from ..production.cache import ENVIRONMENT, StageCache
    from ..production.lifecycle import scratch_folder

    store = StageCache.open()
    if store is not None:
        yield store
        return
    root.mkdir(parents=True, exist_ok=True)
    before = os.environ.get(ENVIRONMENT)
    with scratch_folder(root) as tmp:
        os.environ[ENVIRONMENT] = str(tmp)  # render_parts and fast_run open the cache by it
        try:
            yield StageCache.open()
        finally:
            if before is None:
                os.environ.pop(ENVIRONMENT, None)
            else:
                os.environ[ENVIRONMENT] = before


def make_course(course: Course, items: list[Item], root: Path, speakers: dict, settings, cluster: str | None) -> int:
    """Render every item not already made, as one batch; then the site. Returns the exit status."""
    from dataclasses import replace

    from ..production.batch import render_batch
    from ..production.cache import stage_keys
    from ..production.lifecycle import scratch_folder
    from ..production.pool import Job, Task
    from ..production.run import CourseProgress, default_jobs, prepare_speech
    from .site import write_site

    root.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(root)
    for relative in manifest.forget_others(root, {item.relative for item in items}):
        if not settings.quiet:
            print(f"course: {relative}: no longer in the course file, its files removed", file=sys.stderr)
    todo, tasks, counted, by_label = [], [], [], {}
    for item in items:
        voice = speakers.get(item.language) if item.lecture.fields["voice"] else None
        item.key = input_key(item, voice)
        record = manifest.finished(item)
        if record is not None:
            item.made = record
            continue
        if voice is not None:
            item.view = prepare_speech(item.view, voice, cache=settings.cache, quiet=settings.quiet)
        todo.append(item)
    with stage_cache(root) as store, scratch_folder() as tmp:
        for n, item in enumerate(todo):
            if not item.renders:
                continue
            job = Job(item.view, SEGMENT, str(store.texts))
            stages = item.view.stages
            for i, (stage, key) in enumerate(zip(stages, stage_keys(item.view, SEGMENT))):
                label = f"{item.lecture.number}{item.language}:{stage}"
                counted.append(label)
                if settings.cache and store.has(key):
                    continue
                tasks.append(Task(job, stage, stages[i - 1] if i else None, key, label, f"{n}-{stage}"))
                by_label[label] = item
                item.waiting += 1
        progress = CourseProgress(counted, len(items), settings.quiet, frame_rate(todo[0].view.quality if todo else "low"))
        for label in counted:
            if label not in by_label:
                progress.on_done(label, 0, cached=True)
        lecture_settings = replace(settings, quiet=True, jobs=1, cache=True)

        def make(item: Item) -> None:
            if item.error is None:
                try:
                    item.made = make_lecture(item, manifest, lecture_settings)
                except Exception as e:  # one lecture's failure: the others go on
                    item.error = f"{type(e).__name__}: {e}"
            report(item, progress)

        for item in items:
            if item.made and item not in todo:
                progress.on_lecture(f"{item.name}: already made, skipped")
        for item in todo:
            if item.waiting == 0:
                make(item)

        def finished(task: Task, made) -> None:
            store.put(task.key, made)
            progress.on_done(task.label, made.frames)
            done_one(by_label[task.label])

        def failed(task: Task, error: Exception) -> None:
            item = by_label[task.label]
            item.error = item.error or f"the stage {task.stage} failed: {type(error).__name__}: {error}"
            done_one(item)

        def done_one(item: Item) -> None:
            item.waiting -= 1
            if item.waiting == 0:
                make(item)

        try:
            render_batch(tasks, tmp, jobs=settings.jobs or default_jobs(), cluster=cluster,
                         on_progress=progress.on_progress, finished=finished, failed=failed)
        finally:
            progress.close()
    write_site(course, items, root)
    failures = [i for i in items if i.error is not None]
    if failures:
        print(f"error: {len(failures)} of {len(items)} lectures failed; run the same command again to retry them",
              file=sys.stderr)
    return 1 if failures else 0


def report(item: Item, progress) -> None:
    if item.error is not None:
        print(f"error: {item.name}: {item.error}", file=sys.stderr, flush=True)
        progress.on_lecture(f"{item.name}: failed")
    else:
        progress.on_lecture(f"{item.name}: made ({item.made.get('seconds', 0):.1f} s of video)")


def make_lecture(item: Item, manifest: Manifest, settings) -> dict:
    """Make one lecture's outputs (their stages are in the cache: joins) and its video's poster, publish
    them together, add the WebVTT subtitles the site's <track> plays, and record them. Returns the record."""
    from dataclasses import replace

    from ..outputs import OUTPUTS, make_all
    from ..production.lifecycle import Staging

    chosen = [(OUTPUTS[name], path) for name, path in item.files().items()]
    chosen.sort(key=lambda c: list(OUTPUTS).index(c[0].name))
    with Staging() as staging:
        make_all(item.view, chosen, staging, replace(settings, subtitles=item.subtitles))
        if item.poster is not None:
            staging.place(item.poster).write_bytes(poster_png(item.view))
        staging.publish()
    if item.subtitles:
        srt = (item.folder / "video.srt").read_text(encoding="utf-8")
        write_atomically(item.folder / "video.vtt", webvtt(srt).encode("utf-8"))
    seconds = video_seconds(item.folder / FILES["video"]) if "video" in item.lecture.outputs else 0.0
    return manifest.record(item, seconds=seconds)


def poster_png(view: View) -> bytes:
    """A PNG of the lecture's poster moment (POSTER_MOMENTS), from a fast run of its stage alone: a
    second or two, nothing rendered to video."""
    import io
    from dataclasses import replace

    from PIL import Image

    from ..production.run import fast_run

    stage = next((s for s, _ in POSTER_MOMENTS if s in view.stages), view.stages[0])
    frames = {}

    def on_still(scene, at, moment):
        if at == stage:
            frames[moment] = scene.frame()[..., :3]

    fast_run(replace(view, stages=(stage,)), on_still=on_still)
    moment = next(m for m in [*(m for s, m in POSTER_MOMENTS if s == stage), "key", "end"] if m in frames)
    buffer = io.BytesIO()
    Image.fromarray(frames[moment]).save(buffer, format="PNG")
    return buffer.getvalue()


def frame_rate(quality: str) -> float:
    from manim.constants import QUALITIES as MANIM_QUALITIES

    from ..production.options import QUALITIES

    return MANIM_QUALITIES[QUALITIES[quality]]["frame_rate"]


def video_seconds(path: Path) -> float:
    import av

    with av.open(str(path)) as container:
        return round(container.duration / 1_000_000, 2) if container.duration else 0.0


def webvtt(srt_text: str) -> str:
    """SRT subtitles as WebVTT, what a browser's <track> reads: the same cues, a header, dots in the times."""
    import srt

    def stamp(t) -> str:
        ms = round(t.total_seconds() * 1000)
        return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"

    cues = [f"{stamp(c.start)} --> {stamp(c.end)}\n{c.content}" for c in srt.parse(srt_text)]
    return "WEBVTT\n\n" + "\n\n".join(cues) + "\n"


