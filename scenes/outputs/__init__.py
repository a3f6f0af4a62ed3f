"""What a lecture is made into: the registry of outputs.

Each output is a module of this package with one `OUTPUT` (an `Output`): the option of render.py
that asks for it, the file names it takes, what it goes with, and `make(making, path)`, which
writes it into the command's work folder (`making.staging`, published at the end) and returns
the paths it made. Adding an output is one module and one line in `OUTPUTS`; render.py's option
clashes, `--dry-run` and the printed paths follow from the registry.

Python API (what render.py calls):

    import attncore
    from scenes import outputs
    outputs.make("video", attncore.run("The cat sat"), "cat.mp4", focus="cat")
    outputs.make("slides", attncore.run(model="minilm", heads=12), "deck.html", head=11)
    outputs.make("handout", attncore.run("The cat sat", heads=2), "pair.md", contrast="The dog sat")  # as --contrast

"""

from __future__ import annotations

from pathlib import Path

from attncore import InputError

from ..production.lifecycle import Staging
from ..resolve import with_contrast
from ..view import View
from . import explore, handout, numbers, script, slides, stills, video
from .base import Making, OptionError, Output, Settings

# The registry: adding an output is its module and one line here. The order is the order they are
# made and printed in: the quick ones first, the video last.
OUTPUTS: dict[str, Output] = {o.name: o for o in (
    numbers.OUTPUT,
    handout.OUTPUT,
    explore.OUTPUT,
    stills.OUTPUT,
    script.OUTPUT,
    slides.OUTPUT,
    video.OUTPUT,
)}


def _or(items) -> str:
    items = list(items)
    return ", ".join(items[:-1]) + " or " + items[-1] if len(items) > 1 else items[0]


def options() -> dict[str, Output]:
    """render.py's option for each output, in the registry's order: the option and the first
    output that takes it (two outputs may share one: --handout's .md and .html)."""
    found: dict[str, Output] = {}
    for output in OUTPUTS.values():
        found.setdefault(output.option, output)
    return found


def parameter(option: str) -> str:
    """The name click gives an option's value: "--no-cache" -> "no_cache"."""
    return option.lstrip("-").replace("-", "_")


def asked(values: dict) -> list[tuple[str, Path | None]]:
    """The outputs render.py's options ask for, as choose takes them; `values` by parameter name.
    A flag's file comes from its path option (--slides: --output), which then asks for nothing else."""
    requests, taken = [], set()
    for option, output in options().items():
        if output.flag and values.get(parameter(option)):
            requests.append((option, values.get(parameter(output.path_option))))
            taken.add(output.path_option)
    for option, output in options().items():
        if not output.flag and option not in taken and values.get(parameter(option)) is not None:
            requests.append((option, values[parameter(option)]))
    return requests


def choose(asked: list[tuple[str, Path | None]], flags: frozenset[str] = frozenset()) -> list[tuple[Output, Path | None]]:
    """The outputs asked for, as (option, path): a file's suffix picks among the outputs of that
    option. The video is made unless an output is made instead of it; `flags` ("voice",
    "subtitles") must go with every output chosen. Raises OptionError for a clash."""
    chosen, unfit = [], []
    for option, path in asked:
        offered = [o for o in OUTPUTS.values() if o.option == option]
        fits = [o for o in offered if path is None or o.folder or path.suffix.lower() in o.suffixes]
        chosen.append((fits[0] if fits else offered[0], path))
        if not fits:
            unfit.append((offered, option, path))
    instead = [o for o, _ in chosen if o.instead_of_video]
    lone = [o for o in instead if o.alone]
    if lone and len(instead) > 1:
        other = next(o for o in instead if o is not lone[0])
        raise OptionError(None, f"{lone[0].option} and {other.option} make different outputs; run them one at a time")
    video = [c for c in chosen if c[0].name == "video"] or [(OUTPUTS["video"], None)]
    chosen = [c for c in chosen if c[0].name != "video"] + ([] if instead else video)
    check(chosen, flags)
    for offered, option, path in unfit[:1]:  # after the clashes: a file name is the smaller mistake
        others = [o for o in OUTPUTS.values() if o.path_option == option and path.suffix.lower() in o.suffixes]
        raise wrong_suffix(offered, offered[0].path_option or option, path,
                           f" ({others[0].option} writes {_or(others[0].suffixes)})" if others else "")
    return sorted(chosen, key=lambda c: list(OUTPUTS).index(c[0].name))


