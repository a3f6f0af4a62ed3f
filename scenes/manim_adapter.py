"""Every use of manim's private API (and of one private attribute of concurrent.futures), in one
place: a manim upgrade is checked here and nowhere else. It imports nothing of ours, so the explainer
(scenes.beats, scenes.video) and the production (scenes.production) both import it downwards. Written for manim 0.22 (pyproject pins
manim below 0.23); each part names what it relies on.

1. Drawing and video writing made faster (`renderer`): paths traced once, a held picture converted once.
   Relies on Camera.set_cairo_context_path, SceneFileWriter._create_segment_encoder and
   VideoSegmentEncoder's _validate_frame, _next_pts, _stream, _container and _operation_error.
2. manim's Pango text cache made safe to share between renders running at once (`share_text_cache`).
   Relies on manim.mobject.text.text_mobject's module names MarkupUtils and PangoUtils, on
   SVGMobject.generate_mobject's body (get_file_path, modify_xml_tree, get_mobjects_from), and on
   Text._text2svg and MarkupText._text2svg (the colour they are given, to lay out a damaged text again).
3. Whether the scene was configured to skip animations (`skipping_animations`): CairoRenderer's
   _original_skipping_status.
4. Joining videos by remux (`combine`): SceneFileWriter.combine_files called on a stand-in for the
   writer, with the attributes it reads (_concat_manifest_bytes, output_spec, video_encoder).
5. Stopping a process pool's workers at once (`stop_workers`): ProcessPoolExecutor._processes
   (Python 3.11).

---- 1. manim's drawing and video writing, made faster: paths traced once, a held picture converted once.

Tracing: every frame, manim's Camera walks each shape's points and hands cairo one curve at a time
(`set_cairo_context_path`), although most shapes (the digits, the brackets, the labels) have the
same points frame after frame. `PathCachingCamera` keeps the traced cairo path under the points'
bytes and appends it whole the next time: the same path, a fraction of the Python calls.

A beat holds its picture for seconds: manim hands the encoder the same frame `repeat` times, and its
encoder converts the RGBA pixels to the codec's YUV for each copy. At 1080p that conversion takes
7.5 ms, as long as encoding the frame: converting once per hold encodes held frames twice as fast
(benchmarks/render_bench.py). The frames are the same (tests/test_production.py).

---- 2. manim's Pango text cache made safe to share between renders running at once.

manim keeps each laid-out text as an SVG under `text_dir` (one file per text, font and size) and
uses a file when it exists. Three things break when several renders share that folder: Pango
writes the file progressively, so another render can find it half-written; manim rewrites every
file it uses (`PangoUtils.remove_last_M`, truncating then writing), so a reader can find it empty;
and SVGMobject parses each file through a copy beside it with one fixed name (`<name>_.svg`), which
another render may delete first. Here a new file is written under a name of its own, trimmed, then
renamed into place (a rename is atomic), the trim rewrites nothing when there is nothing to remove,
and the parsing copy stays in memory: a file under its final name is complete and never changes
again (the trim is made as the file is written, and again in memory as it is read). When the shared
folder cannot take a text (a full disk, a read-only one), it and the texts after it are laid out in
the process's private folder, said once (scenes.cache_writes); a text whose file no longer
parses (damaged) is laid out again there.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import av
import manimpango
import svgelements as se
from manim import RIGHT, SVGMobject
from manim.camera.camera import Camera
from manim.mobject.text import text_mobject
from manim.renderer.cairo_renderer import CairoRenderer
from manim.scene.scene_file_writer import SceneFileWriter
from manim.scene.video_segment_encoder import VideoSegmentEncoder
from manimpango import MarkupUtils

from .cache_writes import caching, could_not_cache, private_folder


class HoldEncoder(VideoSegmentEncoder):
    def write_frame(self, pixels, *, repeat: int = 1) -> None:
        if repeat == 1:
            return super().write_frame(pixels, repeat=1)
        self._validate_frame(pixels, repeat)
        rate = self.spec.frame_rate
        try:
            frame = av.VideoFrame.from_ndarray(pixels, format="rgba").reformat(format=self.spec.pixel_format)
            frame.time_base = Fraction(rate.denominator, rate.numerator)
            for _ in range(repeat):  # the encoder keeps its own reference to each frame it is sent
                frame.pts = self._next_pts
                self._next_pts += 1
                for packet in self._stream.encode(frame):
                    self._container.mux(packet)
        except BaseException as error:
            raise self._operation_error("encode", error) from error


class HoldWriter(SceneFileWriter):
    def _create_segment_encoder(self, target) -> VideoSegmentEncoder:
        if self.video_encoder is None:
            return super()._create_segment_encoder(target)
        return HoldEncoder(target=target, spec=self.video_encoder)


class PathCachingCamera(Camera):
    """manim's Camera with each shape's cairo path traced once per distinct points (see above)."""

    PATHS_KEPT = 4096  # distinct shapes remembered (a frame holds a few hundred); beyond that it starts again

    def set_cairo_context_path(self, ctx, vmobject):
        points = vmobject.points
        if len(points) == 0:
            return self
        paths = self.__dict__.setdefault("_paths", {})
        key = (points.tobytes(), vmobject.n_points_per_cubic_curve, id(ctx))
        path = paths.get(key)
        if path is None:
            super().set_cairo_context_path(ctx, vmobject)
            if len(paths) >= self.PATHS_KEPT:
                paths.clear()
            paths[key] = path = ctx.copy_path()
            return self
        ctx.new_path()
        ctx.append_path(path)
        return self


def renderer(skip_animations: bool = False) -> CairoRenderer:
    """manim's Cairo renderer, tracing with PathCachingCamera and writing with HoldWriter."""
    return CairoRenderer(file_writer_class=HoldWriter, camera_class=PathCachingCamera, skip_animations=skip_animations)


