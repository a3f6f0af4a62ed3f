"""The live page's screenshots in docs/live/, one per language, made by the page itself: `render.py --live`
on a free port, Debian's headless Chromium driven by Playwright.

    python docs/live/screenshots.py      # -> docs/live/live-en.png, docs/live/live-zh.png
"""

from __future__ import annotations

import sys
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).parent.parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from live_bench import live_chromium  # noqa: E402  (the server and the browser, as the benchmark starts them)

VIEWS = {"en": ("minilm", "The animal didn't cross the street because it was too tired", 3, 10),
         "zh": ("m3e-small", "猫没有过马路，因为它太累了", 1, 10)}


def main() -> None:
    with live_chromium() as (url, browser):
        for language, (model, sentence, layer, focus) in VIEWS.items():
            page = browser.new_page(viewport={"width": 1200, "height": 1500})
            fragment = urllib.parse.urlencode({"model": model, "sentence": sentence, "layer": layer, "focus": focus})
            page.goto(f"{url}?lang={language}#{fragment}")
            page.wait_for_function("window.__live && window.__live.drawn > 0 && window.__live.data", timeout=120_000)
            page.wait_for_timeout(300)
            out = Path(__file__).parent / f"live-{language}.png"
            page.screenshot(path=str(out), full_page=True)  # the whole page: the make controls too
            print(out)
            page.close()


if __name__ == "__main__":
    main()
