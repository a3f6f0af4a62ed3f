"""The table headings of `python -m attncore` (and of a notebook cell's tables), one catalogue per
language, in the same scheme as scenes.strings: each language a module holding STRINGS, the same
keys and {placeholders} in every one (tests/test_catalogues.py). LANGUAGES is defined here once;
scenes.strings and render.py take it from here."""

from __future__ import annotations

from . import en, zh

LANGUAGES = ("en", "zh")  # what `python -m attncore --lang` and render.py offer

CATALOGUES = {"en": en.STRINGS, "zh": zh.STRINGS}


def catalogue(language: str = "en") -> dict:
    return CATALOGUES[language]
