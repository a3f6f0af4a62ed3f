"""Issue 36, point 4: a heat map that a projector cannot wash out. Every number printed in a heat-map
cell meets WCAG AA (4.5:1) against its own cell, on every cell of every heat map the scene tests
render (the softmax stage's weights, each head's map), in both themes (--theme dark|light); masked cells
are grey and hatched, never a 0% cell's colour. The contrast ratio is restated here from WCAG 2's definition."""

from __future__ import annotations

import numpy as np
import pytest
from manim import Line, ManimColor

from scenes.pictures import weights
from scenes.stages.heads import HeadsStage
from scenes.theme import DEFAULT_THEME, THEMES


def wcag(a, b) -> float:
    """WCAG 2's contrast ratio of two colours, restated: relative luminance of sRGB, (L1 + .05) / (L2 + .05)."""
    def lum(c):
        rgb = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4
               for x in np.asarray(ManimColor(c).to_rgb(), dtype=float)]
        return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("theme", list(THEMES.values()), ids=list(THEMES))
def test_every_weight_reads_on_its_own_colour(theme):
    for w in np.linspace(0.0, 1.0, 1001):
        fill = theme.heat(w)
        assert wcag(theme.readable_on(fill), fill) >= 4.5, w
    assert wcag(theme.readable_on(theme.masked), theme.masked) >= 4.5


def test_the_old_white_digits_failed_on_the_pale_cells():  # what the rule fixes: the 98.2% cell
    theme = DEFAULT_THEME
    assert wcag(theme.heat(0.982), theme.heat(0.982)) == 1.0
    assert wcag(theme.text, theme.heat(0.982)) < 4.5


def cells_of_grid(grid):
    """(text colour, fill colour) of every filled cell of a Grid."""
    return [(grid.cells[k].get_color(), grid.fills[k].get_fill_color()) for k in grid.cells if k in grid.fills]


@pytest.mark.parametrize("name", ["default", "other", "chinese", "m3e", "toy heads", "light", "light chinese"])
def test_every_cell_of_the_weights_map_meets_aa(runs, name):
    _, run = runs(name, silent=True)
    ctx = run.scene.ctx
    assert ctx.theme is THEMES["light" if name.startswith("light") else "dark"]  # the View's theme reached the scene
    grid = weights(ctx).grid
    pairs = cells_of_grid(grid)
    assert len(pairs) == len(grid.cells)
    low = [(t.to_hex(), f.to_hex(), round(wcag(t, f), 2)) for t, f in pairs if wcag(t, f) < 4.5]
    assert not low
    r = ctx.result
    if r.causal:  # masked cells: the masked grey with three hatching lines each, not the heat of 0%
        masked = [(i, j) for (i, j) in grid.fills if not r.mask[i, j]]
        assert masked
        for k in masked:
            assert grid.fills[k].get_fill_color().to_hex().lower() == ctx.theme.masked.lower()
        hatch = [m for m in grid.get_family() if isinstance(m, Line)]
        assert len(hatch) == 3 * len(masked)


@pytest.mark.parametrize("name", ["toy heads", "m3e", "light"])
def test_every_number_in_a_heads_map_meets_aa(runs, name):
    _, run = runs(name, silent=True)
    stage = HeadsStage(run.scene.ctx)
    checked = 0
    for m in stage.maps():
        for t in m.numbers:
            square = min(m.squares, key=lambda s: np.linalg.norm(s.get_center() - t.get_center()))
            assert wcag(t.get_color(), square.get_fill_color()) >= 4.5, t.text
            # never shrunk below the smallest size, nor edge to edge: 0.07 of the cell's fill either side (issue 36)
            assert t.font_size >= run.scene.ctx.theme.min_font_size - 1e-6, t.text
            assert t.get_left()[0] - square.get_left()[0] >= 0.07 - 1e-6 and square.get_right()[0] - t.get_right()[0] >= 0.07 - 1e-6, t.text
            checked += 1
    if name in ("toy heads", "light"):
        assert checked  # four tokens: every cell shows its percentage


@pytest.mark.parametrize("name", list(THEMES))
def test_the_explore_pages_heat_maps_are_in_the_views_theme(name, tmp_path):
    """--handout FILE.html --theme NAME: each head's picture on the page is its weights in that theme's
    heat colours (pixel for pixel against theme.heat, the video's), masked cells in its masked grey."""
    import base64
    import io
    import re

    from PIL import Image

    import attncore
    from scenes.outputs.explore import page
    from scenes.view import View

    computed = attncore.run("I have a cat", heads=2, causal=True)
    html = page(View.resolve(computed, theme=name))
    theme = THEMES[name]
    uris = re.findall(r'<img alt="" src="data:image/png;base64,([^"]+)"', html)
    assert len(uris) == 2
    for head, uri in zip(computed.heads, uris):
        image = Image.open(io.BytesIO(base64.b64decode(uri))).convert("RGB")
        for i in range(head.n_tokens):
            for j in range(head.n_tokens):
                want = ManimColor(theme.masked if j > i else theme.heat(head.weights[i, j])).to_rgb()
                got = np.array(image.getpixel((j, i))) / 255
                assert np.abs(got - want).max() <= 1 / 255 + 1e-9, (name, i, j)
