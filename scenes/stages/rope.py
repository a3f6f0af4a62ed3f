"""RoPE (rotary position embedding): a llama or Qwen2 head turns each token's q and k by an angle that
grows with its position, before the scores. The focus token's q and its top key's k split into 2-D
pairs (dimension i with dimension i + d_k/2); every pair's speed θ_i as a bar (log scale); three pairs
drawn as arrows turned by position × θ_i at their real angles; the score before and after the turn;
and the same q, k placed elsewhere: the score depends only on the distance between the tokens.

Every number is attncore's: r.rope (θ, positions, θ_i, Q_raw, K_raw, scores_raw) and
attncore.steps' rope_pairs, rope_turn, rope_term and rope_shifts."""

from __future__ import annotations

from manim import (
    DOWN,
    LEFT,
    UP,
    Create,
    FadeIn,
    FadeOut,
    Indicate,
    ReplacementTransform,
    Rotate,
    SurroundingRectangle,
    VGroup,
)

from attncore import steps
from attncore.tables import plan_axis

from ..beats import CLEAR, Beat, Stage, play, say
from ..components import stagger
from ..context import Source, step_source
from ..layout import CONTENT_TOP
from ..parts.rope_pictures import RopePictures

SHRINK = 0.72  # the pairs' size beside the bars (their numbers 23 -> 16.6 points)
PAIR_SLOTS = 7  # pairs shown of a vector split into pairs (the rest elided "…")


