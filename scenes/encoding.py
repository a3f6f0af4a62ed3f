"""manim's drawing and video writing, made faster: paths traced once, a held picture converted once.

Tracing: every frame, manim's Camera walks each shape's points and hands cairo one curve at a time
(`set_cairo_context_path`), although most shapes (the digits, the brackets, the labels) have the
same points frame after frame. `PathCachingCamera` keeps the traced cairo path under the points'
bytes and appends it whole the next time: the same path, a fraction of the Python calls.

A beat holds its picture for seconds: manim hands the encoder the same frame `repeat` times, and its
encoder converts the RGBA pixels to the codec's YUV for each copy. At 1080p that conversion takes
7.5 ms, as long as encoding the frame: converting once per hold encodes held frames twice as fast
(benchmarks/render_bench.py). The frames are the same (tests/test_production.py).
"""

from __future__ import annotations

from fractions import Fraction

import av
from manim.camera.camera import Camera
from manim.renderer.cairo_renderer import CairoRenderer
from manim.scene.scene_file_writer import SceneFileWriter
from manim.scene.video_segment_encoder import VideoSegmentEncoder


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
