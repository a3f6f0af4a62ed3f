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
from manim import (
    UP,
    AnimationGroup,
    FadeIn,
    FadeOut,
    Indicate,
    LaggedStart,
    MarkupText,
    Scene,
    Succession,
    Text,
    VGroup,
    Wait,
    config,
)

from .components import Picture
from .context import Ctx, Cue, Shown, quoted_numbers
from .elision import run_share
from .formulas import rich_line
from .layout import Layout, place_caption, place_heading
from .manim_adapter import skipping_animations
from .pictures import picture
from .strings import reading_time
from .texts import half_width

GAP = 0.4  # seconds of quiet after a beat's speech before the next beat (render.py --voice)
PACE = 1.2  # the least wait before each of a beat's paced plays (a short narration does not rush them)

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
    # plays spread over the hold, while the narration goes on (the picture changes as it is explained, never
    # still for long): the hold is cut into equal waits, each at least PACE seconds, one before each of them (but
    # the first, in a beat without plays of its own: it starts with the beat) and one after the last; the still
    # is taken after them
    paced: tuple[Play, ...] = ()
    marks: tuple[str, ...] = ()  # texts on screen starting so ("…", "⋮") flashed as the beat begins: the elision marks


class Stage:
    """One step of the explanation. A subclass names itself, the pictures it starts from and ends
    on, and yields its beats from `explain(start)`; `end(...)` closes it."""

    name = ""
    starts_from = "blank"
    ends_on = "blank"
    heading_key: str | None = None
    shown_key: str | None = None  # the heading on screen, when it adds a formula to heading_key's words

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
        """The heading at the top: its words as text, its formula (if any) typeset beside them."""
        ctx, line = self.ctx, self.heading_line()
        if self.shown_key and line.key == self.heading_key:  # the script and the slides keep the words alone
            line = say(self.shown_key)
        return place_heading(rich_line(ctx, line.key, ctx.theme.heading_size, line.color, max_width=2 * half_width(),
                                       **line.params))

    def elided(self) -> list[tuple[list, int, str]]:
        """The (slots shown, total, "tokens", "keys" or "dims") axes this stage elides, for its closing
        note; "keys" are tokens as keys of the focus row, whose note says the share left out."""
        return []

    def elision_note(self) -> Line | None:
        """What the stage's "…" leave out, folded into one short line (None when nothing is): the tokens
        (as keys of the focus row, with the share of its attention they take) and the dimensions."""
        ctx = self.ctx
        tokens, dims = None, None
        for slots, total, what in self.elided():
            left = total - sum(s is not None for s in slots)
            if left <= 0:
                continue
            if what == "dims":
                dims = ctx.s("elided.dims", n=left, total=total)
            elif what == "keys":
                runs = self.lay.runs(slots)
                tokens = tuple(j for run in runs for j in run)
            else:  # hidden tokens ([CLS], [SEP] not drawn) are not elided
                tokens = min(left, sum(len(run) for run in self.lay.runs(slots)))
        more = "" if dims is None or tokens is None else ctx.s("elided.sep") + dims
        if isinstance(tokens, tuple) and tokens:  # the "…" of the focus token's row: what they hold of its attention
            i = ctx.focus
            share = ctx.quote(*run_share(ctx, i, tokens, runs))
            return say("elided.weight", ctx.theme.dim, n=len(tokens), pct=share, token=ctx.token(i), more=more)
        if tokens or dims is not None:
            what = ctx.s("elided.count", n=tokens) + more if tokens else dims
            return say("elided", ctx.theme.dim, what=what)
        return None

    def end(self, *leaving, reveal: bool = False) -> Iterator[Beat]:
        """Close the stage: say what was elided (if anything, in one short line), then fade out the
        caption and `leaving`; the handoff fades in when `reveal`, else what remains already looks like it."""
        note = self.elision_note()
        if note is not None:
            yield Beat(note, caption=note, hold=1.2, marks=("…", "⋮", "⋯", "⋱"))
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

    def wait(self, hold: float) -> None:
        """A still picture for `hold` seconds, in whole frames rounded up (at least as long as asked)."""
        if hold > 0:
            seconds = (math.ceil(hold * config.frame_rate - 1e-9) + 0.5) / config.frame_rate
            self.scene.wait(seconds)
            self.advance(seconds, hold=True)

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
        """The caption: words as text, formulas typeset (scenes.formulas); its numbers recorded."""
        ctx = self.ctx
        return place_caption(rich_line(ctx, line.key, ctx.theme.caption_size, line.color, max_width=2 * half_width(),
                                       **line.params))

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
        plays, paced = list(beat.plays), beat.paced
        marks = [t for m in scene.mobjects for t in m.get_family() if isinstance(t, (Text, MarkupText))
                 and t.text.startswith(beat.marks)]
        if marks:  # what the beat is about, flashed where it stands
            plays.insert(0, Play(tuple(Indicate(t, color=ctx.theme.accent) for t in marks), 0.8))
        if paced and not plays:  # a beat without plays of its own starts with its first paced play
            plays, paced = [paced[0]], paced[1:]
        if swap and plays:
            plays[0] = Play((*swap, *plays[0].animations), plays[0].run_time)
        elif swap:
            plays = [Play(tuple(swap), 0.6)]
        for p in plays:
            self.play(p)
        if beat.still and not paced:
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
        if paced:
            wait = max(PACE, (hold - sum(p.run_time for p in paced)) / (len(paced) + 1))
            for p in paced:
                self.wait(wait)
                self.play(p)
            if beat.still:
                scene.still("key" if beat.still is True else beat.still)
            hold = max(wait, reading_time(ctx.language, words) - (self.clock - start),
                       voice - (self.clock - start))
        self.wait(hold)
        if beat.narration is not None:
            numbers = tuple(Shown(n.text, n.source, ctx.log.stage) for n in quoted_numbers(beat.narration.params))
            caption = self.line_text(beat.caption) if isinstance(beat.caption, Line) else ""
            cue = Cue(ctx.log.stage, start, self.clock, words, numbers, beat.pause, caption, said)
            ctx.log.cues.append(cue)
            # manim writes the .srt; it places a subtitle relative to its own clock
            scene.add_subcaption(words, duration=cue.end - cue.start, offset=cue.start - scene.time)
        if beat.pause:
            scene.slide_break()
