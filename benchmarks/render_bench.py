"""How fast the video renders, per stage and in total, against how long it plays and against the
encoder alone. Not a test: run it by hand (the full run takes a quarter of an hour at high quality).

    .venv/bin/python benchmarks/render_bench.py                     # both sentences, low and high
    .venv/bin/python benchmarks/render_bench.py --quality low --json

For each sentence (the default, and a 12-token one) and quality, in a fresh process each, so that
its peak memory is its own: a cold render, then the same render again (an unchanged re-render), each
with wall seconds, frames, frames per second and the real-time factor (wall / video duration) per
stage and in total, and the process's peak memory. The floor: encoding the same number of frames of
one still frame with manim's own settings (libx264, crf 23, yuv420p, the same size and rate), and
render / floor.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

SENTENCES = {
    "default (4 tokens)": "I have a cat",
    "12 tokens": "The supercalifragilisticexpialidocious fox jumps over the lazy dog because it was bored today",
}
QUALITIES = ("low", "high")


def measure(sentence: str, quality: str) -> dict:
    """One cold render and one re-render of the whole default video, in this process."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import attncore
    import render
    from scenes import default_stages

    result = attncore.run(sentence)
    stages = default_stages(False)
    runs = []
    for label in ("cold", "re-render"):
        marks: list[tuple[str, float, float]] = []  # (stage, wall clock, video clock) at each stage's end
        start = time.perf_counter()

        def on_still(scene, stage, moment):
            if moment == "end":
                marks.append((stage, time.perf_counter() - start, scene.driver.clock))

        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "video.mp4"
            scene = render.render_video(result, focus=None, stages=stages, quality=quality, output=out,
                                        on_still=on_still)
            wall = time.perf_counter() - start
            import av

            with av.open(str(out)) as container:
                stream = container.streams.video[0]
                duration = float(stream.duration * stream.time_base)
                frames, rate = stream.frames, float(stream.average_rate)
                width, height = stream.codec_context.width, stream.codec_context.height
        per_stage, before = [], (0.0, 0.0)
        for stage, at, clock in marks:
            seconds, video = at - before[0], clock - before[1]
            per_stage.append({"stage": stage, "wall": seconds, "frames": round(video * rate),
                              "fps": video * rate / seconds, "rt": seconds / video if video else None})
            before = (at, clock)
        runs.append({"run": label, "wall": wall, "frames": frames, "duration": duration, "fps": frames / wall,
                     "rt": wall / duration, "stages": per_stage})
    floor = encode_floor(frames, rate, width, height)
    for run in runs:
        run["floor"] = floor
        run["render/floor"] = run["wall"] / floor
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2  # kB -> GB
    return {"sentence": sentence, "tokens": result.n_tokens, "quality": quality, "size": f"{width}x{height}",
            "rate": rate, "peak_gb": peak, "runs": runs}


def encode_floor(frames: int, rate: float, width: int, height: int) -> float:
    """Seconds to encode `frames` copies of one frame as manim encodes its frames."""
    import av
    import numpy as np

    picture = np.full((height, width, 4), 40, np.uint8)
    picture[height // 4: height // 2, width // 4: width // 2] = 230  # not a flat frame
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        with av.open(str(Path(tmp) / "floor.mp4"), mode="w") as container:
            stream = container.add_stream("libx264", rate=Fraction(rate).limit_denominator(1000),
                                          options={"crf": "23"})
            stream.pix_fmt, stream.width, stream.height = "yuv420p", width, height
            for _ in range(frames):
                frame = av.VideoFrame.from_ndarray(picture, format="rgba")
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        return time.perf_counter() - start


def table(results: list[dict]) -> str:
    lines = []
    for r in results:
        lines.append(f"\n{r['sentence']!r} ({r['tokens']} tokens), {r['quality']} {r['size']} at {round(r['rate'])} fps, "
                     f"peak memory {r['peak_gb']:.2f} GB")
        for run in r["runs"]:
            lines.append(f"  {run['run']:<10} {run['wall']:7.1f} s  {run['frames']:6d} frames  {run['fps']:6.1f} fps  "
                         f"{run['rt']:5.2f}x real time  floor {run['floor']:5.1f} s  render/floor {run['render/floor']:5.2f}")
        lines.append(f"  {'stage':<14}{'wall s':>8}{'frames':>8}{'fps':>8}{'x rt':>7}   (cold run)")
        for s in r["runs"][0]["stages"]:
            rt = f"{s['rt']:7.2f}" if s["rt"] is not None else "      -"
            lines.append(f"  {s['stage']:<14}{s['wall']:8.1f}{s['frames']:8d}{s['fps']:8.1f}{rt}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quality", action="append", choices=QUALITIES, help="default: low and high")
    parser.add_argument("--sentence", action="append", help="default: the two of SENTENCES")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--one", nargs=2, metavar=("SENTENCE", "QUALITY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:  # a child process: one measurement, as JSON
        print(json.dumps(measure(*args.one)))
        return
    results = []
    for sentence in args.sentence or SENTENCES.values():
        for quality in args.quality or QUALITIES:
            done = subprocess.run([sys.executable, __file__, "--one", sentence, quality], capture_output=True,
                                  text=True, check=True)
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(json.dumps(results, indent=1) if args.json else table(results))


if __name__ == "__main__":
    main()
