"""Rendering the stages: each stage a video of its own, in forked worker processes, the longest
first; finished stages from the cache.

Every stage starts from a picture rebuilt from scratch (`Stage.start()`, the previous stage's
`handoff()`), so a stage renders the same frames alone as in one long scene; only a cross-fade
between stages whose pictures differ needs to know the stage before. manim writes each animation
as its own small video; a stage's pieces (between the places a lecturer pauses) are joined by the
same remux as the whole video, so a video made in parallel has the same frames as one made in one
scene."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from .. import STAGE_WEIGHT
from ..context import Break
from ..view import View
from .cache import StageCache, stage_keys
from .lifecycle import die_with_parent, forks, signals_held, worker_signals
from .media import Made, Piece, frame_rate_of, join_files
from .options import render_options


@dataclass(frozen=True)
class Job:
    """What every stage of one video shares: the view (the numbers with it) and the segment container."""

    view: View
    segment: str  # ".mp4", ".webm" or ".mov"
    texts: str | None  # manim's text cache folder


def render_stage(job: Job, stage: str, previous: str | None, folder: Path,
                 on_progress: Callable[[str, float], None] | None = None) -> Made:
    """Render `stage` alone (cross-fading from `previous` when their pictures differ) into `folder`."""
    from manim import config, tempconfig

    from ..lecture import slide_notes
    from ..video import explainer_scene

    started = time.perf_counter()
    with tempconfig(render_options(job.view.quality, folder, job.segment, job.texts)):
        scene = explainer_scene(replace(job.view, stages=(stage,)), previous_stage=previous, on_progress=on_progress)
        scene.render()
        fps, width, height = config.frame_rate, config.pixel_width, config.pixel_height
    produced = [p for p in folder.rglob(f"video{job.segment}") if "partial_movie_files" not in p.parts]
    if not produced:
        raise RuntimeError(f"the stage {stage} produced no {job.segment} file")
    srt_file = produced[0].with_suffix(".srt")
    subtitles = srt_file.read_text(encoding="utf-8") if srt_file.exists() else ""
    # the stage's pieces: manim's own small videos (one per animation, each from a key frame)
    # between the breaks, joined by the same remux as the whole video
    partial = scene.renderer.file_writer.partial_movie_files
    cues = scene.log.cues
    ends = [*scene.breaks, Break(len(partial), scene.driver.clock, len(cues), pause=False)]
    pieces, before = [], Break(0, 0.0, 0, pause=False)
    for end in ends:
        files = [f for f in partial[before.files:end.files] if f is not None]
        frames = round(end.clock * fps) - round(before.clock * fps)
        if files and frames > 0:
            path = folder / f"piece-{len(pieces)}{job.segment}"
            join_files(files, path, width=width, height=height, frame_rate=frame_rate_of(fps))
            pieces.append(Piece(path, frames, slide_notes(scene.ctx, cues[before.cues:end.cues]), end.pause))
        elif pieces and end.pause:  # nothing played since the last break: the slide ends there
            pieces[-1] = replace(pieces[-1], pause=True)
        before = end
    total = round(scene.driver.clock * fps)
    speech = tuple((cue.start, cue.spoken) for cue in cues if cue.spoken)
    return Made(stage, tuple(pieces), total, subtitles, time.perf_counter() - started, speech=speech)


@dataclass(frozen=True)
class Task:
    """One stage of one video to render: its job, the stage before it, its cache key, the name the
    progress shows it by, and its folder's name (unique among the tasks of one batch)."""

    job: Job
    stage: str
    previous: str | None
    key: str
    label: str
    name: str

    @property
    def weight(self) -> float:
        return STAGE_WEIGHT.get(self.stage, 1)


_worker: dict = {}  # in a pool's process: the jobs and the progress pipe


def _start_worker(jobs: tuple[Job, ...], progress, parent: int) -> None:
    # the parent stops its workers when it is interrupted: they end at once, and quietly; and they
    # die with it when it is killed (forked with the signals held: none comes before this is set)
    die_with_parent(parent)
    worker_signals()
    _worker.update(jobs=jobs, progress=progress)


