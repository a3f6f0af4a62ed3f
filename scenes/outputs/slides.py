"""Click-through slides (`render.py --slides`, `--output NAME.html|NAME.pptx`): a slide per pause,
the narration as presenter notes, cut from the same stage renders as the video
(scenes.production.deck makes the deck with manim-slides)."""

from __future__ import annotations

from pathlib import Path

from attncore import InputError, join_tokens

from .. import SLIDE_FORMATS
from ..production.lifecycle import Staging, staged
from ..production.run import render_parts, sound_track
from ..view import View
from .base import Making, Output, Settings


@staged
def render_slides(view: View, output: Path, *, staging: Staging, settings: Settings = Settings()):
    """The slides (a slide ends at every pause, the narration as presenter notes), cut from the same
    stage renders as the video (scenes.production.render_parts: parallel, cached), converted to
    `output` (.html, one offline file, or .pptx), moved into place when `staging` publishes (without
    one, at the end of this call). Returns the slides."""
    from ..production.deck import convert, cut_slides, install_reveal_assets
    from ..theme import THEMES

    if output.suffix == ".html":
        try:
            install_reveal_assets()  # before minutes of rendering: fails at once when reveal.js is missing
        except FileNotFoundError as e:
            raise InputError(f"slides: {e}") from None
    tmp = staging.scratch(output.parent, "stages")
    made, video_format = render_parts(view, tmp=tmp, suffix=".mp4", quiet=settings.quiet, jobs=settings.jobs,
                                      cache=settings.cache)
    slides = cut_slides(made, staging.scratch(output.parent, "slides"), **video_format,
                        audio=sound_track(view, made, video_format))
    first = view.result
    title = first.sentence if first.sentence is not None else join_tokens(first.tokens)
    convert(slides, staging.place(output), title=title, theme=THEMES[view.theme],
            resolution=(video_format["width"], video_format["height"]), quiet=settings.quiet,
            spoken=view.speech is not None)
    return slides


def make(making: Making, path: Path) -> list[Path]:
    render_slides(making.view, path, staging=making.staging, settings=making.settings)
    return [path]


OUTPUT = Output("slides", "--slides", SLIDE_FORMATS, make, "--slides", alone=True, takes=frozenset({"voice"}),
                path_option="--output",
                help="Instead of a video, make click-through slides: a slide per pause, the narration as presenter "
                     "notes. --output NAME.html (one file that works offline; default media/<sentence>.html) or NAME.pptx.")
