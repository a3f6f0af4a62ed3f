"""Making the video stage by stage: parallel processes give the frames one scene gives, and the cache
of finished stages serves an unchanged re-render and nothing else."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import pytest

import attncore
import render
from scenes.outputs import Settings
from scenes.outputs.video import render_video
from scenes.production import cache, media, options, pool
from scenes.production.cache import StageCache
from scenes.view import View

# title -> embeddings meet; embeddings -> softmax do not (a cross-fade the softmax stage must make alone)
STAGES = ("title", "embeddings", "softmax")
VIEW = dict(focus=None, language="en", head=0, hide_special=False)


def make_video(result, *, output: Path, stages, quality="low", subtitles=False, jobs=None, cache=True, **view):
    """The video of `result` as render.py makes it (scenes.outputs.video), published at the end."""
    return render_video(View.resolve(result, stages=stages, quality=quality, **view), output,
                        settings=Settings(jobs=jobs, cache=cache, subtitles=subtitles))


def stage_keys(computed, stages, view, quality, suffix):
    """scenes.production.cache.stage_keys of the View these options resolve to (`hidden`: these
    tokens left out of the pictures, as --hide-special leaves a model's)."""
    view = dict(view)
    hidden = frozenset(view.pop("hidden", ()))
    resolved = replace(View.resolve(computed, stages=stages, quality=quality, **view), hidden=hidden)
    return cache.stage_keys(resolved, suffix)


def decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def one_scene(result, stages, folder: Path) -> tuple[Path, list[int]]:
    """The stages played in one manim scene, as before the video was made stage by stage: its video
    and the frame count at each stage's end (from the driver's clock)."""
    from manim import config, tempconfig

    from scenes.video import explainer_scene

    ends = []
    with tempconfig(options.render_options("low", folder, ".mp4")):
        scene = explainer_scene(View.resolve(result, stages=stages), on_still=lambda s, stage, moment: moment == "end" and ends.append(
            round(s.driver.clock * config.frame_rate)))
        scene.render()
    video = next(p for p in folder.rglob("video.mp4") if "partial_movie_files" not in p.parts)
    return video, ends


@pytest.mark.render
def test_parallel_stages_give_the_frames_of_one_scene(tmp_path):
    result = attncore.run()
    out = tmp_path / "parallel.mp4"
    made = make_video(result, stages=STAGES, quality="low", output=out, jobs=2, cache=False, **VIEW)
    assert [m.stage for m in made] == list(STAGES)  # in video order, whichever process ended first
    assert not any(m.cached for m in made)
    reference, ends = one_scene(result, STAGES, tmp_path / "one")
    ours, theirs = decoded(out), decoded(reference)
    assert len(ours) == len(theirs) == ends[-1]
    assert list(np.cumsum([m.frames for m in made])) == ends  # each stage the length it has in one scene
    for end in ends:  # the last frame of each stage: the same picture
        assert np.abs(ours[end - 1].astype(int) - theirs[end - 1].astype(int)).mean() < 0.5
    # and a frame in the middle of the cross-fade into the softmax stage
    middle = ends[1] + 4
    assert np.abs(ours[middle].astype(int) - theirs[middle].astype(int)).mean() < 0.5
    assert np.abs(ours[middle].astype(int) - ours[ends[1] - 1].astype(int)).mean() > 0.5  # it is moving


@pytest.mark.render
def test_an_unchanged_rerender_comes_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENVIRONMENT, str(tmp_path / "cache"))
    result = attncore.run("cat")
    first = make_video(result, stages=("title",), quality="low", output=tmp_path / "a.mp4", subtitles=True,
                                **VIEW)
    assert not first[0].cached

    def no_rendering(*args, **kwargs):
        raise AssertionError("an unchanged stage was rendered again")

    monkeypatch.setattr(pool, "render_stage", no_rendering)
    again = make_video(result, stages=("title",), quality="low", output=tmp_path / "b.mp4", subtitles=True,
                                **VIEW)
    assert again[0].cached
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()
    assert (tmp_path / "a.srt").read_text() == (tmp_path / "b.srt").read_text()
    # another language is another video: rendered, not served
    with pytest.raises(AssertionError, match="rendered again"):
        make_video(result, stages=("title",), quality="low", output=tmp_path / "c.mp4",
                            **{**VIEW, "language": "zh"})
    # a stage whose record is missing (an interrupted write) is rendered again, not half-served
    for meta in (tmp_path / "cache" / "stages").glob("*.json"):
        meta.unlink()
    with pytest.raises(AssertionError, match="rendered again"):
        make_video(result, stages=("title",), quality="low", output=tmp_path / "d.mp4", **VIEW)


