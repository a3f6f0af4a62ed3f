"""Issue 36, point 6: the default ends on a trained head. The toy's whole video says plainly that its
weights were written by hand (so its row means nothing about language), then shows a trained head's row
for the same idea with its real numbers (MiniLM layer 3 head 1, "it" -> "animal", in English; m3e-small
layer 0 head 4, 它 -> 猫, in Chinese), or says in words that the model is not installed. References:
the issue's measured figures, and explicit loops over the trained head's weights."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from conftest import need_model
from scenetools import assert_readable_layout, expected_text, run_scene
from test_no_tool_talk import tool_talk

import attncore
from attncore import InputError, lessons, pct
from attncore.model import MODELS, find
from scenes.view import View

TOYS = {"en": "I have a cat", "zh": "我有一只猫"}
# the issue's figures: the focus, its key, the share, the other rows' mean on that key
FIGURES = {"en": ("minilm", "it", "animal", "64.0%", "8.9%"), "zh": ("m3e-small", "它", "猫", "98.2%", "12.2%")}
HAND = {"en": "written by hand", "zh": "手写"}
MISSING = {"en": "is not installed on this computer", "zh": "没有安装在这台电脑上"}


def trained_run(language: str, sentence: str | None = None, **kw):
    return run_scene(attncore.run(sentence or TOYS[language], **kw), ["trained"], snapshots=True, language=language)


def drawn(words: str) -> str:
    """`words` as a snapshot's text holds them (manim's Text.text: spaces left out)."""
    return words.replace(" ", "")


def others_loops(weights, focus: int, key: int) -> float:
    """The mean weight every row but the focus's gives `key` (a bidirectional head: every row may see it)."""
    values = [weights[q][key] for q in range(len(weights)) if q != focus]
    return sum(values) / len(values)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_trained_row_shows_and_says_the_heads_own_numbers(language):
    """Every number of the trained head equals the head's weights as formatted, the other rows' mean
    equals a loop over them, and both are the issue's figures, on screen (the links, the caption) and
    said. Catches: a stage quoting the toy's row for the trained one, a mean that counts the focus row
    too (64.0% and 8.9% become another figure), a number not recorded as the trained head's."""
    model, focus, key, share, others = FIGURES[language]
    need_model(model)
    example = lessons.EXAMPLES[language]
    r = attncore.run(example.sentence, model=example.model, layer=example.layer, head=example.head)
    weights = r.weights.tolist()
    i, k = r.tokens.index(focus), r.tokens.index(key)
    run = trained_run(language)
    shown = [s for s in run.scene.log.shown if s.source.of == f"trained:{language}"]
    cells = {s.source.index for s in shown if s.source.field == "weights"}
    assert cells == {(i, j) for j in range(r.n_tokens)}  # the whole row, its special tokens too
    for s in shown:
        assert s.text == expected_text(None, s.source), s.source
        if s.source.field == "weights":
            assert s.text == pct(weights[i][s.source.index[1]])
    assert pct(weights[i][k]) == share and pct(others_loops(weights, i, k)) == others
    cues = [c for c in run.scene.log.cues if c.stage == "trained"]
    said = [n for c in cues for n in c.numbers if n.source.of == f"trained:{language}"]
    assert {n.text for n in said} == {share, others}
    assert any(share in c.text and share in c.caption for c in cues)
    assert any(others in c.text and others in c.caption for c in cues)
    assert any(drawn(MODELS[model].title) in t for snap in run.snapshots for t, *_ in snap.texts)  # which head, on screen
    assert_readable_layout(run)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_toy_says_its_weights_were_written_by_hand(language):
    """Catches: the claim left out, or said of numbers it is not true of (a seed's random weights)."""
    run = trained_run(language)
    toy = attncore.run(TOYS[language])
    first = next(c for c in run.scene.log.cues if c.stage == "trained")
    assert HAND[language] in first.text and HAND[language] in first.caption
    top = int(toy.weights[-1].argmax())  # the toy's row, quoted as the toy's
    assert [(n.text, n.source.of) for n in first.numbers] == [(pct(toy.weights[-1, top]), None)]
    assert pct(toy.weights[-1, top]) == {"en": "58.8%", "zh": "22.5%"}[language]
    drawn = trained_run(language, TOYS[language], seed=2)
    words = " ".join(c.text + c.caption for c in drawn.scene.log.cues)
    assert HAND[language] not in words and {"en": "not a trained model's", "zh": "不是训练出来的"}[language] in words


