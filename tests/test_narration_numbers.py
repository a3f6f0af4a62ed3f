"""The integers the narration says, against sources of their own (tests/test_scenes.py holds its decimals to
attncore's): every "A × B" the toy's narration gives is a matrix's shape (tokens by d_model, d_k, d_v or
tokens), the tokens counted, an embedding's length and √d_k's d_k, worked out here from the sentence and the
numbers. The packaged decoders' counts (layers, heads, K/V heads, the KV cache's bytes, the vocabulary) are
held to their GGUF files' metadata in tests/test_never_run.py."""

from __future__ import annotations

import re

import pytest
from scenetools import run_scene

import attncore
from scenes import default_stages

INTEGER = r"(\d+)"


def integers(pattern: str, text: str) -> list[tuple[int, ...]]:
    """Every match of `pattern` (its groups the integers) in `text`, as integers."""
    return [tuple(int(g) for g in m.groups()) for m in re.finditer(pattern, text)]


@pytest.fixture(scope="module")
def toy():
    done = {}

    def get(sentence, language, **options):
        key = (sentence, language, tuple(sorted(options.items())))
        if key not in done:
            result = attncore.run(sentence, **options)
            done[key] = (result, run_scene(result, list(default_stages(False)), language=language))
        return done[key]

    return get


@pytest.mark.parametrize("sentence, language, options", [
    ("I have a cat", "en", {}), ("我有一只猫，它很可爱。", "zh", {}),
    ("my dog likes the park", "en", dict(d_model=6, d_k=5, seed=3))])
def test_the_toys_narration_counts_what_it_shows(toy, sentence, language, options):
    result, run = toy(sentence, language, **options)
    S = len(attncore.tokenize(sentence))
    d_model, d_k, d_v = len(result.X[0]), len(result.W_Q[0]), len(result.W_V[0])
    said = "\n".join(c.text for c in run.scene.log.cues)
    shapes = integers(rf"{INTEGER} × {INTEGER}", said)
    assert len(shapes) >= 5 and set(shapes) <= {(S, d_model), (S, d_k), (S, d_v), (S, S)}, shapes
    split = rf"split into {INTEGER} tokens" if language == "en" else rf"切分成 {INTEGER} 个词元"
    assert integers(split, said) == [(S,)]
    if language == "en":
        assert integers(rf"a vector of {INTEGER} numbers", said) == [(d_model,)]
    assert integers(rf"√d_k = √{INTEGER}", said) == [(d_k,)]