def test_every_input_and_option_changes_the_keys(monkeypatch):
    base = dict(computed=attncore.run(), stages=("title", "embeddings"), view=dict(VIEW), quality="low", suffix=".mp4")
    keys = stage_keys(**base)
    assert len(set(keys)) == 2 and keys == stage_keys(**base)  # stable, and one per stage
    changed = {
        "numbers": dict(computed=attncore.run(seed=1)),
        "sentence": dict(computed=attncore.run("I have a dog")),
        "positional": dict(computed=attncore.run(positional=True)),
        "focus": dict(view={**VIEW, "focus": "a"}),
        "language": dict(view={**VIEW, "language": "zh"}),
        "hidden tokens": dict(view={**VIEW, "hidden": {0}}),
        "quality": dict(quality="high"),
        "format": dict(suffix=".webm"),
    }
    for what, change in changed.items():
        other = stage_keys(**{**base, **change})
        assert not set(other) & set(keys), what
    two = dict(base, computed=attncore.run(heads=2))  # the followed head of several
    assert not set(stage_keys(**two)) & set(stage_keys(**{**two, "view": {**VIEW, "head": 1}}))
    # the stage before decides a cross-fade: "embeddings" after "title" is not "embeddings" first
    assert stage_keys(**{**base, "stages": ("embeddings",)})[0] != keys[1]
    monkeypatch.setattr(cache, "code_version", lambda: "another version of the code")
    assert not set(stage_keys(**base)) & set(keys)


def test_the_code_version_follows_the_fonts(monkeypatch):
    cache.code_version.cache_clear()
    before = cache.code_version()
    cache.code_version.cache_clear()
    monkeypatch.setattr(cache, "fonts_fingerprint", lambda: "a font was added")
    try:
        assert cache.code_version() != before
    finally:
        cache.code_version.cache_clear()


@pytest.fixture
def code_version_now(monkeypatch):
    """cache.code_version computed anew at each call (its cache cleared, and again at the end),
    with the installed fonts held still (their own test is above)."""
    monkeypatch.setattr(cache, "fonts_fingerprint", lambda: "the same fonts")

    def now() -> str:
        cache.code_version.cache_clear()
        return cache.code_version()

    yield now
    cache.code_version.cache_clear()


