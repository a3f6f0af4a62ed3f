"""What libx264's preset and crf do to speed, size and quality on the video's own frames. Not a test:
run it by hand (about two minutes).

    .venv/bin/python benchmarks/encoder_bench.py                  # the softmax stage at 1080p60
    .venv/bin/python benchmarks/encoder_bench.py --video some.mp4 --frames 300

The frames of a rendered video (by default the softmax stage of "I have a cat" at high quality,
rendered losslessly first: crf 0) are encoded with each setting. For each: frames per second of
encoding (RGBA to YUV conversion included, once per frame as for a moving picture), megabytes per
minute of video, and PSNR in dB against the lossless frames (higher is closer; above about 45 dB
differences are not visible).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

SETTINGS = [("medium", "23"), ("fast", "23"), ("veryfast", "23"), ("superfast", "23"), ("ultrafast", "23"),
            ("veryfast", "18")]


def lossless_stage(folder: Path) -> Path:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import attncore
    from scenes.production import media, options, pool
    from scenes.view import View

    options.ENCODER_OPTIONS = {"crf": "0", "preset": "ultrafast"}
    job = pool.Job(View.resolve(attncore.run(), quality="high"), ".mp4", None)
    made = pool.render_stage(job, "softmax", None, folder)
    video = folder / "softmax.mp4"
    media.join([made], video, width=1920, height=1080, frame_rate=60)
    return video


def frames_of(path: Path, limit: int):
    with av.open(str(path)) as container:
        for n, frame in enumerate(container.decode(video=0)):
            if n >= limit:
                return
            yield frame.to_ndarray(format="rgba")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, help="frames to encode (default: a lossless render)")
    parser.add_argument("--frames", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source = args.video or lossless_stage(Path(tmp) / "stage")
        with av.open(str(source)) as container:
            stream = container.streams.video[0]
            rate, width, height = stream.average_rate, stream.codec_context.width, stream.codec_context.height
        frames = list(frames_of(source, args.frames))  # in memory: 8 MB a frame at 1080p
        minutes = len(frames) / float(rate) / 60
        print(f"{len(frames)} frames of {source.name}, {width}x{height} at {float(rate):g} fps")
        print(f"{'preset':<11}{'crf':>4}{'fps':>8}{'MB/min':>9}{'PSNR dB':>9}")
        for preset, crf in SETTINGS:
            path = Path(tmp) / f"{preset}-{crf}.mp4"
            start = time.perf_counter()
            with av.open(str(path), mode="w") as output:
                out = output.add_stream("libx264", rate=rate, options={"preset": preset, "crf": crf})
                out.pix_fmt, out.width, out.height = "yuv420p", width, height
                for n, pixels in enumerate(frames):
                    frame = av.VideoFrame.from_ndarray(pixels, format="rgba")
                    frame.pts = n
                    for packet in out.encode(frame):
                        output.mux(packet)
                for packet in out.encode():
                    output.mux(packet)
            fps = len(frames) / (time.perf_counter() - start)
            errors = [np.mean((a[..., :3].astype(float) - b[..., :3].astype(float)) ** 2)
                      for a, b in zip(frames, frames_of(path, len(frames)))]
            mse = float(np.mean(errors))
            psnr = 10 * math.log10(255 ** 2 / mse) if mse else math.inf
            print(f"{preset:<11}{crf:>4}{fps:8.1f}{path.stat().st_size / 1e6 / minutes:9.2f}{psnr:9.2f}", flush=True)


if __name__ == "__main__":
    main()
