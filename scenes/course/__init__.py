"""A course in one command (`render.py --course course.toml [--output FOLDER] [--cluster ADDRESS]`):
every lecture of a course file (scenes.course.file) in each of its languages, rendered as one
batch into one folder with an offline site (scenes.course.site). docs/course.md says how to use it.

1. The whole file is checked first: each lecture in each language resolves to the View render.py
   would build from the same options (render.lecture_view); every mistake is one line naming the
   lecture and the field, and nothing renders.
2. One batch: every stage of every lecture still to make that the stage cache does not hold is one
   task of one executor (scenes.production.batch: this machine's processes or a Dask cluster), the
   longest first, each finished stage kept in the cache.
3. A lecture's outputs are made (scenes.outputs.make_all, which finds its stages in the cache: only
   joins) as soon as its last stage is rendered, and published at once (lifecycle.Staging). A
   lecture that fails is reported in one line and the others go on; the exit status is 1.
4. `course.json` in the folder records each lecture's input key and each of its files' SHA-256: a
   run again (after a kill, say) skips a lecture whose files still hash to what was recorded for the
   same key, and remakes the others from the cached stages.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from attncore import InputError
from attncore.files import write_atomically

from ..production.names import code, name_of, readable
from ..view import View
from .file import FILES, SUBTITLES, Course, CourseError, Lecture, in_language, read

MANIFEST = "course.json"
INTERRUPTED = "error: interrupted; the lectures finished so far are kept; run the same command again to resume"
SEGMENT = ".mp4"  # the container of the stages: the video and the slides are both cut from them
POSTER = "poster.png"  # beside the video: the site's <video poster>, what shows until it plays
# the poster's moment: the first of these whose stage the lecture has (else its first stage's key
# moment): the focus token's links to every token, the picture a student remembers of the lecture;
# else the softmax's worked row; else the title card (the sentence, the focus token marked)
POSTER_MOMENTS = (("softmax", "arcs"), ("softmax", "key"), ("title", "key"))


@dataclass(eq=False)
class Item:
    """One lecture in one language: what it shows, where its files go, how it went."""

    lecture: Lecture
    language: str
    view: View
    folder: Path  # <course folder>/<NN-name>/<language>
    key: str = ""  # its input key (what decides its files)
    made: dict = field(default_factory=dict)  # the manifest's record once made
    error: str | None = None
    waiting: int = 0  # stages still rendering

    @property
    def name(self) -> str:
        return f"{self.lecture.name} [{self.language}]"

    @property
    def relative(self) -> str:
        """Its folder, relative to the course's (the manifest's and the site's name for it)."""
        return f"{self.folder.parent.name}/{self.language}"

    def files(self) -> dict[str, Path]:
        """Each output's file (a folder for the stills), by the output's name."""
        return {o: self.folder / FILES[o] for o in self.lecture.outputs if o in FILES}

    @property
    def subtitles(self) -> bool:
        return SUBTITLES in self.lecture.outputs

    @property
    def poster(self) -> Path | None:
        """The video's poster (a PNG), when it has a video."""
        return self.folder / POSTER if "video" in self.lecture.outputs else None

    def targets(self) -> list[Path]:
        """Every file it writes (--dry-run lists them)."""
        extra = [self.folder / "video.srt", self.folder / "video.vtt"] if self.subtitles else []
        return [*self.files().values(), *extra, *filter(None, [self.poster])]

    @property
    def renders(self) -> bool:
        """Whether it needs the stages' videos (the video, the slides)."""
        return bool({"video", "slides"} & set(self.lecture.outputs))


def plan(course: Course, resolve, root: Path) -> list[Item]:
    """Every lecture in each of its languages, resolved (`resolve(language, **options) -> View`:
    render.lecture_view), in its folder (lecture_folder). Raises CourseError with one line for each
    lecture and language that cannot be (the same language's errors once)."""
    items, errors = [], []
    where = course.file.name
    for lecture in course.lectures:
        seen = set()
        for language in lecture.languages:
            try:
                view = resolve(language, **lecture.options())
            except InputError as e:
                line = f"{where}: {lecture.name}: {e}"
                if str(e) not in seen:
                    errors.append((lecture.number, line + ("" if len(lecture.languages) == 1 else f" ({language})")))
                seen.add(str(e))
                continue
            items.append(Item(lecture, language, view, root / lecture_folder(lecture) / language))
    course.refuse(errors)
    return items


def voices(items: list[Item]) -> dict[str, object]:
    """The voice of each language a lecture speaks in (scenes.production.voice): VoiceError at once
    when one is not installed."""
    from ..production.voice import voice_for

    return {i.language: voice_for(i.language) for i in items if i.lecture.fields["voice"]}


def input_key(item: Item, voice) -> str:
    """What decides a lecture's files: its stages' cache keys (the numbers, the view, the code), its
    outputs and its voice."""
    from ..production.cache import stage_keys

    given = {"stages": stage_keys(item.view, SEGMENT), "outputs": item.lecture.outputs,
             "voice": getattr(voice, "name", None)}
    return hashlib.sha256(json.dumps(given, sort_keys=True).encode()).hexdigest()


