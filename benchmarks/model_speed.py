"""How long a real model's head takes in numpy. Not a test: run it by hand.

    .venv/bin/python benchmarks/model_speed.py

Reports the model load (weights and tokenizer, once per process), one head for a 12-token sentence
(layer 5: the forward pass up to it), and a full forward pass of all 6 layers.
"""

from __future__ import annotations

import time

from attncore import model as M

SENTENCE = "The animal didn't cross the street because it was tired"  # 12 WordPiece pieces + [CLS], [SEP]


def timed(f, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    start = time.perf_counter()
    m = M.load_model()
    load = time.perf_counter() - start
    tokens, ids = M.encode(m, SENTENCE)
    head = timed(lambda: M.run_model(SENTENCE, layer=5, head=11))
    full = timed(lambda: M.forward(m, ids))
    print(f"{m.name}: {len(tokens)} tokens ({len(tokens) - 2} without [CLS]/[SEP])")
    print(f"model load: {load:.2f} s")
    print(f"one head (layer 5, head 11): {head * 1000:.0f} ms (best of 5)")
    print(f"full forward pass, 6 layers: {full * 1000:.0f} ms (best of 5)")


if __name__ == "__main__":
    main()
