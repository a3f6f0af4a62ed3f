"""The printable handout (`render.py --handout FILE.md`; FILE.html is the page to explore, explore.py):
the blocks of blocks.py (the sentence, every matrix as a table, the worked steps, the heads, the
contrast) as Markdown. Every number is attncore's, formatted as on screen; nothing is computed here."""

from __future__ import annotations

from pathlib import Path

from attncore.tables import Table

from ..view import View
from .base import Making, Output
from .blocks import Doc, build


def markdown(doc: Doc) -> str:
    def esc(t: str) -> str:
        return t.replace("|", "\\|")

    out = [f"# {doc.title}", ""]
    for block in doc.blocks:
        if isinstance(block, Table):
            out += [f"**{block.caption}**", "", "| " + " | ".join(esc(h) for h in block.header) + " |",
                    "|" + "---|" * len(block.header)]
            out += ["| " + " | ".join(esc(c) for c in row) + " |" for row in block.rows]
            out.append("")
        else:
            kind, text = block
            out += [{"h1": "# ", "h2": "## ", "p": "", "code": "    "}[kind] + text, ""]
    return "\n".join(out)


def handout(view: View) -> str:
    """The printed handout of `view` (its followed head) as Markdown text. (Its HTML form is the
    page to explore, scenes.outputs.explore.page.)"""
    return markdown(build(view))


def make(making: Making, path: Path) -> list[Path]:
    making.staging.place(path).write_bytes(handout(making.view).encode("utf-8"))
    return [path]


OUTPUT = Output("handout", "--handout", (".md",), make, "--handout",
                help="Instead of a video, write a printable handout: every matrix as a table and the worked steps "
                     "(FILE.md or FILE.html).")
