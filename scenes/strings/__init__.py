"""On-screen text, one catalogue per language; scenes look strings up here and never spell them out."""

from __future__ import annotations

from . import en

CATALOGUES = {"en": en.STRINGS}


def catalogue(language: str = "en") -> dict[str, str]:
    return CATALOGUES[language]