def test_the_code_version_follows_every_byte_of_the_source(tmp_path, monkeypatch, code_version_now):
    """A copy of attncore and scenes stands in for the work tree: one byte changed in any of their
    files (the size kept), or a file added, gives another code version and other stage keys; the
    file put back gives the version back."""
    import shutil

    root = Path(cache.__file__).resolve().parents[2]
    for package in ("attncore", "scenes"):
        shutil.copytree(root / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    real = code_version_now()
    monkeypatch.setattr(cache, "__file__", str(tmp_path / "scenes" / "production" / "cache.py"))
    assert code_version_now() == real  # the same source in another folder: the same version
    args = dict(computed=attncore.run(), stages=("title", "embeddings"), view=dict(VIEW), quality="low", suffix=".mp4")
    keys = stage_keys(**args)
    files = sorted(p for package in ("attncore", "scenes") for p in (tmp_path / package).rglob("*.py"))
    assert {"attncore/attention.py", "scenes/production/cache.py", "scenes/stages/softmax.py"} <= {
        p.relative_to(tmp_path).as_posix() for p in files}
    seen = {real}
    for path in files:
        original = path.read_bytes()
        changed = bytearray(original)
        changed[len(changed) // 2] ^= 0x01
        path.write_bytes(bytes(changed))
        version = code_version_now()
        assert version not in seen, path
        seen.add(version)
        if path.name == "softmax.py":
            assert not set(stage_keys(**args)) & set(keys)
        path.write_bytes(original)
    (tmp_path / "scenes" / "stages" / "another.py").write_text("")
    assert code_version_now() not in seen
    (tmp_path / "scenes" / "stages" / "another.py").unlink()
    assert code_version_now() == real and stage_keys(**args) == keys


# the library versions the code version holds (docs/speed-and-cache.md: manim, Pango, cairo and PyAV), as
# (module, attribute): a version string or a function returning one
LIBRARY_VERSIONS = {"manim": ("manim", "__version__"), "ManimPango": ("manimpango", "__version__"),
                    "Pango": ("manimpango", "pango_version"), "cairo": ("cairo", "cairo_version_string"),
                    "pycairo": ("cairo", "version"), "PyAV": ("av", "__version__")}


@pytest.mark.parametrize("library", list(LIBRARY_VERSIONS))
def test_the_code_version_follows_each_library_version(monkeypatch, code_version_now, library):
    """Another version of the library (it may draw or encode other frames): another code version and
    other keys for every stage; the version put back gives them back."""
    import importlib

    module, attribute = LIBRARY_VERSIONS[library]
    module = importlib.import_module(module)
    args = dict(computed=attncore.run(), stages=("title", "embeddings"), view=dict(VIEW), quality="low", suffix=".mp4")
    before, keys = code_version_now(), stage_keys(**args)
    installed = getattr(module, attribute)
    assert isinstance(installed() if callable(installed) else installed, str)
    monkeypatch.setattr(module, attribute, (lambda: installed() + ".1") if callable(installed) else installed + ".1")
    assert code_version_now() != before
    assert not set(stage_keys(**args)) & set(keys)
    monkeypatch.setattr(module, attribute, installed)
    assert code_version_now() == before and stage_keys(**args) == keys


def test_the_cache_can_be_turned_off_or_be_unwritable(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENVIRONMENT, "off")
    assert StageCache.open() is None
    (tmp_path / "file").write_text("in the way")
    monkeypatch.setenv(cache.ENVIRONMENT, str(tmp_path / "file" / "cache"))
    assert StageCache.open() is None  # rendering goes on without it
    monkeypatch.setenv(cache.ENVIRONMENT, str(tmp_path / "cache"))
    assert StageCache.open().stages == tmp_path / "cache" / "stages"


def test_the_cache_folder_and_its_limit(monkeypatch):
    """Without the variable, the user's cache folder (~/.cache/attention-explainer on Linux); 2 GB."""
    from pathlib import Path as P

    monkeypatch.delenv(cache.ENVIRONMENT)
    monkeypatch.setenv("XDG_CACHE_HOME", "/nonexistent-home/.cache")
    assert cache.cache_folder() == P("/nonexistent-home/.cache/attention-explainer")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache.cache_folder() == P.home() / ".cache" / "attention-explainer"
    assert cache.CACHE_LIMIT == 2 * 1024 ** 3


def test_the_cache_keeps_the_most_recently_used_within_its_limit(tmp_path):
    import os

    cache = StageCache(tmp_path, limit=2500)
    for n, name in enumerate(["old", "middle", "new"]):
        for ext in (".mp4", ".json"):
            path = cache.stages / f"{name}{ext}"
            path.write_bytes(b"x" * 600)
            os.utime(path, (1000 + n, 1000 + n))
    cache.prune()
    assert sorted(p.stem for p in cache.stages.iterdir()) == ["middle", "middle", "new", "new"]


def test_subtitles_of_the_stages_are_moved_to_where_each_starts():
    cue = "1\n00:00:00,500 --> 00:00:01,000\n{}\n\n"
    made = [media.Made("a", (), 30, cue.format("first"), 1.0),
            media.Made("b", (), 45, cue.format("second"), 1.0)]
    joined = media.joined_subtitles(made, 15)
    assert "00:00:00,500 --> 00:00:01,000\nfirst" in joined
    assert "00:00:02,500 --> 00:00:03,000\nsecond" in joined  # 30 frames at 15 fps later
    assert joined.startswith("1\n") and "\n2\n" in joined


# ---- numbers from glyphs --------------------------------------------------------------------------
@pytest.mark.parametrize("size", [14.0, 20.0, 27.3])
def test_glyph_built_numbers_look_like_pangos(size):
    """Every character a number can have, at sizes the grids use: the same box, the same font size,
    and the same pixels (rendered at 3x, in a cell colour) as Pango's own layout of the number."""
    from manim import Camera

    from scenes.texts import NUMBER_CHARS, _layout, glyph_number

    numbers = ["0.58", "−1.23", "58.8%", "100.0%", "1.2e+05", "−3.4e−07", "7", "0.00", "12.34", "96.1%"]
    assert set("".join(numbers)) == set(NUMBER_CHARS)
    for s in numbers:
        ours, pango = glyph_number(s, size, "#F4D35E", "Noto Sans"), _layout(s, size, "#F4D35E", "Noto Sans")
        assert ours.text == s and ours.font_size == pytest.approx(size)
        for corner in ((-1, -1, 0), (1, 1, 0)):
            assert ours.get_corner(corner) == pytest.approx(pango.get_corner(corner), abs=2e-3), s
        pictures = []
        for m in (ours, pango):
            camera = Camera(pixel_width=960, pixel_height=540)
            camera.capture_mobject(m.copy().scale(3))
            pictures.append(camera.pixel_array[..., :3].astype(int))
        difference = np.abs(pictures[0] - pictures[1])
        assert difference.mean() < 0.01 and difference.max() <= 8, s
        assert pictures[0].max() > 100  # something was drawn


def test_numbers_outside_the_glyph_set_are_laid_out_by_pango():
    from scenes.context import Ctx, Source
    from scenes.texts import number_text

    ctx = Ctx(attncore.run(), 3)
    infinite = number_text(ctx, "−∞", Source("scores", (0, 1)), 20, "#FFFFFF")
    from scenes.texts import _layout

    pango = _layout("−∞", 20, "#FFFFFF", "Noto Sans")  # Pango's own layout: the same outlines, not glyph copies
    ours_points = [m.points for m in infinite.family_members_with_points()]
    assert infinite.text == "−∞" and len(ours_points) == len(pango.family_members_with_points()) == 2
    for a, b in zip(ours_points, (m.points for m in pango.family_members_with_points())):
        np.testing.assert_allclose(a - infinite.get_center(), b - pango.get_center(), atol=1e-6)


def test_a_held_frame_converted_once_encodes_as_manims_encoder_does(tmp_path):
    """HoldEncoder against manim's own: the same frames, the same timestamps, decoded equal."""
    from fractions import Fraction

    from manim._config.video_encoder import VideoEncoderSpec
    from manim.scene.video_segment_encoder import VideoSegmentEncoder

    from scenes.manim_adapter import HoldEncoder
    from scenes.production.options import ENCODER_OPTIONS

    spec = VideoEncoderSpec("mp4", "libx264", "yuv420p", 320, 180, Fraction(15), tuple(ENCODER_OPTIONS.items()))
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (180, 320, 4), dtype=np.uint8) for _ in range(3)]
    for f in frames:
        f[..., 3] = 255
    videos = []
    for encoder in (VideoSegmentEncoder, HoldEncoder):
        path = tmp_path / f"{encoder.__name__}.mp4"
        writer = encoder(target=path, spec=spec)
        for f, repeat in zip(frames, (1, 6, 4)):
            writer.write_frame(f, repeat=repeat)
        writer.finish()
        with av.open(str(path)) as container:
            videos.append([(f.pts, f.to_ndarray(format="rgb24")) for f in container.decode(video=0)])
    ours, manims = videos
    assert len(ours) == len(manims) == 11
    for (pts, a), (pts_m, b) in zip(ours, manims):
        assert pts == pts_m
        assert np.array_equal(a, b)


