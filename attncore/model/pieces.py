"""A model's tokens as a reader sees them: byte-level BPE pieces decoded (`Ġcat` -> `cat`, the bytes of
part of a character as `⟨E6 88⟩`), and a sentence encoded."""

from __future__ import annotations

import codecs
import functools

import numpy as np

from ..errors import InputError
from ..tokens import BYTE_PIECE, is_byte_piece  # noqa: F401  (attncore.model hands them on)
from .base import Model


@functools.lru_cache(maxsize=1)
def _byte_of_char() -> dict[str, int]:
    """Byte-level BPE's alphabet (GPT-2's bytes_to_unicode): each byte is drawn as one printable
    character; this maps the character back to its byte."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars, extra = {}, 0
    for b in range(256):
        if b in printable:
            chars[chr(b)] = b
        else:
            chars[chr(256 + extra)] = b
            extra += 1
    return chars


def _bytes_shown(error: UnicodeDecodeError):
    """A decoding error handler: bytes that are not whole characters shown as ⟨E6 88⟩."""
    return "⟨" + " ".join(f"{b:02X}" for b in error.object[error.start:error.end]) + "⟩", error.end


codecs.register_error("attncore-bytes", _bytes_shown)


def shown_byte_piece(piece: str) -> str:
    """A byte-level BPE piece as text: `Ġcat` -> `cat`; bytes of a partial character as `⟨E6 88⟩`;
    a piece of only spaces as `␣`, of line breaks as `↵`."""
    table = _byte_of_char()
    raw = bytes(table[c] for c in piece if c in table)
    text = raw.decode("utf-8", errors="attncore-bytes").replace("⟩⟨", " ")
    stripped = text.strip()
    if stripped:
        return stripped
    return "↵" if "\n" in text else "␣"


def encode(model: Model, sentence: str) -> tuple[list[str], np.ndarray]:
    """The model's tokens as shown (WordPiece pieces with [CLS] and [SEP]; byte-level pieces decoded)
    and their ids."""
    if not isinstance(sentence, str) or not sentence.strip():
        raise InputError("sentence: is empty; give at least one word, e.g. \"I have a cat\"")
    enc = model.tokenizer.encode(sentence)
    if len(enc.ids) > model.max_tokens:
        raise InputError(f"sentence: {len(enc.ids)} tokens{model.kind.added_tokens}; {model.name} takes at most "
                         f"{model.max_tokens}")
    tokens = [shown_byte_piece(t) for t in enc.tokens] if model.byte_level else list(enc.tokens)
    return tokens, np.array(enc.ids)
