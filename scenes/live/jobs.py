"""The live page's render queue: "make the video" (or the slides, the handout, the page to explore) of
what is on screen, with scenes.outputs.make, the same pipeline and stage cache as render.py.

Jobs run one at a time, in the order asked (from any tab), each in a worker process of its own
(`python -m scenes.live.jobs`, the job as JSON on stdin), so a render never slows the page's answers
beyond sharing the cores, and a cancel ends it at once. Its progress is the render's own log lines
("rendering: 2/5 stages, ..." on stderr, scenes.production.run.Progress); its result is served from
the job's folder by the job's id and the file's name, never by a path a request gives.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse

from .service import TOY, Ask, LiveError, parse

OUTPUTS = {"video": "lecture.mp4", "slides": "lecture.html", "handout": "lecture.md", "explore": "lecture.html"}
RENDERED = ("video", "slides")  # made of rendered stages (a stage picker and a bar of stages); the others in one step
MAX_JOBS = 20  # waiting at once; beyond, "busy"
PROGRESS = re.compile(r"rendering: (\d+)/(\d+) stages")
WORKER = (sys.executable, "-m", "scenes.live.jobs")  # a job's process: main() below, the job as JSON on stdin


@dataclass
class Job:
    id: int
    output: str
    ask: Ask
    stages: tuple[str, ...] | None
    source: str = TOY  # what attncore.model.load_model takes for ask.model (a name the lecturer started with)
    quality: str = "low"
    theme: str = "dark"  # the colours of what is made (render.py --theme)
    total: int = 1  # stages to render (known when asked: the page's bar shows done of total from the start), 1 for a one-step output
    state: str = "waiting"  # waiting, running, done, failed, cancelled
    done: int = 0
    error: str = ""
    files: list[str] = field(default_factory=list)
    process: subprocess.Popen | None = None

    def to_dict(self, position: int) -> dict:
        return {"id": self.id, "output": self.output, "state": self.state, "done": self.done, "total": self.total,
                "quality": self.quality, "theme": self.theme, "stages": list(self.stages or ()), "position": position, "error": self.error, "sentence": self.ask.sentence,
                "files": [{"name": f, "url": f"/media/{self.id}/{f}"} for f in self.files]}


class Jobs:
    """The queue, its runner thread and the jobs' folders (removed by `close`)."""

    def __init__(self, quality: str = "low", theme: str = "dark", worker: tuple[str, ...] = WORKER):
        self.quality, self.theme = quality, theme  # a request's defaults (render.py --live --quality, --theme)
        self.worker = worker
        self.folder = Path(tempfile.mkdtemp(prefix="attention-live-"))
        self.jobs: dict[int, Job] = {}
        self.ids = itertools.count(1)
        self.lock = threading.Condition()
        self.closed = False
        self.runner = threading.Thread(target=self._run, name="live-jobs", daemon=True)
        self.runner.start()

    def add(self, output: str, ask: Ask, stages: tuple[str, ...] | None, source: str = TOY, quality: str = "low",
            total: int = 1, theme: str = "dark") -> Job:
        with self.lock:
            if sum(j.state in ("waiting", "running") for j in self.jobs.values()) >= MAX_JOBS:
                raise LiveError(f"busy: {MAX_JOBS} renders are waiting already; try again later", 503)
            job = Job(next(self.ids), output, ask, stages, source, quality, theme, total)
            self.jobs[job.id] = job
            self.lock.notify_all()
            return job

    def cancel(self, job_id: int) -> Job:
        with self.lock:
            job = self.jobs.get(job_id)
            if job is None:
                raise LiveError(f"job: no render {job_id}", 404)
            if job.state in ("waiting", "running"):  # a running job not yet started never starts (_run checks)
                job.state = "cancelled"
                if job.process is not None:
                    job.process.terminate()
            return job

    def listing(self) -> list[dict]:
        with self.lock:
            waiting = [j.id for j in self.jobs.values() if j.state == "waiting"]
            return [j.to_dict(waiting.index(j.id) if j.id in waiting else -1) for j in self.jobs.values()]

    def _next(self) -> Job | None:
        with self.lock:
            while not self.closed:
                job = next((j for j in self.jobs.values() if j.state == "waiting"), None)
                if job is not None:
                    job.state = "running"
                    return job
                self.lock.wait()
            return None

    def _run(self):
        while (job := self._next()) is not None:
            try:
                self._render(job)
            except Exception as e:  # the worker could not start or be talked to: that job fails, the queue goes on
                with self.lock:
                    if job.process is not None and job.process.poll() is None:
                        job.process.kill()
                    if job.state != "cancelled":
                        job.state, job.error = "failed", f"{type(e).__name__}: {e}"[:300]

    def _render(self, job: Job):
        folder = self.folder / str(job.id)
        folder.mkdir()
        spec = {"ask": job.ask.__dict__, "output": job.output, "path": str(folder / OUTPUTS[job.output]),
                "stages": job.stages, "quality": job.quality, "theme": job.theme,
                "source": job.source}
        with self.lock:
            if job.state == "cancelled":
                shutil.rmtree(folder, ignore_errors=True)
                return
            # its paths into a file, not a second pipe: a pipe nobody reads until the progress ends would
            # stop a worker that writes more than the pipe holds, and the queue with it
            with open(folder / ".written", "w+b") as written_file:
                job.process = subprocess.Popen(self.worker, stdin=subprocess.PIPE,
                                               stdout=written_file, stderr=subprocess.PIPE, text=True,
                                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
        job.process.stdin.write(json.dumps(spec))
        job.process.stdin.close()
        last = ""
        for line in job.process.stderr:  # the render's progress lines, and its one-line error
            found = PROGRESS.search(line)
            if found:
                job.done, job.total = int(found[1]), int(found[2])
            elif line.strip():
                last = line.strip()
        code = job.process.wait()
        written = (folder / ".written").read_text(encoding="utf-8", errors="replace").split()
        with self.lock:
            if job.state == "cancelled":
                shutil.rmtree(folder, ignore_errors=True)
            elif code == 0:
                job.files = [Path(p).name for p in written if Path(p).parent == folder]
                job.state, job.done = "done", job.total
            else:
                job.state, job.error = "failed", last.removeprefix("error: ")[:300] or f"exit status {code}"

    def close(self):
        with self.lock:
            self.closed = True
            for job in self.jobs.values():
                if job.process is not None and job.process.poll() is None:
                    job.process.terminate()
            self.lock.notify_all()
        shutil.rmtree(self.folder, ignore_errors=True)

    # ---- the routes ----------------------------------------------------------------------------
    def routes(self, service, models, computed, may_render):
        """(path, endpoint, methods) for the app: ask for a render, list, cancel, fetch a result."""
        from scenes import STAGE_NAMES
        from scenes.resolve import video_stages
        from scenes.view import QUALITIES, THEMES

        async def make(request: Request):
            if not may_render(request):
                raise LiveError("rendering: switched off for other computers; the lecturer can make the video", 403)
            q = request.query_params
            ask = parse(q, models)
            output = q.get("output") or "video"
            if output not in OUTPUTS:
                raise LiveError(f"output: {output[:40]!r} is not one of {', '.join(OUTPUTS)}")
            quality = q.get("quality") or self.quality
            if quality not in QUALITIES:
                raise LiveError(f"quality: {quality[:40]!r} is not one of {', '.join(QUALITIES)}")
            theme = q.get("theme") or self.theme
            if theme not in THEMES:
                raise LiveError(f"theme: {theme[:40]!r} is not one of {', '.join(THEMES)}")
            asked = tuple(s for s in (q.get("stages") or "").split(",") if s)
            unknown = [s for s in asked if s not in STAGE_NAMES]
            if unknown:
                raise LiveError(f"stages: {unknown[0][:40]!r} is not a stage ({', '.join(STAGE_NAMES)})")
            if "stages" in q and not asked:
                raise LiveError("stages: none chosen; choose at least one stage of the video")
            shown = await computed(request, lambda: service.view(ask))  # refused here, not in the worker
            stages = video_stages(asked, overview=False)  # in video order; None (none given): the view's whole video
            wrong = [s for s in stages or () if s not in shown["stages"]]
            if wrong:
                raise LiveError(f"stages: {wrong[0]!r} is not a stage of this view's video; its stages are "
                                f"{', '.join(shown['stages'])}")
            total = len(stages or shown["stages"]) if output in RENDERED else 1
            fixed = Ask(**{**ask.__dict__, "head": shown["head"], "focus": shown["focus"]})
            return JSONResponse(self.add(output, fixed, stages, models[ask.model], quality, total, theme).to_dict(0))

        async def listing(request: Request):
            return JSONResponse(self.listing())

        async def cancel(request: Request):
            job_id = request.path_params["job"]
            if not may_render(request):
                raise LiveError("rendering: switched off for other computers", 403)
            return JSONResponse(self.cancel(int(job_id) if job_id.isdigit() else -1).to_dict(-1))

        async def media(request: Request):
            job_id, name = request.path_params["job"], request.path_params["name"]
            job = self.jobs.get(int(job_id)) if job_id.isdigit() else None
            if job is None or name not in job.files:
                raise LiveError("media: no such result", 404)
            return FileResponse(self.folder / str(job.id) / name, filename=name)

        return [("/api/make", make, ["POST"]), ("/api/jobs", listing, ["GET"]),
                ("/api/jobs/{job}/cancel", cancel, ["POST"]), ("/media/{job}/{name}", media, ["GET"])]


def main() -> int:
    """The worker process: the job from stdin, its files' paths on stdout, its progress on stderr."""
    import attncore
    from attncore import InputError
    from scenes import outputs

    spec = json.loads(sys.stdin.read())
    ask = Ask(**spec["ask"])
    try:
        if ask.model == TOY:
            computed = attncore.run(ask.sentence, causal=ask.causal, positional=ask.positional)
            contrast = None if ask.contrast is None else attncore.run(ask.contrast, causal=ask.causal,
                                                                      positional=ask.positional)
        else:
            from attncore.model import load_model

            name = spec["source"]
            heads = load_model(name).n_heads
            computed = attncore.run(ask.sentence, model=name, layer=ask.layer, heads=heads)
            contrast = ask.contrast
        written = outputs.make(spec["output"], computed, spec["path"], focus=ask.focus, stages=spec["stages"],
                               language=ask.language, head=ask.head if ask.model != TOY else None,
                               quality=spec["quality"], theme=spec["theme"], quiet=False, jobs=1, contrast=contrast)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print("\n".join(map(str, written)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