def _render_in_worker(job: int, stage: str, previous: str | None, folder: str, label: str) -> Made:
    progress = _worker["progress"]
    return render_stage(_worker["jobs"][job], stage, previous, Path(folder),
                        on_progress=lambda name, seconds: progress.send((label, seconds)))


def render_stages(job: Job, stages: tuple[str, ...], folder: Path, *, jobs: int, cache: StageCache | None,
                  on_progress: Callable[[str, float], None] | None = None,
                  on_done: Callable[[Made], None] | None = None) -> list[Made]:
    """Every stage's video, in video order: from the cache when there, else rendered in `folder`,
    by `jobs` processes at once (in this process when 1, or when one stage is left to render)."""
    keys = stage_keys(replace(job.view, stages=stages), job.segment)
    made: dict[str, Made] = {}
    todo = []
    for i, (stage, key) in enumerate(zip(stages, keys)):
        hit = cache.get(key, job.segment, folder / f"cached-{stage}") if cache is not None else None
        if hit is not None:
            made[stage] = hit
            if on_done is not None:
                on_done(hit)
        else:
            todo.append(Task(job, stage, stages[i - 1] if i else None, key, stage, stage))

    def finished(task: Task, one: Made) -> None:
        made[one.stage] = cache.put(task.key, one) if cache is not None else one
        if on_done is not None:
            on_done(made[one.stage])

    if jobs <= 1 or len(todo) <= 1:
        for task in todo:
            finished(task, render_stage(job, task.stage, task.previous, folder / task.name, on_progress))
    else:
        run_parallel(todo, folder, jobs, on_progress, finished)
    return [made[s] for s in stages]


def run_parallel(tasks: list[Task], folder: Path, jobs: int, on_progress, finished,
                 failed: Callable[[Task, Exception], None] | None = None) -> None:
    """Render `tasks` (of one video or of many) in `jobs` forked processes, the longest stages
    first, each into `folder`/its name; progress reports come back through a pipe. A task that fails
    goes to `failed` (the others go on), or, without it, stops every process; so does an interrupt."""
    context = multiprocessing.get_context("fork")  # the workers share what is imported and cached
    # the progress reports: a pipe every worker writes to without a lock (each report is one write
    # of far less than PIPE_BUF bytes, which Linux makes atomic). A queue's lock is shared with the
    # workers: one stopped while it held the lock left it held, and the parent, interrupted and
    # already deaf to signals, waited on it for ever (issue 33)
    reader, writer = context.Pipe(duplex=False)
    shared: dict[int, int] = {}  # each job's place in what the workers are given (by identity: a View holds arrays)
    for task in tasks:
        shared.setdefault(id(task.job), len(shared))
    given = tuple({id(t.job): t.job for t in tasks}.values())
    with signals_held():  # the threads and the forked workers start with SIGINT and SIGTERM held
        listener = threading.Thread(target=_listen, args=(reader, on_progress), daemon=True)
        listener.start()
        pool = ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=context,
                                   initializer=_start_worker, initargs=(given, writer, os.getpid()))
    try:
        with signals_held(), forks:  # the first submit forks every worker
            pending = submit_all(tasks, lambda t: pool.submit(_render_in_worker, shared[id(t.job)], t.stage, t.previous,
                                                              str(folder / t.name), t.label))
        collect(pending, finished, failed)
    except BaseException:
        from ..manim_adapter import stop_workers

        stop_workers(pool)  # no waiting for stages nobody will see
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)
        writer.send(None)
        listener.join()
        reader.close()
        writer.close()


def submit_all(tasks: list[Task], submit) -> dict:
    """Submit every task at once, the longest first (`submit(task)` -> a concurrent.futures Future: a
    pool's, or a cluster's executor). Returns {future: task}."""
    return {submit(task): task for task in sorted(tasks, key=lambda t: -t.weight)}


def collect(pending: dict, finished, failed=None) -> None:
    """Hand each submitted task's result to `finished(task, made)` as it comes; a failed task to
    `failed(task, error)`, or, without it, raise."""
    while pending:
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            task = pending.pop(future)
            try:
                made = future.result()
            except Exception as e:
                if failed is None:
                    raise
                failed(task, e)
                continue
            finished(task, made)


def _listen(reader, on_progress) -> None:
    while (message := reader.recv()) is not None:
        if on_progress is not None:
            on_progress(*message)
