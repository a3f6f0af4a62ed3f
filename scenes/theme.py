"""Colours and sizes shared by every stage, looked up when a scene is built (never bound at import):
the View names its theme (--theme dark|light), and `THEMES[view.theme]` is what a scene, a still's
sheet, the slides and the explore page's heat maps are drawn in."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np
from manim import ManimColor, interpolate_color

from attncore.tokens import is_cjk

from .view import THEMES as THEME_NAMES


def _fullwidth(c: str) -> bool:
    return unicodedata.east_asian_width(c) in "WF"


AA = 4.5  # WCAG 2 level AA: the least contrast ratio for normal-size text


def luminance(color) -> float:
    """WCAG 2's relative luminance of a colour (0 black, 1 white)."""
    channels = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in ManimColor(color).to_rgb()]
    return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]


def contrast(a, b) -> float:
    """WCAG 2's contrast ratio of two colours, from 1 (the same) to 21 (black on white)."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@dataclass(frozen=True)
class Theme:
    """The dark theme by default (a screen in a dark room); LIGHT below, for a washed-out projector and
    print. Every colour text is drawn in meets WCAG AA (4.5:1) against the background, and a heat-map
    cell's digits against their own cell (readable_on); tests/test_theme.py checks both themes."""

    background: str = "#111418"
    text: str = "#ECEFF4"
    dim: str = "#7B8494"
    accent: str = "#FFD166"  # the focus token and what is highlighted: the one yellow
    X: str = "#ECEFF4"
    Q: str = "#58C4DD"  # blue: queries
    K: str = "#83C167"  # green: keys
    V: str = "#C792EA"  # violet: values
    Z: str = "#F47FB8"  # pink: the outputs (no second yellow beside the focus)
    positive: str = "#DDE1E8"  # numbers are one neutral colour; a negative one is red
    negative: str = "#FF6B6B"
    neutral: str = "#C8CDD6"
    # the heat map: dark, violet, red, orange, pale yellow, on weight ** heat_power. On a projector
    # that washes the picture out (35% ambient light), every 10% step of weight still differs by
    # more than 4 in lightness (CIE L*; tests/test_theme.py); the old two-colour ramp fell to 1.4.
    heat_stops: tuple[str, ...] = ("#1D2330", "#3B2F6B", "#8E3B76", "#D9604A", "#F6A93B", "#FCE9A0")
    heat_power: float = 0.7
    heat_high: str = "#E8743B"  # attention weights as numbers and links
    masked: str = "#3A3F4B"
    reveal_theme: str = "black"  # the slides' reveal.js theme (its controls and page around the frames)
    # Pango family lists: the first family draws what it can, the next fill in (emoji outlines come
    # from Symbola through fontconfig). Noto Sans CJK draws “ ” and × full width, right for Chinese
    # text and wrong for Latin text, so it leads only for Chinese text in the Chinese video.
    latin_font: str = "Noto Sans, Noto Sans CJK SC"
    cjk_font: str = "Noto Sans CJK SC, Noto Sans"
    number_font: str = "Noto Sans"  # digits look the same in every language
    heading_size: float = 30
    caption_size: float = 22
    label_size: float = 20
    min_font_size: float = 16  # nothing smaller: readable at 480p (a capital or a digit 9.5 pixels tall)
    max_font_size: float = 36  # a grid's numbers at most, when a short sentence leaves them room

    def font(self, text: str, language: str) -> str:
        """The family list for `text` in a video in `language`."""
        return self.cjk_font if language == "zh" and any(is_cjk(c) or _fullwidth(c) for c in text) else self.latin_font

    def value_color(self, x: float, vmax: float) -> ManimColor:
        """Number colour by sign: one neutral colour, red when negative (deeper as |x| nears the
        largest |x|): a number's size is read from its digits, not from its colour."""
        if x >= 0:
            return ManimColor(self.positive)
        t = 0.0 if vmax == 0 else min(1.0, abs(x) / vmax)
        return interpolate_color(ManimColor(self.neutral), ManimColor(self.negative), 0.45 + 0.55 * t)

    @property
    def heat_low(self) -> str:
        return self.heat_stops[0]

    def heat(self, w: float) -> ManimColor:
        """Cell fill for an attention weight in [0, 1], along heat_stops (see there)."""
        t = float(np.clip(w, 0.0, 1.0)) ** self.heat_power * (len(self.heat_stops) - 1)
        k = min(int(t), len(self.heat_stops) - 2)
        return interpolate_color(ManimColor(self.heat_stops[k]), ManimColor(self.heat_stops[k + 1]), t - k)

    def readable_on(self, fill, preferred=None):
        """A text colour for a cell filled with `fill`: `preferred` (default the text colour) when it
        meets WCAG AA (4.5:1) against the fill, else the text or the background colour, whichever
        meets it first (a heat map's pale cells get dark digits), or pure white or black where neither
        does (a mid-red cell)."""
        preferred = preferred if preferred is not None else self.text
        for c in (preferred, self.text, self.background, "#FFFFFF", "#000000"):
            if contrast(c, fill) >= AA:
                return c
        return max((self.text, self.background, "#FFFFFF", "#000000"), key=lambda c: contrast(c, fill))

    def matrix_color(self, name: str) -> str:
        return getattr(self, name, self.text) if isinstance(name, str) else self.text


DARK = Theme()
# White paper: the same meanings in darker inks (the focus's yellow as a dark amber, which still reads
# as the one yellow beside the others), and the heat map running the other way, pale to dark, as a
# printed heat map does: more weight, more ink. Its 10% steps differ by more than 4 in lightness,
# washed out too (tests/test_theme.py); heat_power 0.8 spreads the dark end, which a lit room lifts.
LIGHT = Theme(
    background="#FFFFFF", text="#1B1F24", dim="#5B6270", accent="#8F5F00", X="#1B1F24", Q="#0A6A94",
    K="#2F7A32", V="#7A3DB0", Z="#B8266E", positive="#262B33", negative="#C62828", neutral="#3E4652",
    heat_stops=("#F3F1EA", "#F8C76E", "#F3904F", "#CF4A5A", "#7A2482", "#1E0B3D"), heat_power=0.8,
    heat_high="#B3461A", masked="#B9BDC6", reveal_theme="white",
)
THEMES = dict(zip(THEME_NAMES, (DARK, LIGHT), strict=True))  # the View's names (--theme), each one's Theme
DEFAULT_THEME = DARK
