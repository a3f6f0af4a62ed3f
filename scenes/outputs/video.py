"""The video (`render.py`, `--output NAME.mp4|.gif|.webm|.mov`), with `--subtitles` its .srt beside it."""

from __future__ import annotations

from pathlib import Path

from attncore import InputError

from ..production.lifecycle import Staging, staged
from ..production.run import render_parts, sound_track
from ..view import View
from .base import Making, Output, Settings

FORMATS = (".mp4", ".gif", ".webm", ".mov")


def subtitles_path(output: Path) -> Path:
    """The subtitles beside the video: media/cat.mp4 -> media/cat.srt."""
    return output.with_suffix(".srt")


@staged
def render_video(view: View, output: Path, *, staging: Staging, settings: Settings = Settings()):
    """Render the view's stages (scenes.production.render_parts) into `staging`'s work folder
    beside `output` and join them: the video (and with `settings.subtitles` the .srt beside it),
    moved into place when `staging` publishes (without one, at the end of this call). Returns the
    stages' videos (scenes.production.media.Made: frames, wall seconds, whether cached)."""
    from ..production.media import join, joined_subtitles

    tmp = staging.scratch(output.parent, "stages")
    made, video_format = render_parts(view, tmp=tmp, suffix=output.suffix, quiet=settings.quiet, jobs=settings.jobs,
                                      cache=settings.cache)
    join(made, staging.place(output), **video_format, audio=sound_track(view, made, video_format))
    if settings.subtitles:
        staging.place(subtitles_path(output)).write_text(joined_subtitles(made, float(video_format["frame_rate"])),
                                                         encoding="utf-8")
    return made


def make(making: Making, path: Path) -> list[Path]:
    render_video(making.view, path, staging=making.staging, settings=making.settings)
    return [*also(path, making.settings), path]


def also(path: Path, settings: Settings) -> list[Path]:
    return [subtitles_path(path)] if settings.subtitles else []


def check(path: Path, flags: frozenset[str]) -> None:
    if "voice" in flags and path.suffix.lower() == ".gif":
        raise InputError("--voice: a GIF has no sound; use .mp4, .webm or .mov")


OUTPUT = Output("video", "--output", FORMATS, make, "a video", instead_of_video=False,
                takes=frozenset({"voice", "subtitles"}), also=also, check=check,
                help="Video file; its extension picks the format: .mp4 .gif .webm .mov. Default: media/<sentence>.mp4")
