"""Which token a walkthrough follows (the "current token" of shared/seeds/000), and how tokens read
back as a sentence."""

from __future__ import annotations

import unicodedata

from .attention import AttentionResult
from .errors import InputError
from .tokens import is_cjk


def is_punctuation(token: str) -> bool:
    """True when every character is punctuation or a symbol (".", "，", "&", "<", an emoji...)."""
    return all(unicodedata.category(c)[0] in "PSZ" or c in "\ufe0f\u200d" for c in token)


SPECIAL_TOKENS = ("[CLS]", "[SEP]")  # what a BERT tokenizer adds around the sentence


def special_tokens(result: AttentionResult) -> list[int]:
    """Indices of the tokens a model's tokenizer added ([CLS], [SEP]); none for the toy numbers."""
    return [i for i, t in enumerate(result.tokens) if t in SPECIAL_TOKENS] if result.model is not None else []


def default_focus(tokens, causal: bool = False) -> int:
    """The last token that is neither punctuation nor [CLS]/[SEP] (the last token when all are).

    Under causal attention (`--causal`, a GPT-2) the last token's row has nothing masked, so the
    default is the word token nearest the middle of the sentence (the earlier of two as near; a
    whole piece rather than the bytes of part of a character): its row shows the later tokens
    masked, and the earlier ones it may see.

    >>> default_focus(["The", "cat", "sat", "on", "the", "mat"], causal=True)
    2
    """
    words = [i for i, t in enumerate(tokens) if not is_punctuation(t) and t not in SPECIAL_TOKENS]
    if not words:
        return len(tokens) - 1
    if not causal:
        return words[-1]
    from .model import is_byte_piece  # a GPT-2's "⟨E6 88⟩"

    middle = (len(tokens) - 1) / 2
    return min([i for i in words if not is_byte_piece(tokens[i])] or words, key=lambda i: (abs(i - middle), i))


def resolve_focus(result: AttentionResult, focus: str | int | None) -> int:
    """The focus token's index: None -> `default_focus` (a middle token when the result is causal); a
    token's text (its last occurrence) or an integer index (0-based, negative counts from the end)."""
    n = result.n_tokens
    if focus is None:
        return default_focus(result.tokens, causal=result.causal)
    if isinstance(focus, str):
        if focus in result.tokens:
            return n - 1 - result.tokens[::-1].index(focus)
        try:
            focus = int(focus)
        except ValueError:
            raise InputError(f"focus: {focus!r} is not a token of the sentence ({', '.join(result.tokens)}) nor an index") from None
    if not -n <= focus < n:
        raise InputError(f"focus: index {focus} is out of range for {n} tokens (0 to {n - 1})")
    return focus % n


def _wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in "WF"


_OPENING = set("([{“‘«「『（【《〈")
CLOSING = set(")]}”’»」』）】》〉.,;:!?%…。，、；：！？")


def join_tokens(tokens) -> str:
    """The tokens as one line of text: spaces between words, none between CJK characters, none
    before closing or after opening punctuation.

    >>> join_tokens(["I", "have", "a", "cat", "."])
    'I have a cat.'
    >>> join_tokens(["我", "有", "一", "只", "猫", "。"])
    '我有一只猫。'
    """
    out = ""
    for prev, tok in zip([None, *tokens], tokens):
        tight = (
            prev is None
            or tok[0] in CLOSING
            or prev[-1] in _OPENING
            or (is_cjk(prev[-1]) and (is_cjk(tok[0]) or is_punctuation(tok)))
            or (is_cjk(tok[0]) and is_punctuation(prev) and _wide(prev[-1]))
        )
        out += tok if tight else " " + tok
    return out
