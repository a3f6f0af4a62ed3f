"""A GGUF file's tokenizer, rebuilt with the `tokenizers` library from the file's own metadata.

A GGUF carries no tokenizer.json: its vocabulary (`tokenizer.ggml.tokens`), merges (`tokenizer.ggml.merges`),
token types and special ids are metadata under llama.cpp's key names, and `tokenizer.ggml.pre` names the
pre-tokenizer, the rule that cuts text into words before the merges run. `build_tokenizer` turns those into a
`tokenizers.Tokenizer` that gives the ids llama.cpp gives (and transformers' GGUF tokenizer, but for "smollm", where
transformers forgets the digits rule):

- `tokenizer.ggml.model` "gpt2": byte-level BPE (GPT-2's scheme: every byte is drawn as one printable character,
  `Ġ` for the space). The only kind supported; SentencePiece ("llama", Gemma's), Unigram ("t5") and the others
  are refused in one line naming them.
- `tokenizer.ggml.pre`: the pre-tokenizer, by llama.cpp's name (`PRE_TOKENIZERS`). "qwen2" splits letters from
  digits and takes every digit alone (Qwen2 / Qwen2.5's regex); "smollm" takes every digit alone, then GPT-2's
  regex (llama.cpp's SMOLLM pattern, SmolLM's own tokenizer.json: Digits then ByteLevel); "gpt-2" is GPT-2's
  regex, and so is "default", what a converter writes when it did not recognise the tokenizer (as transformers
  reads it; llama.cpp's fallback also splits off punctuation runs and three-digit groups first); "llama-bpe" /
  "llama3" are Llama 3's. Any other name is refused.
- Token types 3 (control, e.g. `<|im_start|>`) become special added tokens, 4 (user-defined, e.g.
  `<tool_call>`) plain added tokens: both are matched whole in the text, never cut into bytes. A control token
  not spelled in the byte alphabet is a converter's mislabel and is skipped, as transformers skips it.
- `tokenizer.ggml.add_bos_token` / `add_eos_token` (absent: false, as transformers reads a byte-level
  vocabulary): when true, the BOS / EOS id is added around every encoding. Neither packaged model adds one.

`metadata` is any mapping from key to Python value (lists of str, ints, bools): only the keys above are read,
with `metadata.get(key)`, so a lazy reader pays only for them. Building Qwen2.5's 151,936 tokens and 151,387
merges takes about 0.7 s of CPU, most of it in the `tokenizers` BPE itself.

References: llama.cpp's llama-vocab.cpp (pre-tokenizer patterns by name); transformers' GGUF tokenizer
(integrations/gguf/gguf_tokenizer_mapping.py), which the tests compare with.
"""

from __future__ import annotations

import functools
import itertools
import numbers
import operator
from collections.abc import Mapping

from .errors import InputError

# GPT-2's pattern, as tokenizers' ByteLevel pre-tokenizer applies it (use_regex=True)
GPT2_SPLIT = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
# Qwen2 / Qwen2.5 (its tokenizer.json's Split pattern)
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
               r"|\s+(?!\S)|\s+")
# Llama 3
LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")

# llama.cpp's pre-tokenizer name -> (what cuts the text into words, in order): "digits" takes every digit alone,
# "gpt2" is GPT-2's pattern (ByteLevel's own), any other string a pattern split off as its own pieces
PRE_TOKENIZERS: dict[str, tuple[str, ...]] = {
    "qwen2": (QWEN2_SPLIT,),
    "smollm": ("digits", "gpt2"),
    "gpt-2": ("gpt2",),
    "default": ("gpt2",),
    "llama-bpe": (LLAMA3_SPLIT,),
    "llama3": (LLAMA3_SPLIT,),
}
MODELS = {"gpt2": "byte-level BPE"}
CONTROL, USER_DEFINED = 3, 4  # llama.cpp's token types (1 normal, 2 unknown, 5 unused, 6 byte)


