"""The explorable handout at its largest: a model's 12 heads and a 40-token sentence (the video's
limit). Prints the page's size, the time to make it, and, in headless Chromium, how long the page
takes to load and to switch to another token or head (median of 20 clicks, measured in the page
from the click to the new view drawn).

    .venv/bin/python benchmarks/explore_bench.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import attncore
from scenes.outputs.explore import page as explore_page

# MiniLM's tokenizer adds [CLS] and [SEP] -> 40 tokens
SENTENCE = ("the cat that the dog chased across the wide green field yesterday afternoon finally climbed the old "
            "oak tree near the quiet river because it was so tired and afraid of the very loud dog barking right below")


def main() -> None:
    started = time.perf_counter()
    heads = attncore.run(SENTENCE, model="minilm", layer=5, heads=12)
    assert heads.heads[0].n_tokens == 40, heads.heads[0].n_tokens
    text = explore_page(heads, focus="it", head=11, hide_special=True)
    made = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        page_file = Path(tmp) / "model.html"
        page_file.write_text(text, encoding="utf-8")
        print(f"page: {page_file.stat().st_size / 1e6:.2f} MB, made in {made:.2f} s (model run included)")
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            started = time.perf_counter()
            page.goto(page_file.as_uri())
            page.wait_for_function("document.querySelectorAll('#links text').length > 0")
            print(f"load: {1000 * (time.perf_counter() - started):.0f} ms to the first view")
            for what, selector, count in (("token", "#tokens button", 38), ("head", "#heads button", 12)):
                times = []
                for n in range(20):
                    target = f"{selector}:nth-of-type({n % count + 1})"
                    times.append(page.evaluate("""(target) => {
                        const t0 = performance.now();
                        document.querySelector(target).click();
                        document.body.getBoundingClientRect();  // the layout of the new view
                        return performance.now() - t0; }""", target))
                print(f"switch {what}: median {statistics.median(times):.1f} ms, max {max(times):.1f} ms (20 clicks)")
            browser.close()


if __name__ == "__main__":
    main()
