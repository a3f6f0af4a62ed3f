"""How fast the video renders, per stage and in total, against how long it plays and against the
encoder alone. Not a test: run it by hand (the full run takes about ten minutes).

    .venv/bin/python benchmarks/render_bench.py                     # both sentences, low and high
    .venv/bin/python benchmarks/render_bench.py --quality low --json
    .venv/bin/python benchmarks/render_bench.py --jobs 1            # one stage at a time

For each sentence (the default, a 12-token and a 16-token one) and quality, in a fresh process each: a cold
render (an empty cache of finished stages and texts), then the same render again (an unchanged
re-render, served from the cache), each with wall seconds, frames, frames per second and the
real-time factor (wall / video duration) in total and per stage (the seconds its process spent on
it), and the peak memory of all the render's processes together. The floor: encoding the same
number of frames of one still frame with the same encoder settings, size and rate, as the writer
encodes a held picture, and render / floor.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path

SENTENCES = {
    "default (4 tokens)": "I have a cat",
    "12 tokens": "The supercalifragilisticexpialidocious fox jumps over the lazy dog because it was bored",
    "16 tokens": "The cat that the dog chased across the busy street yesterday finally came home to sleep",
}
QUALITIES = ("low", "high")


class PeakMemory:
    """The largest resident memory of this process and its children together (sampled from /proc)."""

    def __init__(self, every: float = 0.1):
        self.peak, self.every, self.running = 0, every, True
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()

    @staticmethod
    def tree(pid: int) -> list[int]:
        pids, out = [pid], []
        while pids:
            p = pids.pop()
            out.append(p)
            try:
                for task in os.listdir(f"/proc/{p}/task"):
                    pids += [int(c) for c in Path(f"/proc/{p}/task/{task}/children").read_text().split()]
            except OSError:
                pass
        return out

    def sample(self) -> None:
        while self.running:
            total = 0
            for p in self.tree(os.getpid()):
                try:
                    status = Path(f"/proc/{p}/status").read_text()
                    total += int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1]) * 1024
                except (OSError, StopIteration):
                    pass
            self.peak = max(self.peak, total)
            time.sleep(self.every)

    def stop(self) -> float:
        self.running = False
        self.thread.join()
        return self.peak / 1024 ** 3


def measure(sentence: str, quality: str, jobs: int | None) -> dict:
    """A cold render and a re-render of the whole default video, in this process and its workers."""
    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root))
    with tempfile.TemporaryDirectory() as cache:
        os.environ["ATTENTION_EXPLAINER_CACHE"] = cache  # cold: nothing cached yet
        import attncore
        from scenes import default_stages
        from scenes.outputs import Settings
        from scenes.outputs.video import render_video
        from scenes.production.options import ENCODER_OPTIONS
        from scenes.production.run import default_jobs
        from scenes.view import View

        result = attncore.run(sentence)
        stages = default_stages(False)
        memory = PeakMemory()
        runs = []
        for label in ("cold", "re-render"):
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "video.mp4"
                start = time.perf_counter()
                made = render_video(View.resolve(result, stages=stages, quality=quality), out, settings=Settings(jobs=jobs))
                wall = time.perf_counter() - start
                import av

                with av.open(str(out)) as container:
                    stream = container.streams.video[0]
                    duration = float(stream.duration * stream.time_base)
                    frames, rate = stream.frames, float(stream.average_rate)
                    width, height = stream.codec_context.width, stream.codec_context.height
            per_stage = [{"stage": m.stage, "wall": m.wall, "frames": m.frames, "fps": m.frames / m.wall if m.wall else None,
                          "rt": m.wall / (m.frames / rate), "cached": m.cached} for m in made]
            runs.append({"run": label, "wall": wall, "frames": frames, "duration": duration, "fps": frames / wall,
                         "rt": wall / duration, "stages": per_stage})
        peak = memory.stop()
    floor = encode_floor(frames, rate, width, height, ENCODER_OPTIONS)
    for run in runs:
        run["floor"] = floor
        run["render/floor"] = run["wall"] / floor
    return {"sentence": sentence, "tokens": result.n_tokens, "quality": quality, "size": f"{width}x{height}",
            "rate": rate, "jobs": jobs or default_jobs(), "encoder": ENCODER_OPTIONS, "peak_gb": peak,
            "runs": runs}


def encode_floor(frames: int, rate: float, width: int, height: int, options: dict) -> float:
    """Seconds to encode `frames` copies of one frame as the video's writer encodes a held picture
    (scenes.manim_adapter.HoldEncoder: converted to YUV once, encoded `frames` times)."""
    import numpy as np
    from manim._config.video_encoder import VideoEncoderSpec

    from scenes.manim_adapter import HoldEncoder

    picture = np.full((height, width, 4), 40, np.uint8)
    picture[height // 4: height // 2, width // 4: width // 2] = 230  # not a flat frame
    spec = VideoEncoderSpec("mp4", "libx264", "yuv420p", width, height, Fraction(rate).limit_denominator(1000),
                            tuple(options.items()))
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        encoder = HoldEncoder(target=Path(tmp) / "floor.mp4", spec=spec)
        encoder.write_frame(picture, repeat=frames)
        encoder.finish()
        return time.perf_counter() - start


def table(results: list[dict]) -> str:
    lines = []
    for r in results:
        lines.append(f"\n{r['sentence']!r} ({r['tokens']} tokens), {r['quality']} {r['size']} at {round(r['rate'])} fps, "
                     f"{r['jobs']} jobs, libx264 {r['encoder']}, peak memory {r['peak_gb']:.2f} GB (all processes)")
        for run in r["runs"]:
            lines.append(f"  {run['run']:<10} {run['wall']:7.1f} s  {run['frames']:6d} frames  {run['fps']:6.1f} fps  "
                         f"{run['rt']:5.2f}x real time  floor {run['floor']:5.1f} s  render/floor {run['render/floor']:5.2f}")
        lines.append(f"  {'stage':<14}{'wall s':>8}{'frames':>8}{'fps':>8}{'x rt':>7}   (cold run, each stage in its process)")
        for s in r["runs"][0]["stages"]:
            rt = f"{s['rt']:7.2f}" if s["rt"] is not None else "      -"
            lines.append(f"  {s['stage']:<14}{s['wall']:8.1f}{s['frames']:8d}{s['fps']:8.1f}{rt}")
    default = {r["quality"]: r["runs"][0]["wall"] for r in results if r["sentence"] == SENTENCES["default (4 tokens)"]}
    for r in results:
        if r["sentence"] != SENTENCES["default (4 tokens)"] and r["quality"] in default:
            lines.append(f"\n{r['tokens']} tokens at {r['quality']}: cold wall {r['runs'][0]['wall'] / default[r['quality']]:.2f}x "
                         "the default sentence's")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quality", action="append", choices=QUALITIES, help="default: low and high")
    parser.add_argument("--sentence", action="append", help="default: the two of SENTENCES")
    parser.add_argument("--jobs", type=int, default=None, help="stages rendered at once (default: the cores)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--one", nargs=2, metavar=("SENTENCE", "QUALITY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:  # a child process: one measurement, as JSON
        print(json.dumps(measure(*args.one, args.jobs)))
        return
    results = []
    for sentence in args.sentence or SENTENCES.values():
        for quality in args.quality or QUALITIES:
            done = subprocess.run([sys.executable, __file__, "--one", sentence, quality,
                                   *(["--jobs", str(args.jobs)] if args.jobs else [])],
                                  capture_output=True, text=True)
            if done.returncode != 0:
                sys.exit(f"{sentence!r} at {quality} failed:\n{done.stderr[-3000:]}")
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(json.dumps(results, indent=1) if args.json else table(results))


if __name__ == "__main__":
    main()
