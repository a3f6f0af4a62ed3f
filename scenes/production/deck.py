"""Click-through slides with manim-slides, cut from the same stage renders as the video: a slide is
the pieces of the stages (scenes.production.pool) up to the next place a lecturer pauses, joined by the
same remux; its presenter notes are those pieces' narration with the real numbers. So the slides get
the video's parallel renders, its cache and its cross-fades, and after the video they cost little
more than the conversion. manim-slides writes the deck: one offline HTML file (reveal.js inlined,
the videos as data URIs) or PowerPoint.

manim-slides' HTML converter inlines reveal.js from its cache folder, downloading it from a CDN when
missing; `make setup` (or, in another venv, the README's three lines) fetches the same reveal.js
version from the npm registry into the venv's share/, and `install_reveal_assets` puts the files
where the converter looks.
"""

from __future__ import annotations

import contextlib
import html
import logging
import re
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import manim_slides.convert as converters
from manim_slides import templates
from manim_slides.config import PresentationConfig, SlideConfig
from manim_slides.convert import FrameIndex, PowerPoint, RevealJS
from platformdirs import user_cache_path

from attncore.files import write_atomically

from ..cache_writes import holds, keep, private_folder
from .media import Made, join_pieces

logging.getLogger("manim-slides").setLevel(logging.WARNING)  # not a line per written file

# the reveal.js files manim-slides' template links (the theme's: "black" for the dark theme, "white" for the
# light one, scenes.theme), under the package's dist/
REVEAL_ASSETS = ("reveal.css", "theme/black.css", "theme/white.css", "plugin/highlight/zenburn.css", "reveal.js",
                 "plugin/notes.js", "plugin/markdown.js")


@dataclass(frozen=True)
class Slide:
    path: Path
    frames: int
    notes: str


def cut_slides(made: list[Made], folder: Path, *, width: int, height: int, frame_rate, audio=None) -> list[Slide]:
    """The stages' pieces grouped into slides (a slide ends at every pause, and at the end), each
    joined into one video in `folder`; notes of pieces from two stages are put one after the other.
    With `audio` (the whole video's sound track, 48 kHz) each slide carries its stretch of it."""
    from .voice import RATE

    groups, group = [], []
    pieces = [p for m in made for p in m.pieces]
    for n, piece in enumerate(pieces):
        group.append(piece)
        if piece.pause or n == len(pieces) - 1:
            groups.append(group)
            group = []
    if len(groups) > 1 and not any(p.notes for p in groups[-1]):  # the video's last fade after its last pause
        groups[-2:] = [groups[-2] + groups[-1]]
    slides, start = [], 0
    for group in groups:
        path = folder / f"slide-{len(slides):03d}.mp4"
        frames = sum(p.frames for p in group)
        sound = None if audio is None else audio[round(start / frame_rate * RATE):round((start + frames) / frame_rate * RATE)]
        join_pieces([p.path for p in group], path, width=width, height=height, frame_rate=frame_rate, audio=sound,
                    faststart=False)
        slides.append(Slide(path, frames, "\n\n".join(p.notes for p in group if p.notes)))
        start += frames
    return slides


def reveal_version() -> str:
    """The reveal.js version manim-slides links (and `make setup` fetches)."""
    return RevealJS.model_fields["reveal_version"].default


def reveal_dir() -> Path:
    return Path(sys.prefix) / "share" / f"reveal.js-{reveal_version()}"


def install_reveal_assets() -> Path:
    """Copy reveal.js from .venv/share into manim-slides' asset cache, so that its offline
    conversion inlines them instead of downloading them. Returns the folder manim-slides should take
    them from: its cache, or, when that cannot be written (a full disk, a folder made read-only:
    said once), this process's private folder."""
    source = reveal_dir() / "dist"
    missing = [name for name in REVEAL_ASSETS if not (source / name).is_file()]
    if missing:
        raise FileNotFoundError(f"reveal.js is not installed in {source.parent} (missing {missing[0]}); "
                                "run `make setup` (it fetches reveal.js from the npm registry), or in another "
                                "venv the README's three lines (Install); --output NAME.pptx needs none")
    shared = user_cache_path("manim-slides")
    if _put_assets(shared, source, keep):
        return shared
    private = private_folder() / "manim-slides"
    _put_assets(private, source, write_atomically)  # a failure here is the render's
    return private


