import pytest

import attncore


@pytest.mark.parametrize(
    "sentence, tokens",
    [
        ("I have a cat", ["I", "have", "a", "cat"]),
        ("  I   have\ta\ncat  ", ["I", "have", "a", "cat"]),
        ("Hello, world!", ["Hello", ",", "world", "!"]),
        ("don't stop well-known", ["don't", "stop", "well-known"]),
        ("我有一只猫", ["我", "有", "一", "只", "猫"]),
        ("我有 a cat。", ["我", "有", "a", "cat", "。"]),
        ("猫は可愛い", ["猫", "は", "可", "愛", "い"]),
        ("café naïve", ["café", "naïve"]),
        ("cafe\u0301", ["café"]),  # decomposed accent is normalised to one token
        ("I ❤️ 🐈 👍🏽", ["I", "❤️", "🐈", "👍🏽"]),
        ("a<b & c>d", ["a", "<", "b", "&", "c", ">", "d"]),
        ("3.14 is pi", ["3", ".", "14", "is", "pi"]),
        ("x", ["x"]),
    ],
)
def test_tokenize(sentence, tokens):
    assert attncore.tokenize(sentence) == tokens


@pytest.mark.parametrize("bad", ["", "   ", "\n\t"])
def test_empty_input_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="sentence: is empty"):
        attncore.tokenize(bad)


def test_non_text_is_a_clear_error():
    with pytest.raises(ValueError, match="sentence: expected text, got int"):
        attncore.tokenize(3)
