"""The course file (`render.py --course course.toml`, docs/course.md): a title, the defaults of every
lecture, and the lectures.

    title = "Attention, step by step"
    languages = ["en", "zh"]
    outputs = ["video", "subtitles", "slides", "explore"]
    [[lecture]]
    sentence = "I have a cat"
    [[lecture]]
    sentence = "我有一只猫，它很可爱。"
    model = "m3e-small"
    layer = 0
    head = 4
    focus = "它"

Every field a lecture gives may be given at the top as every lecture's default (but `sentence` and
`title`, which are the course's own title there). Reading checks the file's shape; whether each
lecture's numbers can be computed is scenes.course's (the same resolution as render.py's). Every
error is one line naming the lecture and the field; all of them are reported at once.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from attncore import InputError

from .. import STAGE_NAMES
from ..outputs import OUTPUTS
from ..strings import LANGUAGES
from ..view import QUALITIES, THEMES

# what a lecture's outputs are called in the file (the registry's names: a new output is a course's too), and the file
# each is in a lecture's folder: its name and its first suffix ("video.mp4"; a folder: "stills")
FILES = {o.name: o.name + (o.suffixes[0] if o.suffixes else "") for o in OUTPUTS.values()}
SUBTITLES = "subtitles"  # an output of the file: the video's .srt (and the site's .vtt) beside it


def _count(low: int):
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= low


def _text(v) -> bool:
    return isinstance(v, str) and v.strip() != ""


def _token(v) -> bool:
    return _text(v) or _count(-10 ** 6)(v)


def _titled(v) -> bool:
    """A title: text, or a table of it by language (title = { en = "...", zh = "..." })."""
    return _text(v) or isinstance(v, dict) and len(v) > 0 and all(k in LANGUAGES and _text(t) for k, t in v.items())


def in_language(title, language: str) -> str:
    """A title in `language`: its own text there, else the first one given."""
    return title if isinstance(title, str) else title.get(language, next(iter(title.values())))


def _choices(allowed):
    return lambda v: isinstance(v, list) and len(v) > 0 and all(isinstance(x, str) and x in allowed for x in v)


# a lecture's fields: (check, what a good value is); the View's options are render.py's of the same name
FIELDS = {
    "sentence": (_text, "the sentence, in quotes"),
    "title": (_titled, "a title, in quotes, or one per language: { en = \"...\", zh = \"...\" }"),
    "focus": (_token, "a token's text or its index (0-based)"),
    "keep": (lambda v: isinstance(v, list) and all(map(_token, v)), "a list of tokens (text or index)"),
    "model": (_text, "a model's name (minilm, m3e-small, ...) or folder"),
    "layer": (_count(0), "a layer's number, from 0"),
    "head": (lambda v: _count(0)(v) or v == "auto", "a head's number, from 0, or \"auto\""),
    "heads": (_count(1), "a number of heads, from 1"),
    "causal": (lambda v: isinstance(v, bool), "true or false"),
    "positional": (lambda v: isinstance(v, bool), "true or false"),
    "hide_special": (lambda v: isinstance(v, bool), "true or false"),
    "seed": (_count(0), "a whole number, from 0"),
    "contrast": (_text, "a sentence, in quotes"),
    "languages": (_choices(LANGUAGES), "a list of languages: " + ", ".join(LANGUAGES)),
    "outputs": (_choices({*FILES, SUBTITLES}), "a list of outputs: " + ", ".join([*FILES, SUBTITLES])),
    "quality": (lambda v: v in QUALITIES, "one of " + ", ".join(QUALITIES)),
    "theme": (lambda v: v in THEMES, "one of " + ", ".join(THEMES)),
    "voice": (lambda v: isinstance(v, bool), "true or false"),
    "stages": (_choices(STAGE_NAMES), "a list of stages: " + ", ".join(STAGE_NAMES)),
}
OWN = ("sentence", "title")  # a lecture's alone: at the top, `title` is the course's
DEFAULTS = {"languages": ["en"], "outputs": ["video", SUBTITLES, "slides", "explore", "handout"], "quality": "low",
            "voice": False, "stages": []}
VIEW_FIELDS = tuple(f for f in FIELDS if f not in ("title", "languages", "outputs", "voice"))  # render.py's options


class CourseError(InputError):
    """Every mistake of a course file, one line each (`lines`)."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines


