"""On-screen and spoken text, one catalogue per language; scenes look strings up here and never
spell them out. `pseudo` (every English string between ⟦ ⟧) exists for tests: whatever shows on
screen without the markers did not come from the catalogue."""

from __future__ import annotations

from . import en, zh

LANGUAGES = ("en", "zh")  # what render.py offers
PSEUDO_OPEN, PSEUDO_CLOSE = "⟦", "⟧"


def _pseudo(value):
    if isinstance(value, dict):
        return {form: _pseudo(v) for form, v in value.items()}
    return PSEUDO_OPEN + value + PSEUDO_CLOSE


CATALOGUES = {"en": en.STRINGS, "zh": zh.STRINGS, "pseudo": {k: _pseudo(v) for k, v in en.STRINGS.items()}}
PLURALS = {"en": en.plural, "zh": zh.plural, "pseudo": en.plural}
READING_SPEED = {"en": en.CHARS_PER_SECOND, "zh": zh.CHARS_PER_SECOND, "pseudo": en.CHARS_PER_SECOND}


def catalogue(language: str = "en") -> dict:
    return CATALOGUES[language]


def reading_time(language: str, words: str) -> float:
    """Seconds a viewer needs to read `words` as a subtitle."""
    return round(len(words) / READING_SPEED[language], 1)


def plural_form(language: str, n: int) -> str:
    return PLURALS[language](n)
