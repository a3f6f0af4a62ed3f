"""A RoBERTa (attncore/architectures/roberta.py), the architecture that differs from BERT in what an
architecture now owns: its special tokens (<s> and </s>, not [CLS] and [SEP]), its position ids (from its
padding id + 1) and its token limit. Checked against transformers' RobertaForMaskedLM made in the test
from a config (tiny, random), and through what the specials decide: the default focus, --head auto's
count, --hide-special, the title's narration."""

from __future__ import annotations

import os

import numpy as np
import pytest

import attncore
from attncore.focus import special_tokens
from attncore.pick import content_keys
from tests.model_reference import TRAINING_TEXT, _spread, assert_float32_close, attention_scale

pytest.importorskip("torch", reason="the tiny RoBERTa is made with torch and transformers (the test extra)")
pytest.importorskip("transformers")

SENTENCE = "the cat sat on the mat because it was tired"
POSITIONS = 34  # max_position_embeddings: rows 0 and 1 are never read (padding id 1), so it takes 32 tokens


@pytest.fixture(scope="module")
def tiny_roberta(tmp_path_factory):
    """A RobertaForMaskedLM (parameters under "roberta.") with a byte-level BPE tokenizer that adds <s> and </s>."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import RobertaConfig, RobertaForMaskedLM

    folder = tmp_path_factory.mktemp("tiny-roberta")
    torch.manual_seed(0)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # RoBERTa's ids: <pad> is 1
    tok.train_from_iterator(TRAINING_TEXT, trainers.BpeTrainer(vocab_size=300, special_tokens=specials,
                                                              initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")))
    assert tok.token_to_id("<pad>") == 1
    config = RobertaConfig(vocab_size=tok.get_vocab_size(), hidden_size=16, num_hidden_layers=2, num_attention_heads=4,
                           intermediate_size=32, max_position_embeddings=POSITIONS, type_vocab_size=1, pad_token_id=1)
    net = RobertaForMaskedLM(config)
    _spread(net)
    net.save_pretrained(folder)
    tok.save(str(folder / "tokenizer.json"))
    return folder


def test_every_head_matches_transformers(tiny_roberta):
    """Each layer's heads against RobertaModel's attentions on the same ids: a position read from row 0
    instead of row padding id + 1 would move every weight."""
    import torch
    from transformers import AutoModel

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    heads0 = attncore.run(SENTENCE, model=str(tiny_roberta), layer=0, heads=4)
    from attncore.model import encode, load_model

    ids = [int(i) for i in encode(load_model(str(tiny_roberta)), SENTENCE)[1]]
    net = AutoModel.from_pretrained(str(tiny_roberta), attn_implementation="eager").eval()
    with torch.no_grad():
        want = [a[0].double().numpy() for a in net(input_ids=torch.tensor([ids]), output_attentions=True).attentions]
    for layer in (0, 1):
        heads = heads0 if layer == 0 else attncore.run(SENTENCE, model=str(tiny_roberta), layer=1, heads=4)
        got = np.stack([h.weights for h in heads.heads])
        assert_float32_close(got, want[layer], attention_scale(heads.heads, want[layer]), f"layer {layer}")
    assert heads0.heads[0].architecture == "roberta" and not heads0.heads[0].norm_first


def test_its_specials_are_no_focus_no_word_and_hidden_on_request(tiny_roberta):
    from scenes.view import View

    r = attncore.run(SENTENCE, model=str(tiny_roberta), layer=0, heads=4)
    first = r.heads[0]
    S = first.n_tokens
    assert (first.tokens[0], first.tokens[-1]) == ("<s>", "</s>") and first.specials == ("<s>", "</s>")
    assert special_tokens(first) == [0, S - 1]
    focus = attncore.resolve_focus(first, None)
    assert first.tokens[focus] == "tired" and focus == S - 2  # not </s>, the last token
    # --head auto counts no special token as a word: </s> is no content key; as a plain token it would be
    assert S - 1 not in content_keys(first, 2)
    from dataclasses import replace

    assert S - 1 in content_keys(replace(first, specials=()), 2)
    view = View.resolve(r, hide_special=True)
    assert view.hidden == {0, S - 1}


def test_its_token_limit_leaves_out_the_rows_before_its_first_position(tiny_roberta):
    from attncore.model import load_model

    assert load_model(str(tiny_roberta)).max_tokens == POSITIONS - 2
    with pytest.raises(attncore.InputError, match=r"sentence: \d+ tokens with <s> and </s>; .* takes at most 32"):
        attncore.run(" ".join(["cat"] * 40), model=str(tiny_roberta))


def test_the_title_says_its_own_special_tokens(tiny_roberta, tmp_path):
    """The narration of the title names <s> and </s> (the catalogue's {start} and {end}), and the dry run
    says which tokens --hide-special leaves out."""
    from click.testing import CliRunner

    import render

    script = tmp_path / "s.md"
    result = CliRunner().invoke(render.main, ["--model", str(tiny_roberta), "--layer", "0", "--head", "0", "--stage",
                                              "title", "--script", str(script), "--quiet"])
    assert result.exit_code == 0, result.output
    text = script.read_text(encoding="utf-8")
    assert "adds <s> at the start and </s> at the end" in text and "[CLS]" not in text
    result = CliRunner().invoke(render.main, ["--model", str(tiny_roberta), "--layer", "0", "--head", "0",
                                              "--hide-special", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "<s>/</s> hidden" in result.output
