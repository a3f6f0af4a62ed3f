"""A model from a GGUF file (llama.cpp's format): the header parsed, the tensors left in the memory-mapped
file until asked for (`attncore.gguf_file`), the tokenizer rebuilt from its vocabulary and merges
(`attncore.gguf_tokenizer`)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..architectures import ARCHITECTURES
from ..errors import InputError
from .base import Model, check_sizes


def gguf_tokenizer(metadata, where: str):
    """The tokenizer rebuilt from a GGUF file's vocabulary, merges and settings (`attncore.gguf_tokenizer`)."""
    try:
        from ..gguf_tokenizer import build_tokenizer
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
    from ..gguf_file import _gguf

    try:
        name = _gguf().LlamaFileType(value).name
    except ValueError:
        return None
    return name.removeprefix("MOSTLY_").removeprefix("ALL_")


def load_gguf(path: Path, title: str) -> Model:
    """A model from a GGUF file: the header parsed, the tensors left in the mapped file until asked for."""
    from ..gguf_file import GGUFFile, GGUFWeights

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
    check_sizes(model, path.name)
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