# ---- 2. the shared text cache ------------------------------------------------------------

_LAST_M = re.compile(r'Z M [^A-Za-z]*? "\/>')


def _trimmed(content: str) -> str:
    """PangoUtils.remove_last_M's change: a path's last, empty move removed."""
    return _LAST_M.sub('Z "/>', content)


def _trim(path: str) -> None:
    """PangoUtils.remove_last_M on a file this process is writing (not yet renamed into place)."""
    with open(path, encoding="utf-8") as f:
        content = f.read()
    trimmed = _trimmed(content)
    if trimmed != content:
        with open(path, "w", encoding="utf-8") as f:
            f.write(trimmed)


def _cut_short(path: str) -> OSError:
    """Why Pango's SVG came out incomplete (Pango says nothing): the disk's own error when 64 KB written
    beside it fail now (a full disk's ENOSPC), else EIO."""
    try:
        with tempfile.TemporaryFile(dir=os.path.dirname(path)) as f:
            f.write(bytes(65536))
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        return e
    return OSError(errno.EIO, "a text came out cut short", path)


def _atomic(text2svg, name_at: int):
    """`text2svg` writing to a private name, checked complete, trimmed, then renamed to the file name
    it was given (its positional argument `name_at`). When the shared folder cannot take it (a full
    disk, a folder made read-only), the file goes to this process's private folder instead, and so do
    the texts after it (cache_writes: said once): the render goes on."""

    def make(args, kwargs, path: str) -> None:
        text2svg(*args[:name_at], path, *args[name_at + 1:], **kwargs)
        with open(path, "rb") as f:
            if b"</svg>" not in f.read():
                raise _cut_short(path)
        _trim(path)

    def write(*args, **kwargs):
        final = args[name_at]
        if caching():
            part = f"{final}.{os.getpid()}.part.svg"
            try:
                make(args, kwargs, part)
                os.replace(part, final)
                return final
            except OSError as e:
                with contextlib.suppress(OSError):
                    os.unlink(part)
                could_not_cache(Path(final).parent, e)
        path = str(private_folder() / Path(final).name)
        make(args, kwargs, path)
        return path

    return write


