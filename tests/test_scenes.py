"""The scenes show attncore's numbers, legibly, inside the frame, and look as they did.

Each test sentence is rendered once (animations skipped, nothing written) and shared by the tests.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from manim import config
from PIL import Image

import attncore
from scenes import STAGE_NAMES
from scenes.video import resolve_focus
from scenetools import FAST, expected_text, run_scene

SENTENCES = {
    # the seed's worked example, 4 tokens
    "default": ("I have a cat", {}),
    # non-ASCII (accents, CJK, emoji), Pango markup characters, causal mask, positional encoding, d_k < d_model
    "other": ("Le chat 🐈 a très faim & 我有一只猫 <b>!", dict(d_model=6, d_k=3, seed=2, causal=True, positional=True)),
    "one token": ("cat", {}),
    # 12 tokens with a very long word, and d_model 8: token columns and dimensions are elided
    "twelve tokens": ("The supercalifragilisticexpialidocious fox jumps over the lazy dog because it was bored", dict(d_model=8, d_k=6)),
}
FRAMES = Path(__file__).parent / "frames"


@pytest.fixture(scope="module")
def runs():
    cache = {}

    def get(name):
        if name not in cache:
            sentence, kw = SENTENCES[name]
            result = attncore.run(sentence, **kw)
            cache[name] = (result, run_scene(result, list(STAGE_NAMES), snapshots=True, frames=(name == "default")))
        return cache[name]

    return get


@pytest.mark.parametrize("stage", STAGE_NAMES)
@pytest.mark.parametrize("name", ["default", "other"])
def test_every_number_on_screen_is_attncores(runs, name, stage):
    result, run = runs(name)
    shown = [s for s in run.scene.ctx.shown if s.stage == stage]
    if stage not in ("title", "summary"):
        assert len(shown) >= result.n_tokens, "a stage that shows (almost) no number"
    for s in shown:
        assert s.text == expected_text(result, s.source), s.source


def test_stages_show_their_whole_matrices(runs):
    """With 4 tokens nothing is elided: each stage shows every entry of the matrices it explains."""
    result, run = runs("default")
    wanted = {
        "embeddings": ["embeddings"],
        "projection": ["Q", "K", "V", "W_Q", "W_K", "W_V"],
        "scores": ["scores"],
        "softmax": ["scaled", "weights"],
        "weighted-sum": ["output"],
    }
    for stage, fields in wanted.items():
        sources = {s.source[1:] for s in run.scene.ctx.shown if s.stage == stage}
        for f in fields:
            shape = getattr(result, f).shape
            missing = [ix for ix in itertools.product(*map(range, shape)) if (f, *ix) not in sources]
            assert not missing, (stage, f, missing[:3])


def test_causal_masked_cells_show_as_masked(runs):
    """Every scaled-score cell on screen is "−∞" exactly where the key comes after the query."""
    result, run = runs("other")
    scaled = [s.source for s in run.scene.ctx.shown if s.source[1] == "scaled"]
    assert sum(kind == "masked" for kind, *_ in scaled) >= 10
    for kind, _, i, j in scaled:
        assert (kind == "masked") == (j > i), (kind, i, j)
    later = [s for s in run.scene.ctx.shown if s.source[:2] == ("pct", "weights") and s.source[3] > s.source[2]]
    assert later and all(s.text == "0.0%" for s in later)


def overlapping_pairs(boxes: np.ndarray, slack: float = 0.01) -> list[tuple[int, int]]:
    """Index pairs of boxes ([n, 2, 3]: lower-left, upper-right) that overlap by more than `slack`."""
    lo, hi = boxes[:, 0, :2], boxes[:, 1, :2]
    hit = ((lo[:, None] + slack < hi[None, :]) & (lo[None, :] + slack < hi[:, None])).all(axis=-1)
    return [(a, b) for a, b in zip(*np.nonzero(np.triu(hit, k=1)))]


@pytest.mark.parametrize("name", list(SENTENCES))
def test_layout_inside_frame_no_overlap_readable(runs, name):
    """After every animation step: texts inside the frame, none overlapping, none below 16 pt."""
    result, run = runs(name)
    half = np.array([config.frame_width / 2, config.frame_height / 2])
    assert len(run.snapshots) > 30
    for step, snap in enumerate(run.snapshots):
        if not snap.texts:
            continue
        boxes = np.array([b for _, _, b in snap.texts])
        outside = [t for (t, _, b) in snap.texts if (b[0, :2] < -half).any() or (b[1, :2] > half).any()]
        assert not outside, (snap.stage, step, outside)
        small = [(t, round(size, 1)) for t, size, _ in snap.texts if size < 15.5]  # minimum 16, rounding
        assert not small, (snap.stage, step, small)
        pairs = [(snap.texts[a][0], snap.texts[b][0]) for a, b in overlapping_pairs(boxes)]
        assert not pairs, (snap.stage, step, pairs[:5])


def test_long_sentences_are_elided_and_say_so(runs):
    result, run = runs("twelve tokens")
    shown_keys = {s.source[3] for s in run.scene.ctx.shown if s.source[1] == "scores"}
    assert len(shown_keys) < result.n_tokens and result.n_tokens - 1 in shown_keys  # the focus stays
    shown_dims = {s.source[3] for s in run.scene.ctx.shown if s.source[1] == "X"}
    assert len(shown_dims) < result.d_model
    texts = {t for snap in run.snapshots for t, _, _ in snap.texts}
    assert any(t.startswith("showing") and "tokens" in t for t in texts)
    assert any(t.startswith("showing") and "dimensions" in t for t in texts)
    assert "⋮" in texts and "⋯" in texts


def test_overlap_check_detects_overlap():
    boxes = np.array([[[0, 0, 0], [1, 1, 0]], [[0.5, 0.5, 0], [2, 2, 0]], [[3, 3, 0], [4, 4, 0]]], float)
    assert overlapping_pairs(boxes) == [(0, 1)]


def test_focus_resolution():
    r = attncore.run()
    assert resolve_focus(r, None) == 3
    assert resolve_focus(r, "have") == 1
    assert resolve_focus(r, "0") == 0
    assert resolve_focus(r, -2) == 2
    with pytest.raises(attncore.InputError, match=r"^focus: 'dog' is not a token"):
        resolve_focus(r, "dog")
    with pytest.raises(attncore.InputError, match=r"^focus: index 4 is out of range for 4 tokens"):
        resolve_focus(r, 4)


# ---- last frames against stored pictures ------------------------------------------------------
# manim's frames_comparison skips itself on cairo < 1.18 (Debian 12 has 1.16), so this is our own:
# each stage's last frame at 854 x 480 against tests/frames/<stage>.png, with a tolerance for
# anti-aliasing. `pytest --update-frames` rewrites the pictures (look at them before committing).


def frame_difference(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(mean absolute difference in 0..255, fraction of pixels differing by more than 48)."""
    d = np.abs(a[..., :3].astype(int) - b[..., :3].astype(int))
    return float(d.mean()), float((d.max(axis=-1) > 48).mean())


@pytest.mark.parametrize("stage", STAGE_NAMES)
def test_last_frame_matches_stored_picture(runs, stage, request):
    _, run = runs("default")
    frame = run.frames[stage]
    assert frame.shape[:2] == (FAST_HEIGHT, FAST_WIDTH)
    path = FRAMES / f"{stage}.png"
    if request.config.getoption("--update-frames"):
        FRAMES.mkdir(exist_ok=True)
        Image.fromarray(frame[..., :3]).save(path)
    assert path.exists(), f"no stored picture {path}: run pytest --update-frames and look at it"
    stored = np.asarray(Image.open(path).convert("RGB"))
    mean, share = frame_difference(frame, stored)
    assert mean < 1.5 and share < 0.005, f"{stage}: mean difference {mean:.2f}, {share:.2%} of pixels differ"


def test_frame_difference_notices_a_change():
    a = np.zeros((480, 854, 4), np.uint8)
    b = a.copy()
    b[100:140, 100:200, :3] = 255  # a missing label is this big
    mean, share = frame_difference(a, b)
    assert share > 0.005


FAST_WIDTH, FAST_HEIGHT = 854, 480
assert FAST["quality"] == "low_quality"