def test_hand_written_is_the_seeds_weights_only():
    assert lessons.hand_written(attncore.run("I have a cat")) and lessons.hand_written(attncore.run("我有一只猫"))
    assert not lessons.hand_written(attncore.run("I have a cat", seed=2))
    assert not lessons.hand_written(attncore.run("I have a cat", d_model=6))
    eye = [[float(r == c) for c in range(4)] for r in range(4)]
    assert not lessons.hand_written(attncore.run("I have a cat", weights={"W_Q": eye}))


@pytest.fixture
def not_installed(monkeypatch):
    """Neither packaged model is found (their packages named as none installed)."""
    for name in ("minilm", "m3e-small"):
        monkeypatch.setitem(find.MODELS, name, replace(find.MODELS[name], package="no_such_package_h36"))


@pytest.mark.parametrize("language", ["en", "zh"])
def test_without_the_model_the_video_says_so_and_ends(not_installed, language):
    """Catches: a stage that fails when the model is missing, one that silently shows nothing, or one that
    names a command instead."""
    with pytest.raises(InputError):
        find.locate(lessons.EXAMPLES[language].model)
    assert lessons.trained(language) is None
    run = trained_run(language)
    cues = [c for c in run.scene.log.cues if c.stage == "trained"]
    title = MODELS[lessons.EXAMPLES[language].model].title
    assert any(MISSING[language] in c.text and title in c.text for c in cues)
    assert any(drawn(MISSING[language]) in t and drawn(title) in t for snap in run.snapshots for t, *_ in snap.texts)
    assert not any(s.source.of for s in run.scene.log.shown)  # no trained number
    assert cues[-1].pause and not any(tool_talk(c.text + c.caption) for c in cues)
    assert_readable_layout(run)


def test_a_stage_made_without_the_model_is_not_reused_with_it(monkeypatch):
    """The cache key of a toy view's stages says whether the trained head's model is installed. Catches: the
    words "not installed" kept in the cache after the model is installed."""
    need_model("minilm")
    view = View.resolve(attncore.run("I have a cat"))
    with_model = view.key()
    monkeypatch.setitem(find.MODELS, "minilm", replace(find.MODELS["minilm"], package="no_such_package_h36"))
    assert view.key() != with_model
    model = View.resolve(attncore.run("it was tired", model=str(Path(__file__).parent / "data" / "tiny-gpt2"), layer=1))
    assert model.key()["trained"] is None  # no trained stage: nothing to say


def test_the_trained_stage_ends_the_toys_whole_video_only():
    """Catches: the stage in a model's video (already a trained head), or missing from the toy's."""
    assert View.resolve(attncore.run("I have a cat")).stages[-2:] == ("summary", "trained")
    assert View.resolve(attncore.run("I have a cat", heads=2)).stages[-1] == "trained"
    gpt2 = attncore.run("it was tired", model=str(Path(__file__).parent / "data" / "tiny-gpt2"), layer=1, head=0)
    assert "trained" not in View.resolve(gpt2).stages
    with pytest.raises(InputError, match="stage: 'trained' follows the toy numbers"):
        View.resolve(gpt2, stages=["trained"])


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_handout_ends_as_the_video_does(tmp_path, monkeypatch, language):
    """The toy's handout says its weights were written by hand, then gives the trained head's row token by token
    (each share the head's weight, formatted) and the other rows' mean, or, the model hidden, that it is not
    installed. Catches: the handout left without the trained head, or claiming one that is not installed."""
    from scenes import outputs

    model, focus, key, share, others = FIGURES[language]
    need_model(model)
    example = lessons.EXAMPLES[language]
    r = attncore.run(example.sentence, model=example.model, layer=example.layer, head=example.head)
    i = r.tokens.index(focus)
    path = tmp_path / "handout.md"
    outputs.make("handout", attncore.run(TOYS[language]), path, language=language)
    text = path.read_text(encoding="utf-8")
    assert HAND[language] in text and share in text and others in text
    rows = [f"| {t.replace('|', chr(92) + '|')} | {pct(r.weights[i][j])} |" for j, t in enumerate(r.tokens)]
    assert all(row in text for row in rows)
    monkeypatch.setitem(find.MODELS, model, replace(find.MODELS[model], package="no_such_package_h36"))
    outputs.make("handout", attncore.run(TOYS[language]), path, language=language)
    text = path.read_text(encoding="utf-8")
    assert HAND[language] in text and MISSING[language] in text and others not in text
