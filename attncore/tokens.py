"""Sentence -> tokens: words, punctuation marks and single CJK characters."""

from __future__ import annotations

import re
import unicodedata

from .errors import InputError

# Han ideographs (with extension A and compatibility forms), kana and Hangul syllables: one token each.
_CJK = (
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # Han
    "\u3040-\u309f\u30a0-\u30ff"  # Hiragana, Katakana
    "\uac00-\ud7af"  # Hangul syllables
    "\U00020000-\U0002fa1f"  # Han extensions B..
)
# Marks that belong to the symbol before them: variation selectors, skin tones, keycap, ZWJ sequences.
_JOINERS = r"(?:[\ufe0e\ufe0f\u20e3\U0001F3FB-\U0001F3FF]|\u200d[^\w\s])*"
_CJK_CHAR = re.compile(rf"[{_CJK}]")
_TOKEN = re.compile(
    rf"[{_CJK}]"  # one CJK character
    r"|[\U0001F1E6-\U0001F1FF]{2}"  # a flag: two regional indicators
    rf"|(?:(?![{_CJK}])\w)+(?:['’\-](?:(?![{_CJK}])\w)+)*"  # a word, with inner ' or - (don't, well-known)
    rf"|[^\w\s]{_JOINERS}"  # one punctuation mark or symbol (emoji included)
)


def is_cjk(char: str) -> bool:
    """True for a Han, kana or Hangul character (a token on its own, written without spaces)."""
    return bool(_CJK_CHAR.fullmatch(char))


def tokenize(sentence: str) -> list[str]:
    """Split `sentence` into tokens.

    Words (letters, digits, accents; inner apostrophes and hyphens kept) and each punctuation mark or
    emoji are tokens; each CJK character is a token of its own; whitespace only separates.

    >>> tokenize("I have a cat.")
    ['I', 'have', 'a', 'cat', '.']
    >>> tokenize("我有一只猫")
    ['我', '有', '一', '只', '猫']
    """
    if not isinstance(sentence, str):
        raise InputError(f"sentence: expected text, got {type(sentence).__name__}")
    text = unicodedata.normalize("NFC", sentence)
    tokens = _TOKEN.findall(text)
    if not tokens:
        raise InputError("sentence: is empty; give at least one word, e.g. \"I have a cat\"")
    return tokens
