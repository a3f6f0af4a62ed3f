"""A course as one batch against its lectures rendered one by one (issue 28; docs/course.md).

    .venv/bin/python benchmarks/course_bench.py [--quality low] [--jobs 2]

A 6-lecture course (3 sentences x 2 languages, the whole video, 480p15, no voice, video only), each
measurement with an empty stage cache of its own:
1. the sum of the six single renders (`render.py --sentence ... --lang ...`, each with every core: what
   a shell loop of render.py does);
2. the ideal on the cores: the six renders' work (the CPU seconds of their processes), divided by
   the cores;
3. the course as one batch on this machine (`render.py --course`), and how busy it kept the cores
   (its CPU seconds / (wall seconds x cores));
4. the same on a local Dask cluster (two worker processes, one thread each);
5. the course killed (SIGTERM) halfway through 3's time, then run again: the two runs' wall time,
   and how many lectures the second one skipped.
Prints one line per measurement. Heavy: minutes of both cores.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RENDER = [sys.executable, str(ROOT / "render.py")]
SENTENCES = ["I have a cat", "The cat sat on the mat because it was tired", "我有一只猫"]
LANGUAGES = ["en", "zh"]


def course_file(folder: Path, quality: str) -> Path:
    lectures = "".join(f'[[lecture]]\nsentence = "{s}"\n' for s in SENTENCES)
    path = folder / "course.toml"
    path.write_text(f'title = "Bench"\nlanguages = {LANGUAGES!r}\noutputs = ["video"]\nquality = "{quality}"\n'
                    .replace("'", '"') + lectures, encoding="utf-8")
    return path


def children_cpu() -> float:
    """CPU seconds (user and system) of every finished child process so far, and their children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command, env, **kwargs) -> tuple[float, subprocess.CompletedProcess, float]:
    """(wall seconds, the finished process, its CPU seconds)."""
    cpu, started = children_cpu(), time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, **kwargs)
    if done.returncode not in (0, 130):
        raise SystemExit(f"failed: {' '.join(map(str, command))}\n{done.stderr[-2000:]}")
    return time.perf_counter() - started, done, children_cpu() - cpu


def fresh_env(folder: Path, name: str) -> dict:
    return dict(os.environ, ATTENTION_EXPLAINER_CACHE=str(folder / f"cache-{name}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quality", default="low")
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="course-bench-") as tmp:
        tmp = Path(tmp)
        path = course_file(tmp, args.quality)
        singles, work = 0.0, 0.0
        for n, sentence in enumerate(SENTENCES):
            for language in LANGUAGES:
                seconds, _, cpu = timed([*RENDER, "--sentence", sentence, "--lang", language, "--quality", args.quality,
                                         "--jobs", str(args.jobs), "--output", str(tmp / f"single-{n}-{language}.mp4")],
                                        fresh_env(tmp, f"single-{n}-{language}"))
                singles, work = singles + seconds, work + cpu
                print(f"  single render {sentence!r} [{language}]: {seconds:.1f} s, {cpu:.1f} CPU s", flush=True)
        print(f"sum of the 6 single renders (--jobs {args.jobs} each): {singles:.1f} s wall, {work:.1f} CPU s, "
              f"cores busy {work / (singles * args.jobs):.0%}", flush=True)
        batch, _, batch_cpu = timed([*RENDER, "--course", str(path), "--output", str(tmp / "batch"), "--jobs",
                                     str(args.jobs)], fresh_env(tmp, "batch"))
        print(f"the course as one batch ({args.jobs} processes): {batch:.1f} s ({singles / batch:.2f}x faster than the "
              f"singles), {batch_cpu:.1f} CPU s, cores busy {batch_cpu / (batch * args.jobs):.0%}", flush=True)
        print(f"ideal on {args.jobs} cores (the singles' {work:.1f} CPU s / {args.jobs}): {work / args.jobs:.1f} s; "
              f"the batch takes {batch / (work / args.jobs):.2f}x the ideal", flush=True)
        try:
            from distributed import LocalCluster
        except ImportError:
            print("local Dask cluster: skipped (pip install -e '.[cluster]')")
        else:
            with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster:
                on_cluster, _, _ = timed([*RENDER, "--course", str(path), "--output", str(tmp / "cluster"), "--cluster",
                                       cluster.scheduler_address], fresh_env(tmp, "cluster"))
            print(f"the course on a local Dask cluster (2 workers): {on_cluster:.1f} s "
                  f"({on_cluster / batch:.2f}x the local batch)", flush=True)
        env = fresh_env(tmp, "resume")
        command = [*RENDER, "--course", str(path), "--output", str(tmp / "resume"), "--jobs", str(args.jobs)]
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(batch / 2)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate()
        first = time.perf_counter() - started
        made = len(re.findall(r": made \(", err))
        second, done, _ = timed(command, env)
        skipped = len(re.findall(r"already made, skipped", done.stderr))
        print(f"killed halfway: {first:.1f} s (exit {process.returncode}, {made} lectures made), then run again: "
              f"{second:.1f} s ({skipped} skipped); together {first + second:.1f} s against {batch:.1f} s in one go")


if __name__ == "__main__":
    main()
