"""On-screen and spoken text, one catalogue per language; scenes look strings up here and never
spell them out. `pseudo` (every English string between ⟦ ⟧) exists for tests: whatever shows on
screen without the markers did not come from the catalogue."""

from __future__ import annotations

from attncore.strings import LANGUAGES  # defined once, with the report headings' catalogues; what render.py offers

from . import en, zh

PSEUDO_OPEN, PSEUDO_CLOSE = "⟦", "⟧"


def _pseudo(value):
    if isinstance(value, dict):
        return {form: _pseudo(v) for form, v in value.items()}
    return PSEUDO_OPEN + value + PSEUDO_CLOSE


_MODULES = {"en": en, "zh": zh}  # a language in LANGUAGES without its module here fails on import
CATALOGUES = {**{lang: _MODULES[lang].STRINGS for lang in LANGUAGES},
              "pseudo": {k: _pseudo(v) for k, v in en.STRINGS.items()}}
PLURALS = {**{lang: _MODULES[lang].plural for lang in LANGUAGES}, "pseudo": en.plural}
READING_SPEED = {**{lang: _MODULES[lang].CHARS_PER_SECOND for lang in LANGUAGES}, "pseudo": en.CHARS_PER_SECOND}


def catalogue(language: str = "en") -> dict:
    return CATALOGUES[language]


def reading_time(language: str, words: str) -> float:
    """Seconds a viewer needs to read `words` as a subtitle."""
    return round(len(words) / READING_SPEED[language], 1)


def plural_form(language: str, n: int) -> str:
    return PLURALS[language](n)


def voice_language(language: str) -> str:
    """The voice that speaks a catalogue's language (the tests' "pseudo" catalogue is English)."""
    return "zh" if language == "zh" else "en"
