"""The picture is made for a classroom: a heat map a washed-out projector still shows in 10% steps,
numbers in one neutral colour, and no colour that could be taken for the focus's yellow."""

from __future__ import annotations

import numpy as np
import pytest

from scenes.theme import DEFAULT_THEME as THEME


def rgb(color) -> np.ndarray:
    """A colour as sRGB in [0, 1] (a hex string or a ManimColor)."""
    text = color if isinstance(color, str) else color.to_hex()
    text = text.lstrip("#")
    return np.array([int(text[k:k + 2], 16) / 255 for k in (0, 2, 4)])


def lab(color: np.ndarray) -> np.ndarray:
    """CIE L*a*b* (D65) of an sRGB colour, from the standard's formulas."""
    linear = np.where(color <= 0.04045, color / 12.92, ((color + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = m @ linear / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def washed(color: np.ndarray, ambient: float = 0.35) -> np.ndarray:
    """A projector in a lit room: the dark parts of the picture lifted by the room's light."""
    return color * (1 - ambient) + ambient


@pytest.mark.parametrize("ambient", [0.0, 0.35])
def test_every_ten_percent_of_weight_is_a_visible_step_even_washed_out(ambient):
    steps = [lab(washed(rgb(THEME.heat(w)), ambient))[0] for w in np.linspace(0, 1, 11)]
    gaps = np.diff(steps)
    assert (gaps > 0).all()  # lighter as the weight grows: the order reads without a legend
    assert gaps.min() > 4.0, gaps  # the two-colour ramp it replaced fell to 1.4 washed out
    assert lab(rgb(THEME.heat(0.005)))[0] - lab(rgb(THEME.heat(0.0)))[0] < 3  # near 0 stays dark


def test_numbers_are_one_neutral_colour_and_negatives_red():
    positives = {rgb(THEME.value_color(x, 5.0)).round(3).tobytes() for x in (0.0, 0.01, 1.0, 4.9, 5.0)}
    assert len(positives) == 1
    for x in (-0.5, -5.0):
        r, g, b = rgb(THEME.value_color(x, 5.0))
        assert r > g + 0.05 and r > b + 0.05  # red


def test_no_colour_can_be_taken_for_the_focus_yellow():
    """The focus's accent is the one yellow: the outputs, the numbers, the queries, keys, values and
    the weights all stand at least 20 (CIE ΔE*ab, washed out) from it."""
    accent = lab(washed(rgb(THEME.accent)))
    for name in ("Z", "positive", "Q", "K", "V", "heat_high", "negative"):
        distance = np.linalg.norm(lab(washed(rgb(getattr(THEME, name)))) - accent)
        assert distance > 20, (name, distance)
