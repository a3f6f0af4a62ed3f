"""How long a real model's head takes in numpy. Not a test: run it by hand.

    .venv/bin/python benchmarks/model_speed.py

For each packaged model: the load (weights and tokenizer, once per process; m3e-small's through the
restricted torch-checkpoint reader), one head of its last layer (the forward pass up to it), and a
full forward pass of every layer.
"""

from __future__ import annotations

import time

from attncore import model as M

CASES = {  # model -> (sentence, layer, head)
    "minilm": ("The animal didn't cross the street because it was tired", 5, 11),
    "m3e-small": ("我有一只猫，它很可爱。", 3, 3),
}


def timed(f, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    for name, (sentence, layer, head) in CASES.items():
        start = time.perf_counter()
        m = M.load_model(name)
        load = time.perf_counter() - start
        tokens, ids = M.encode(m, sentence)
        one = timed(lambda: M.run_model(sentence, model=name, layer=layer, head=head))
        full = timed(lambda: M.forward(m, ids))
        print(f"{m.name}: {len(tokens)} tokens with [CLS]/[SEP]")
        print(f"  model load: {load:.2f} s")
        print(f"  one head (layer {layer}, head {head}): {one * 1000:.0f} ms (best of 5)")
        print(f"  full forward pass, {m.n_layers} layers: {full * 1000:.0f} ms (best of 5)")


if __name__ == "__main__":
    main()
