"""How a GGUF file stores its weights, said honestly: its label (general.file_type, e.g. "Q4_K_M") names
a recipe, not one format. Qwen2.5-Coder-0.5B's "Q4_K_M" file holds Q4_K, Q5_0, Q6_K and Q8_0 matrices
(its attention W_Q, W_K, W_V are Q5_0: 5-bit); SmolLM2's "Q4_1" keeps its embeddings at Q8_0. A result
from such a file records the label, the bits of every matrix in the file and the formats of the
shown layer's W_Q, W_K and W_V, so that the title, the handout and the explore page can say that the
numbers are this file's (dequantized), not the full-precision model's.

Bits are the nominal width of a format's quantized values (Q4_K: 4, Q5_0: 5, Q8_0: 8, F16: 16), not
its bytes per weight (block scales add a little)."""

from __future__ import annotations

import re
from dataclasses import dataclass

FULL_BITS = 16  # F16, BF16 and F32 matrices: not quantized


def bits(type_name: str) -> int | None:
    """The nominal bits of a ggml type's values: Q4_K -> 4, IQ3_S -> 3, Q8_0 -> 8, F16/BF16 -> 16,
    F32 -> 32; None for a name it does not know."""
    if type_name in ("F16", "BF16"):
        return 16
    if type_name in ("F32", "F64"):
        return int(type_name[1:])
    match = re.match(r"I?Q(\d)", type_name)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class Quantization:
    """The formats of a GGUF file's weights: `file_type` its label, `types` every format its matrices
    (2-D tensors) use, fewest bits first, `low`/`high` their bits, `layer` the formats of the shown
    layer's W_Q, W_K and W_V (in that order)."""

    file_type: str  # general.file_type as llama.cpp names it, e.g. "Q4_K_M"; "" when the file does not say
    types: tuple[str, ...]
    low: int
    high: int
    layer: tuple[str, str, str]

    @property
    def mixed(self) -> bool:
        """True when the matrices use formats of different widths (Q4_K_M: 4 to 8 bits)."""
        return self.low != self.high

    @property
    def layer_bits(self) -> tuple[int, int]:
        """The fewest and most bits of the shown layer's W_Q, W_K, W_V."""
        widths = [bits(t) or FULL_BITS for t in self.layer]
        return min(widths), max(widths)

    @property
    def layer_text(self) -> str:
        """The shown layer's W_Q, W_K and W_V formats as a reader meets them: "Q5_0" when one format holds
        all three, else "Q5_0, Q5_0, Q8_0"."""
        return self.layer[0] if len(set(self.layer)) == 1 else ", ".join(self.layer)

    def words(self) -> tuple[str, dict]:
        """How it is said (the video's title, the handout, the explore page, `python -m attncore`): the
        catalogue key, "quantized", or "quantized_mixed" when its matrices mix widths, and the values of
        its placeholders."""
        params = dict(file_type=self.file_type or "GGUF", bits=self.low, low=self.low, high=self.high,
                      layer=self.layer_text, types=", ".join(self.types))
        return ("quantized_mixed" if self.mixed else "quantized"), params

    def to_dict(self) -> dict:
        return {"file_type": self.file_type, "types": list(self.types), "low": self.low, "high": self.high,
                "layer": list(self.layer)}


def of_model(model, layer: int) -> Quantization | None:
    """The quantization of a model read from a GGUF file (None for a Hugging Face folder, or a file
    whose matrices are all 16 or 32 bits: nothing was rounded to fewer bits)."""
    weights = model.weights
    file = getattr(weights, "file", None)
    if file is None:
        return None
    matrices = [t for t in file.tensors.values() if len(t.shape) >= 2]
    widths = {t.type_name: bits(t.type_name) or FULL_BITS for t in matrices}
    if not widths or min(widths.values()) >= FULL_BITS:
        return None
    prefix = f"layers.{layer}.self_attn."
    names = [next((n for n in weights.names if n.startswith(prefix) and f".{p}_proj.weight" in n), None) for p in "qkv"]
    layer_types = tuple(file.tensors[weights.names[n]].type_name if n else "" for n in names)
    quantized = sorted(widths, key=lambda t: (widths[t], t))
    return Quantization(file_type=model.quantization or "", types=tuple(quantized), low=min(widths.values()),
                        high=max(widths.values()), layer=layer_types)
