"""manim's video writing, with a held picture converted once.

A beat holds its picture for seconds: manim hands the encoder the same frame `repeat` times, and its
encoder converts the RGBA pixels to the codec's YUV for each copy. At 1080p that conversion takes
7.5 ms, as long as encoding the frame: converting once per hold encodes held frames twice as fast
(benchmarks/render_bench.py). The frames are the same (tests/test_production.py).
"""

from __future__ import annotations

from fractions import Fraction

import av
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


def renderer(skip_animations: bool = False) -> CairoRenderer:
    """manim's Cairo renderer, writing with HoldWriter."""
    return CairoRenderer(file_writer_class=HoldWriter, skip_animations=skip_animations)