class RopeStage(RopePictures, Stage):
    name = "rope"
    starts_from = "qkv"
    ends_on = "qkv"
    heading_key = "rope.heading"

    def explain(self, start):
        ctx, r = self.ctx, self.ctx.result
        ro = r.rope
        i = ctx.focus
        j, _ = steps.winning_pair(r, i, tuple(ctx.visible()))  # the key it attends to most, as the scores stage
        # the followed pair: its query i and key j, their tokens and positions, q's pairs, the drawn ones
        f = {"i": i, "j": j, "tok": ctx.token(i), "key": ctx.token(j), "half": ro.frequencies.size,
             "m": ctx.quote(ro.positions[i], step_source("rope", "positions", i, format="int")),
             "n": ctx.quote(ro.positions[j], step_source("rope", "positions", j, format="int"))}
        heading = self.heading()
        hl = yield from self.intro(start, heading, f)
        f["chosen"] = steps.rope_pairs(r, i, j)
        block, columns = yield from self.pairs_beat(start, hl, f)
        yield from self.frequencies_beat(block, columns, f)
        panels = yield from self.arrows_beat(f)
        yield from self.score_beat(panels, f)
        yield from self.distance_beat(panels, heading, f)

    def intro(self, start, heading, f: dict):
        """What RoPE is, then the followed query's q and its top key's k outlined; returns the outlines."""
        theme = self.ctx.theme
        tok, key, m, n = f["tok"], f["key"], f["m"], f["n"]
        rows = [start.Q.grid.row(f["i"]), start.K.grid.row(f["j"])]
        hl = VGroup(*(SurroundingRectangle(g, color=c, buff=0.06) for g, c in zip(rows, (theme.Q, theme.K)) if len(g)))
        names = [SurroundingRectangle(getattr(start, w).title, color=theme.accent, buff=0.08) for w in "QK"]
        yield Beat(say("say.rope.intro"), (play(FadeIn(heading), run_time=0.6),), hold=0.8,
                   paced=(play(Create(names[0]), run_time=0.5), play(ReplacementTransform(*names), run_time=0.5),
                          play(FadeOut(names[1]), run_time=0.3)))
        yield Beat(say("say.rope.follow", token=tok, key=key, m=m, n=n), (play(Create(hl[0]), run_time=0.6),),
                   caption=say("rope.focus", token=tok, key=key, m=m, n=n), hold=0.8,
                   paced=(play(Create(hl[1:]), run_time=0.6),))
        return hl

    def pairs_beat(self, start, hl, f: dict):
        """q and k in pairs: dimension c with dimension c + d_k/2, before the rotation, the chosen pairs'
        columns framed; returns the pairs and those frames."""
        ctx, theme, r = self.ctx, self.ctx.theme, self.ctx.result
        half, chosen = f["half"], f["chosen"]
        cols = plan_axis(half, PAIR_SLOTS, keep=chosen)
        q_pairs, k_pairs = self.pairs("Q", f["i"], f["tok"], cols), self.pairs("K", f["j"], f["key"], cols)
        block = VGroup(q_pairs, k_pairs).arrange(DOWN, buff=0.35, aligned_edge=LEFT)
        block.move_to([0, CONTENT_TOP - 0.3 - block.height / 2, 0])
        f["d"] = d = ctx.quote(r.d_k, Source("d_k", format="int"))
        columns = VGroup(*(SurroundingRectangle(VGroup(*q_pairs.grid.col(c), *k_pairs.grid.col(c)), color=theme.dim,
                                                buff=0.05, corner_radius=0.08) for c in chosen))
        yield Beat(say("say.rope.pairs", d=d, half=half),
                   (play(FadeOut(start), FadeOut(hl), run_time=0.6), play(FadeIn(q_pairs), run_time=0.6)),
                   caption=say("rope.pairs", n=half, d=r.d_k, half=half), hold=0.8,
                   paced=(play(FadeIn(k_pairs), run_time=0.6), play(Create(columns), run_time=0.8),
                          play(*(Indicate(c, color=theme.accent) for c in columns), run_time=0.8)))
        return block, columns

    def frequencies_beat(self, block, columns, f: dict):
        """The speeds θ_i, one bar each, on a log scale; the drawn pairs marked. The pairs move up, smaller
        (their numbers no smaller than the theme allows), to make room for the bars."""
        ctx, theme, ro = self.ctx, self.ctx.theme, self.ctx.result.rope
        half = f["half"]
        shrink = SHRINK
        moved = VGroup(block, columns).copy().scale(shrink)
        moved.move_to([0, CONTENT_TOP - 0.05 - moved.height / 2, 0])
        bars, marks, formula_line = self.bars(f["chosen"], moved.get_bottom()[1] - 0.25)
        fast = ctx.quote(ro.frequencies[0], step_source("rope", "frequencies", 0, format="sig"))
        slow = ctx.quote(ro.frequencies[-1], step_source("rope", "frequencies", half - 1, format="sig"))
        base = self.base()
        yield Beat(say("say.rope.frequencies", base=base, d=f["d"], fast=fast, slow=slow, n=half, last=half - 1),
                   (play(VGroup(block, columns).animate.scale(shrink).move_to(moved), run_time=0.6),
                    play(FadeIn(formula_line), run_time=0.6), play(stagger((FadeIn(b, shift=UP * 0.1) for b in bars.bars), 0.03),
                                                                   FadeIn(bars.frame), run_time=1.2)),
                   caption=say("rope.bars", ctx.theme.dim), hold=1.0, still="frequencies",
                   paced=(play(Indicate(bars.frame[1], color=theme.accent), run_time=0.8),
                          play(Indicate(bars.frame[2], color=theme.accent), run_time=0.8),
                          play(FadeOut(columns), FadeIn(marks), run_time=0.8)))  # labels fade in: text never morphs
        f["leaving"] = VGroup(block, bars, marks, formula_line)

    def arrows_beat(self, f: dict):
        """Three pairs as arrows, turned by position × θ_i at their real angles; returns their panels."""
        ctx, r = self.ctx, self.ctx.result
        i, j, chosen = f["i"], f["j"], f["chosen"]
        panels = [self.panel(c, i, j, x) for c, x in zip(chosen, self.panel_xs(len(chosen)))]
        yield Beat(None, (play(FadeOut(f["leaving"]), run_time=0.5),
                          play(*(FadeIn(VGroup(p.circle, p.title, p.q_raw, p.k_raw)) for p in panels), run_time=0.8)),
                   caption=CLEAR, hold=0)
        first, last = chosen[0], chosen[-1]
        tq, tk = steps.rope_turn(r, "Q", i, first), steps.rope_turn(r, "K", j, first)
        turns = []
        for p in panels:
            turns += [play(Rotate(p.q_turned, p.q_angle, about_point=p.center), FadeIn(p.q_arc), FadeIn(p.q_line),
                           run_time=1.2),
                      play(Rotate(p.k_turned, p.k_angle, about_point=p.center), FadeIn(p.k_arc), FadeIn(p.k_line),
                           run_time=1.0)]
        fq = ctx.quote(tq.frequency, Source("frequency", step=("rope_turn", "Q", i, first), format="sig"))
        aq = ctx.quote(tq.angle, Source("angle", step=("rope_turn", "Q", i, first), format="sig"))
        holds = ctx.equations(("product", [str(tq.position), fq.text], aq.text))  # said as shown, or "about"
        yield Beat(say("say.rope.arrows" if holds else "say.rope.arrows_approx", first=first, last=last, m=f["m"], n=f["n"],
                       count=len(chosen), half=f["half"], fq=fq, aq=aq,
                       ak=ctx.quote(tk.angle, Source("angle", step=("rope_turn", "K", j, first), format="sig"))),
                   (play(*(FadeIn(VGroup(p.q_turned, p.k_turned)) for p in panels), run_time=0.4),),
                   caption=say("rope.arrows", ctx.theme.dim), hold=1.0, still=True, pause=True, paced=tuple(turns))
        return panels

    def score_beat(self, panels, f: dict):
        """The score before and after: the angle between q and k changed by (m − n) θ_i in each pair."""
        ctx, theme, r = self.ctx, self.ctx.theme, self.ctx.result
        i, j, ro = f["i"], f["j"], r.rope
        before = ctx.quote(ro.scores_raw[i, j], step_source("rope", "scores_raw", i, j))
        after = ctx.quote(r.scores[i, j], Source("scores", (i, j)))
        term_frames = [SurroundingRectangle(p.term, color=theme.accent, buff=0.08) for p in panels]
        same = ro.positions[i] == ro.positions[j]  # one position (the token itself): both turn alike, the score stays
        yield Beat(say("say.rope.score_same" if same else "say.rope.score", before=before, after=after, token=f["tok"],
                       key=f["key"]),
                   (play(*(FadeIn(p.term) for p in panels), run_time=0.8),),
                   caption=say("rope.score", before=before, after=after), hold=1.2, still="score",
                   paced=(play(Create(term_frames[0]), run_time=0.5),
                          *(play(ReplacementTransform(a, b), run_time=0.5) for a, b in zip(term_frames, term_frames[1:])),
                          play(FadeOut(term_frames[-1]), run_time=0.3)))

    def distance_beat(self, panels, heading, f: dict):
        """Only the distance counts: the same q, k placed elsewhere; then the stage's end."""
        ctx, theme, r = self.ctx, self.ctx.theme, self.ctx.result
        i, j = f["i"], f["j"]
        table, same, other = self.shifts(i, j)
        shifted = steps.rope_shifts(r, i, j)
        at = lambda k: Source("scores", (k,), step=("rope_shifts", i, j))
        frame_same = SurroundingRectangle(VGroup(*same), color=theme.accent, buff=0.1)
        frame_other = SurroundingRectangle(other, color=theme.negative, buff=0.1)
        yield Beat(say("say.rope.distance", after=ctx.quote(shifted.scores[1], at(1)),
                       dist=ctx.quote(shifted.distances[0], Source("distances", (0,), step=("rope_shifts", i, j), format="int")),
                       further=ctx.quote(shifted.distances[-1], Source("distances", (len(shifted.distances) - 1,),
                                                                       step=("rope_shifts", i, j), format="int")),
                       other=ctx.quote(shifted.scores[-1], at(len(shifted.scores) - 1))),
                   (play(FadeOut(VGroup(*panels)), run_time=0.5), play(FadeIn(table), run_time=0.8)),
                   caption=say("rope.distance"), hold=1.0, still="distance", pause=True,
                   paced=(play(Create(frame_same), run_time=0.6), play(Create(frame_other), run_time=0.6)))
        yield from self.end(heading, table, frame_same, frame_other, reveal=True)