@functools.lru_cache(maxsize=1)
def byte_alphabet() -> dict[int, str]:
    """GPT-2's bytes_to_unicode: byte -> the printable character that spells it in a byte-level vocabulary."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    spelled, extra = {}, 0
    for b in range(256):
        if b in printable:
            spelled[b] = chr(b)
        else:
            spelled[b] = chr(256 + extra)
            extra += 1
    return spelled


@functools.lru_cache(maxsize=1)
def _outside_alphabet():
    """A pattern matching any character that is not in the byte alphabet."""
    import re

    return re.compile("[^" + "".join(re.escape(c) for c in byte_alphabet().values()) + "]")


def _text(value, key: str, index: int) -> str:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"model: {key}[{index}] is not UTF-8 text") from None
    if not isinstance(value, str):
        raise InputError(f"model: {key}[{index}] is {type(value).__name__}, expected text")
    return value


def _required(metadata: Mapping[str, object], key: str):
    value = metadata.get(key)
    if value is None:
        raise InputError(f"model: the GGUF's metadata has no {key}; cannot rebuild its tokenizer")
    return value


def _pre_tokenizer(steps: tuple[str, ...]):
    from tokenizers import Regex, pre_tokenizers

    parts = []
    for step in steps:
        if step == "digits":
            parts.append(pre_tokenizers.Digits(individual_digits=True))
        elif step == "gpt2":
            parts.append(pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True))
        else:
            parts.append(pre_tokenizers.Split(Regex(step), behavior="isolated"))
    if steps[-1] != "gpt2":  # the bytes spelled in the byte alphabet, after the text is cut
        parts.append(pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False))
    return parts[0] if len(parts) == 1 else pre_tokenizers.Sequence(parts)


def build_tokenizer(metadata: Mapping[str, object]):
    """A `tokenizers.Tokenizer` for the vocabulary a GGUF's metadata describes (see the module's docstring).
    Raises InputError, one line, for a tokenizer kind or pre-tokenizer that is not supported."""
    kind = metadata.get("tokenizer.ggml.model")
    if not isinstance(kind, str) or kind not in MODELS:
        supported = ", ".join(f"{k} ({v})" for k, v in MODELS.items())
        raise InputError(f"model: the GGUF's tokenizer {kind!r} (tokenizer.ggml.model) is not supported; "
                         f"supported: {supported}")
    pre = metadata.get("tokenizer.ggml.pre") or "default"
    if not isinstance(pre, str) or pre not in PRE_TOKENIZERS:
        raise InputError(f"model: the GGUF's pre-tokenizer {pre!r} (tokenizer.ggml.pre) is not supported; "
                         f"supported: {', '.join(PRE_TOKENIZERS)}")
    from tokenizers import AddedToken, Tokenizer, decoders, processors
    from tokenizers.models import BPE

    key = "tokenizer.ggml.tokens"
    tokens = list(_required(metadata, key))
    if not tokens:
        raise InputError(f"model: the GGUF's {key} is empty; cannot rebuild its tokenizer")
    if set(map(type, tokens)) != {str}:
        tokens = [_text(t, key, i) for i, t in enumerate(tokens)]
    alphabet = set(byte_alphabet().values())
    # every token of a byte-level vocabulary is written in the byte alphabet; one that is not (a converter's
    # literal text) is respelled from its UTF-8 bytes, as transformers does, so that it can be looked up
    if _outside_alphabet().search("".join(tokens)):
        spell = byte_alphabet()
        vocab = {t if set(t) <= alphabet else "".join(spell[b] for b in t.encode("utf-8")): i
                 for i, t in enumerate(tokens)}
    else:
        vocab = {t: i for i, t in enumerate(tokens)}
    key = "tokenizer.ggml.merges"
    texts = list(_required(metadata, key))
    if set(map(type, texts)) - {str}:
        texts = [_text(m, key, i) for i, m in enumerate(texts)]
    if set(map(str.count, texts, itertools.repeat(" "))) - {1}:
        i, merge = next((i, m) for i, m in enumerate(texts) if m.count(" ") != 1)
        raise InputError(f"model: {key}[{i}] is {merge!r}, expected two tokens separated by one space")
    halves = " ".join(texts).split(" ")
    left, right = halves[0::2], halves[1::2]
    # tokenizers panics (a BaseException) on a merge whose result is not in the vocabulary; a missing part is an
    # Exception, caught below
    missing = set(map(operator.add, left, right)) - vocab.keys()
    if missing:
        i = next(i for i, (a, b) in enumerate(zip(left, right)) if a + b in missing)
        raise InputError(f"model: {key}[{i}] is {texts[i]!r}, but {left[i] + right[i]!r} is not in "
                         "tokenizer.ggml.tokens")
    merges = list(zip(left, right))
    try:
        bpe = BPE(vocab=vocab, merges=merges, dropout=None, continuing_subword_prefix="", end_of_word_suffix="",
                  fuse_unk=False)
    except Exception as e:  # tokenizers raises a plain Exception, e.g. for a merge of a token not in the vocabulary
        raise InputError(f"model: the GGUF's vocabulary and merges do not make a BPE ({e})") from None
    tokenizer = Tokenizer(bpe)
    tokenizer.pre_tokenizer = _pre_tokenizer(PRE_TOKENIZERS[pre])
    tokenizer.decoder = decoders.ByteLevel()

    types = [int(t) for t in (metadata.get("tokenizer.ggml.token_type") or ())]
    control = [AddedToken(t, normalized=False, special=True)
               for t, kind in zip(tokens, types) if kind == CONTROL and set(t) <= alphabet]
    if control:
        tokenizer.add_special_tokens(control)
    user = [AddedToken(t, normalized=False, special=False)
            for t, kind in zip(tokens, types) if kind == USER_DEFINED and t in vocab]
    if user:
        tokenizer.add_tokens(user)

    ends = {}  # "bos"/"eos" -> (token, id), for the ends the file says to add
    for end in ("bos", "eos"):
        if metadata.get(f"tokenizer.ggml.add_{end}_token"):
            token_id = metadata.get(f"tokenizer.ggml.{end}_token_id")
            valid = isinstance(token_id, numbers.Integral) and not isinstance(token_id, bool)
            if not valid or not 0 <= token_id < len(tokens):
                raise InputError(f"model: the GGUF sets tokenizer.ggml.add_{end}_token but "
                                 f"tokenizer.ggml.{end}_token_id is {token_id!r}, not a token id")
            ends[end] = (tokens[int(token_id)], int(token_id))
    if ends:
        single = [*([ends["bos"][0]] if "bos" in ends else []), "$A", *([ends["eos"][0]] if "eos" in ends else [])]
        tokenizer.post_processor = processors.TemplateProcessing(single=single, special_tokens=list(set(ends.values())))
    return tokenizer
