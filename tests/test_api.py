"""The Python API (README "From Python"): the View resolved and checked once, the outputs' registry
and its derived clashes, and outputs.make giving what render.py gives."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from click.testing import CliRunner

import attncore
import render
from attncore import InputError
from scenes import STAGE_FACTS, outputs
from scenes.outputs import OUTPUTS, OptionError
from scenes.view import MAX_TOKENS, View


def test_a_view_is_resolved_once_from_the_options():
    heads = attncore.run("I have a cat", heads=2)
    view = View.resolve(heads, focus="have", head=1, stages=("scores", "softmax"), language="zh")
    assert view.result is heads.heads[1] and view.heads is heads and view.several
    assert (view.focus, view.head, view.stages, view.language, view.hidden) == (1, 1, ("scores", "softmax"), "zh",
                                                                                frozenset())
    assert View.resolve(attncore.run("I have a cat")).focus == 3  # the last token by default
    with pytest.raises(InputError, match="head: 1 is out of range; there is one head"):
        View.resolve(attncore.run("I have a cat"), head=1)
    plain = tuple(s.name for s in STAGE_FACTS if not (s.several_heads or s.on_request or s.rope or s.generating))
    assert View.resolve(attncore.run("I have a cat")).stages == plain  # every stage with no condition, in order
    assert plain[:3] == ("title", "analogy", "embeddings") and "heads" not in plain and "contrast" not in plain
    assert view.timing is None and view.speaking().timing == {}


@pytest.mark.parametrize("options, message", [
    (dict(head=2), "head: 2 is out of range; there are heads 0 to 1"),
    (dict(head=True), "head: True is out of range"),
    (dict(stages=("softmax", "bogus")), "stage: unknown stage 'bogus'"),
    (dict(language="fr"), "lang: unknown language 'fr'"),
    (dict(quality="8k"), "quality: unknown quality '8k'"),
    (dict(theme="purple"), "theme: unknown theme 'purple'; choose from dark, light"),
    (dict(focus="dog"), "focus:"),
    (dict(hide_special=True), "hide-special: goes with --model (only a model's tokenizer adds tokens to hide)"),
])
def test_a_view_refuses_what_cannot_be_shown_in_one_line(options, message):
    with pytest.raises(InputError) as refused:
        View.resolve(attncore.run("I have a cat", heads=2), **options)
    assert str(refused.value).startswith(message) and "\n" not in str(refused.value)


def test_one_head_has_no_heads_stage_and_long_sentences_are_refused():
    with pytest.raises(InputError, match="stage: 'heads' shows several heads"):
        View.resolve(attncore.run("I have a cat"), stages=("heads",))
    words = " ".join(f"w{n}" for n in range(MAX_TOKENS + 1))
    with pytest.raises(InputError, match=f"sentence: {MAX_TOKENS + 1} tokens; the video shows at most {MAX_TOKENS}"):
        View.resolve(attncore.run(words))
    assert View.resolve(attncore.run(" ".join(f"w{n}" for n in range(MAX_TOKENS)))).result.n_tokens == MAX_TOKENS


@pytest.mark.parametrize("flag, message", [
    ("SEVERAL_HEADS", "stage: 'summary' shows several heads"),
    ("ROPE", "stage: 'summary' shows rotary positions"),
    ("GENERATING", "stage: 'summary' generates a next token"),
])
def test_a_stages_condition_is_checked_by_its_flag_and_names_it(monkeypatch, flag, message):
    """A new stage with a condition of STAGE_FACTS (several_heads, rope, generating) is refused by View.resolve
    without a check of its own, named in the line: here summary, given each flag in turn."""
    import scenes.view

    monkeypatch.setattr(scenes.view, flag, (*getattr(scenes.view, flag), "summary"))
    with pytest.raises(InputError, match=message):
        View.resolve(attncore.run("I have a cat"), stages=("embeddings", "summary"))


def chosen(*asked, flags=()):
    return [(o.name, p) for o, p in outputs.choose(list(asked), frozenset(flags))]


def test_the_clashes_follow_from_the_registry():
    """What each output goes with is written once, on the Output; the messages name the options."""
    assert chosen() == [("video", None)]
    assert chosen(("--numbers", Path("n.json"))) == [("numbers", Path("n.json")), ("video", None)]
    # a suffix picks among the outputs of one option; what replaces the video drops it
    assert chosen(("--handout", Path("h.HTML")), ("--output", Path("v.mp4"))) == [("explore", Path("h.HTML"))]
    assert chosen(("--handout", Path("h.md")), ("--stills", Path("st"))) == [("handout", Path("h.md")),
                                                                              ("stills", Path("st"))]
    assert chosen(("--script", Path("s.md")), flags={"voice"}) == [("script", Path("s.md"))]
    refusals = [
        ((("--slides", None), ("--script", Path("s.md"))), (), "--slides and --script make different outputs"),
        ((("--stills", Path("st")),), {"voice"}, "--voice goes with --script, --slides or a video; not with --stills"),
        ((("--handout", Path("h.md")),), {"subtitles"}, "--subtitles goes with a video; not with --handout"),
        ((("--output", Path("v.gif")),), {"voice"}, "--voice: a GIF has no sound"),
        ((("--handout", Path("h.txt")),), (), "'h.txt' must end in .md or .html"),
        ((("--output", Path("v.pptx")),), (), "'v.pptx' must end in .mp4, .gif, .webm or .mov "
                                              "(--slides writes .html or .pptx)"),
    ]
    for asked, flags, message in refusals:
        with pytest.raises(InputError) as refused:
            chosen(*asked, flags=flags)
        assert str(refused.value) == message or str(refused.value).startswith(message), (asked, str(refused.value))
    with pytest.raises(OptionError) as refused:
        chosen(("--slides", Path("deck.pdf")))
    assert refused.value.option == "--output"  # the file came from --output: click names that option


def test_the_api_makes_what_the_command_makes(tmp_path):
    """outputs.make and render.py: the same handout and explore page, byte for byte."""
    cat = attncore.run("The cat sat on the mat because it was tired", heads=2)
    written = outputs.make("handout", cat, tmp_path / "api.md", focus="it", head=1)
    assert written == [tmp_path / "api.md"]
    outputs.make("explore", cat, tmp_path / "api.html", focus="it", head=1, language="zh")
    for name, extra in (("cli.md", []), ("cli.html", ["--lang", "zh"])):
        result = CliRunner().invoke(render.main, ["--sentence", "The cat sat on the mat because it was tired",
                                                  "--heads", "2", "--head", "1", "--focus", "it", *extra,
                                                  "--handout", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    assert (tmp_path / "api.md").read_bytes() == (tmp_path / "cli.md").read_bytes()
    assert (tmp_path / "api.html").read_bytes() == (tmp_path / "cli.html").read_bytes()
    assert "“it”" in (tmp_path / "api.md").read_text(encoding="utf-8")


def test_the_api_refuses_in_one_line_and_writes_nothing(tmp_path):
    r = attncore.run("I have a cat")
    for name, path, options, message in (
            ("film", "a.mp4", {}, "output: unknown output 'film'; choose from " + ", ".join(OUTPUTS)),
            ("video", "a.txt", {}, "'a.txt' must end in .mp4, .gif, .webm or .mov"),
            ("handout", "a.md", {"voice": True}, "--voice goes with"),
            ("video", "a.mp4", {"focus": "dog"}, "focus:")):
        with pytest.raises(InputError) as refused:
            outputs.make(name, r, tmp_path / path, **options)
        assert str(refused.value).startswith(message), str(refused.value)
    assert not list(tmp_path.iterdir())


@pytest.mark.render
def test_a_notebook_makes_a_video_and_stills(tmp_path):
    r = attncore.run("cat")
    from scenetools import assert_drawn, assert_picture

    [video] = outputs.make("video", r, tmp_path / "cat.mp4", stages=("title",))
    with av.open(str(video)) as container:
        assert container.streams.video[0].codec_context.height == 480
        frames = [f.to_ndarray(format="gray") for f in container.decode(video=0)]
    assert len(frames) > 15
    assert_drawn(frames[-1], "the last frame")  # not one colour: the title's text is on it
    assert max(np.abs(f.astype(int) - frames[-1]).max() for f in frames) > 100  # and it moves: written in
    stills = outputs.make("stills", r, tmp_path / "stills", stages=("title", "embeddings"))
    assert sorted(p.name for p in stills) == ["1-title-end.png", "1-title-key.png", "2-embeddings-end.png",
                                              "2-embeddings-key.png", "stages.png"]
    for still in stills:
        assert_picture(still, size=None if still.name == "stages.png" else (854, 480))
    assert not [p for p in tmp_path.rglob(".render-*")]


CAT = "The cat sat on the mat because it was tired"
DOG = "The dog sat on the mat because it was tired"


def test_the_api_takes_a_contrast_as_the_command_does(tmp_path):
    """outputs.make(contrast=...): the sentence, computed as the result was (attncore.alike), or its
    result; the head whose focus row moves most is followed, as render.py --contrast follows it; the
    same handout and page, byte for byte; a head given is measured, not chosen."""
    cat = attncore.run(CAT, heads=2)
    outputs.make("handout", cat, tmp_path / "api.md", focus="it", contrast=DOG)
    outputs.make("handout", cat, tmp_path / "given.md", focus="it", contrast=attncore.run(DOG, heads=2))
    outputs.make("explore", cat, tmp_path / "api.html", focus="it", contrast=DOG, language="zh")
    for name, extra in (("cli.md", []), ("cli.html", ["--lang", "zh"])):
        result = CliRunner().invoke(render.main, ["--sentence", CAT, "--heads", "2", "--focus", "it", "--contrast", DOG,
                                                  *extra, "--handout", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    assert (tmp_path / "api.md").read_bytes() == (tmp_path / "cli.md").read_bytes() == (tmp_path / "given.md").read_bytes()
    assert (tmp_path / "api.html").read_bytes() == (tmp_path / "cli.html").read_bytes()
    text = (tmp_path / "api.md").read_text(encoding="utf-8")
    assert "## Contrast: change one word" in text and "more than in any other of the 2 heads" in text
    outputs.make("handout", cat, tmp_path / "head.md", focus="it", contrast=DOG, head=0)
    measured = (tmp_path / "head.md").read_text(encoding="utf-8")
    assert "| head 0 (followed) |" in measured and "more than in any other" not in measured


def test_a_contrast_the_api_cannot_take_is_refused_in_one_line(tmp_path):
    cat = attncore.run(CAT, heads=2)
    custom = attncore.run("I have a cat", weights={"embeddings": [[0.1, 0.2, 0.3, 0.4]] * 4})
    for computed, options, message in (
            (cat, {"contrast": "The dog sat on a mat because it was so tired today"}, "contrast: 12 tokens"),
            (cat, {"contrast": attncore.run(DOG)}, "contrast: must be computed as the sentence is"),
            (custom, {"contrast": "I have a dog"}, "contrast: the result's embeddings are custom numbers"),
            (cat, {"contrast": DOG, "head": 2}, "head: 2 is out of range")):
        with pytest.raises(InputError) as refused:
            outputs.make("handout", computed, tmp_path / "h.md", focus=-1, **options)
        assert str(refused.value).startswith(message) and "\n" not in str(refused.value), str(refused.value)
    assert not list(tmp_path.iterdir())
