"""What no test ran before (issue 34): the packaged decoders through render.py (a dry run, `--head auto` and
`--contrast` on a packaged decoder and on a GGUF file given by its path, one stage rendered at low quality),
the heads stage with grouped-query attention on real models (SmolLM2's 9 query heads in 3 K/V groups, Qwen's
14 in 2), the example course planned (--dry-run), a course lecture of a real model with `head = "auto"`,
`contrast` and `keep`, and a Dask worker of another code version refusing its tasks. The decoders' checks
read the packaged GGUF files (*slow*, skipped when they are not fetched); references are explicit: the
files' own metadata (gguf's reader), tests/test_pick.py's brute-force searches."""

from __future__ import annotations

import re
from pathlib import Path

import av
import pytest
from click.testing import CliRunner
from conftest import need_model
from scenetools import assert_drawn, assert_readable_layout, run_scene
from test_pick import TIRED, brute_contrast, brute_focused

import attncore
import render

ROOT = Path(__file__).parent.parent
SMOL = "smollm2-135m"
DOG = "The dog didn't cross the street because it was too tired"  # a word before "it": a causal row can move


def invoke(*args):
    return CliRunner().invoke(render.main, [str(a) for a in args])


def gguf_file(name: str) -> Path:
    from attncore.model import locate

    need_model(name)
    return Path(locate(name)[0])


def metadata(name: str) -> dict:
    """The counts the GGUF file itself records (gguf's reader, not attncore's)."""
    import gguf

    reader = gguf.GGUFReader(str(gguf_file(name)))
    arch = reader.fields["general.architecture"].contents()
    meta = {k.split(".")[-1]: reader.fields[f"{arch}.{k}"].contents() for k in (
        "block_count", "attention.head_count", "attention.head_count_kv", "embedding_length")}
    meta["vocab"] = len(reader.fields["tokenizer.ggml.tokens"].contents())
    return meta


# ---- render.py with a packaged decoder --------------------------------------------------------------