# ---- one render path for the video and the slides; a cache safe to share and to damage ----------

def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


@pytest.mark.render
def test_slides_are_cut_from_the_videos_renders_and_agree_frame_for_frame(tmp_path, monkeypatch):
    """After the video, the slides come from the cache (nothing rendered again): a slide ends at every
    pause, and each slide's frames are the video's frames at the same place, boundaries included."""
    from scenes.lecture import slides_of
    from scenes.production.deck import cut_slides
    from scenes.production.run import fast_run, render_parts

    monkeypatch.setenv(cache.ENVIRONMENT, str(tmp_path / "cache"))
    result = attncore.run()
    video = tmp_path / "video.mp4"
    make_video(result, stages=STAGES, quality="low", output=video, **VIEW)

    def no_rendering(*args, **kwargs):
        raise AssertionError("the slides rendered a stage the video had rendered")

    monkeypatch.setattr(pool, "render_stage", no_rendering)
    view = View.resolve(result, stages=STAGES, **VIEW)
    made, video_format = render_parts(view, tmp=tmp_path / "parts", suffix=".mp4")
    (tmp_path / "slides").mkdir()
    slides = cut_slides(made, tmp_path / "slides", **video_format)
    scene = fast_run(view)
    wanted = slides_of(scene.log.cues)
    assert len(slides) == len(wanted) >= 3
    frames = _frames(video)
    start = 0
    for slide, cues in zip(slides, wanted):
        ours = _frames(slide.path)
        assert len(ours) == slide.frames
        assert np.array_equal(ours[0], frames[start]) and np.array_equal(ours[-1], frames[start + len(ours) - 1])
        assert all(c.text in slide.notes for c in cues)
        start += len(ours)
        if cues[-1].pause:  # the slide ends where the narration pauses
            assert start == round(cues[-1].end * 15)
    assert start == len(frames)


