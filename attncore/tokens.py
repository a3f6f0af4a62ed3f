"""Sentence -> tokens: words, punctuation marks and symbols, single CJK characters.

Text is split into extended grapheme clusters (user-perceived characters: a letter with its
combining marks, an Indic conjunct, an emoji ZWJ / flag / keycap / skin-tone sequence) with the
`regex` module's `\\X`, so no token ever splits one. Then:

- whitespace, control characters and the zero-width space U+200B separate tokens; other invisible
  format characters (soft hyphen, word joiner, BOM, bidi controls) are dropped; the zero-width
  joiner and non-joiner stay inside words and emoji, where they mean something;
- a combining mark with no letter before it is dropped (it would show on a dotted circle);
- Han, kana and Hangul, and the scripts written without spaces (Thai, Lao, Khmer, Myanmar), give one
  token per grapheme cluster ("我", "有"; Thai "มี" is consonant + vowel);
- a word is a run of letters, digits and their marks in any other script (Latin, Cyrillic, Greek,
  Arabic, Hebrew, Devanagari...), with inner ' or - (don't, well-known);
- anything else (punctuation, symbols, emoji) is one token per grapheme cluster.
"""

from __future__ import annotations

import unicodedata

import regex

from .errors import InputError

# scripts whose characters are tokens on their own: CJK, and scripts written without spaces between words
_UNSPACED = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}]")
_CLUSTER = regex.compile(r"\X")
_JOINING = "\u200c\u200d"  # zero-width non-joiner and joiner: part of words and emoji sequences
_SEPARATORS = {"\u200b"}  # zero-width space: marks word breaks (in Thai, Khmer...), so it separates
_INNER = "'’-"  # inside a word: don't, well-known
_SYMBOL_MARKS = "\ufe0f\u20e3"  # emoji presentation and keycap: the cluster is a symbol, not a word


def is_cjk(char: str) -> bool:
    """True for a character written without spaces around it (Han, kana, Hangul, Thai, Lao, Khmer,
    Myanmar): a token on its own, joined to its neighbours without spaces."""
    return bool(_UNSPACED.match(char))


def _clean(text: str) -> str:
    """Separators as spaces, other invisible format characters removed (emoji tags kept)."""
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in _SEPARATORS or cat in ("Cc", "Zs", "Zl", "Zp"):
            out.append(" ")
        elif cat == "Cf" and ch not in _JOINING and not "\U000e0020" <= ch <= "\U000e007f":
            continue
        else:
            out.append(ch)
    return "".join(out)


def graphemes(text: str) -> list[str]:
    """`text` as extended grapheme clusters (what a reader sees as one character)."""
    return _CLUSTER.findall(text)


def _is_wordish(cluster: str) -> bool:
    """Letters or digits with their marks (and joiners), not an emoji such as a keycap."""
    return (unicodedata.category(cluster[0])[0] in "LN" and not any(c in _SYMBOL_MARKS for c in cluster)
            and all(unicodedata.category(c)[0] in "LMN" or c in _JOINING for c in cluster))


def tokenize(sentence: str) -> list[str]:
    """Split `sentence` into tokens (see the module's docstring).

    >>> tokenize("I have a cat.")
    ['I', 'have', 'a', 'cat', '.']
    >>> tokenize("我有一只猫")
    ['我', '有', '一', '只', '猫']
    """
    if not isinstance(sentence, str):
        raise InputError(f"sentence: expected text, got {type(sentence).__name__}")
    clusters = graphemes(_clean(unicodedata.normalize("NFC", sentence)))
    tokens: list[str] = []
    word = False  # the last token is a word that the next letters continue
    for k, c in enumerate(clusters):
        if c[0].isspace():  # a space, with any marks that followed it (they have no letter)
            word = False
        elif unicodedata.category(c[0])[0] == "M":
            continue  # a combining mark with nothing to combine with
        elif is_cjk(c[0]):
            tokens.append(c)
            word = False
        elif _is_wordish(c):
            if word:
                tokens[-1] += c
            else:
                tokens.append(c)
            word = True
        elif (c in _INNER and word and k + 1 < len(clusters) and _is_wordish(clusters[k + 1])
              and not is_cjk(clusters[k + 1][0])):
            tokens[-1] += c  # an inner apostrophe or hyphen: the word goes on
        else:
            tokens.append(c)
            word = False
    if not tokens:
        raise InputError("sentence: is empty; give at least one word, e.g. \"I have a cat\"")
    return tokens


def is_punctuation(token: str) -> bool:
    """True when every character is punctuation or a symbol (".", "，", "&", "<", an emoji...)."""
    return all(unicodedata.category(c)[0] in "PSZ" or c in "\ufe0f\u200d" for c in token)


BYTE_PIECE = regex.compile(r"⟨[0-9A-F]{2}(?: [0-9A-F]{2})*⟩")  # a model's bytes of part of a character (attncore.model)


def is_byte_piece(token: str) -> bool:
    """True for a token that holds bytes of a partial character, shown as `⟨E6 88⟩`."""
    return BYTE_PIECE.search(token) is not None


def words(tokens, specials=()) -> list[int]:
    """The indices of the word tokens: neither punctuation or symbols only, nor one of `specials` (the
    tokens a model's tokenizer adds, AttentionResult.specials)."""
    return [i for i, t in enumerate(tokens) if not is_punctuation(t) and t not in specials]
