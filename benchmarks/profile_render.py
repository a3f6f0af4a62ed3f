"""Where a render's time goes: one cold render (an empty cache) of the whole video in this one process
(`--jobs 1`, so that cProfile sees every stage), its wall seconds per stage, and the profile's
heaviest functions. Not a test: run it by hand (a few minutes at 480p15).

    .venv/bin/python benchmarks/profile_render.py                          # the default sentence
    .venv/bin/python benchmarks/profile_render.py --sentence "The cat that the dog chased across the busy street yesterday finally came home to sleep"
    .venv/bin/python benchmarks/profile_render.py --save long.prof --top 60    # pstats' file, for snakeviz or pstats
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentence", default="I have a cat")
    parser.add_argument("--quality", default="low", choices=("low", "medium", "high", "4k"))
    parser.add_argument("--stage", action="append", default=[], help="only these stages (default: the whole video)")
    parser.add_argument("--top", type=int, default=40, help="functions listed, by cumulative time")
    parser.add_argument("--save", type=Path, help="write the profile here (pstats)")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ATTENTION_EXPLAINER_CACHE"] = str(Path(tmp) / "cache")  # cold
        import attncore
        from scenes import default_stages
        from scenes.outputs import Settings
        from scenes.outputs.video import render_video
        from scenes.view import View

        view = View.resolve(attncore.run(args.sentence), stages=tuple(args.stage) or default_stages(False), quality=args.quality)
        profile = cProfile.Profile()
        start = time.perf_counter()
        profile.enable()
        made = render_video(view, Path(tmp) / "video.mp4", settings=Settings(jobs=1))
        profile.disable()
        wall = time.perf_counter() - start
    print(f"{args.sentence!r}, {args.quality}: {wall:.1f} s, {sum(m.frames for m in made)} frames, "
          f"{time.process_time():.1f} s of CPU in this process")
    for m in made:
        print(f"  {m.stage:<14}{m.wall:7.1f} s {m.frames:6d} frames")
    if args.save:
        profile.dump_stats(args.save)
    pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
