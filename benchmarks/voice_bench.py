"""What the voice adds to a render: a cold silent render against a cold spoken one (`--voice`), each
`render.py` in a fresh process with an empty cache (no finished stages, no texts, no speech), for
each language. Not a test: run it by hand (a few minutes a language; the voices: `make voice`).

    .venv/bin/python benchmarks/voice_bench.py                  # English and Chinese, 480p15
    .venv/bin/python benchmarks/voice_bench.py --lang en --runs 3
    .venv/bin/python benchmarks/voice_bench.py --quality high --json
    .venv/bin/python benchmarks/voice_bench.py --lang en --stage title --stage softmax   # a quick look

Each run prints wall seconds of the silent and the spoken render, their ratio (the goal: at most 1.5,
the narration being synthesised while the frames render), and the spoken video's length against the
silent one's (a beat lasts as long as its speech, so the spoken video is longer). With --runs N the
two renders alternate N times and the medians are given.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SENTENCES = {"en": "I have a cat", "zh": "我有一只猫"}


def render(language: str, quality: str, voice: bool, stages: tuple[str, ...] = ()) -> tuple[float, float]:
    """(wall seconds, video seconds) of one cold render."""
    import av

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "video.mp4"
        env = {**os.environ, "ATTENTION_EXPLAINER_CACHE": str(Path(tmp) / "cache"), "PYTHONPATH": str(ROOT)}
        env.pop("ATTENTION_EXPLAINER_VOICE", None)  # the real voices, never the test tones
        command = [sys.executable, str(ROOT / "render.py"), "--sentence", SENTENCES[language], "--lang", language,
                   "--quality", quality, "--quiet", "--output", str(out), *(["--voice"] if voice else []),
                   *(a for stage in stages for a in ("--stage", stage))]
        start = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            sys.exit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
        with av.open(str(out)) as container:
            stream = container.streams.video[0]
            return wall, float(stream.frames / stream.average_rate)


def measure(language: str, quality: str, runs: int, stages: tuple[str, ...] = ()) -> dict:
    silent, spoken = [], []
    for _ in range(runs):  # alternated, so that a machine's drift touches both alike
        silent.append(render(language, quality, False, stages))
        spoken.append(render(language, quality, True, stages))
    wall = {name: statistics.median(w for w, _ in runs_) for name, runs_ in (("silent", silent), ("spoken", spoken))}
    return {"language": language, "quality": quality, "runs": runs,
            "silent_wall": wall["silent"], "spoken_wall": wall["spoken"], "ratio": wall["spoken"] / wall["silent"],
            "ratios": [b[0] / a[0] for a, b in zip(silent, spoken)],
            "silent_video": silent[0][1], "spoken_video": spoken[0][1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", action="append", choices=tuple(SENTENCES), help="default: en and zh")
    parser.add_argument("--quality", default="low", choices=("low", "medium", "high", "4k"))
    parser.add_argument("--runs", type=int, default=1, help="pairs of renders; medians are given")
    parser.add_argument("--stage", action="append", default=[], help="only these stages (default: the whole video)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    results = [measure(language, args.quality, args.runs, tuple(args.stage)) for language in args.lang or SENTENCES]
    if args.json:
        print(json.dumps(results, indent=1))
        return
    for r in results:
        print(f"{r['language']} ({SENTENCES[r['language']]!r}), {r['quality']}, median of {r['runs']}: "
              f"silent {r['silent_wall']:.1f} s ({r['silent_video']:.0f} s of video), "
              f"spoken {r['spoken_wall']:.1f} s ({r['spoken_video']:.0f} s of video), "
              f"spoken / silent {r['ratio']:.2f} (each pair: {', '.join(f'{x:.2f}' for x in r['ratios'])})")


if __name__ == "__main__":
    main()