def wrong_suffix(offered: list[Output], option: str, path: Path, hint: str = "") -> OptionError:
    """The refusal of a file name that none of `offered` writes."""
    return OptionError(option, f"{path.name!r} must end in {_or(s for o in offered for s in o.suffixes)}{hint}")


def check(chosen: list[tuple[Output, Path | None]], flags: frozenset[str]) -> None:
    """Every flag goes with every output chosen (besides those made beside anything), and each
    output takes its path with these flags."""
    for flag in sorted(flags):
        refused = [o for o, _ in chosen if (o.instead_of_video or o.name == "video") and flag not in o.takes]
        if refused:
            takers = [o.what for o in OUTPUTS.values() if flag in o.takes]
            raise OptionError(None, f"--{flag} goes with {_or(takers)}; not with {refused[0].what}")
    for output, path in chosen:
        if path is not None:
            output.check(path, flags)


def reserve(staging: Staging, output: Output, path: Path) -> None:
    """Create the folder `path` will be written in and this render's work folder there (which
    checks that it can be written): one line naming it if not (before any rendering)."""
    folder = path if output.folder else path.parent
    try:
        staging.reserve(folder)
    except OSError as e:
        why = "a file is in the way" if isinstance(e, (FileExistsError, NotADirectoryError)) else e.strerror or str(e)
        raise OptionError(None, f"{output.path_option or output.option}: cannot write in the folder "
                                f"{str(folder)!r} ({why})") from None


def make_all(view: View, chosen: list[tuple[Output, Path]], staging: Staging, settings: Settings = Settings(),
             voice=None) -> list[Path]:
    """Every output chosen, made in `staging` (published by the caller); with `voice`
    (scenes.production.voice) the video, slides and script speak. Returns the paths written."""
    for output, path in chosen:
        reserve(staging, output, path)
    narration = None
    if voice is not None:  # the narration is synthesised while the frames render
        from ..production.run import start_speech

        view, narration = start_speech(view, voice, cache=settings.cache, quiet=settings.quiet, jobs=settings.jobs)
    try:
        making = Making(view, settings, staging)
        written = []
        for output, path in chosen:
            written += output.make(making, path)
        if narration is not None:
            narration.wait()  # a voice that failed fails the render, whatever the outputs needed of it
    finally:
        if narration is not None:
            narration.close()
    return written


def make(name: str, computed, path, *, focus=None, stages=None, language: str = "en", head: int | None = None,
         hide_special: bool = False, quality: str = "low", voice: bool = False, subtitles: bool = False,
         quiet: bool = True, jobs: int | None = None, cache: bool = True, keep=(), contrast=None,
         theme: str = "dark") -> list[Path]:
    """Make the output `name` ("video", "slides", "stills", "script", "handout", "explore",
    "numbers") of `computed` (attncore.run's result) at `path`, in place when it is complete;
    the view's options as render.py's. `head`: the head followed (default 0). `contrast`: a minimal
    pair's other sentence (or its result, computed alike), as --contrast: the contrast stage, the
    handout's and the page's contrast, and, with every head of a layer and no `head`, the head whose
    focus row moves most. `theme`: the colours, as --theme. Returns the paths written."""
    if name not in OUTPUTS:
        raise InputError(f"output: unknown output {name!r}; choose from {', '.join(OUTPUTS)}")
    output, path = OUTPUTS[name], Path(path)
    if not output.folder and path.suffix.lower() not in output.suffixes:
        raise wrong_suffix([output], name, path)
    check([(output, path)], frozenset(f for f, given in (("voice", voice), ("subtitles", subtitles)) if given))
    other, head, pick = with_contrast(computed, contrast, focus, head)
    view = View.resolve(computed, focus=focus, stages=stages, language=language, head=head,
                        hide_special=hide_special, quality=quality, keep=keep, contrast=other, pick=pick, theme=theme)
    speaker = None
    if voice:
        from ..production.voice import voice_for

        speaker = voice_for(language)
    with Staging() as staging:
        written = make_all(view, [(output, path)], staging, Settings(quiet, jobs, cache, subtitles), speaker)
        staging.publish()
    return written


__all__ = ["OUTPUTS", "Making", "OptionError", "Output", "Settings", "choose", "make", "make_all"]
