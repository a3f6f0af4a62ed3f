"""Making the video stage by stage: parallel processes give the frames one scene gives, and the cache
of finished stages serves an unchanged re-render and nothing else."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

import attncore
import render
from scenes import production
from scenes.production import StageCache, stage_keys

# title -> embeddings meet; embeddings -> softmax do not (a cross-fade the softmax stage must make alone)
STAGES = ("title", "embeddings", "softmax")
VIEW = dict(focus=None, language="en", head=0, hide_special=False)


def decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def one_scene(result, stages, folder: Path) -> tuple[Path, list[int]]:
    """The stages played in one manim scene, as before the video was made stage by stage: its video
    and the frame count at each stage's end (from the driver's clock)."""
    from manim import config, tempconfig

    from scenes.video import explainer_scene

    ends = []
    with tempconfig(production.render_options("low", folder, ".mp4")):
        scene = explainer_scene(result, stages=stages, on_still=lambda s, stage, moment: moment == "end" and ends.append(
            round(s.driver.clock * config.frame_rate)))
        scene.render()
    video = next(p for p in folder.rglob("video.mp4") if "partial_movie_files" not in p.parts)
    return video, ends


@pytest.mark.render
def test_parallel_stages_give_the_frames_of_one_scene(tmp_path):
    result = attncore.run()
    out = tmp_path / "parallel.mp4"
    made = render.render_video(result, stages=STAGES, quality="low", output=out, jobs=2, cache=False, **VIEW)
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
    monkeypatch.setenv(production.ENVIRONMENT, str(tmp_path / "cache"))
    result = attncore.run("cat")
    first = render.render_video(result, stages=("title",), quality="low", output=tmp_path / "a.mp4", subtitles=True,
                                **VIEW)
    assert not first[0].cached

    def no_rendering(*args, **kwargs):
        raise AssertionError("an unchanged stage was rendered again")

    monkeypatch.setattr(production, "render_stage", no_rendering)
    again = render.render_video(result, stages=("title",), quality="low", output=tmp_path / "b.mp4", subtitles=True,
                                **VIEW)
    assert again[0].cached
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()
    assert (tmp_path / "a.srt").read_text() == (tmp_path / "b.srt").read_text()
    # another language is another video: rendered, not served
    with pytest.raises(AssertionError, match="rendered again"):
        render.render_video(result, stages=("title",), quality="low", output=tmp_path / "c.mp4",
                            **{**VIEW, "language": "zh"})
    # a stage whose record is missing (an interrupted write) is rendered again, not half-served
    for meta in (tmp_path / "cache" / "stages").glob("*.json"):
        meta.unlink()
    with pytest.raises(AssertionError, match="rendered again"):
        render.render_video(result, stages=("title",), quality="low", output=tmp_path / "d.mp4", **VIEW)


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
        "hidden tokens": dict(view={**VIEW, "hide_special": True}),
        "quality": dict(quality="high"),
        "format": dict(suffix=".webm"),
    }
    for what, change in changed.items():
        other = stage_keys(**{**base, **change})
        assert not set(other) & set(keys), what
    # the stage before decides a cross-fade: "embeddings" after "title" is not "embeddings" first
    assert stage_keys(**{**base, "stages": ("embeddings",)})[0] != keys[1]
    monkeypatch.setattr(production, "code_version", lambda: "another version of the code")
    assert not set(stage_keys(**base)) & set(keys)


def test_the_code_version_follows_the_source_and_the_fonts(monkeypatch):
    production.code_version.cache_clear()
    before = production.code_version()
    production.code_version.cache_clear()
    monkeypatch.setattr(production, "fonts_fingerprint", lambda: "a font was added")
    try:
        assert production.code_version() != before
    finally:
        production.code_version.cache_clear()


def test_the_cache_can_be_turned_off_or_be_unwritable(tmp_path, monkeypatch):
    monkeypatch.setenv(production.ENVIRONMENT, "off")
    assert StageCache.open() is None
    (tmp_path / "file").write_text("in the way")
    monkeypatch.setenv(production.ENVIRONMENT, str(tmp_path / "file" / "cache"))
    assert StageCache.open() is None  # rendering goes on without it
    monkeypatch.setenv(production.ENVIRONMENT, str(tmp_path / "cache"))
    assert StageCache.open().stages == tmp_path / "cache" / "stages"


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
    made = [production.Made("a", Path("a.mp4"), 30, cue.format("first"), 1.0),
            production.Made("b", Path("b.mp4"), 45, cue.format("second"), 1.0)]
    joined = production.joined_subtitles(made, 15)
    assert "00:00:00,500 --> 00:00:01,000\nfirst" in joined
    assert "00:00:02,500 --> 00:00:03,000\nsecond" in joined  # 30 frames at 15 fps later
    assert joined.startswith("1\n") and "\n2\n" in joined


# ---- numbers from glyphs --------------------------------------------------------------------------
@pytest.mark.parametrize("size", [14.0, 20.0, 27.3])
def test_glyph_built_numbers_look_like_pangos(size):
    """Every character a number can have, at sizes the grids use: the same box, the same font size,
    and the same pixels (rendered at 3x, in a cell colour) as Pango's own layout of the number."""
    from manim import Camera

    from scenes.components import NUMBER_CHARS, _layout, glyph_number

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
    from scenes.components import number_text
    from scenes.context import Ctx, Source

    ctx = Ctx(attncore.run(), 3)
    infinite = number_text(ctx, "−∞", Source("scores", (0, 1)), 20, "#FFFFFF")
    assert infinite.text == "−∞" and len(infinite.submobjects) == 2


def test_a_held_frame_converted_once_encodes_as_manims_encoder_does(tmp_path):
    """HoldEncoder against manim's own: the same frames, the same timestamps, decoded equal."""
    from fractions import Fraction

    from manim._config.video_encoder import VideoEncoderSpec
    from manim.scene.video_segment_encoder import VideoSegmentEncoder

    from scenes.encoding import HoldEncoder
    from scenes.production import ENCODER_OPTIONS

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
