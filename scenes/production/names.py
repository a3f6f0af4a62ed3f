"""Names made of text for files and folders: render.py's default file (media/<sentence>.mp4) and a
course's folders (scenes.course). Lower-case ASCII letters and digits joined by "-", so a name
reads the same in a shell, a URL and every file system; text that is mostly not Latin letters
(Chinese) is named by a short stable code of it instead, the same on every machine and run."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path

from .. import all_defaults


def slug(text: str) -> str:
    """Lower-case ASCII letters and digits joined by "-": "all-MiniLM-L6-v2" -> "all-minilm-l6-v2"."""
    ascii_ = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_.lower()).strip("-")


def code(text: str) -> str:
    """A short stable code of `text`: 4 bytes of its BLAKE2b, in hex ("我 有" -> "504242c6")."""
    return hashlib.blake2b(text.encode(), digest_size=4).hexdigest()


def cut(name: str, limit: int, words: bool) -> str:
    """A slug at most `limit` characters long; with `words`, ending at a word's end when it has one."""
    if not words or len(name) <= limit:
        return name[:limit]
    return name[:limit + 1].rsplit("-", 1)[0] if "-" in name[:limit + 1] else name[:limit]


def readable(text: str, limit: int = 40, *, words: bool = False) -> str | None:
    """`text`'s slug, at most `limit` characters (with `words`: whole words), or None when it keeps
    less than half of the text (mostly not Latin letters: "我有一只猫")."""
    name = cut(slug(text), limit, words)
    return name if len(name) >= len(text) // 2 else None


def name_of(text: str, limit: int = 40) -> str:
    """readable(text), else what slug it has and code(text): "我 有" -> "504242c6", "cat 猫猫猫猫" ->
    "cat-7bef4f59"."""
    name = readable(text, limit)
    return name if name is not None else "-".join(filter(None, (slug(text)[:limit], code(text))))


def default_output(sentence: str, stages: tuple[str, ...], origin: str = "") -> Path:
    """media/<sentence-slug>[-<origin>][-<stages>].mp4; non-ASCII sentences get a short stable code.
    `origin` names a model's layer and head ("minilm-l5-h11") or a toy head ("heads2-h0")."""
    slug_ = name_of(sentence)
    if stages in all_defaults():  # the whole video, whatever the computation shows (heads, RoPE, the KV cache)
        suffix = "-contrast" if "contrast" in stages else ""
    else:
        suffix = "-" + "-".join(stages)
    return Path("media") / f"{slug_ or 'attention'}{'-' + origin if origin else ''}{suffix}.mp4"


def origin_name(view, model) -> str:
    """What the default file name says about where the numbers come from."""
    if model is not None:
        from attncore.model import MODELS  # reading the packaged models' names imports no model

        name = model if model in MODELS else slug(view.result.model) or "model"
        return f"{name}-l{view.result.layer}-h{view.head}"
    return f"heads{view.computed.n_heads}-h{view.head}" if view.several else ""
