"""Colours and sizes shared by every stage, looked up when a scene is built (never bound at import)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np
from manim import ManimColor, interpolate_color

from attncore.tokens import is_cjk


def _fullwidth(c: str) -> bool:
    return unicodedata.east_asian_width(c) in "WF"


@dataclass(frozen=True)
class Theme:
    background: str = "#111418"
    text: str = "#ECEFF4"
    dim: str = "#7B8494"
    accent: str = "#FFD166"  # highlights and the focus token
    X: str = "#ECEFF4"
    Q: str = "#58C4DD"  # blue: queries
    K: str = "#83C167"  # green: keys
    V: str = "#C792EA"  # violet: values
    Z: str = "#FFB86C"
    positive: str = "#F4D35E"  # warm for positive numbers
    negative: str = "#FF6B6B"  # red for negative numbers
    neutral: str = "#C8CDD6"
    heat_low: str = "#1D2330"
    heat_high: str = "#E8743B"
    masked: str = "#3A3F4B"
    # Pango family lists: the first family draws what it can, the next fill in (emoji outlines come
    # from Symbola through fontconfig). Noto Sans CJK draws “ ” and × full width, right for Chinese
    # text and wrong for Latin text, so it leads only for Chinese text in the Chinese video.
    latin_font: str = "Noto Sans, Noto Sans CJK SC"
    cjk_font: str = "Noto Sans CJK SC, Noto Sans"
    number_font: str = "Noto Sans"  # digits look the same in every language
    heading_size: float = 30
    caption_size: float = 22
    label_size: float = 20
    min_font_size: float = 16  # nothing smaller: readable at 480p

    def font(self, text: str, language: str) -> str:
        """The family list for `text` in a video in `language`."""
        return self.cjk_font if language == "zh" and any(is_cjk(c) or _fullwidth(c) for c in text) else self.latin_font

    def value_color(self, x: float, vmax: float) -> ManimColor:
        """Number colour by sign and size: near-neutral when small, saturated at the largest |x|."""
        t = 0.0 if vmax == 0 else min(1.0, abs(x) / vmax)
        end = self.positive if x >= 0 else self.negative
        return interpolate_color(ManimColor(self.neutral), ManimColor(end), 0.25 + 0.75 * t)

    def heat(self, w: float) -> ManimColor:
        """Cell fill for an attention weight in [0, 1] (square root: small weights stay visible)."""
        return interpolate_color(ManimColor(self.heat_low), ManimColor(self.heat_high), float(np.sqrt(w)))

    def matrix_color(self, name: str) -> str:
        return getattr(self, name, self.text) if isinstance(name, str) else self.text


DEFAULT_THEME = Theme()
