"""Click-through slides with manim-slides: one slide per beat a lecturer pauses at, its presenter
notes the narration of that slide with its real numbers, converted to one offline HTML file
(reveal.js inlined, the videos as data URIs) or to PowerPoint.

manim-slides 5.7 is written for an older manim: its `Slide` sets `config["write_to_movie"]`, a key
manim 0.22 no longer has, and `max_files_cached = inf`, which 0.22 refuses (-1 means unlimited).
`CompatSlide` skips both. Its HTML converter inlines reveal.js from its cache folder, downloading
it from a CDN when missing; `make setup` fetches the same reveal.js version from the npm registry
into .venv/share, and `install_reveal_assets` puts the files where the converter looks.
"""

from __future__ import annotations

import html
import logging
import shutil
import sys
from pathlib import Path

from manim import Scene
from manim_slides import Slide
from manim_slides.config import PresentationConfig
from manim_slides.convert import PowerPoint, RevealJS
from platformdirs import user_cache_path

from .lecture import slide_notes
from .video import ExplainerScene

logging.getLogger("manim-slides").setLevel(logging.WARNING)  # not a line per written file

SLIDE_FORMATS = (".html", ".pptx")
# the reveal.js files manim-slides' template links (theme "black"), under the package's dist/
REVEAL_ASSETS = ("reveal.css", "theme/black.css", "plugin/highlight/zenburn.css", "reveal.js",
                 "plugin/notes.js", "plugin/markdown.js")


class CompatSlide(Slide):
    """manim-slides' Slide, made to work with manim 0.22 (see the module's docstring)."""

    def __init__(self, *args, **kwargs):
        super(Slide, self).__init__(*args, **kwargs)  # Slide.__init__ only sets write_to_movie

    def render(self, *args, **kwargs):
        Scene.render(self, *args, **kwargs)
        self._save_slides(use_cache=False, flush_cache=False, skip_reversing=True)


class SlidesScene(CompatSlide, ExplainerScene):
    """The explainer as slides: a break after every beat marked as a pause. The notes of a slide
    are known once its beats have played, so they are written onto it at its break."""

    def setup(self):
        super().setup()
        self.noted = 0  # cues before this index are in earlier slides' notes

    def slide_break(self) -> None:
        cues = self.log.cues[self.noted:]
        before = len(self._slides)
        self.next_slide()
        if len(self._slides) > before:  # a slide was made (it had animations)
            self._slides[-1].notes = slide_notes(self.ctx, cues)
            self.noted = len(self.log.cues)

    def construct(self):
        super().construct()
        self.slide_break()  # the last slide, with whatever followed the last pause


def reveal_version() -> str:
    """The reveal.js version manim-slides links (and `make setup` fetches)."""
    return RevealJS.model_fields["reveal_version"].default


def reveal_dir() -> Path:
    return Path(sys.prefix) / "share" / f"reveal.js-{reveal_version()}"


def install_reveal_assets() -> None:
    """Copy reveal.js from .venv/share into manim-slides' asset cache, so that its offline
    conversion inlines them instead of downloading them."""
    source = reveal_dir() / "dist"
    missing = [name for name in REVEAL_ASSETS if not (source / name).is_file()]
    if missing:
        raise FileNotFoundError(f"reveal.js is not installed in {source.parent} (missing {missing[0]}); "
                                "run `make setup` (it fetches reveal.js from the npm registry)")
    cache = user_cache_path("manim-slides") / f"revealjs{reveal_version()}"
    cache.mkdir(parents=True, exist_ok=True)
    for name in REVEAL_ASSETS:
        shutil.copyfile(source / name, cache / Path(name).name)


def convert(config_file: Path, output: Path, title: str, background: str) -> None:
    """The deck `output` (.html: one file that works offline; .pptx: PowerPoint with notes) from the
    slides manim-slides wrote (`config_file`)."""
    presentation = PresentationConfig.from_file(config_file)
    if output.suffix == ".html":
        for slide in presentation.slides:  # the template pastes notes into the page unescaped
            slide.notes = html.escape(slide.notes, quote=False)
        RevealJS(presentation_configs=[presentation], one_file=True, offline=True, title=title,
                 background_color=background).convert_to(output)
    else:
        for slide in presentation.slides:  # PowerPoint shows notes as plain text
            slide.notes = slide.notes.replace("**", "")
        PowerPoint(presentation_configs=[presentation]).convert_to(output)
