"""How long rendering takes against how long the video plays. Not a test: run it by hand.

    .venv/bin/python benchmarks/render_speed.py [--quality low] [--sentence "..."] [--lang zh]

Prints wall time, video duration and their ratio (below 1.0: faster than real time), and the time of
a stills-only pass (animations skipped).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import av

import attncore
import render
from scenes import default_stages


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quality", default="low", choices=list(render.QUALITIES))
    parser.add_argument("--sentence", default=attncore.DEFAULT_SENTENCE)
    parser.add_argument("--lang", default="en", choices=["en", "zh"])
    args = parser.parse_args()
    result = attncore.run(args.sentence)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "video.mp4"
        start = time.perf_counter()
        render.render_video(result, focus=None, stages=default_stages(False), quality=args.quality, output=out,
                            language=args.lang)
        wall = time.perf_counter() - start
        with av.open(str(out)) as container:
            stream = container.streams.video[0]
            duration = float(stream.duration * stream.time_base)
        start = time.perf_counter()
        render.render_stills(result, focus=None, stages=default_stages(False), quality=args.quality, folder=Path(tmp) / "stills",
                             language=args.lang)
        stills = time.perf_counter() - start
    print(f"sentence: {args.sentence!r} ({result.n_tokens} tokens), quality {args.quality}, language {args.lang}")
    print(f"video: {duration:.1f} s, rendered in {wall:.1f} s (ratio {wall / duration:.2f})")
    print(f"stills of all stages: {stills:.1f} s")


if __name__ == "__main__":
    main()