@pytest.mark.slow
def test_a_packaged_decoder_plans_its_video():
    meta = metadata(SMOL)
    result = invoke("--model", SMOL, "--sentence", TIRED, "--layer", 13, "--head", 8, "--focus", "it", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "model: SmolLM2-135M-Instruct layer 13 head 8\n" in result.output
    kv, group = meta["head_count_kv"], meta["head_count"] // meta["head_count_kv"]
    assert f"key/value head {8 // group} of {kv}, shared by query heads {8 // group * group} to " \
           f"{8 // group * group + group - 1}." in result.output
    stages = re.search(r"^stages: (.*)$", result.output, re.M).group(1).split(", ")
    assert {"rope", "heads", "kv-cache"} <= set(stages) and "contrast" not in stages
    assert "causal" in result.output


@pytest.mark.slow
def test_head_auto_on_a_packaged_decoder_is_the_brute_force_choice():
    meta = metadata(SMOL)
    layer = attncore.run(TIRED, model=SMOL, layer=13, heads=meta["head_count"])
    focus = layer.tokens.index("it")
    _, want, _, _ = brute_focused({13: layer}, focus)
    result = invoke("--model", SMOL, "--sentence", TIRED, "--layer", 13, "--head", "auto", "--focus", "it", "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"model: SmolLM2-135M-Instruct layer 13 head {want}\n" in result.output


@pytest.mark.slow
def test_a_contrast_on_a_gguf_file_follows_the_head_whose_row_moves_most():
    path = gguf_file(SMOL)
    heads = metadata(SMOL)["head_count"]
    a, b = (attncore.run(s, model=str(path), layer=13, heads=heads) for s in (TIRED, DOG))
    focus = a.tokens.index("it")
    _, want, moved = brute_contrast({13: a}, {13: b}, focus)
    assert moved > 0.01  # "animal" → "dog" comes before "it": the row can move
    result = invoke("--model", path, "--sentence", TIRED, "--layer", 13, "--head", "auto", "--focus", "it",
                    "--contrast", DOG, "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"layer 13 head {want}\n" in result.output
    assert f"by {attncore.pct(moved)}" in result.output
    assert "contrast" in re.search(r"^stages: (.*)$", result.output, re.M).group(1).split(", ")


@pytest.mark.slow
@pytest.mark.render
def test_a_packaged_decoders_stage_renders(tmp_path):
    need_model(SMOL)
    out = tmp_path / "kv.mp4"
    result = invoke("--model", SMOL, "--sentence", "I have a cat", "--layer", 13, "--head", 8, "--stage", "kv-cache",
                    "--quality", "low", "--output", out, "--no-cache")
    assert result.exit_code == 0, result.output
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.height == 480
        frames = [f.to_ndarray(format="gray") for f in container.decode(video=0)]
    assert len(frames) > 30
    assert_drawn(frames[-1], "the kv-cache stage's last frame")


# ---- the heads stage with grouped-query attention on real models -----------------------------------

DECODERS = {  # (sentence, layer, head)
    SMOL: (TIRED, 13, 8),
    "qwen2.5-coder-0.5b": ("我有一只猫，它很可爱。", 5, 4),
}


@pytest.fixture(scope="module", params=list(DECODERS))
def decoder(request):
    """A packaged decoder's heads and KV-cache stages in both languages (every step recorded), and its GGUF
    metadata."""
    name = request.param
    meta = metadata(name)
    sentence, layer, head = DECODERS[name]
    result = attncore.run(sentence, model=name, layer=layer, heads=meta["head_count"])
    runs = {language: run_scene(result, ["heads", "kv-cache"], language=language, speech={}, head=head, snapshots=True)
            for language in ("en", "zh")}
    return name, meta, runs


@pytest.mark.slow
def test_the_heads_stage_groups_the_query_heads_as_the_file_does(decoder):
    """9 query heads in 3 K/V groups (SmolLM2), 14 in 2 (Qwen): the narration's counts and the KV cache's bytes
    a token are the file's (layers × K/V heads × a head's dimensions × 2 for K and V × 2 bytes), the vocabulary
    the file's tokens, the cache's rows the sentence's tokens; every step stays readable."""
    name, meta, runs = decoder
    layers, heads, kv = meta["block_count"], meta["head_count"], meta["head_count_kv"]
    d_head = meta["embedding_length"] // heads
    assert (heads, kv) == {SMOL: (9, 3), "qwen2.5-coder-0.5b": (14, 2)}[name]
    en = "\n".join(c.text for c in runs["en"].scene.log.cues)
    zh = "\n".join(c.text for c in runs["zh"].scene.log.cues)
    ints = lambda pattern, text: [tuple(map(int, m.groups())) for m in re.finditer(pattern, text)]
    assert ints(r"These (\d+) query heads have only (\d+) key/value heads between them: each box is one K/V head "
                r"and the (\d+) query heads", en) == [(heads, kv, heads // kv)]
    assert ints(r"grows by (\d+) layers × (\d+) K/V heads × (\d+) numbers × 2, for K and V, × 2 bytes: (\d+) bytes",
                en) == [(layers, kv, d_head, layers * kv * d_head * 4)]
    assert ints(r"it would take (\d+) × (\d+) × (\d+) × 2 × 2 = (\d+) bytes", en) == [
        (layers, heads, d_head, layers * heads * d_head * 4)]
    assert ints(r"也就是 (\d+) 字节", zh) == [(layers * kv * d_head * 4,)]
    assert ints(r"each of the (\d+) tokens of its vocabulary", en) == ints(r"全部 (\d+) 个词元", zh) == [(meta["vocab"],)]
    S = len(runs["en"].scene.ctx.result.tokens)
    assert ints(r"the KV cache, (\d+) rows each", en) == [(S,)] and ints(r"from (\d+) to (\d+) rows", en) == [(S, S + 1)]
    for run in runs.values():
        assert_readable_layout(run)


@pytest.mark.slow
def test_the_decoder_stages_are_spoken_as_written(decoder):
    """Every English line's numbers read back from its spoken words (12288 and 86016 among them, tests/test_voice's
    reader); every Chinese line says each number it writes, whole, in order (一万二千二百八十八)."""
    from test_voice import chinese_reading, english_numbers, said_whole, written_numbers

    _, _, runs = decoder
    for cue in runs["en"].scene.log.cues:
        assert english_numbers(cue.spoken) == pytest.approx(written_numbers(cue.text)), (cue.text, cue.spoken)
    large = 0
    for cue in runs["zh"].scene.log.cues:
        at = 0
        for m in re.finditer(r"(?<![\w.])(\d+)/(\d+)(?![\w.])|(?<![\w.])[−-]?\d+(?:\.\d+)?%?", cue.text):
            if m.group(1):  # a fraction, 1/7: 七分之一
                reading = chinese_reading(m.group(2)) + "分之" + chinese_reading(m.group(1))
            else:
                reading = chinese_reading(m.group(0), cue.text[:m.start()], cue.text[m.end():])
                large += float(m.group(0).lstrip("−-").rstrip("%")) >= 10000
            at = said_whole(reading, cue.spoken, at)
            assert at is not None, (m.group(0), reading, cue.text, cue.spoken)
    assert large >= 3  # the KV cache's bytes a token, with and without grouped-query attention; the vocabulary


# ---- courses ----------------------------------------------------------------------------------------

@pytest.mark.slow
def test_the_example_course_is_planned(tmp_path):
    """examples/course.toml, --dry-run: every lecture in both languages, each with its files, nothing written."""
    need_model("minilm"), need_model("m3e-small"), need_model("qwen2.5-coder-0.5b")
    text = (ROOT / "examples" / "course.toml").read_text(encoding="utf-8")
    lectures = text.count("[[lecture]]")
    result = invoke("--course", ROOT / "examples" / "course.toml", "--output", tmp_path / "out", "--dry-run")
    assert result.exit_code == 0, result.output
    planned = [line for line in result.output.splitlines() if re.match(r"lecture \d+ \(.*\) \[(en|zh)\]: ", line)]
    assert len(planned) == 2 * lectures, result.output
    listed = [line for line in result.output.splitlines() if line.startswith("  ")]
    assert len(listed) >= 2 * lectures * 5  # video, subtitles, slides, explore, handout at least
    assert "qwen2.5" in result.output.lower() or "Qwen2.5" in result.output
    assert not (tmp_path / "out").exists()


COURSE = """title = "A model's lecture"
languages = ["en"]
stages = ["title"]
outputs = ["video", "handout"]
[[lecture]]
sentence = "The animal didn't cross the street because it was too tired"
model = "minilm"
layer = 3
head = "auto"
focus = "it"
contrast = "The animal didn't cross the street because it was too wide"
keep = ["street"]
hide_special = true
"""


@pytest.mark.slow
@pytest.mark.render
def test_a_course_lecture_with_a_model_auto_head_contrast_and_keep(tmp_path, monkeypatch):
    need_model("minilm")
    monkeypatch.setenv("ATTENTION_EXPLAINER_CACHE", str(tmp_path / "cache"))
    a = attncore.run(TIRED, model="minilm", layer=3, heads=12)
    b = attncore.run(TIRED.replace("tired", "wide"), model="minilm", layer=3, heads=12)
    focus = a.tokens.index("it")
    _, want, moved = brute_contrast({3: a}, {3: b}, focus)
    (tmp_path / "course.toml").write_text(COURSE, encoding="utf-8")
    result = invoke("--course", tmp_path / "course.toml", "--output", tmp_path / "out")
    assert result.exit_code == 0, result.output
    [folder] = [p for p in (tmp_path / "out").iterdir() if p.is_dir() and p.name.startswith("01-")]
    handout = (folder / "en" / "handout.md").read_text(encoding="utf-8")
    assert f"all-MiniLM-L6-v2 · layer 3 · head {want}  (counted from 0)" in handout, handout[:600]
    assert f"{attncore.pct(moved)} of the attention of “it” goes elsewhere" in handout  # the contrast, measured
    with av.open(str(folder / "en" / "video.mp4")) as container:
        frames = [f.to_ndarray(format="gray") for f in container.decode(video=0)]
    assert_drawn(frames[-1], "the lecture's last frame")


def test_a_dask_worker_of_another_code_version_refuses_its_tasks(tmp_path, monkeypatch):
    """The client's code version differs from the worker's (its files edited after the worker started): the
    worker refuses each task rather than render frames its cache key does not describe; the course fails in
    one line naming both versions, and no video is left under its name."""
    distributed = pytest.importorskip("distributed")
    from scenes.production import batch

    monkeypatch.setenv("ATTENTION_EXPLAINER_CACHE", str(tmp_path / "cache"))  # empty: every stage goes to the worker
    monkeypatch.setattr(batch, "code_version", lambda: "f" * 64)  # the client's; the worker process has the real one
    (tmp_path / "course.toml").write_text('title = "T"\nlanguages = ["en"]\nstages = ["title"]\noutputs = ["video"]\n'
                                          '[[lecture]]\nsentence = "cat"\n', encoding="utf-8")
    with distributed.LocalCluster(n_workers=1, processes=True, threads_per_worker=1, dashboard_address=None) as cluster:
        result = invoke("--course", tmp_path / "course.toml", "--output", tmp_path / "out", "--cluster",
                        cluster.scheduler_address)
    assert result.exit_code != 0, result.output
    assert "this Dask worker's code, packages or fonts (version" in result.output
    assert "differ from the client's (ffffffffffff)" in result.output
    assert "Traceback" not in result.output
    assert not list((tmp_path / "out").rglob("video.mp4"))
