"""The classroom pictures of docs/lecture-outputs.md (`make classroom`): the slides deck and the handout as headless
Chromium shows them, and the library analogy beside the attention links, all made by render.py.

    .venv/bin/python docs/classroom/make_pictures.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

HERE = Path(__file__).parent
CHROMIUM = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
            "--autoplay-policy=no-user-gesture-required"]


def render(*args: str) -> None:
    subprocess.run([sys.executable, "render.py", *args], check=True, stdout=subprocess.DEVNULL)


def screenshot(page: Path, out: Path, size: str, fragment: str = "", budget_ms: int = 2000) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([*CHROMIUM, f"--user-data-dir={profile}", f"--window-size={size}",
                        f"--virtual-time-budget={budget_ms}", f"--screenshot={out}", page.resolve().as_uri() + fragment],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        render("--slides", "--output", str(tmp / "cat.html"))
        screenshot(tmp / "cat.html", HERE / "deck.png", "1280,720", "#/6", budget_ms=9000)  # stops at the weighted sum
        render("--handout", str(tmp / "handout.html"), "--lang", "zh", "--sentence", "我有一只猫，它很可爱。")
        screenshot(tmp / "handout.html", tmp / "handout.png", "1000,1400", "#focus=6")  # opened on 它
        Image.open(tmp / "handout.png").crop((0, 0, 1000, 1250)).save(HERE / "handout.png")
        render("--handout", str(tmp / "explore.html"), "--model", "minilm", "--layer", "5", "--head", "11", "--focus", "it",
               "--hide-special", "--sentence", "The animal didn't cross the street because it was too tired")
        screenshot(tmp / "explore.html", tmp / "explore.png", "1000,1400", "#focus=10&head=11")
        Image.open(tmp / "explore.png").crop((0, 0, 1000, 1250)).save(HERE / "explore.png")
        render("--stills", str(tmp / "st"), "--quality", "medium", "--stage", "analogy", "--stage", "softmax")
        pictures = [Image.open(tmp / "st" / name) for name in ("analogy-key.png", "5-softmax-arcs.png")]
        w, h = pictures[0].size
        sheet = Image.new("RGB", (w, h // 2))  # side by side at half size
        for k, im in enumerate(pictures):
            sheet.paste(im.resize((w // 2, h // 2), Image.LANCZOS), (k * (w // 2), 0))
        sheet.save(HERE / "analogy-arcs.png")


if __name__ == "__main__":
    main()
