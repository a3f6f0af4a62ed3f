"""RoBERTa encoders: BERT's layers and parameter names (a task model's under "roberta."), with three
differences it states here:

- its tokenizer (byte-level BPE) adds <s> at the start and </s> at the end, not [CLS] and [SEP];
- its positions count from its padding id + 1 (transformers' RobertaEmbeddings: padding_idx = 1, so
  the first token reads row 2 of the position embeddings);
- so it takes max_position_embeddings - (padding id + 1) tokens (514 - 2 = 512 for roberta-base).

References: Liu et al., "RoBERTa: A Robustly Optimized BERT Pretraining Approach" (2019);
transformers' RobertaModel.
"""

from __future__ import annotations

import numpy as np

from .bert import BERT


class RoBERTa(BERT):
    name = "roberta"
    prefix = "roberta."
    special_tokens = ("<s>", "</s>")

    def padding(self, config: dict) -> int:
        return config.get("pad_token_id", 1)

    def position_ids(self, model, n_tokens: int) -> np.ndarray:
        return np.arange(n_tokens) + self.padding(model.config) + 1

    def token_limit(self, config: dict, weights) -> int | None:
        rows = super().token_limit(config, weights)
        return None if rows is None else rows - self.padding(config) - 1
