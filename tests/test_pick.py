"""attncore.pick and render.py's --head auto and --contrast: the head chosen by the stated rule,
checked against a brute-force search written here (explicit loops over attncore.run's results for
every layer and head); the title and the contrast stage quoting the chosen head's real numbers; the
one-line errors of bad use."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner

import attncore
import render
from attncore import pick
from attncore.model import load_model

DATA = Path(__file__).parent / "data"
TINY = {name: str(DATA / name) for name in ("tiny-bert", "tiny-gpt2")}
TIRED = "The animal didn't cross the street because it was too tired"
WIDE = "The animal didn't cross the street because it was too wide"
CAT = "the cat sat on the mat because it was tired"  # the tiny checkpoints' vocabularies hold these words
A_CAT = "a cat sat on the mat because it was tired"


def invoke(*args):
    return CliRunner().invoke(render.main, list(args))


def every_layer_run(sentence: str, model: str, layers=None) -> dict:
    """Every head of every layer, one attncore.run per layer (no shortcut)."""
    m = load_model(model)
    return {layer: attncore.run(sentence, model=model, layer=layer, heads=m.n_heads)
            for layer in (range(m.n_layers) if layers is None else layers)}


# ---- the brute-force searches: the rules as docs/models.md states them, in explicit loops ----------

def punctuation(token: str) -> bool:
    return all(unicodedata.category(c)[0] in "PSZ" for c in token)


def brute_others(r, focus: int, key: int):
    """The mean weight the rows other than the focus give `key`: the rows that may attend to more than
    one token (every row when none may) and may attend to `key`; None when there is no such row."""
    S = len(r.tokens)
    may = lambda i, j: not (r.causal and j > i)
    rows = [i for i in range(S) if sum(1 for j in range(S) if may(i, j)) > 1] or list(range(S))
    weights = [float(r.weights[i][key]) for i in rows if i != focus and may(i, key)]
    return sum(weights) / len(weights) if weights else None


def brute_focused(layers: dict, focus: int):
    """(layer, head, key, weight): the largest weight any head's focus row gives one content token
    (not the focus, [CLS]/[SEP], the first token or punctuation; not masked; two or more tokens away
    unless no content token is), among the heads where the other rows give that token at most half as
    much on average when there is such a head; the first found wins a tie (layer, then head, then key)."""
    best = None  # (special, layer, head, key, weight)
    for layer in sorted(layers):
        for h, r in enumerate(layers[layer].heads):
            content = []
            for j, token in enumerate(r.tokens):
                if j == focus or j == 0 or (r.model is not None and token in ("[CLS]", "[SEP]")):
                    continue
                if punctuation(token) or (r.causal and j > focus):
                    continue
                content.append(j)
            far = [j for j in content if abs(j - focus) >= 2]
            top = None
            for j in far or content:
                if top is None or float(r.weights[focus][j]) > float(r.weights[focus][top]):
                    top = j
            if top is None:
                continue
            w = float(r.weights[focus][top])
            others = brute_others(r, focus, top)
            special = others is None or others <= w / 2
            if best is None or (special and not best[0]) or (special == best[0] and w > best[4]):
                best = (special, layer, h, top, w)
    return best[1:]


def brute_moved(a, b, focus: int) -> float:
    total = 0.0
    for j in range(len(a.tokens)):
        if a.tokens[j] == b.tokens[j]:
            total += abs(float(a.weights[focus][j]) - float(b.weights[focus][j]))
    return total / 2


def brute_contrast(layers: dict, others: dict, focus: int):
    """(layer, head, distance): the head whose focus row moves most (½ Σ |a − b| over the places both
    sentences hold the same token); the first found wins a tie."""
    best = None
    for layer in sorted(layers):
        for h in range(layers[layer].n_heads):
            d = brute_moved(layers[layer].heads[h], others[layer].heads[h], focus)
            if best is None or d > best[2]:
                best = (layer, h, d)
    return best


def brute_elsewhere(layer, followed: int, focus: int) -> int:
    """The head the heads stage names beside the followed one: among the other heads whose focus row's
    largest weight (the first on a tie) is on another token than the followed head's, the largest such
    weight, the heads whose favourite is a content token (not the focus, the first token, [CLS]/[SEP],
    punctuation, nor masked) first; any other head when every head agrees. The first found wins a tie."""
    def favourite(r):
        row = [float(w) for w in r.weights[focus]]
        return row.index(max(row))

    def content(r, j):
        special = r.model is not None and r.tokens[j] in ("[CLS]", "[SEP]")
        return not (j == focus or j == 0 or special or punctuation(r.tokens[j]) or (r.causal and j > focus))

    mine = favourite(layer.heads[followed])
    groups = ([], [], [])  # content favourites elsewhere, other favourites elsewhere, the rest
    for r in layer.heads:
        if r.head != followed:
            j = favourite(r)
            groups[0 if j != mine and content(r, j) else 1 if j != mine else 2].append(r)
    best = None
    for r in next(g for g in groups if g):
        w = float(r.weights[focus][favourite(r)])
        if best is None or w > best[1]:
            best = (r.head, w)
    return best[0]


def search(model: str, sentence: str, focus, contrast=None, layer=None, head="auto"):
    m = load_model(model)

    def compute(text, at):
        return attncore.run(text, model=model, layer=at or 0, heads=m.n_heads)

    return pick.choose(compute, sentence, model=model, layer=layer, head=head, focus=focus, contrast=contrast)


# ---- the rules against the brute force ----------------------------------------------------------

@pytest.mark.parametrize("name", ["tiny-bert", "tiny-gpt2"])
def test_every_layer_is_attncore_run_bit_for_bit(name):
    fast, slow = pick.every_layer(CAT, model=TINY[name]), every_layer_run(CAT, TINY[name])
    assert sorted(fast) == sorted(slow)
    for layer in slow:  # everything, as the JSON export holds it: the followed layer is the search's own copy
        assert fast[layer].to_dict() == slow[layer].to_dict()
        for h, r in enumerate(slow[layer].heads):
            assert fast[layer].heads[h].weights.tolist() == r.weights.tolist()
            assert fast[layer].heads[h].tokens == r.tokens and fast[layer].heads[h].layer == layer


@pytest.mark.parametrize("name", ["tiny-bert", "tiny-gpt2"])
@pytest.mark.parametrize("sentence, focus", [(CAT, "it"), (CAT, None), (CAT, "because"), ("the cat sat on the mat", None)])
def test_head_auto_on_the_tiny_models_is_the_brute_force(name, sentence, focus):
    layers = every_layer_run(sentence, TINY[name])
    i = attncore.resolve_focus(layers[0].heads[0], focus)
    layer, head, key, weight = brute_focused(layers, i)
    choice = search(TINY[name], sentence, focus)
    p = choice.pick
    assert (p.layer, p.head, p.key, p.share, p.focus) == (layer, head, key, weight, i)
    assert choice.head == head and choice.computed.heads[0].layer == layer
    assert p.searched == sum(m.n_heads for m in layers.values())
    result = invoke("--model", TINY[name], "--sentence", sentence, *(["--focus", focus] if focus else []), "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"layer {layer} head {head}\n" in result.output
    assert f"chosen because “{layers[0].tokens[i]}” gives {attncore.pct(weight)} to “{layers[0].tokens[key]}”" in result.output


@pytest.mark.parametrize("name", ["tiny-bert", "tiny-gpt2"])
def test_head_auto_with_a_layer_searches_that_layer_only(name):
    layers = every_layer_run(CAT, TINY[name], layers=[1])
    i = attncore.resolve_focus(layers[1].heads[0], "it")
    layer, head, key, weight = brute_focused(layers, i)
    p = search(TINY[name], CAT, "it", layer=1).pick
    assert (p.layer, p.head, p.key, p.share, p.layers) == (1, head, key, weight, (1,))
    result = invoke("--model", TINY[name], "--sentence", CAT, "--focus", "it", "--layer", "1", "--head", "auto", "--dry-run")
    assert result.exit_code == 0 and f"layer 1 head {head}\n" in result.output, result.output


@pytest.mark.parametrize("name", ["tiny-bert", "tiny-gpt2"])
def test_contrast_on_the_tiny_models_is_the_brute_force(name):
    layers, others = every_layer_run(CAT, TINY[name]), every_layer_run(A_CAT, TINY[name])
    i = layers[0].tokens.index("it")
    layer, head, distance = brute_contrast(layers, others, i)
    choice = search(TINY[name], CAT, "it", contrast=A_CAT)
    p = choice.pick
    assert (p.layer, p.head, p.rule, p.changed) == (layer, head, "contrast", (1,) if name == "tiny-bert" else (0,))
    assert p.moved == pytest.approx(distance, abs=1e-12)
    a, b = layers[layer].heads[head], others[layer].heads[head]
    # the token whose share moved most: the largest |change| among the shared content tokens
    changes = {j: abs(float(a.weights[i][j]) - float(b.weights[i][j])) for j in range(len(a.tokens))
               if a.tokens[j] == b.tokens[j] and j not in (0, i) and a.tokens[j] not in ("[CLS]", "[SEP]")
               and not (a.causal and j > i)}
    assert p.key == max(changes, key=lambda j: (changes[j], -j))
    assert (p.share, p.after) == (float(a.weights[i][p.key]), float(b.weights[i][p.key]))
    assert choice.contrast.heads[head].weights.tolist() == b.weights.tolist()


def test_contrast_with_a_head_given_measures_that_head():
    layers, others = every_layer_run(CAT, TINY["tiny-bert"]), every_layer_run(A_CAT, TINY["tiny-bert"])
    i = layers[0].tokens.index("it")
    choice = search(TINY["tiny-bert"], CAT, "it", contrast=A_CAT, layer=1, head=2)
    assert (choice.head, choice.pick.layer, choice.pick.head, choice.pick.searched) == (2, 1, 2, 1)
    assert choice.pick.moved == pytest.approx(brute_moved(layers[1].heads[2], others[1].heads[2], i), abs=1e-12)


def test_contrast_under_causal_attention_warns_on_stderr_and_in_the_video():
    result = invoke("--model", TINY["tiny-gpt2"], "--sentence", CAT, "--contrast", A_CAT, "--focus", "it", "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("warning: causal attention: 'it' sees only itself and the tokens before it")
    assert "the two rows are the same" not in result.stderr  # "the" -> "a" comes before "it": the row can move
    # a word changed after the focus: every head's row stays the same, and the warning says so
    result = invoke("--heads", "2", "--causal", "--contrast", "I have a dog", "--focus", "have", "--dry-run")
    assert result.exit_code == 0, result.output
    assert len(result.stderr.splitlines()) == 1 and "the two rows are the same" in result.stderr
    assert "by 0.0%" in result.stdout
    from scenetools import run_scene

    choice = search(TINY["tiny-gpt2"], CAT, "it", contrast=A_CAT)
    run = run_scene(choice.computed, ["contrast"], focus="it", head=choice.head, contrast=choice.contrast, pick=choice.pick)
    assert any("causal attention" in c.caption and c.stage == "contrast" for c in run.scene.log.cues)


@pytest.mark.parametrize("name", ["tiny-bert", "tiny-gpt2"])
@pytest.mark.parametrize("focus", ["it", "because", None])
def test_the_head_that_looks_elsewhere_is_the_brute_force(name, focus):
    for layer in every_layer_run(CAT, TINY[name]).values():
        i = attncore.resolve_focus(layer.heads[0], focus)
        for followed in range(layer.n_heads):
            assert pick.looks_elsewhere(layer, followed, i) == brute_elsewhere(layer, followed, i)


def test_a_blind_contrast_follows_head_autos_head():
    """Under causal attention a change after the focus moves no row: rather than the first of the tied
    heads (all at 0%), the search measures the head --head auto chooses."""
    blind = CAT.replace("was tired", "was cat")  # "tired" -> "cat": after "it", as many tokens
    layers = every_layer_run(CAT, TINY["tiny-gpt2"])
    i = layers[0].tokens.index("it")
    layer, head, _, _ = brute_focused(layers, i)
    assert (layer, head) != (0, 0)  # else the old tie-break would give the same head
    choice = search(TINY["tiny-gpt2"], CAT, "it", contrast=blind)
    p = choice.pick
    assert (p.layer, p.head, choice.head, p.searched, p.moved) == (layer, head, head, 1, 0.0)
    result = invoke("--model", TINY["tiny-gpt2"], "--sentence", CAT, "--contrast", blind, "--focus", "it", "--dry-run")
    assert "the two rows are the same" in result.stderr and f"layer {layer}, head {head}: its “it” row moves" in result.stdout
    # the video says that nothing moved, rather than "from 46.3% to 46.3%", in both languages
    from scenetools import run_scene

    for language, nothing in (("en", "Nothing moved"), ("zh", "什么都没有变")):
        run = run_scene(choice.computed, ["contrast"], focus="it", head=choice.head, contrast=choice.contrast,
                        pick=choice.pick, language=language)
        cues = run.scene.log.cues
        assert any(c.text.startswith(nothing) for c in cues)
        assert not any(re.search(r"%\s*→", c.caption) for c in cues)  # no "46.3% → 46.3%"

# ---- MiniLM: the minimal pair ------------------------------------------------------------

@pytest.fixture(scope="module")
def minilm():
    from conftest import need_model

    need_model("minilm")
    return every_layer_run(TIRED, "minilm"), every_layer_run(WIDE, "minilm")


def test_head_auto_on_minilm_is_the_brute_force(minilm):
    layers, _ = minilm
    i = layers[0].tokens.index("it")
    layer, head, key, weight = brute_focused(layers, i)
    p = search("minilm", TIRED, "it").pick
    assert (p.layer, p.head, p.key, p.share) == (layer, head, key, weight)
    assert (layer, head, layers[0].tokens[key], attncore.pct(weight)) == (2, 1, "tired", "69.4%")  # measured
    # the default with --model and neither --layer nor --head is auto
    result = invoke("--model", "minilm", "--sentence", TIRED, "--focus", "it", "--dry-run")
    assert "model: all-MiniLM-L6-v2 layer 2 head 1\n" in result.output, result.output
    assert "chosen because “it” gives 69.4% to “tired”, the other tokens 11.2% on average (of 72 heads)" in result.output
    assert "-minilm-l2-h1.mp4" in result.output
    # the search within layer 3 finds the head the README follows (measured: the figures)
    p = search("minilm", TIRED, "it", layer=3).pick
    assert (p.layer, p.head, layers[0].tokens[p.key], attncore.pct(p.share)) == (3, 1, "animal", "64.0%")
    assert p.special and attncore.pct(p.others) == "8.9%"
    # within layer 5, head 11 gives "animal" the most (64.7%) but every token does (39.5% on average): passed over
    animal = layers[0].tokens.index("animal")
    assert attncore.pct(layers[5].heads[11].weights[i][animal]) == "64.7%"
    assert attncore.pct(brute_others(layers[5].heads[11], i, animal)) == "39.5%"
    p = search("minilm", TIRED, "it", layer=5).pick
    assert p.head != 11 and p.special and (p.layer, p.head) == brute_focused({5: layers[5]}, i)[:2]
    # --layer without --head keeps head 0, as before
    assert "layer 5 head 0\n" in invoke("--model", "minilm", "--layer", "5", "--dry-run").output


def test_the_head_that_looks_elsewhere_on_minilm_is_not_a_hidden_token(minilm):
    """MiniLM's layer 5, the README's head 11 ("it" -> "animal" 64.7%): ten other heads give "it"'s
    largest weight to [CLS] (head 0 the most, 43.1%), which the video hides; head 9 gives 29.8% to
    "tired" (measured)."""
    layers, _ = minilm
    layer = layers[5]
    i = layer.tokens.index("it")
    h = pick.looks_elsewhere(layer, 11, i)
    assert h == brute_elsewhere(layer, 11, i) == 9
    assert attncore.pct(layer.heads[9].weights[i][layer.tokens.index("tired")]) == "29.8%"


def test_contrast_on_minilm_is_the_brute_force_and_the_winograd_numbers(minilm):
    layers, others = minilm
    i = layers[0].tokens.index("it")
    layer, head, distance = brute_contrast(layers, others, i)
    assert (layer, head) == (3, 1)
    p = search("minilm", TIRED, "it", contrast=WIDE).pick
    assert (p.layer, p.head, layers[0].tokens[p.key]) == (3, 1, "animal")
    assert p.moved == pytest.approx(distance, abs=1e-12) and attncore.pct(p.moved) == "41.7%"
    animal, street = layers[0].tokens.index("animal"), layers[0].tokens.index("street")

    def shares(layer, head, j):
        return attncore.pct(layers[layer].heads[head].weights[i][j]), attncore.pct(others[layer].heads[head].weights[i][j])

    assert shares(3, 1, animal) == ("64.0%", "26.6%")  # moves most
    assert shares(5, 11, animal) == ("64.7%", "50.3%")  # barely moves
    assert shares(4, 0, animal) == ("11.5%", "6.0%") and shares(4, 0, street) == ("8.9%", "19.2%")  # flips
    result = invoke("--model", "minilm", "--sentence", TIRED, "--contrast", WIDE, "--focus", "it", "--dry-run")
    assert result.exit_code == 0 and not result.stderr, result.output
    assert "model: all-MiniLM-L6-v2 layer 3 head 1\n" in result.output
    assert "stages: title, analogy, embeddings, projection, scores, softmax, weighted-sum, heads, contrast, summary" in result.output
    assert "-minilm-l3-h1-contrast.mp4" in result.output


@pytest.mark.parametrize("language", ["en", "zh"])
def test_title_and_contrast_stage_quote_the_chosen_heads_numbers(minilm, language):
    """Every number the title and the contrast stage show is the followed head's, the contrast
    sentence's or the row's distance, worked out here; the layout stays readable."""
    from scenetools import assert_readable_layout, expected_text, run_scene, says

    layers, others = minilm
    choice = search("minilm", TIRED, "it", contrast=WIDE)
    run = run_scene(choice.computed, ["title", "contrast"], focus="it", head=choice.head, hide_special=True,
                    contrast=choice.contrast, pick=choice.pick, snapshots=True, language=language)
    a, b = layers[3].heads[1], others[3].heads[1]
    i = a.tokens.index("it")
    shown = [s for s in run.scene.log.shown if s.stage in ("title", "contrast")]
    assert {s.source.of for s in shown} == {None, "contrast"}
    for s in shown:
        if s.source.field == "moved":
            assert s.text == attncore.pct(brute_moved(a, b, i))
        elif s.source.of == "contrast":
            assert s.source.field == "weights" and s.source.index[0] == i, s
            assert s.text == attncore.pct(float(b.weights[i][s.source.index[1]])), s
        else:  # the followed head's: the title's handoff to X too
            assert s.text == expected_text(a, s.source), s
    texts = [t for snap in run.snapshots for t, _, _, _ in snap.texts]
    assert "64.0%" in texts and "26.6%" in texts
    said = " ".join(c.text for c in run.scene.log.cues)
    assert "41.7%" in said and "64.0%" in said and "26.6%" in said
    assert says(said, str(len(layers) * len(layers[0].heads)))  # the title says of how many heads it was chosen
    assert_readable_layout(run)


def test_the_focused_title_quotes_the_share():
    from scenetools import run_scene

    choice = search(TINY["tiny-bert"], CAT, "it")
    run = run_scene(choice.computed, ["title"], focus="it", head=choice.head, pick=choice.pick)
    p = choice.pick
    [cue] = [c for c in run.scene.log.cues if "Why this head?" in c.text]
    assert attncore.pct(p.share) in cue.text and "8 heads" in cue.text
    sources = [n.source for n in cue.numbers]  # the share, then (when said) the other rows' mean on that key
    assert sources[0].index == (p.focus, p.key) and all(s.step[:1] == ("focus_look",) for s in sources[1:])


# ---- bad use: one line each ----------------------------------------------------------------------

@pytest.mark.parametrize("args, starts", [
    (["--contrast", "I have a dog"], "contrast: goes with --model or --heads N"),
    (["--head", "auto"], "head: auto goes with --model or --heads N"),
    (["--head", "first", "--heads", "2"], "Invalid value for '--head': 'first' is neither a head's number nor auto"),
    (["--heads", "2", "--contrast", "I have a big dog"], "contrast: 5 tokens (I | have | a | big | dog) against the sentence's 4"),
    (["--heads", "2", "--contrast", "You have a cat", "--focus", "I"], "contrast: has no 'I' at index 0 (the focus)"),
    (["--heads", "2", "--contrast", "I have a cat"], "contrast: splits into the same tokens as the sentence"),
    (["--heads", "2", "--stage", "contrast"], "stage: 'contrast' compares two sentences"),
    (["--model", TINY["tiny-bert"], "--sentence", CAT, "--focus", "it", "--contrast", "the cat sat on the mat because was it tired"],
     "contrast: has no 'it' at index 8 (the focus)"),
    (["--model", TINY["tiny-bert"], "--sentence", "cat", "--head", "auto"], "head: auto found no word for 'cat'"),
    (["--model", TINY["tiny-bert"], "--contrast", CAT, "--head", "9"], "head: 9 is out of range"),
])
def test_bad_use_is_one_line(args, starts):
    result = invoke(*args, "--dry-run")
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {starts}"), result.output


def test_a_sentence_with_nothing_to_choose_keeps_layer_0_head_0_by_default():
    result = invoke("--model", TINY["tiny-bert"], "--sentence", "cat", "--dry-run")
    assert result.exit_code == 0 and "layer 0 head 0\n" in result.output and "chosen" not in result.output, result.output


def test_the_contrast_stage_draws_only_catalogue_text_numbers_and_tokens():
    """Toy heads in the pseudo-language (every catalogue string between ⟦ ⟧): each visible text of the
    title and the contrast stage is marked, a number shown, a token, or "…"."""
    from scenetools import run_scene

    from scenes.strings import PSEUDO_CLOSE, PSEUDO_OPEN

    def toy(text, _layer):
        return attncore.run(text, heads=2)

    choice = pick.choose(toy, "I have a cat", head="auto", focus="have", contrast="I have a dog")
    run = run_scene(choice.computed, ["title", "contrast"], focus="have", head=choice.head, contrast=choice.contrast,
                    pick=choice.pick, snapshots=True, language="pseudo")
    numbers = {s.text for s in run.scene.log.shown}
    tokens = {*choice.computed.tokens, *choice.contrast.tokens}
    seen = {t for snap in run.snapshots if snap.stage == "contrast" for t, _, _, _ in snap.texts}
    assert any(PSEUDO_OPEN in t for t in seen)
    unmarked = [t for t in seen if not (PSEUDO_OPEN in t or PSEUDO_CLOSE in t or t in numbers or t in tokens or t == "…")]
    assert not unmarked, unmarked


@pytest.mark.slow
@pytest.mark.parametrize("model, sentence, layer, followed, focus, want, token, share", [
    ("smollm2-135m", TIRED, 13, 8, "it", 5, "because", "67.4%"),  # 6 other heads' favourite is "The"
    ("qwen2.5-coder-0.5b", "我有一只猫，它很可爱。", 5, 4, "它", 8, "只", "59.5%"),  # 7 other heads' is "我"
])
def test_the_head_that_looks_elsewhere_in_a_decoder_is_not_the_first_token(model, sentence, layer, followed, focus, want,
                                                                            token, share):
    """A decoder's heads park most of the focus's attention on the first token: the heads stage names a head
    that looks at a word instead (measured)."""
    from conftest import need_model

    need_model(model)
    heads = attncore.run(sentence, model=model, layer=layer, heads=load_model(model).n_heads)
    i = heads.tokens.index(focus)
    assert pick.looks_elsewhere(heads, followed, i) == brute_elsewhere(heads, followed, i) == want
    assert attncore.pct(heads.heads[want].weights[i][heads.tokens.index(token)]) == share
