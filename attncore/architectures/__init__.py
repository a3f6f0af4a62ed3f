"""Each model architecture attncore runs, a module of its own behind one interface
(`base.Architecture`), found by config.json's `model_type` or a GGUF file's general.architecture.
Adding one: a new module with a subclass, and its line below."""

from __future__ import annotations

from .base import Architecture
from .bert import BERT
from .gpt2 import GPT2
from .llama import Llama
from .qwen2 import Qwen2
from .roberta import RoBERTa

ARCHITECTURES: dict[str, Architecture] = {a.name: a for a in (BERT(), RoBERTa(), GPT2(), Llama(), Qwen2())}

__all__ = ["ARCHITECTURES", "Architecture"]
