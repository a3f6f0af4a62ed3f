"""The RoPE stage's pictures (scenes/stages/rope.py): q and k split into 2-D pairs, every pair's speed
θ_i as a bar on a log scale, a pair's q and k as arrows in a circle turned by position × θ_i, and the
table of one q · k at other positions. Every number is attncore's: r.rope and attncore.steps' rope_pairs,
rope_turn, rope_term and rope_shifts."""

from __future__ import annotations

import math

import numpy as np
from manim import DOWN, LEFT, RIGHT, UP, Arc, Arrow, Circle, DashedLine, Line, Rectangle, SurroundingRectangle, VGroup

from attncore import fmt, steps
from attncore.formatting import sig

from ..arithmetic import sign
from ..components import Grid, row_of
from ..context import Ctx, Source, step_source
from ..formulas import formula
from ..layout import CONTENT_BOTTOM, CONTENT_TOP
from ..texts import number_text, text

PAIR_FONT = 23  # the pairs' numbers (16.6 once shrunk beside the bars)
PANEL_R = 1.4  # radius of an arrows panel's circle
PANEL_W = 4.4  # a panel's width (three side by side)
BAR_W = 9.5  # the frequency bars' width


class RopePictures:
    """The RoPE stage's pictures, for a stage's ctx (a head with rotary positions)."""

    ctx: Ctx

    def base(self):
        """RoPE's base θ, quoted: a whole number as written in the config (1000000), else significant digits."""
        ro = self.ctx.result.rope
        whole = float(ro.theta).is_integer()
        return self.ctx.quote(ro.theta, step_source("rope", "theta", format="int" if whole else "sig"))

    def pairs(self, which: str, s: int, token: str, cols) -> Grid:
        """Token s's q or k before the rotation as pairs: one column per pair, dimension c above c + d_k/2."""
        ctx, theme, r = self.ctx, self.ctx.theme, self.ctx.result
        raw = getattr(r.rope, f"{which}_raw")[s]
        half = raw.size // 2
        values = np.stack([raw[:half], raw[half:]])  # (2, d_k/2): the pairs as columns (laid out, not computed)
        color = theme.matrix_color(which)
        grid = Grid(ctx, values, [0, 1], cols, source=lambda a, c: step_source("rope", f"{which}_raw", s, c + a * half),
                    cell_w=1.1, cell_h=0.5, font_size=PAIR_FONT, color=color,
                    row_labels=[ctx.s("rope.dim", which=which.lower()), ctx.s("rope.dim_half", which=which.lower(), half=half)],
                    col_labels=[ctx.s("rope.pair_label", c=c) for c in range(half)], label_width=2.3)
        name = text(ctx, ctx.s(f"rope.{which.lower()}_raw", token=token), PAIR_FONT, color, max_width=3.2)
        name.next_to(grid.grid_box(), RIGHT, buff=0.3)
        group = VGroup(grid, name)
        group.grid, group.name = grid, name
        return group

    def bars(self, chosen, top: float) -> tuple[VGroup, VGroup, VGroup]:
        """One bar per pair: its θ_i on a log scale (the slowest a sliver, the fastest full height), θ_0 and the
        last labelled; the chosen pairs' bars framed; the formula of θ_i above them. Below `top`."""
        ctx, theme, r = self.ctx, self.ctx.theme, self.ctx.result
        f = r.rope.frequencies
        half = f.size
        line = formula(ctx, r"\theta_i = ⟨base⟩^{-2i/⟨d⟩}", theme.caption_size, theme.text,
                       base=(self.base().text, self.base().source), d=(str(r.d_k), Source("d_k", format="int")))
        # over the slow pairs' short bars, at the right: the fast pairs' tall bars and their labels keep the left
        line.move_to([BAR_W / 2 - line.width / 2, top - line.height / 2, 0])
        height = max(0.8, top - line.height - 0.3 - (CONTENT_BOTTOM + 0.45))
        floor = CONTENT_BOTTOM + 0.45
        w = BAR_W / half
        lo, hi = math.log10(f.min()), math.log10(f.max())
        span = hi - lo if hi > lo else 1.0
        left = -BAR_W / 2
        group = VGroup()
        group.bars = VGroup()
        for c, value in enumerate(f):
            tall = 0.08 + (height - 0.08) * (math.log10(value) - lo) / span  # drawn height: a picture of θ_i, not a number
            bar = Rectangle(width=w * 0.7, height=tall, stroke_width=0).set_fill(theme.heat_high, 0.85)
            bar.move_to([left + (c + 0.5) * w, floor + tall / 2, 0])
            group.bars.add(bar)
        axis = Line([left, floor, 0], [left + BAR_W, floor, 0], color=theme.dim, stroke_width=2)
        first = number_text(ctx, sig(f[0]), step_source("rope", "frequencies", 0, format="sig"), theme.label_size, theme.text)
        first.next_to(group.bars[0], LEFT, buff=0.15).align_to(group.bars[0], UP)
        last = number_text(ctx, sig(f[-1]), step_source("rope", "frequencies", half - 1, format="sig"), theme.label_size, theme.text)
        last.next_to(group.bars[-1], RIGHT, buff=0.15).align_to(group.bars[-1], DOWN).shift(UP * 0.05)
        group.frame = VGroup(axis, first, last)
        group.add(group.bars, group.frame)
        marks = VGroup(*(SurroundingRectangle(group.bars[c], color=theme.accent, buff=0.04) for c in chosen))
        before = None
        for c, mark in zip(chosen, marks.submobjects[:]):
            label = text(ctx, ctx.s("rope.pair_label", c=c), theme.min_font_size, theme.accent).next_to(mark, UP, buff=0.08)
            if before is not None and label.get_left()[0] < before.get_right()[0] + 0.1:  # neighbours: one above the other
                label.shift(UP * max(0.0, before.get_top()[1] + 0.05 - label.get_bottom()[1]))
            marks.add(label)
            before = label
        return group, marks, line

    def panel_xs(self, n: int) -> list[float]:
        return [(k - (n - 1) / 2) * PANEL_W for k in range(n)]

    def panel(self, c: int, i: int, j: int, x: float) -> VGroup:
        """Pair c of q_i and of k_j as arrows in a circle: before (faint) and turned by position × θ_c (bright,
        its arc), the angles and the pair's term of q · k below. The longer of the two fills the circle."""
        ctx, theme, r = self.ctx, self.ctx.theme, self.ctx.result
        tq, tk = steps.rope_turn(r, "Q", i, c), steps.rope_turn(r, "K", j, c)
        term = steps.rope_term(r, i, j, c)
        center = np.array([x, CONTENT_TOP - 0.5 - PANEL_R, 0.0])
        longest = max(np.linalg.norm(tq.raw), np.linalg.norm(tk.raw)) or 1.0
        scale = PANEL_R / longest  # each plane at its own scale (drawing only)
        tip = lambda v: center + np.array([v[0] * scale, v[1] * scale, 0.0])
        g = VGroup()
        g.center = center
        g.circle = VGroup(Circle(radius=PANEL_R, color=theme.dim, stroke_width=1.5).move_to(center),
                          DashedLine(center + LEFT * PANEL_R, center + RIGHT * PANEL_R, color=theme.dim, stroke_width=1),
                          DashedLine(center + DOWN * PANEL_R, center + UP * PANEL_R, color=theme.dim, stroke_width=1))
        freq = number_text(ctx, sig(tq.frequency), Source("frequency", step=("rope_turn", "Q", i, c), format="sig"),
                           theme.label_size, theme.text)
        title = row_of(text(ctx, ctx.s("rope.panel", c=c), theme.label_size, theme.text), freq, buff=0.12)
        g.title = title.move_to(center + UP * (PANEL_R + 0.3))

        def arrow(v, color, opacity):
            a = Arrow(center, tip(v), buff=0, color=color, stroke_width=4, max_tip_length_to_length_ratio=0.18,
                      max_stroke_width_to_length_ratio=12)
            return a.set_opacity(opacity)

        g.q_raw, g.k_raw = arrow(tq.raw, theme.Q, 0.35), arrow(tk.raw, theme.K, 0.35)
        g.q_turned, g.k_turned = arrow(tq.raw, theme.Q, 1.0), arrow(tk.raw, theme.K, 1.0)
        # animated by the angle modulo a whole turn: the same end, never several spins
        g.q_angle, g.k_angle = math.fmod(tq.angle, 2 * math.pi), math.fmod(tk.angle, 2 * math.pi)
        start_q, start_k = math.atan2(tq.raw[1], tq.raw[0]), math.atan2(tk.raw[1], tk.raw[0])
        arc = lambda radius, start, angle, color: (Arc(radius=radius, start_angle=start, angle=angle, arc_center=center,
                                                       color=color, stroke_width=2) if abs(angle) > 1e-3 else VGroup())
        g.q_arc, g.k_arc = arc(0.45, start_q, g.q_angle, theme.Q), arc(0.3, start_k, g.k_angle, theme.K)
        size = theme.label_size - 2
        g.q_line = self.turn_line("Q", i, c, size, theme.Q).move_to(center + DOWN * (PANEL_R + 0.3))
        g.k_line = self.turn_line("K", j, c, size, theme.K).next_to(g.q_line, DOWN, buff=0.14)
        g.term = row_of(text(ctx, ctx.s("rope.term"), size, theme.text),
                        number_text(ctx, fmt(term.before), Source("before", step=("rope_term", i, j, c)), size, theme.text),
                        text(ctx, "→", size, theme.dim),
                        number_text(ctx, fmt(term.after), Source("after", step=("rope_term", i, j, c)), size, theme.accent),
                        buff=0.1).next_to(g.k_line, DOWN, buff=0.14)
        for part in (g.q_line, g.k_line, g.term):
            if part.width > PANEL_W - 0.2:
                part.scale_to_fit_width(PANEL_W - 0.2)
        g.add(g.circle, g.title, g.q_raw, g.k_raw, g.q_turned, g.k_turned, g.q_arc, g.k_arc, g.q_line, g.k_line, g.term)
        return g

    def turn_line(self, which: str, s: int, c: int, size: float, color) -> VGroup:
        """"q: 5 × 1.0 = 5.0 rad": the token's position times θ_c, the angle its pair turns by; "≈" where θ_c
        as shown (two significant digits) times the position does not give the angle as shown ("5 × 1.5e−06 ≈
        7.7e−06": θ_c is 1.54e−06)."""
        ctx, r = self.ctx, self.ctx.result
        turn = steps.rope_turn(r, which, s, c)
        holds = ctx.equations(("product", [str(turn.position), sig(turn.frequency)], sig(turn.angle)))
        at = lambda f, form: Source(f, step=("rope_turn", which, s, c), format=form)
        return row_of(text(ctx, ctx.s("rope.turn", which=which.lower()), size, color),
                      number_text(ctx, str(turn.position), at("position", "int"), size, color),
                      text(ctx, "×", size, color),
                      number_text(ctx, sig(turn.frequency), at("frequency", "sig"), size, color),
                      text(ctx, sign(holds), size, color),
                      number_text(ctx, sig(turn.angle), at("angle", "sig"), size, color),
                      text(ctx, ctx.s("rope.rad"), size, color), buff=0.1)

    def shifts(self, i: int, j: int):
        """The table of q_i · k_j at other positions: (the table, the cells of the scores that stay, the one that
        changes). Rows: where the tokens are; both moved later; the query alone moved further."""
        ctx, theme, r = self.ctx, self.ctx.theme, self.ctx.result
        shifted = steps.rope_shifts(r, i, j)
        size, gap_y = theme.caption_size + 4, 0.7
        heads = [ctx.s(k, token=ctx.token(i), key=ctx.token(j))
                 for k in ("rope.table_q", "rope.table_k", "rope.table_d", "rope.table_s")]
        xs = [-3.9, -1.3, 1.3, 3.9]
        rows = len(shifted.positions)
        top = (CONTENT_TOP + CONTENT_BOTTOM) / 2 + (0.6 + rows * gap_y) / 2  # the table in the middle of the content area
        table = VGroup(*(text(ctx, h, theme.caption_size, theme.dim, max_width=2.5).move_to([x, top, 0])
                         for h, x in zip(heads, xs)))
        scores = []
        step = ("rope_shifts", i, j)
        for k, ((a, b), d, s) in enumerate(zip(shifted.positions, shifted.distances, shifted.scores)):
            y = top - 0.7 - k * gap_y
            cells = [number_text(ctx, str(a), Source("positions", (k, 0), step, "int"), size, theme.Q),
                     number_text(ctx, str(b), Source("positions", (k, 1), step, "int"), size, theme.K),
                     number_text(ctx, str(d), Source("distances", (k,), step, "int"), size, theme.text),
                     number_text(ctx, fmt(s), Source("scores", (k,), step), size, theme.accent)]
            for cell, x in zip(cells, xs):
                table.add(cell.move_to([x, y, 0]))
            scores.append(cells[3])
        return table, scores[:-1], scores[-1]