@pytest.mark.render
def test_four_renders_at_once_share_one_cache(tmp_path):
    """Four renders started together on one fresh cache: two videos and the slides of one sentence,
    and a video of another. All succeed, and each video and the deck are byte-identical to a lone
    render's (a text or stage half-written by one render is never read by another)."""
    import os
    import subprocess
    import sys

    root = Path(render.__file__).parent
    base = [sys.executable, str(root / "render.py"), "--stage", "title", "--stage", "embeddings", "--quiet"]
    alone = dict(os.environ, ATTENTION_EXPLAINER_CACHE=str(tmp_path / "alone"))
    for extra in (["--output", tmp_path / "cat-alone.mp4"], ["--slides", "--output", tmp_path / "cat-alone.html"],
                  ["--sentence", "I have a dog", "--output", tmp_path / "dog-alone.mp4"]):
        subprocess.run([*base, *map(str, extra)], env=alone, check=True, capture_output=True)
    shared = dict(os.environ, ATTENTION_EXPLAINER_CACHE=str(tmp_path / "shared"))
    runs = [[*base, "--output", str(tmp_path / "cat-1.mp4")], [*base, "--output", str(tmp_path / "cat-2.mp4")],
            [*base, "--slides", "--output", str(tmp_path / "cat.html")],
            [*base, "--sentence", "I have a dog", "--output", str(tmp_path / "dog.mp4")]]
    processes = [subprocess.Popen(r, env=shared, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for r in runs]
    assert len(processes) == 4
    for p in processes:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
    alone_cat = (tmp_path / "cat-alone.mp4").read_bytes()
    assert (tmp_path / "cat-1.mp4").read_bytes() == alone_cat == (tmp_path / "cat-2.mp4").read_bytes()
    assert (tmp_path / "dog.mp4").read_bytes() == (tmp_path / "dog-alone.mp4").read_bytes()
    # the deck (its slides' videos inlined) is made of the same stages: the same bytes too
    deck = (tmp_path / "cat.html").read_bytes()
    assert len(deck) > 100_000 and deck == (tmp_path / "cat-alone.html").read_bytes()
    leftovers = [p for p in (tmp_path / "shared").rglob("*") if ".part" in p.name]
    assert not leftovers


@pytest.mark.render
def test_a_damaged_cache_entry_is_dropped_and_rendered_again(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(cache.ENVIRONMENT, str(tmp_path / "cache"))
    result = attncore.run("cat")
    make_video(result, stages=("title",), quality="low", output=tmp_path / "a.mp4", **VIEW)
    pieces = sorted((tmp_path / "cache" / "stages").glob("*-0.mp4"))
    assert len(pieces) == 1
    pieces[0].write_bytes(pieces[0].read_bytes()[:1000])  # truncated, as by a full disk or a crash
    capsys.readouterr()
    again = make_video(result, stages=("title",), quality="low", output=tmp_path / "b.mp4", **VIEW)
    assert not again[0].cached
    assert capsys.readouterr().err == "cache: a damaged entry for the stage title was dropped; rendering it again\n"
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()
    third = make_video(result, stages=("title",), quality="low", output=tmp_path / "c.mp4", **VIEW)
    assert third[0].cached  # the entry written again is whole


def render_cli(*args):
    """render.py run as a user runs it (its work folder, its publishing); the click result."""
    from click.testing import CliRunner

    result = CliRunner().invoke(render.main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.render
def test_a_cached_piece_with_one_byte_flipped_is_dropped_and_rendered_again(tmp_path, monkeypatch):
    """A piece damaged in place, its size kept: only the SHA-256 in its record tells. The entry is
    dropped with the one line, and the stage rendered again gives the bytes of the clean render."""
    monkeypatch.setenv(cache.ENVIRONMENT, str(tmp_path / "cache"))
    title = ("--sentence", "cat", "--stage", "title", "--quality", "low", "--quiet")
    render_cli(*title, "--output", tmp_path / "a.mp4")
    (piece,) = sorted((tmp_path / "cache" / "stages").glob("*-0.mp4"))
    data = bytearray(piece.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit of the media, as a bad sector or a stray write would
    piece.write_bytes(bytes(data))
    assert piece.stat().st_size == len(data)
    again = render_cli(*title, "--output", tmp_path / "b.mp4")
    assert again.stderr == "cache: a damaged entry for the stage title was dropped; rendering it again\n"
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()

    def no_rendering(*args, **kwargs):
        raise AssertionError("the entry written again was not served")

    monkeypatch.setattr(pool, "render_stage", no_rendering)  # the entry written again is whole
    third = render_cli(*title, "--output", tmp_path / "c.mp4")
    assert third.stderr == "" and (tmp_path / "c.mp4").read_bytes() == (tmp_path / "a.mp4").read_bytes()


@pytest.mark.render
def test_a_full_disk_under_the_cache_does_not_fail_the_render(tmp_path, monkeypatch):
    """Writing a stage into the cache fails with ENOSPC: the video is made all the same, and the
    cache holds no record of a stage it could not keep."""
    import errno

    from scenes import cache_writes

    monkeypatch.setenv(cache.ENVIRONMENT, str(tmp_path / "cache"))

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(cache_writes, "write_atomically", full)
    made = make_video(attncore.run("cat"), stages=("title",), quality="low", output=tmp_path / "a.mp4",
                               **VIEW)
    assert (tmp_path / "a.mp4").stat().st_size > 10_000 and not made[0].cached
    assert not list((tmp_path / "cache" / "stages").iterdir())


def test_a_text_the_shared_cache_cannot_take_is_laid_out_in_a_private_folder(tmp_path, monkeypatch):
    """manim's Pango text cache on a full disk: the SVG goes to a private folder and the text is
    drawn; nothing half-written is left under the shared folder."""
    import os

    from manim import Text, tempconfig

    from scenes import manim_adapter

    manim_adapter.share_text_cache()  # as scenes.video does
    shared = tmp_path / "texts"
    real = os.replace

    def refuse_shared(source, target):
        if str(target).startswith(str(shared)):
            raise OSError(28, "No space left on device")
        real(source, target)

    monkeypatch.setattr(manim_adapter.os, "replace", refuse_shared)
    with tempconfig({"text_dir": str(shared)}):
        text = Text("a full disk 7c1e", font="Noto Sans")
    assert len(text.submobjects) == len("afulldisk7c1e")
    assert not list(shared.iterdir())


@pytest.mark.render
def test_videos_are_faststart_and_gifs_small_with_their_timing(tmp_path):
    """An .mp4's index comes before its media (a page's player starts at once); a GIF of the first
    two stages keeps every frame and the frame rate, in one palette without dithering (≤ 2 MB)."""
    result = attncore.run()
    mp4 = tmp_path / "a.mp4"
    make_video(result, stages=("title", "embeddings"), quality="low", output=mp4, **VIEW)
    data = mp4.read_bytes()
    assert 0 < data.find(b"moov") < data.find(b"mdat")
    gif = tmp_path / "a.gif"
    make_video(result, stages=("title", "embeddings"), quality="low", output=gif, **VIEW)
    assert gif.stat().st_size <= 2_000_000
    frames = _frames(mp4)
    with av.open(str(gif)) as container:
        decoded_gif = list(container.decode(video=0))
    assert len(decoded_gif) == len(frames)
    last = decoded_gif[-1]
    assert float(last.pts * last.time_base) == pytest.approx((len(frames) - 1) / 15, abs=0.02)
    middle = len(frames) * 3 // 4  # a held picture: the GIF's colours are the video's, to the eye
    assert np.abs(decoded_gif[middle].to_ndarray(format="rgb24").astype(int) - frames[middle].astype(int)).mean() < 3


def test_paths_traced_once_draw_the_pixels_manim_draws():
    """PathCachingCamera: a shape drawn again from its cached path, moved shapes traced anew, and the
    same pixels as manim's own Camera each time."""
    from manim import Camera, Square, Text

    from scenes.manim_adapter import PathCachingCamera

    shapes = [Text("q · k = 6.15", font="Noto Sans"), Square(1.5).shift([2, 1, 0])]
    ours, theirs = PathCachingCamera(pixel_width=640, pixel_height=360), Camera(pixel_width=640, pixel_height=360)
    for step in range(3):  # 0: traced; 1: from the cache; 2: moved, traced again
        if step == 2:
            shapes[1].shift([-3, -1, 0])
        pictures = []
        for camera in (ours, theirs):
            camera.reset()
            camera.capture_mobjects(shapes)
            pictures.append(camera.pixel_array.copy())
        assert np.array_equal(pictures[0], pictures[1]), step
        assert pictures[0].max() > 100
    assert len(ours._paths) == len(shapes[0].family_members_with_points()) + 2  # the square's two places