def sha256_of(path: Path) -> str | None:
    """A file's SHA-256, or a folder's (of its files' names and hashes); None when it is missing."""
    if path.is_dir():
        inner = [(p.relative_to(path).as_posix(), sha256_of(p)) for p in sorted(path.rglob("*")) if p.is_file()]
        return hashlib.sha256(json.dumps(inner).encode()).hexdigest()
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


class Manifest:
    """course.json: per lecture and language (its folder, relative), the input key, its files' SHA-256
    and what the site shows (the video's length)."""

    def __init__(self, root: Path):
        self.path = root / MANIFEST
        try:
            self.records = json.loads(self.path.read_text(encoding="utf-8")).get("lectures", {})
        except (OSError, ValueError, AttributeError):
            self.records = {}

    def finished(self, item: Item) -> dict | None:
        """Its record, when its files are all there with the bytes recorded for the same key."""
        record = self.records.get(item.relative)
        if not isinstance(record, dict) or record.get("key") != item.key:
            return None
        files = record.get("files", {})
        if set(files) != {p.name for p in item.targets()}:
            return None
        if any(sha256_of(item.folder / name) != digest for name, digest in files.items()):
            return None
        return record

    def record(self, item: Item, **facts) -> dict:
        self.records[item.relative] = {"key": item.key, "files": {p.name: sha256_of(p) for p in item.targets()}, **facts}
        self.save()
        return self.records[item.relative]

    def forget_others(self, root: Path, kept: set[str]) -> list[str]:
        """Remove what it recorded of lectures no longer in the course (a lecture dropped, or renamed by
        a new sentence): each file still as recorded (one changed since is the user's, and stays), then
        the folders left empty. Returns their folders."""
        gone = sorted(set(self.records) - kept)
        for relative in gone:
            folder = root / relative
            for name, digest in self.records.pop(relative).get("files", {}).items():
                path = folder / name
                if digest is not None and sha256_of(path) == digest:
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
            for empty in (folder, folder.parent):
                with contextlib.suppress(OSError):
                    empty.rmdir()  # only when empty
        if gone:
            self.save()
        return gone

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(self.path, json.dumps({"lectures": self.records}, ensure_ascii=False, indent=1).encode())


def lecture_folder(lecture: Lecture) -> str:
    """`NN-<name>`: the number keeps it unique and in order; the name is its sentence's slug when the
    sentence is in Latin letters ("01-i-have-a-cat"), else its English title's ("04-a-chinese-model-finds"),
    else render.py's code of the sentence ("04-ac6ac73d"). It depends on nothing else (not the model or
    the stages): changing those remakes the lecture's files in the same folder."""
    sentence = lecture.fields["sentence"]
    title = in_language(lecture.title, "en") if lecture.title else ""
    name = readable(sentence, words=True) or readable(title, words=True) or name_of(sentence)
    return f"{lecture.number:02d}-{name}"


def course_folder(course: Course, given: Path | None) -> Path:
    """--output, else media/<the course title's slug> (its English title's when it has one:
    "media/attention-step-by-step"), or media/course-<code> for a title not in Latin letters."""
    if given is not None:
        return Path(given)
    title = in_language(course.title, "en")
    return Path("media") / (readable(title, words=True) or f"course-{code(title)}")


def show_plan(items: list[Item], root: Path, speakers) -> None:
    """--dry-run: what each lecture shows and every file the course would make."""
    import click

    from .site import pages

    for language, speaker in speakers.items():
        click.echo(f"voice ({language}): {speaker.name}")
    for item in items:
        r = item.view.result
        where = r.source or ("toy numbers" + (f", head {item.view.head}" if item.view.several else ""))
        click.echo(f"{item.name}: {' | '.join(r.tokens)}; {where}; focus {r.tokens[item.view.focus]!r}; "
                   f"stages {', '.join(item.view.stages)}")
        for path in item.targets():
            click.echo(f"  {path}")
    click.echo("site: " + ", ".join(str(root / page) for page in pages(items)))
    click.echo(f"record: {root / MANIFEST}")


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


def run_course(path: Path, *, resolve, folder: Path | None = None, cluster: str | None = None, settings=None,
               dry_run: bool = False) -> int:
    """render.py --course: check the file, render every lecture as one batch, make the site. Returns
    the exit status: 0 when every lecture was made, 1 when one failed, 2 for a mistake in the file."""
    import click

    from ..outputs import Settings

    settings = settings or Settings()
    try:
        course = read(path)
        root = course_folder(course, folder)
        items = plan(course, resolve, root)
        speakers = voices(items)
    except CourseError as e:
        for line in e.lines:
            click.echo(f"error: {line}", err=True)
        return 2
    if dry_run:
        show_plan(items, root, speakers)
        return 0
    from ..production.lifecycle import farewell

    try:
        with farewell(INTERRUPTED):  # the watchman's line too, should it have to end the course itself
            return make_course(course, items, root, speakers, settings, cluster)
    except KeyboardInterrupt:
        click.echo(INTERRUPTED, err=True)
        return 130


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


__all__ = ["Course", "CourseError", "Lecture", "read", "run_course", "plan"]
