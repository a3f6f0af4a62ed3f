"""What every output module shares: the Output it registers, how outputs are made (Settings,
Making), and the error of an option that cannot be honoured."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from attncore import InputError

from ..production.lifecycle import Staging
from ..view import View


@dataclass(frozen=True)
class Settings:
    """How the outputs are made, not what they show (that is the View)."""

    quiet: bool = True  # no progress bar
    jobs: int | None = None  # stages rendered at once (default: the cores)
    cache: bool = True  # reuse finished stages, spoken texts
    subtitles: bool = False  # the video's .srt beside it


class Making:
    """One command's outputs being made: the view, the settings, the work folder, and what the
    outputs share (one fast run serves the stills and the script)."""

    def __init__(self, view: View, settings: Settings, staging: Staging):
        self.view, self.settings, self.staging = view, settings, staging
        self._scene = None

    def fast_run(self, on_still=None):
        """The view played with animations skipped (scenes.production.fast_run), once."""
        from ..production.run import fast_run

        if self._scene is None or on_still is not None:
            self._scene = fast_run(self.view, on_still=on_still)
        return self._scene


@dataclass(frozen=True)
class Output:
    """One kind of output, registered in scenes.outputs.OUTPUTS. Each field, with an example, is in
    docs/architecture.md ("How to add an output")."""

    name: str  # the registry's key; a course file's name for it; its file's name in a lecture's folder (name + suffix)
    option: str  # the option of render.py that asks for it
    suffixes: tuple[str, ...]  # the file names it writes; the first is the default (none: a folder)
    make: Callable[[Making, Path], list[Path]]
    what: str  # for messages: "a video"
    instead_of_video: bool = True  # made instead of the video (False: beside anything, or the video itself)
    alone: bool = False  # no other output made instead of the video goes with it
    takes: frozenset[str] = frozenset()  # the flags it goes with: "voice", "subtitles"
    path_option: str | None = None  # the option giving its file, when not `option` (--slides: --output)
    also: Callable[[Path, Settings], list[Path]] = lambda path, settings: []  # files written beside it
    check: Callable[[Path, frozenset[str]], None] = lambda path, flags: None  # refuses a path with these flags
    help: str = ""  # its option's --help (outputs sharing an option: the first one's)

    @property
    def folder(self) -> bool:
        return not self.suffixes

    @property
    def flag(self) -> bool:
        """Asked for by a flag; its file is named by `path_option`."""
        return self.path_option is not None

    def targets(self, path: Path, settings: Settings) -> list[Path]:
        """Every path it writes (`--dry-run` lists them)."""
        return [path, *self.also(path, settings)]


class OptionError(InputError):
    """An option that cannot be honoured: `option` names it (render.py shows it as click would)."""

    def __init__(self, option: str | None, message: str):
        super().__init__(message)
        self.option = option
