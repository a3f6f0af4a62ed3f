"""How fast the live page answers, in a real browser: Debian's headless Chromium driven by Playwright
against `render.py --live` on a free port of 127.0.0.1.

For each model: a new sentence (typed into the box, at the model's middle layer; timed from the request leaving, after the page's
150 ms debounce, to the pictures drawn: the next animation frame after the answer is in the page),
and a new head and a new focus (timed from the click to the pictures drawn). The first sentence of each
model loads it and is not counted.

    python benchmarks/live_bench.py                 # toy, minilm, qwen2.5-coder-0.5b
    python benchmarks/live_bench.py --models toy --repeat 3

Goals (docs/live.md): toy and MiniLM a new sentence within 0.3 s, a head or focus within 0.1 s; Qwen2.5
a sentence within 2 s, a head or focus within 0.3 s.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
SENTENCES = ["The animal didn't cross the street because it was too tired",
             "The trophy did not fit in the suitcase because it was too big",
             "She gave the book to her brother because he asked for it",
             "The cat that the dog chased ran up the old tree",
             "My friend who lives in Paris sent me a letter yesterday",
             "The keys to the cabinet are on the table by the door"]


@contextlib.contextmanager
def live_chromium():
    """`render.py --live` on a free port of 127.0.0.1 and Debian's headless Chromium (Playwright): yields the
    page's address and the browser; both end on leaving (docs/live/screenshots.py uses it too)."""
    from playwright.sync_api import sync_playwright

    from scenes.production.lifecycle import dying_with_this_process

    server = subprocess.Popen(dying_with_this_process([sys.executable, str(ROOT / "render.py"), "--live", "--port", "0"]),
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)  # gone with this process, however it ends
    url = server.stdout.readline().strip()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--headless"])
            try:
                yield url, browser
            finally:
                browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


def drawn(page, after: int) -> int:
    page.wait_for_function(f"window.__live.drawn > {after} && window.__live.drawn === window.__live.asked",
                           timeout=300_000)
    return page.evaluate("window.__live.drawn")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["toy", "minilm", "qwen2.5-coder-0.5b"])
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    with live_chromium() as (url, browser):
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(url)
        n = drawn(page, 0)
        print(f"{'model':22} {'sentence (s)':>14} {'head (s)':>10} {'focus (s)':>10}   median of {options.repeat}, max")
        for model in options.models:
            page.select_option("#model", model)
            n = drawn(page, n)
            page.fill("#sentence", "A first sentence loads the model")
            n = drawn(page, n)
            layers = len(page.query_selector_all("#layer option"))
            if layers > 1:  # a middle layer: a new sentence runs the layers below it
                page.select_option("#layer", str(layers // 2))
                n = drawn(page, n)
            times = {"sentence": [], "head": [], "focus": []}
            for r in range(options.repeat):
                page.fill("#sentence", SENTENCES[r % len(SENTENCES)] + f" {r}")
                n = drawn(page, n)
                times["sentence"].append(page.evaluate("window.__live.done - window.__live.sent") / 1000)
                heads = page.query_selector_all("#heads button")
                page.evaluate("window.__live.input = performance.now()")
                heads[(r + 1) % len(heads)].click()
                n = drawn(page, n)
                times["head"].append(page.evaluate("window.__live.done - window.__live.input") / 1000)
                tokens = page.query_selector_all("#tokens button")
                tokens[(r + 2) % len(tokens)].click()
                n = drawn(page, n)
                times["focus"].append(page.evaluate("window.__live.done - window.__live.input") / 1000)
            cells = [f"{statistics.median(t):.3f}, {max(t):.3f}" for t in times.values()]
            print(f"{model:22} {cells[0]:>14} {cells[1]:>10} {cells[2]:>10}", flush=True)


if __name__ == "__main__":
    main()
