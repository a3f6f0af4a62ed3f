"""Which token a walkthrough follows (the "current token" of shared/seeds/000), and how tokens read
back as a sentence."""

from __future__ import annotations

import unicodedata

from .attention import AttentionResult
from .errors import InputError
from .tokens import is_byte_piece, is_cjk, is_punctuation, words


def special_tokens(result: AttentionResult) -> list[int]:
    """Indices of the tokens a model's tokenizer added (its architecture's, e.g. BERT's [CLS] and [SEP]:
    `AttentionResult.specials`); none for the toy numbers."""
    return [i for i, t in enumerate(result.tokens) if t in result.specials]


def default_focus(tokens, causal: bool = False, specials=()) -> int:
    """The last token that is neither punctuation nor one of `specials` (the tokens a model's tokenizer
    added: AttentionResult.specials) (the last token when all are).

    Under causal attention (`--causal`, a GPT-2) the last token's row has nothing masked, so the
    default is the word token nearest the middle of the sentence (the earlier of two as near; a
    whole piece rather than the bytes of part of a character): its row shows the later tokens
    masked, and the earlier ones it may see.

    >>> default_focus(["The", "cat", "sat", "on", "the", "mat"], causal=True)
    2
    """
    found = words(tokens, specials)
    if not found:
        return len(tokens) - 1
    if not causal:
        return found[-1]
    middle = (len(tokens) - 1) / 2  # a whole piece rather than a GPT-2's "⟨E6 88⟩"
    return min([i for i in found if not is_byte_piece(tokens[i])] or found, key=lambda i: (abs(i - middle), i))


def resolve_focus(result: AttentionResult, focus: str | int | None) -> int:
    """The focus token's index: None -> `default_focus` (a middle token when the result is causal); a
    token's text (its last occurrence) or an integer index (0-based, negative counts from the end)."""
    n = result.n_tokens
    if focus is None:
        return default_focus(result.tokens, causal=result.causal, specials=result.specials)
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