class _Markup:
    """manimpango's MarkupUtils as manim's MarkupText uses it, its text2svg made atomic."""

    validate = staticmethod(MarkupUtils.validate)
    text2svg = staticmethod(_atomic(MarkupUtils.text2svg, 7))


class _Pango:
    """The trim is done as the file is written, and again as it is read (`_generate_mobject`): a file
    in the shared folder is never rewritten."""

    @staticmethod
    def remove_last_M(path: str) -> None:
        pass


def _remembering(text2svg):
    """Text._text2svg (or MarkupText's), the colour it was given kept, to lay the text out again."""

    def remembered(self, color):
        self.__dict__["_svg_color"] = color
        return text2svg(self, color)

    return remembered


def _svg_tree(mobject) -> ET.ElementTree:
    """The SVG file of `mobject` as a tree; a text's trimmed. A text whose file is damaged (cut short,
    not UTF-8: a disk fault, a hand edit) is dropped from the shared cache and laid out again in the
    private folder: a damaged entry never fails the render."""

    def read() -> bytes:
        with open(mobject.get_file_path(), "rb") as f:
            return f.read()

    if "_svg_color" not in mobject.__dict__:  # not a text: as manim reads it
        return ET.parse(io.BytesIO(read()))
    try:
        return ET.parse(io.StringIO(_trimmed(read().decode("utf-8"))))
    except (ET.ParseError, UnicodeDecodeError):
        from manim import tempconfig

        with contextlib.suppress(OSError):
            os.unlink(mobject.get_file_path())
        with tempconfig({"text_dir": str(private_folder())}):
            mobject.file_name = type(mobject)._text2svg(mobject, mobject.__dict__["_svg_color"])
    return ET.parse(io.StringIO(_trimmed(read().decode("utf-8"))))


def _generate_mobject(self):
    """SVGMobject.generate_mobject, its modified copy parsed from memory instead of a file beside the original."""
    new_tree = self.modify_xml_tree(_svg_tree(self))
    modified = io.BytesIO()  # parsed from memory: no file another render could delete
    new_tree.write(modified)
    modified.seek(0)
    svg = se.SVG.parse(modified)
    mobjects, mobject_dict = self.get_mobjects_from(svg)
    self.add(*mobjects)
    self.id_to_vgroup_dict = mobject_dict
    self.flip(RIGHT)  # y grows downwards in SVG
    return self


def share_text_cache() -> None:
    """Put the atomic writers where manim's Text and MarkupText look them up (once per process)."""
    if getattr(manimpango.text2svg, "atomic", False):
        return
    SVGMobject.generate_mobject = _generate_mobject
    for kind in (text_mobject.Text, text_mobject.MarkupText):
        kind._text2svg = _remembering(kind._text2svg)
    plain = _atomic(manimpango.text2svg, 4)
    plain.atomic = True
    manimpango.text2svg = plain
    text_mobject.MarkupUtils = _Markup
    text_mobject.PangoUtils = _Pango


# ---- 3., 4., 5. ----------------------------------------------------------------------------------

def skipping_animations(scene) -> bool:
    """Whether `scene` was made to skip its animations (stills, scripts, tests), as configured, not
    as manim switches it on and off while it plays."""
    return scene.renderer._original_skipping_status


def combine(files: list[str], output: Path, *, width: int, height: int, frame_rate, segment: str) -> None:
    """Videos (of the container `segment`) one after another in `output`, by manim's own join: a remux."""
    writer = SimpleNamespace(  # what combine_files reads of a SceneFileWriter
        _concat_manifest_bytes=SceneFileWriter._concat_manifest_bytes,
        output_spec=SimpleNamespace(transparent=False, segment_extension=segment),
        video_encoder=SimpleNamespace(width=width, height=height, frame_rate=frame_rate))
    SceneFileWriter.combine_files(writer, [str(f) for f in files], output, create_gif=False)


def stop_workers(pool) -> None:
    """End every worker process of a ProcessPoolExecutor now: no waiting for work nobody will see."""
    for process in list((pool._processes or {}).values()):
        process.terminate()
