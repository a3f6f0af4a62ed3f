"""The scores stage's picture of q · k = |q| |k| cos θ (issue 36, point 7): in the plane of the focus's
q and the key it matches best (attncore.steps.score_plane), both drawn as arrows from one origin at
their true lengths and angle, θ marked; the key's shadow on q's direction (|k| cos θ, a dropped
perpendicular) which, times |q|, is the score; and the key it matches worst, projected onto that plane
(dashed), with its own shadow beside."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from manim import DOWN, LEFT, RIGHT, UP, Arc, Arrow, DashedLine, DashedVMobject, Line, VGroup

from attncore import fmt, steps

from ..arithmetic import relation
from ..components import row_of
from ..context import Ctx, Source
from ..layout import CONTENT_TOP
from ..texts import half_width, number_text, text

LEFT_EDGE = 0.6  # the picture takes the frame's right half, from here (the table is on the left)
DRAWING_H = 2.2  # the arrows' box, below the heading
LINE_GAP = 0.5  # between the lines under the drawing


@dataclass
class PlanePicture:
    """The drawing's parts: `pair` (the axis, q, k, θ's arc and label, their names), `shadow` (the
    dropped perpendicular and |k| cos θ along q) and `score` (its line), then the rival's `other`
    (its projected arrow, name, shadow) and `other_score`; `origin` and `scale` (frame units per unit
    of the vectors) for tests."""

    pair: VGroup
    shadow: VGroup
    score: VGroup
    other: VGroup
    other_score: VGroup
    origin: np.ndarray
    scale: float
    q: Arrow
    k: Arrow
    rival: VGroup | None

    def whole(self) -> VGroup:
        return VGroup(self.pair, self.shadow, self.score, self.other, self.other_score)


def plane_picture(ctx: Ctx, j: int, low: int | None) -> PlanePicture:
    """The picture for the focus's q, key j's k and key `low`'s (None: no rival), in the frame's right half."""
    theme, r, i = ctx.theme, ctx.result, ctx.focus
    others = () if low is None else (low,)
    plane = steps.score_plane(r, i, j, *others)
    step = ("score_plane", i, j, *others)
    pts = plane.points  # q, k_j, then the rival
    xs, ys = np.append(pts[:, 0], 0.0), np.append(pts[:, 1], 0.0)
    width = half_width() - LEFT_EDGE - 0.2
    span_x, span_y = float(np.ptp(xs)) or 1.0, float(np.ptp(ys)) or 1e-9
    scale = min(width / span_x, DRAWING_H / span_y)
    # the drawing's box centred in its place: the origin wherever the points put it
    centre = np.array([LEFT_EDGE + 0.1 + width / 2, CONTENT_TOP - 0.35 - DRAWING_H / 2, 0.0])
    mid = np.array([(xs.min() + xs.max()) / 2, (ys.min() + ys.max()) / 2, 0.0])
    origin = centre - scale * mid
    at = lambda p: origin + scale * np.array([p[0], p[1], 0.0])
    size = theme.label_size

    def arrow(p, color):
        return Arrow(origin, at(p), buff=0, color=color, stroke_width=4, max_tip_length_to_length_ratio=0.12,
                     max_stroke_width_to_length_ratio=12)

    def name(s, color, tip, away):
        """A name at an arrow's tip, `away` (a unit vector) from it."""
        t = text(ctx, s, size, color)
        t.move_to(tip + away * (0.18 + max(abs(away[0]) * t.width, abs(away[1]) * t.height) / 2))
        # never past the frame's edge or into the heading
        t.shift(LEFT * max(0.0, t.get_right()[0] - half_width()) + RIGHT * max(0.0, LEFT_EDGE - t.get_left()[0])
                + DOWN * max(0.0, t.get_top()[1] - CONTENT_TOP))
        return t

    def unit(p):
        v = np.array([p[0], p[1], 0.0])
        n = float(np.linalg.norm(v))
        return v / n if n else RIGHT

    axis = Line(at((min(xs.min(), 0.0), 0)) + LEFT * 0.2, at((xs.max(), 0)) + RIGHT * 0.2, color=theme.dim, stroke_width=1.5)
    q, k = arrow(pts[0], theme.Q), arrow(pts[1], theme.K)
    q_name = name(ctx.s("scores.q", token=ctx.token(i)), theme.Q, at(pts[0]), DOWN)
    k_name = name(ctx.s("scores.k", token=ctx.token(j)), theme.K, at(pts[1]), unit(pts[1]) if pts[1][1] > 0.3 * pts[1][0] else UP)
    theta = math.atan2(pts[1][1], pts[1][0])
    arc = Arc(radius=0.55, start_angle=0, angle=theta, arc_center=origin, color=theme.accent, stroke_width=3) \
        if abs(theta) > 1e-3 else VGroup()
    mark = text(ctx, "θ", size, theme.accent)
    # inside the angle when it is wide enough; else past the arc's end, beyond k
    mark.move_to(origin + 0.9 * np.array([math.cos(theta / 2 if theta > 0.7 else theta + 0.45),
                                          math.sin(theta / 2 if theta > 0.7 else theta + 0.45), 0.0]))
    pair = VGroup(axis, q, k, arc, mark, q_name, k_name)

    def shadow(p, color, below):
        """Key n's dropped perpendicular and its length along q (a bar just under the axis)."""
        foot = at((p[0], 0))
        drop = DashedLine(at(p), foot, color=theme.dim, stroke_width=2, dash_length=0.08)
        bar = Line(origin + DOWN * below, foot + DOWN * below, color=color, stroke_width=6)
        return VGroup(drop, bar)

    shadow_k = shadow(pts[1], theme.accent, 0.12)
    along = lambda n: number_text(ctx, fmt(plane.along[n]), Source("along", (n,), step), size, theme.accent)
    angle = steps.score_angle(r, i, j)
    q_len = lambda: number_text(ctx, fmt(angle.q_norm), Source("q_norm", step=("score_angle", i, j)), size, theme.text)

    def score_line(n, key, total, color):
        """ "k “cat”: |q| × |k| cos θ = 2.43 × 2.53 = 6.15" (≈ when the rounded numbers do not give it)."""
        shown_q, shown_along = fmt(angle.q_norm), fmt(plane.along[n])
        sign = relation([str(float(shown_q.replace("−", "-")) * float(shown_along.replace("−", "-")))], fmt(total))
        score = number_text(ctx, fmt(total), Source("total", step=("score_angle", i, key)), size, color)
        return row_of(text(ctx, ctx.s("scores.plane.line", token=ctx.token(key)), size, theme.K),
                      q_len(), text(ctx, "×", size, theme.text), along(n), text(ctx, sign, size, theme.text), score,
                      buff=0.12)

    score = VGroup(text(ctx, ctx.s("scores.plane.rule"), size, theme.text), score_line(0, j, angle.total, theme.accent))
    other, other_score = VGroup(), VGroup()
    rival = None
    if low is not None:
        p = pts[2]
        rival = DashedVMobject(arrow(p, theme.K), num_dashes=14)
        # its name on the side away from k's
        side = DOWN if math.atan2(p[1], p[0]) < theta else UP
        other = VGroup(rival, name(ctx.s("scores.k", token=ctx.token(low)), theme.K, at(p), side),
                       shadow(p, theme.dim, 0.26))
        other_score = VGroup(score_line(1, low, steps.score_angle(r, i, low).total, theme.accent),
                             text(ctx, ctx.s("scores.plane.projected", token=ctx.token(low)), size, theme.dim))
    # the lines under the drawing, its names and bars included
    top = min(VGroup(pair, shadow_k, other).get_bottom()[1], origin[1] - 0.3) - 0.4
    for n, line in enumerate([*score, *other_score]):
        line.move_to([LEFT_EDGE + 0.1 + width / 2, top - n * LINE_GAP, 0])
        if line.width > width:
            line.scale_to_fit_width(width)
    return PlanePicture(pair, shadow_k, score, other, other_score, origin, scale, q, k, rival)