@dataclass(frozen=True)
class Lecture:
    """One lecture: its number (from 1), its title, and its fields with the course's defaults."""

    number: int
    title: str | dict | None  # text, or text by language
    fields: dict

    def title_in(self, language: str) -> str:
        """Its title in `language` (the sentence when it has none)."""
        return in_language(self.title, language) if self.title else self.fields["sentence"]

    @property
    def name(self) -> str:
        """How messages name it: `lecture 2 ("我有一只猫，它很可爱。")`."""
        text = in_language(self.title, "en") if self.title else self.fields.get("sentence", "")
        return f'lecture {self.number} ("{text if len(text) <= 30 else text[:29] + "…"}")'

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.fields["languages"]))

    @property
    def outputs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.fields["outputs"]))

    def options(self) -> dict:
        """The options render.py resolves a View from (render.lecture_view)."""
        return {f: self.fields[f] for f in VIEW_FIELDS if f in self.fields}


@dataclass(frozen=True)
class Course:
    """A course file read: its lectures, and its mistakes found so far as (lecture number or 0, line)."""

    file: Path
    title: str | dict  # text, or text by language
    lectures: tuple[Lecture, ...]
    mistakes: tuple[tuple[int, str], ...] = ()

    def refuse(self, more: list[tuple[int, str]] = ()) -> None:
        """Raise CourseError with every mistake, in the file's order, when there is one."""
        found = sorted([*self.mistakes, *more], key=lambda m: m[0])
        if found:
            raise CourseError([line for _, line in found])


def read(path: Path) -> Course:
    """The course in the TOML file `path`, its shape checked: the mistakes are in `mistakes` (the lectures
    that have one are left out of `lectures`), so that resolving the others finds theirs too. Raises
    CourseError at once for a file that is not TOML or a course without a title or lectures."""
    path = Path(path)
    where = path.name
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise CourseError([f"{where}: cannot be read ({e})"]) from None
    except tomllib.TOMLDecodeError as e:
        raise CourseError([f"{where}: not a TOML file: {e}"]) from None
    errors = []
    title = data.get("title")
    if not _titled(title):
        raise CourseError([f"{where}: title: give the course a title, in quotes (title = \"Attention, step by step\")"])
    defaults = dict(DEFAULTS)
    for field, value in data.items():
        if field in ("title", "lecture"):
            continue
        if field not in FIELDS or field in OWN:
            errors.append((0, f"{where}: {field}: not a field of a course; " + known("a course", [f for f in FIELDS if f not in OWN])))
        elif not FIELDS[field][0](value):
            errors.append((0, f"{where}: {field}: {value!r} is not {FIELDS[field][1]}"))
        else:
            defaults[field] = value
    given = data.get("lecture", [])
    if not (isinstance(given, list) and given and all(isinstance(x, dict) for x in given)):
        raise CourseError([f"{where}: lecture: no lectures; give each as [[lecture]] with its sentence"])
    lectures = []
    for n, fields in enumerate(given, 1):
        lecture = Lecture(n, fields.get("title") if _titled(fields.get("title")) else None, {**defaults, **fields})
        found = []
        if "sentence" not in fields:
            found.append("sentence: missing; every lecture explains a sentence")
        for field, value in fields.items():
            if field not in FIELDS:
                found.append(f"{field}: not a field of a lecture; " + known("a lecture", FIELDS))
            elif not FIELDS[field][0](value):
                found.append(f"{field}: {value!r} is not {FIELDS[field][1]}")
        if SUBTITLES in lecture.outputs and "video" not in lecture.outputs:
            found.append("outputs: subtitles go with the video; add \"video\"")
        errors += [(n, f"{where}: {lecture.name}: {line}") for line in found]
        if not found:
            lectures.append(lecture)
    return Course(path, title, tuple(lectures), tuple(errors))


def known(what: str, fields) -> str:
    return f"the fields of {what} are " + ", ".join(fields)
