"""Beats, and the one driver that plays them for every stage.

A beat is one moment of the explanation: the animations that make it (`plays`, each one
`scene.play`), what the caption at the bottom says (a catalogue key and the numbers it quotes), what
the narration says (one subtitle cue, one line of the script), how long the picture then holds, and
whether a lecturer would pause there (a slide break). Stages only yield beats; the driver shows and
swaps captions, plays, waits, and records cues, numbers and pauses in the log.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator

import numpy as np
from manim import UP, AnimationGroup, FadeIn, FadeOut, LaggedStart, Scene, Succession, VGroup, Wait, config

from attncore import steps

from .components import Picture, half_width, text
from .context import Ctx, Cue, Shown, quoted_numbers
from .elision import run_source
from .layout import Layout, place_caption, place_heading
from .pictures import picture
from .production.manim_adapter import skipping_animations
from .strings import reading_time

GAP = 0.4  # seconds of quiet after a beat's speech before the next beat (render.py --voice)

if TYPE_CHECKING:
    from manim import Animation


@dataclass(frozen=True)
class Line:
    """A catalogue key and what fills it (tokens, numbers quoted with `Ctx.quote`, vectors)."""

    key: str
    params: dict = field(default_factory=dict)
    color: str | None = None


def say(key: str, color: str | None = None, /, **params) -> Line:
    return Line(key, params, color)


@dataclass(frozen=True)
class Play:
    animations: tuple
    run_time: float


def play(*animations: "Animation", run_time: float = 0.8) -> Play:
    return Play(tuple(animations), run_time)


KEEP = "keep"  # the caption stays as it is
CLEAR = "clear"  # the caption fades out


@dataclass(frozen=True)
class Beat:
    narration: Line | None  # None only for silent transitions
    plays: tuple[Play, ...] = ()
    caption: Line | str = KEEP  # a Line, KEEP or CLEAR
    hold: float = 1.0  # seconds the picture holds after the plays
    pause: bool = False  # a lecturer would stop here (a slide break)
    still: bool | str = False  # the stage's key moment (True), or another named moment: a still is taken before the hold


class Stage:
    """One step of the explanation. A subclass names itself, the pictures it starts from and ends
    on, and yields its beats from `explain(start)`; `end(...)` closes it."""

    name = ""
    starts_from = "blank"
    ends_on = "blank"
    heading_key: str | None = None

    def __init__(self, ctx: Ctx):
        self.ctx = ctx
        self.lay = Layout(ctx)

    def start(self) -> Picture:
        return picture(self.starts_from, self.ctx)

    def handoff(self) -> Picture:
        return picture(self.ends_on, self.ctx)

    def explain(self, start: Picture) -> Iterator[Beat]:
        raise NotImplementedError

    # ---- helpers ----------------------------------------------------------------------------------
    def heading_line(self) -> Line:
        """The heading's words (the title's for a stage without a heading); stages whose heading
        depends on the numbers (a model's layer, a bias) override this."""
        return say(self.heading_key or "title")

    def heading(self):
        ctx, line = self.ctx, self.heading_line()
        return place_heading(text(ctx, ctx.s(line.key, **line.params), ctx.theme.heading_size, max_width=2 * half_width()))

    def elided(self) -> list[tuple[list, int, str]]:
        """The (slots shown, total, "tokens", "keys" or "dims") axes this stage elides, for its closing
        note; "keys" are tokens as keys of the focus row, whose note says the share left out."""
        return []

    def end(self, *leaving, reveal: bool = False) -> Iterator[Beat]:
        """Close the stage: say what was elided (if anything), then fade out the caption and
        `leaving`; the handoff fades in when `reveal`, else what remains already looks like it."""
        ctx = self.ctx
        for slots, total, what in self.elided():
            shown = sum(s is not None for s in slots)
            if shown < total:
                keys = tuple(j for run in self.lay.runs(slots) for j in run) if what == "keys" else ()
                if keys:  # what the "…" hold of the focus token's attention
                    i = ctx.focus
                    share = ctx.quote(steps.run_weight(ctx.result, i, keys), run_source(i, keys))
                    note = say("elided.weight", ctx.theme.dim, shown=shown, total=total, what=ctx.s("what.tokens"),
                               n=len(keys), pct=share, token=ctx.token(i))
                else:
                    what = "tokens" if what == "keys" else what
                    note = say("elided", ctx.theme.dim, shown=shown, total=total, what=ctx.s(f"what.{what}"))
                yield Beat(note, caption=note, hold=1.2)
        plays = [play(FadeOut(VGroup(*leaving)), run_time=0.6)] if leaving else []
        if reveal:
            plays.append(play(FadeIn(self.handoff()), run_time=0.6))
        yield Beat(None, tuple(plays), caption=CLEAR, hold=0)


def flatten(animations):
    """The animations inside groups (LaggedStart, AnimationGroup) in order, the groups dropped."""
    for a in animations:
        if type(a) in (AnimationGroup, LaggedStart, Succession):
            yield from flatten(a.animations)
        else:
            yield a


class Driver:
    """Plays stages beat by beat on `scene`, keeping the caption and the log."""

    def __init__(self, scene: Scene, ctx: Ctx, speech: dict[str, float] | None = None):
        self.scene, self.ctx = scene, ctx
        # seconds each spoken text lasts, when the video speaks (scenes.production.voice); None: it does not speak. A
        # text without a duration (an empty mapping: render.py's prepare_speech) is spoken but not yet timed
        self.speech = speech
        self.caption = None
        self.clock = 0.0  # seconds of video so far, counted in whole frames as manim writes them

    def advance(self, seconds: float, hold: bool = False) -> None:
        """Count the frames manim writes for a play of `seconds`: a hold (a still frame) gets
        int(seconds / dt) frames, an animation one per step of arange(0, seconds, dt). Counted
        here, not read from scene.time, so skipping animations (stills, script) keeps video time."""
        dt = 1 / config.frame_rate
        frames = int(seconds / dt) if hold else len(np.arange(0, seconds, dt))
        self.clock += frames * dt
        self.scene.progressed(self.clock)

    def play_stage(self, stage: Stage, start: Picture, handoff: bool = True) -> None:
        """Play the stage's beats; then, with `handoff`, put on screen exactly the picture the next
        stage starts from (what is already there, rebuilt as that stage will build it)."""
        self.ctx.log.stage = stage.name
        for beat in stage.explain(start):
            self.play_beat(beat)
        if self.caption is not None:
            self.play(Play((FadeOut(self.caption),), 0.4))
            self.caption = None
        if handoff:
            self.scene.remove(*self.scene.mobjects)
            self.scene.add(stage.handoff())

    def play(self, p: Play) -> None:
        """One scene.play. With animations skipped (stills, tests), fades are done as what they end
        in (FadeIn adds, FadeOut removes) without manim copying the faded groups; the picture after
        the play and the clock are the same."""
        animations = p.animations
        # a lone Wait is a still frame to manim (nothing here has updaters): counted as a hold
        still = len(animations) <= 1 and all(type(a) is Wait for a in animations)
        if skipping_animations(self.scene):
            animations = [a for a in flatten(animations) if not self.apply_fade(a)]
        self.scene.play(*animations or [Wait()], run_time=p.run_time)
        self.advance(p.run_time, hold=still)

    def apply_fade(self, animation) -> bool:
        if type(animation) is FadeOut:
            self.scene.remove(*animation.mobject.get_family())  # remove() does not reach inside a group not on screen
            return True
        if type(animation) is FadeIn:
            self.scene.add(animation.mobject)
            return True
        return False

    def line_text(self, line: Line) -> str:
        return self.ctx.s(line.key, **line.params)

    def caption_mobject(self, line: Line):
        ctx = self.ctx
        for num in quoted_numbers(line.params):
            ctx.number(num.text, num.source)
        return place_caption(text(ctx, self.line_text(line), ctx.theme.caption_size, line.color,
                                  max_width=2 * half_width()))

    def play_beat(self, beat: Beat) -> None:
        scene, ctx = self.scene, self.ctx
        start = self.clock
        swap: list = []
        if beat.caption != KEEP:
            leaving = [FadeOut(self.caption, shift=UP * 0.15)] if self.caption is not None else []
            self.caption = None if beat.caption == CLEAR else self.caption_mobject(beat.caption)
            coming = [FadeIn(self.caption, shift=UP * 0.15)] if self.caption is not None else []
            # a caption is replaced, never cross-faded over another: the old one is gone before the new comes
            swap = [Succession(*leaving, *coming)] if leaving and coming else leaving + coming
        plays = list(beat.plays)
        if swap and plays:
            plays[0] = Play((*swap, *plays[0].animations), plays[0].run_time)
        elif swap:
            plays = [Play(tuple(swap), 0.6)]
        for p in plays:
            self.play(p)
        if beat.still:
            scene.still("key" if beat.still is True else beat.still)
        words = self.line_text(beat.narration) if beat.narration is not None else ""
        said = ""
        if self.speech is not None and beat.narration is not None:
            from .spoken import spoken  # the voice extra's (num2words, anyascii): only a video that speaks needs it

            said = spoken(ctx, beat.narration)
        # the picture holds until the cue can be read and, with a voice, until it has been said (a text not
        # yet timed holds as a silent one)
        voice = self.speech[said] + GAP if said and said in self.speech else 0.0
        hold = max(beat.hold, reading_time(ctx.language, words) - (self.clock - start), voice - (self.clock - start))
        if hold > 0:  # whole frames, rounded up: the picture stays at least as long as asked
            seconds = (math.ceil(hold * config.frame_rate - 1e-9) + 0.5) / config.frame_rate
            scene.wait(seconds)
            self.advance(seconds, hold=True)
        if beat.narration is not None:
            numbers = tuple(Shown(n.text, n.source, ctx.log.stage) for n in quoted_numbers(beat.narration.params))
            caption = self.line_text(beat.caption) if isinstance(beat.caption, Line) else ""
            cue = Cue(ctx.log.stage, start, self.clock, words, numbers, beat.pause, caption, said)
            ctx.log.cues.append(cue)
            # manim writes the .srt; it places a subtitle relative to its own clock
            scene.add_subcaption(words, duration=cue.end - cue.start, offset=cue.start - scene.time)
        if beat.pause:
            scene.slide_break()
