"""What the installed fonts can draw, and text in its own direction.

Pango falls back from font to font for each character, but a character no installed font has
draws as an empty box, and manim's `Text` loses right-to-left runs (Arabic, Hebrew) entirely. So:
a character that no font covers (asked of fontconfig once per character) is shown by its code
point, "U+1FAE8", and text with right-to-left characters is laid out by `MarkupText` (escaped, so
< > & still show as typed), which keeps Pango's bidirectional layout.
"""

from __future__ import annotations

import functools
import subprocess
import unicodedata

ALWAYS = 0x0530  # below this: Latin, Greek, Cyrillic, which the set-up's Noto Sans covers
INVISIBLE = ("Mn", "Me", "Mc", "Cf", "Zs")  # marks and joiners draw with their base, or not at all


@functools.lru_cache(maxsize=None)
def drawable(ch: str) -> bool:
    """Whether an installed font has a glyph for `ch` (fontconfig's answer; True if it cannot say)."""
    if ord(ch) < ALWAYS or unicodedata.category(ch) in INVISIBLE:
        return True
    try:
        found = subprocess.run(["fc-list", f":charset={ord(ch):x}", "family"], capture_output=True, text=True,
                               timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return True
    return bool(found.strip())


def code_point(ch: str) -> str:
    return f"U+{ord(ch):04X}"


def stand_in(s: str) -> str:
    """`s` with each character no installed font can draw replaced by its code point."""
    return "".join(ch if drawable(ch) else code_point(ch) for ch in s)


def missing(s: str) -> list[str]:
    """The characters of `s` that no installed font can draw, in order, once each."""
    return list(dict.fromkeys(ch for ch in s if not drawable(ch)))


def is_rtl(s: str) -> bool:
    """Whether `s` has right-to-left letters (Hebrew, Arabic, Syriac, Thaana...)."""
    return any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in s)


def has_ltr(s: str) -> bool:
    """Whether `s` has left-to-right letters (Latin, CJK, digits do not count)."""
    return any(unicodedata.bidirectional(ch) == "L" for ch in s)
