"""attncore's focus token, tokens joined back into a sentence, and the table headings in Chinese."""

from __future__ import annotations

import numpy as np
import pytest

import attncore
from attncore import steps
from attncore.__main__ import main as attncore_main


@pytest.mark.parametrize(
    "sentence, focus",
    [
        ("I have a cat", "cat"),
        ("I have a cat.", "cat"),
        ("我有一只猫，它很可爱。", "爱"),
        ("Is it a cat?!", "cat"),
        ("...", "."),  # only punctuation: the last token
        ("cat", "cat"),
    ],
)
def test_default_focus_is_the_last_token_that_is_not_punctuation(sentence, focus):
    r = attncore.run(sentence)
    assert r.tokens[attncore.resolve_focus(r, None)] == focus


@pytest.mark.parametrize(
    "sentence, focus",
    [
        ("The cat sat on the mat", "sat"),  # positions 2 and 3 are as near the middle: the earlier
        ("I have a cat", "have"),
        ("I have a cat.", "a"),  # five tokens: the middle one
        ("我有一只猫，它很可爱。", "猫"),  # the middle token is "，": the nearest word token
        ("I cat", "I"),
        ("cat", "cat"),  # nothing later to mask
        ("...", "."),
    ],
)
def test_causal_default_focus_is_a_middle_token_whose_row_has_masked_cells(sentence, focus):
    """Under causal attention the last token's row masks nothing: the default is the word token
    nearest the middle, and (with a later token) its row has masked cells."""
    r = attncore.run(sentence, causal=True)
    i = attncore.resolve_focus(r, None)
    assert r.tokens[i] == focus
    if r.n_tokens > 1 and i < r.n_tokens - 1:
        assert not r.mask[i].all() and (r.weights[i, i + 1:] == 0).all()


def test_focus_resolution():
    r = attncore.run()
    assert attncore.resolve_focus(r, "have") == 1
    assert attncore.resolve_focus(r, "0") == 0
    assert attncore.resolve_focus(r, -2) == 2
    with pytest.raises(attncore.InputError, match=r"^focus: 'dog' is not a token"):
        attncore.resolve_focus(r, "dog")
    with pytest.raises(attncore.InputError, match=r"^focus: index 4 is out of range for 4 tokens"):
        attncore.resolve_focus(r, 4)


@pytest.mark.parametrize(
    "sentence, joined",
    [
        ("I have a cat", "I have a cat"),
        ("我有一只猫", "我有一只猫"),
        ("我有一只猫，它很可爱。", "我有一只猫，它很可爱。"),
        ("Hello, world! (really)", "Hello, world! (really)"),
        ("我有 a cat。", "我有 a cat。"),
        ("猫は可愛い", "猫は可愛い"),
    ],
)
def test_join_tokens_reads_like_the_sentence(sentence, joined):
    assert attncore.join_tokens(attncore.tokenize(sentence)) == joined


def test_strongest_is_the_largest_weight_by_explicit_loop():
    r = attncore.run("The cat sat on the mat because it was tired", d_model=6)
    for i in range(r.n_tokens):
        best = 0
        for j in range(r.n_tokens):
            if r.weights[i, j] > r.weights[i, best]:
                best = j
        assert steps.strongest(r, i) == best
    assert np.allclose(steps.row_sums(r), [sum(row) for row in r.weights.tolist()])


def test_tables_are_headed_in_chinese(capsys):
    assert attncore_main(["--lang", "zh", "我有一只猫"]) == 0
    out = capsys.readouterr().out
    for heading in ("输入矩阵 X（5 x 4", "投影矩阵 W_Q", "查询 Q = X W_Q", "注意力分数 = Q K^T", "注意力权重", "输出 Z"):
        assert heading in out, heading
    assert "scores" not in out and "weights" not in out
