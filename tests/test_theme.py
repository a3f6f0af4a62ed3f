"""The picture is made for a classroom, in either theme (--theme dark|light): a heat map a washed-out
projector still shows in 10% steps, numbers in one neutral colour, no colour that could be taken for
the focus's yellow, and every text colour readable on the background (WCAG AA, restated here)."""

from __future__ import annotations

import numpy as np
import pytest
from test_heat_contrast import wcag  # WCAG 2's ratio restated from its definition (not scenes.theme.contrast)

from scenes.theme import DEFAULT_THEME, THEMES
from scenes.view import THEMES as THEME_NAMES

BOTH = pytest.mark.parametrize("THEME", list(THEMES.values()), ids=list(THEMES))


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


def test_the_views_theme_names_are_the_themes():
    assert list(THEMES) == list(THEME_NAMES) == ["dark", "light"]
    assert THEMES["dark"] is DEFAULT_THEME  # the default of a Ctx and of heat_png
    assert THEMES["light"].background == "#FFFFFF" and THEMES["dark"].background == "#111418"


@pytest.mark.parametrize("ambient", [0.0, 0.35])
@BOTH
def test_every_ten_percent_of_weight_is_a_visible_step_even_washed_out(ambient, THEME):
    steps = [lab(washed(rgb(THEME.heat(w)), ambient))[0] for w in np.linspace(0, 1, 11)]
    # away from the background as the weight grows: lighter on the dark theme, darker on the light one
    sign = 1 if lab(rgb(THEME.background))[0] < 50 else -1
    gaps = sign * np.diff(steps)
    assert (gaps > 0).all()  # monotone: the order reads without a legend
    assert gaps.min() > 4.0, gaps  # the two-colour ramp it replaced fell to 1.4 washed out
    assert abs(lab(rgb(THEME.heat(0.005)))[0] - lab(rgb(THEME.heat(0.0)))[0]) < 3  # near 0 stays near the background
    assert abs(lab(rgb(THEME.heat(0.0)))[0] - lab(rgb(THEME.background))[0]) < 10


def test_the_light_ramp_runs_pale_to_dark():  # a printed heat map: more weight, more ink
    light = THEMES["light"]
    assert lab(rgb(light.heat(0.0)))[0] > 90 > 20 > lab(rgb(light.heat(1.0)))[0]


# every colour a text is drawn in straight on the background (captions, labels, the matrices' names and
# numbers, the weights as numbers, the focus)
TEXT_COLOURS = ("text", "dim", "accent", "X", "Q", "K", "V", "Z", "positive", "negative", "neutral", "heat_high")


@BOTH
@pytest.mark.parametrize("name", TEXT_COLOURS)
def test_every_text_colour_meets_aa_on_the_background(THEME, name):
    assert wcag(getattr(THEME, name), THEME.background) >= 4.5, (name, getattr(THEME, name))


@BOTH
def test_every_number_colour_meets_aa_on_the_background(THEME):  # value_color: neutral, then red as |x| grows
    for x in np.linspace(-5.0, 5.0, 101):
        assert wcag(THEME.value_color(x, 5.0), THEME.background) >= 4.5, x


@BOTH
def test_a_masked_cell_is_not_a_zero_cell_and_its_marks_read(THEME):
    """Masked cells are grey (and hatched, tests/test_heat_contrast.py), far from the 0% cell's colour,
    and the −∞ written in them (dim, or what readable_on picks) meets AA; so do the scores grid's
    unmasked cells (filled with the 0% colour)."""
    assert np.linalg.norm(lab(rgb(THEME.masked)) - lab(rgb(THEME.heat(0.0)))) > 10  # ΔE*ab: dark 13, light 20
    assert wcag(THEME.readable_on(THEME.masked, THEME.dim), THEME.masked) >= 4.5
    assert wcag(THEME.readable_on(THEME.heat_low), THEME.heat_low) >= 4.5


@BOTH
def test_numbers_are_one_neutral_colour_and_negatives_red(THEME):
    positives = {rgb(THEME.value_color(x, 5.0)).round(3).tobytes() for x in (0.0, 0.01, 1.0, 4.9, 5.0)}
    assert len(positives) == 1
    for x in (-0.5, -5.0):
        r, g, b = rgb(THEME.value_color(x, 5.0))
        assert r > g + 0.05 and r > b + 0.05  # red


@BOTH
def test_no_colour_can_be_taken_for_the_focus_yellow(THEME):
    """The focus's accent is the one yellow (a dark amber on the light theme): the outputs, the numbers, the queries, keys, values and
    the weights all stand at least 20 (CIE ΔE*ab, washed out) from it."""
    accent = lab(washed(rgb(THEME.accent)))
    for name in ("Z", "positive", "Q", "K", "V", "heat_high", "negative"):
        distance = np.linalg.norm(lab(washed(rgb(getattr(THEME, name)))) - accent)
        assert distance > 20, (name, distance)