def _put_assets(root: Path, source: Path, write) -> bool:
    """reveal.js's files from `source` in `root`/revealjs<version>, by name as manim-slides looks them
    up, each written by `write(path, data)` (renamed into place: a deck made at the same time never
    reads half a file) unless already there; False when `write` returns False."""
    for name in REVEAL_ASSETS:
        target = root / f"revealjs{reveal_version()}" / Path(name).name
        data = (source / name).read_bytes()
        if not holds(target, data) and write(target, data) is False:
            return False
    return True


def convert(slides: list[Slide], output: Path, title: str, theme, resolution: tuple[int, int],
            quiet: bool = True, spoken: bool = False) -> None:
    """The deck `output` (.html: one file that works offline; .pptx: PowerPoint with notes, each
    slide's picture its last frame, what it explains) from the slides' videos, its page in `theme`'s
    background and reveal.js theme (scenes.theme.Theme). A `spoken` deck's first slide is not muted
    (see `sounding_template`)."""
    background = theme.background
    html_deck = output.suffix == ".html"
    presentation = PresentationConfig(
        slides=[SlideConfig(file=s.path, rev_file=s.path,
                            notes=html.escape(s.notes, quote=False) if html_deck else s.notes.replace("**", ""))
                for s in slides],  # the HTML template pastes notes unescaped; PowerPoint shows plain text
        resolution=resolution, background_color=background)
    with _manim_slides_quiet(quiet), _posters_from_last_frames(), _reveal_assets(html_deck):
        if html_deck:
            RevealJS(presentation_configs=[presentation], one_file=True, offline=True, title=title,
                     background_color=background, reveal_theme=theme.reveal_theme,
                     **({"template": sounding_template(output.parent)} if spoken else {})).convert_to(output)
        else:
            PowerPoint(presentation_configs=[presentation]).convert_to(output)
            timeless(output)


ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry


def timeless(deck: Path) -> None:
    """Rewrite a .pptx (a zip) with every entry dated ZIP_EPOCH: python-pptx stamps each entry with
    the time it was written, so the same slides gave other bytes each time. The entries, their
    order, contents and compression are kept."""
    import zipfile

    with zipfile.ZipFile(deck) as source:
        entries = [(info, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(deck, "w") as target:
        for info, data in entries:
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_EPOCH)
            fixed.compress_type, fixed.external_attr = info.compress_type, info.external_attr
            target.writestr(fixed, data)


FIRST_MUTED = re.compile(r"\{% if loop\.index == 1 and outer_loop\.index == 1 %\}\s*data-background-video-muted\s*\{% endif %\}")


def sounding_template(folder: Path) -> Path:
    """manim-slides' reveal.js template without the muting of the first slide's video (muted, a
    browser lets it start by itself): a spoken deck's first slide speaks too. Where a browser
    refuses sound before the first click, reveal.js plays it muted and shows an unmute button."""
    text = resources.files(templates).joinpath("revealjs.html").read_text(encoding="utf-8")
    if not FIRST_MUTED.search(text):
        raise RuntimeError("manim-slides' reveal.js template no longer mutes the first slide as scenes/slides.py expects")
    path = folder / "revealjs-spoken.html"
    path.write_text(FIRST_MUTED.sub("", text), encoding="utf-8")
    return path


@contextlib.contextmanager
def _manim_slides_quiet(quiet: bool):
    """manim-slides' converters draw their own tqdm bar ("Generating video slides"): none with --quiet."""
    bar = converters.tqdm
    if quiet:
        converters.tqdm = lambda iterable, *args, **kwargs: iterable
    try:
        yield
    finally:
        converters.tqdm = bar


@contextlib.contextmanager
def _reveal_assets(html_deck: bool):
    """manim-slides' asset cache where `install_reveal_assets` put reveal.js (its own, or this process's
    private folder when that cannot be written)."""
    if not html_deck:
        yield
        return
    assets, cache_of = install_reveal_assets(), converters.user_cache_path
    converters.user_cache_path = lambda name: assets
    try:
        yield
    finally:
        converters.user_cache_path = cache_of


@contextlib.contextmanager
def _posters_from_last_frames():
    """PowerPoint's picture of a slide (and of a printed page) is manim-slides' first frame of its
    video, which is where the slide starts (black for the first); ours is its last frame."""
    read = converters.read_image_from_video_file
    converters.read_image_from_video_file = lambda file, frame_index: read(file, FrameIndex.last)
    try:
        yield
    finally:
        converters.read_image_from_video_file = read
