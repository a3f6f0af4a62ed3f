"""Where each number sits: in the square grids (the scores and the attention weights), the number drawn in a
cell is the reference's value at the row and the column that the grid's token labels name there, read from
where the texts are drawn (a cell's centre against the labels' centres), never from the scene's own record
of which value a cell shows. For sentences beyond the default: Chinese, causal, a real model with hidden
[CLS]/[SEP], a decoder. A copy that draws the cells of every square grid transposed fails here (and only
the default sentence's stored frames caught it before)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from conftest import need_model
from reference import _rows
from scenetools import run_scene

import attncore

NUMBER = re.compile(r"−?\d+\.\d+%?")  # how fmt and pct write a cell
NEAR = 0.06  # a label is centred on its row (column) of cells: its centre within this of theirs, in scene units

CASES = {  # name: (sentence, attncore.run's options, language, the view's options)
    "chinese": ("我有一只猫，它很可爱。", {}, "zh", {}),
    "causal": ("my dog likes the park", dict(causal=True, d_model=6, d_k=5, seed=3), "en", {}),
    "model": ("My cat sleeps because it is tired", dict(model="minilm", layer=5, heads=12), "en",
              dict(head=11, focus="it", hide_special=True)),
    "decoder": ("the cat was tired", dict(model=str(Path(__file__).parent / "data" / "tiny-gpt2"), layer=1, heads=4),
                "en", dict(head=2)),
}


def references(result) -> dict[str, list[list[float]]]:
    """The scores, the scaled scores and the weights by explicit loops (tests/reference.py's Q and K,
    the biases included), the causal mask as j > i."""
    worked = _rows(result)
    S, root = result.n_tokens, math.sqrt(result.d_k)
    scaled = worked["scaled"]
    raw = [[scaled[i][j] * root for j in range(S)] for i in range(S)]
    weights = []
    for i in range(S):
        seen = [j for j in range(S) if not result.causal or j <= i]
        top = max(scaled[i][j] for j in seen)
        e = {j: math.exp(scaled[i][j] - top) for j in seen}
        weights.append([e[j] / sum(e.values()) if j in e else 0.0 for j in range(S)])
    return {"scores": raw, "scaled": scaled, "weights": weights}


def cells_by_labels(texts, tokens):
    """Each number drawn (text, centre) with the token index of the label on its left in its row and of the
    label above it in its column (None where that label is not a token: the weights' "sum" column)."""
    centre = [(t, (b[0] + b[1]) / 2) for t, b in texts]
    numbers = [(t, c) for t, c in centre if NUMBER.fullmatch(t) or t == "−∞"]
    labels = [(t, c) for t, c in centre if not (NUMBER.fullmatch(t) or t == "−∞")]
    index = {t: i for i, t in enumerate(tokens)}
    found = []
    for t, c in numbers:
        left = [(c[0] - lc[0], lt) for lt, lc in labels if abs(lc[1] - c[1]) < NEAR and lc[0] < c[0]]
        above = [(lc[1] - c[1], lt) for lt, lc in labels if abs(lc[0] - c[0]) < NEAR and lc[1] > c[1]]
        if not left or not above:
            continue  # a number outside a grid (a caption's)
        row, col = min(left)[1], min(above)[1]
        found.append((t, index.get(row), index.get(col)))
    return found


@pytest.fixture(scope="module")
def played():
    done = {}

    def get(name):
        if name not in done:
            sentence, options, language, view = CASES[name]
            if "model" in options:
                need_model(options["model"])
            result = attncore.run(sentence, **options)
            run = run_scene(result, ["scores", "softmax"], language=language, **view)
            done[name] = (run.scene.ctx.result, run)
        return done[name]

    return get


@pytest.mark.parametrize("name", list(CASES))
def test_each_cell_shows_the_value_its_row_and_column_labels_name(played, name):
    result, run = played(name)
    shown = [t for i, t in enumerate(result.tokens) if i not in run.scene.ctx.hidden]
    assert len(set(shown)) == len(shown), "the labels must name one token each"
    ref = references(result)
    writes = {"scores": [("scores", attncore.fmt), ("scaled", attncore.fmt)],
              "softmax": [("weights", attncore.pct), ("scaled", attncore.fmt)]}
    for stage, kinds in writes.items():
        cells = [(t, i, j) for t, i, j in cells_by_labels(run.ends[stage], result.tokens)
                 if i is not None and j is not None]
        rows, cols = {i for _, i, _ in cells}, {j for _, _, j in cells}
        assert len(rows) >= 3 and len(cols) >= 3 and len(cells) >= len(rows) * len(cols), (stage, rows, cols)
        assert not (rows | cols) & run.scene.ctx.hidden
        for text, i, j in cells:
            if text == "−∞":  # a masked cell: a key after its query
                assert result.causal and j > i, (stage, i, j)
                continue
            assert text in {write(ref[kind][i][j]) for kind, write in kinds}, (stage, result.tokens[i],
                                                                                result.tokens[j], text)
        if result.causal:  # the masked cells (−∞, or a weight of 0.0%) are checked too
            assert any(j > i for _, i, j in cells), stage
