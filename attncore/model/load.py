"""Loading a model, once per process: a Hugging Face folder (config.json, tokenizer.json, the weights)
here, a GGUF file in `attncore.model.gguf`; and a result's model found again (`loaded`)."""

from __future__ import annotations

import functools
import json
from dataclasses import replace
from pathlib import Path

from ..architectures import ARCHITECTURES
from ..checkpoint import WEIGHT_FILES, read_weights
from ..errors import InputError
from .base import Model, check_sizes
from .find import MODELS, install_hint, locate
from .gguf import load_gguf


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


# a loaded model's origin (Model.origin, AttentionResult.model_origin: its folder or file, resolved) -> what load_model
# was given, so that a result's model is found again (`loaded`): keyed on the path, not on the folder's name, which
# two folders in different places may share
LOADED: dict[str, str] = {}
# a display name (Model.name) -> what load_model was given last: for a result that records no origin (read back from
# its JSON export), found by its name alone
BY_TITLE: dict[str, str] = {}


@functools.lru_cache(maxsize=4)
def load_model(name: str = "minilm") -> Model:
    """The model's config, weights and tokenizer, read once per process. `name`: a packaged model
    ("minilm", "m3e-small"), a folder, a GGUF file, or a repo name in the local Hugging Face cache."""
    folder, title = locate(name)
    if folder.is_file():
        return _remember(replace(load_gguf(folder, title), origin=str(folder)), name)
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
    check_sizes(model, folder / "config.json")
    missing = [p for p in kind.required(model.n_layers) if p not in weights]
    if missing:
        raise InputError(f"model: the weights in {folder} lack {missing[0]}"
                         + (f" and {len(missing) - 1} more" if len(missing) > 1 else ""))
    positions = kind.token_limit(config, weights)
    if not positions:
        raise InputError(f"model: {folder / 'config.json'} lacks max_position_embeddings")
    limit = (tokenizer.truncation or {}).get("max_length") or positions
    tokenizer.no_padding()  # MiniLM's file pads every input to 128
    tokenizer.no_truncation()  # longer inputs are refused instead of silently cut
    return _remember(replace(model, max_tokens=min(limit, positions), origin=str(folder)), name)


def _remember(model: Model, name: str) -> Model:
    LOADED[model.origin] = BY_TITLE[model.name] = name
    return model


def load_name(result) -> str | None:
    """The name load_model takes to load a result's model again (an AttentionResult's, or a model's display
    name alone): what loaded it in this process, by its origin; else a packaged model by its title; else its
    origin, or its name, as `locate` reads them. None for the toy numbers."""
    title, origin = (result, None) if isinstance(result, str) or result is None else (result.model, result.model_origin)
    if title is None:
        return None
    if origin is not None and origin in LOADED:
        return LOADED[origin]
    packaged = next((key for key, p in MODELS.items() if p.title == title), None)
    return packaged or origin or BY_TITLE.get(title) or title


def loaded(result) -> Model | None:
    """The model a result names (an AttentionResult, or its `model` alone), found again (`load_name`); None
    when it is not found."""
    name = load_name(result)
    if name is None:
        return None
    try:
        return load_model(name)
    except InputError:
        return None
