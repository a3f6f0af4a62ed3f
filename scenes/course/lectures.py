"""A course's lectures, planned: every lecture of the file in each of its languages resolved to its
View (scenes.resolve.lecture_view: as render.py would resolve the same options), its folder, its
files, its input key; and --dry-run's summary of them."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from attncore import InputError

from ..production.names import code, name_of, readable
from ..resolve import lecture_view
from ..view import View
from .file import FILES, SUBTITLES, Course, Lecture, in_language

SEGMENT = ".mp4"  # the container of the stages: the video and the slides are both cut from them
POSTER = "poster.png"  # beside the video: the site's <video poster>, what shows until it plays


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


def plan(course: Course, root: Path) -> list[Item]:
    """Every lecture in each of its languages, resolved (scenes.resolve.lecture_view), in its folder (lecture_folder). Raises CourseError with one line for each
    lecture and language that cannot be (the same language's errors once)."""
    items, errors = [], []
    where = course.file.name
    for lecture in course.lectures:
        seen = set()
        for language in lecture.languages:
            try:
                view = lecture_view(language, **lecture.options())
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
