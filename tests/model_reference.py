"""Real models' attention probabilities as transformers computes them, for checking attncore's numpy
forward passes, and two tiny randomly initialised checkpoints (a BERT and a GPT-2) for `model=DIR`.

Also a script: it builds tests/data/tiny-bert and tests/data/tiny-gpt2 (transformers' config classes,
`save_pretrained`, and a `tokenizers` WordPiece / byte-level BPE trained on a few lines; no download)
and writes tests/data/model_reference.npz, transformers' attentions for every model and sentence
below, so machines without torch and transformers still check against them.

    .venv/bin/python tests/model_reference.py     # regenerate (needs torch and transformers)
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data"
REFERENCE = DATA / "model_reference.npz"
TINY = {"tiny-bert": DATA / "tiny-bert", "tiny-gpt2": DATA / "tiny-gpt2"}
# model -> (its sentences, the layers checked): every head of each
CASES = {
    "minilm": (("The animal didn't cross the street because it was too tired", "我有一只猫，它很可爱。"), (0, 5)),
    "m3e-small": (("我有一只猫，它很可爱。", "The animal didn't cross the street because it was too tired"), (0, 3)),
    "tiny-bert": (("the cat sat on the mat because it was tired", "我有一只猫"), (0, 1)),
    "tiny-gpt2": (("the cat sat on the mat because it was tired", "我有一只猫，它很可爱。"), (0, 1)),
}
TRAINING_TEXT = [
    "the cat sat on the mat because it was tired",
    "the animal did not cross the street because it was too tired",
    "i have a cat and the cat has me",
    "我有一只猫，它很可爱。",
]


def folder_of(model: str) -> str:
    """What attncore.run(model=...) takes for `model`: a packaged name or a tiny checkpoint's folder."""
    return str(TINY[model]) if model in TINY else model


def _transformers_folder(model: str) -> str:
    if model in TINY:
        return str(TINY[model])
    from attncore.model import locate

    return str(locate(model)[0])


# ---- comparing with transformers' float32 results ------------------------------------------------
# transformers computes in float32, attncore in float64, and torch adds in another order on another CPU:
# an entry can only be held to float32's precision relative to the size of what it was computed from.
EPS32 = float(np.finfo(np.float32).eps)  # 2**-23: float32 keeps 24 bits of a number, whatever its size
# float32 roundings allowed, in ulps of that size. Every layer before adds a few; measured here on every
# model, sentence and layer above: at most 17.5 for the weights and 8.3 for the layer inputs.
ULPS = 64


def assert_float32_close(got, want, scale, err_msg: str = "") -> None:
    """Each entry of `got` within ULPS float32 roundings of its `scale` (broadcast) from float32's `want`;
    below float32's smallest normal number nothing is compared (it has no relative precision there)."""
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    bound = ULPS * EPS32 * np.broadcast_to(np.asarray(scale, dtype=float), want.shape) + np.finfo(np.float32).tiny
    excess = np.abs(got - want) - bound
    if not (excess <= 0).all():
        at = np.unravel_index(np.argmax(excess), want.shape)
        raise AssertionError(f"{err_msg}: {int((excess > 0).sum())} of {want.size} entries differ by more than float32 "
                             f"promises; at {tuple(map(int, at))}: {float(got[at])!r} against {float(want[at])!r}, "
                             f"allowed ±{bound[at]:.3g}")


def attention_scale(heads, want) -> np.ndarray:
    """The size each attention weight's float32 rounding follows, for `want` (heads, S, S). A weight
    exp(s_j − logsumexp s) carries its logits' absolute error relative to itself, and a float32 logit
    q·k/√d_k is good to the size of its reduction's terms, Σ_c |q_c k_c| / √d_k, the largest in its row
    (the logsumexp takes in every logit of the row the query may see). q and k: attncore's heads' Q and K."""
    sizes = []
    for h in heads:
        terms = np.abs(h.Q) @ np.abs(h.K).T / np.sqrt(h.d_k)  # (S, d_k) x (d_k, S) -> (S, S): Σ_c |q_ic k_jc| / √d_k
        if h.causal:
            terms = np.tril(terms)  # a masked logit is not computed
        sizes.append(terms.max(axis=1, keepdims=True))
    return np.abs(np.asarray(want, dtype=float)) * np.stack(sizes)


def transformers_attentions(model: str, sentence: str) -> tuple[list[int], list[np.ndarray]]:
    """(input ids, attentions per layer as (heads, S, S)) from transformers, offline, eager attention.
    The ids come from transformers' own tokenizer for the folder (AutoTokenizer: the model type's
    tokenizer class with the folder's tokenizer files and settings), not from the `tokenizers` pipeline
    attncore.model.encode reads, so that a difference between the two shows."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModel, AutoTokenizer

    folder = _transformers_folder(model)
    ids = AutoTokenizer.from_pretrained(folder)(sentence)["input_ids"]  # no padding unless asked for
    net = AutoModel.from_pretrained(folder, attn_implementation="eager").eval()
    with torch.no_grad():
        out = net(input_ids=torch.tensor([ids]), output_attentions=True)
    return ids, [a[0].double().numpy() for a in out.attentions]


def build_tiny(kind: str, folder: Path) -> Path:
    """A tiny randomly initialised checkpoint saved as Hugging Face saves it. tiny-bert: a
    BertForMaskedLM (names prefixed "bert.") in model.safetensors, WordPiece; tiny-gpt2: a
    GPT2LMHeadModel (prefixed "transformer.") in pytorch_model.bin (torch's zip), byte-level BPE with
    so few merges that a Chinese character takes several tokens."""
    import torch
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertForMaskedLM, GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)  # torch's own generator, not numpy's
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "tiny-bert":
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        tok.normalizer = normalizers.BertNormalizer(lowercase=True)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece()
        specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        tok.train_from_iterator(TRAINING_TEXT, trainers.WordPieceTrainer(vocab_size=120, special_tokens=specials))
        tok.post_processor = processors.BertProcessing(("[SEP]", tok.token_to_id("[SEP]")), ("[CLS]", tok.token_to_id("[CLS]")))
        config = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=16, num_hidden_layers=2, num_attention_heads=4,
                            intermediate_size=32, max_position_embeddings=32)
        net = BertForMaskedLM(config)
        _spread(net)
        net.save_pretrained(folder)
    else:
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        tok.train_from_iterator(TRAINING_TEXT, trainers.BpeTrainer(vocab_size=300, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                                                  special_tokens=["<|endoftext|>"]))
        config = GPT2Config(vocab_size=tok.get_vocab_size(), n_embd=16, n_layer=2, n_head=4, n_positions=32)
        net = GPT2LMHeadModel(config)
        _spread(net)
        config.save_pretrained(folder)
        torch.save(net.state_dict(), folder / "pytorch_model.bin")  # torch's zip format, as save_pretrained wrote it
    tok.save(str(folder / "tokenizer.json"))
    return folder


def _spread(net) -> None:
    """Initialise with a wider spread than transformers' 0.02, so the tiny heads' attention is far
    from uniform and a wrong softmax, mask or slice shows."""
    import torch

    with torch.no_grad():
        for name, p in net.named_parameters():
            if p.dim() > 1:
                p.normal_(0.0, 0.5)


def main() -> None:
    for kind, folder in TINY.items():
        build_tiny(kind, folder)
    arrays = {}
    for model, (sentences, layers) in CASES.items():
        for n, sentence in enumerate(sentences):
            ids, attentions = transformers_attentions(model, sentence)
            arrays[f"{model}_ids_{n}"] = np.array(ids)
            for layer in layers:
                arrays[f"{model}_attention_{n}_{layer}"] = attentions[layer].astype(np.float32)
    np.savez_compressed(REFERENCE, **arrays)
    print(REFERENCE)


if __name__ == "__main__":
    main()
