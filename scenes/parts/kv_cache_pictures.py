"""The KV-cache stage's pictures (scenes/stages/kv_cache.py): the model's top predictions as bars, the
cached K and V (before and after the new token's row joins them), the new token's q, k and v, its
scores and weights against every cached key, and the sketch of the score grid growing by one row.
Every number is attncore's: the head's K and V and attncore.generation's NextStep (`r.next`)."""

from __future__ import annotations

import numpy as np
from manim import DOWN, LEFT, RIGHT, UP, Rectangle, Square, SurroundingRectangle, VGroup

from attncore import fmt, pct

from ..components import Grid, VectorRow
from ..context import Ctx, Source, step_source
from ..layout import CONTENT_TOP
from ..texts import half_width, number_text, text

CELL_W, CELL_H = 0.8, 0.44  # a cache cell
FONT = 18  # the caches' numbers
LABELS_W = 1.3  # the row labels
COLUMN_W = 1.05  # the score and the weight columns
MINI = 2.6  # the side of the score-grid sketch
BAR_MAX = 5.0  # the longest probability bar


class KVCachePictures:
    """The KV-cache stage's pictures, for a stage's ctx (a decoder's next step); `dims()` the cache's
    dimensions shown."""

    ctx: Ctx

    def candidates(self, top: float) -> VGroup:
        """The top predictions, one line each: the token, a bar as long as its probability (the first's the
        longest), the probability."""
        ctx, theme, nxt = self.ctx, self.ctx.theme, self.ctx.result.next
        lines = VGroup()
        best = float(nxt.probabilities[0]) or 1.0
        for k, (tok, prob) in enumerate(zip(nxt.tokens, nxt.probabilities)):
            color = theme.accent if k == 0 else theme.text
            label = text(ctx, ctx.s("kv.candidate", token=tok), theme.caption_size, color, max_width=3.0)
            bar = Rectangle(width=max(0.05, BAR_MAX * float(prob) / best), height=0.32, stroke_width=0)
            bar.set_fill(theme.heat_high if k == 0 else theme.dim, 0.9)
            share = number_text(ctx, pct(prob), step_source("next_step", "probabilities", k, format="pct"), theme.caption_size, color)
            label.move_to([-3.2, top - k * 0.7, 0], aligned_edge=RIGHT)
            bar.move_to([-2.9, top - k * 0.7, 0], aligned_edge=LEFT)
            share.next_to(bar, RIGHT, buff=0.2)
            lines.add(VGroup(label, bar, share))
        return lines

    def cache(self, which: str, rows) -> VGroup:
        """The K or V cache: the sentence's rows (and the new token's, when `rows` holds S), its name over it.
        `.grid`, `.name`, `.whole`; `.rest` is all but the new row's cells and label (what the old cache becomes)."""
        ctx, theme, r = self.ctx, self.ctx.theme, self.ctx.result
        nxt, S = r.next, r.n_tokens
        own = nxt.k if which == "K" else nxt.v
        values = np.vstack([getattr(r, which), own[None, :]])  # (S + 1, d): the cache and its new row, laid out
        source = lambda a, c: Source(which, (a, c)) if a < S else step_source("next_step", which.lower(), c)
        color = theme.matrix_color(which)
        grid = Grid(ctx, values, rows, self.dims(), source=source, cell_w=CELL_W, cell_h=CELL_H, font_size=FONT,
                    color=color, row_labels=[*r.tokens, nxt.token] if which == "K" else None, label_width=LABELS_W,
                    highlight=S)
        n = S + 1 if S in rows else S
        name = text(ctx, ctx.s("kv.cache_name", name=which, s=n, d=values.shape[1]), theme.label_size, color,
                    max_width=CELL_W * len(grid.cols) + 0.6)
        name.next_to(grid.grid_box(), UP, buff=0.15)
        g = VGroup(grid, name)
        g.grid, g.name, g.whole = grid, name, g
        new_parts = [c for (a, _), c in grid.cells.items() if a == S] + ([grid.row_labels[S]] if S in grid.row_labels else [])
        g.rest = VGroup(grid.brackets, grid.marks, name, *(c for (a, _), c in grid.cells.items() if a != S),
                        *(lab for j, lab in grid.row_labels.items() if j != S))
        g.new_parts = VGroup(*new_parts)
        return g

    def place(self, K_old, V_old, K_new, V_new) -> None:
        """K at the left (its labels the rows'), room for the score and weight columns, then V; the old caches
        where the new ones stand (their rows the same but the last)."""
        top = CONTENT_TOP - 0.15
        left = -half_width() + LABELS_W + 0.25
        for g, x in ((K_new, left), (V_new, left + K_new.grid.grid_box().width + 0.3 + 2 * COLUMN_W + 0.3)):
            box = g.grid.grid_box()
            g.shift(RIGHT * (x - box.get_left()[0]) + UP * (top - g.name.get_top()[1]))
        for old, new in ((K_old, K_new), (V_old, V_new)):
            old.grid.shift(new.grid.anchor.get_center() - old.grid.anchor.get_center())
            old.name.move_to(new.name)

    def new_vectors(self) -> list[VectorRow]:
        """The new token's q, k and v in this head, one row each, at the right."""
        ctx, theme, nxt = self.ctx, self.ctx.theme, self.ctx.result.next
        dims = self.dims()
        out = []
        for n, (which, values) in enumerate((("q", nxt.q), ("k", nxt.k), ("v", nxt.v))):
            color = theme.matrix_color(which.upper())
            row = VectorRow(ctx, values, dims, step_source("next_step", which), ctx.s("kv.vector", name=which, token=nxt.token),
                            color=color, cell_w=CELL_W, cell_h=CELL_H + 0.08, font_size=FONT, label_width=1.2)
            row.move_to([half_width() - row.width / 2 - 0.1, CONTENT_TOP - 1.0 - n * 0.85, 0])
            out.append(row)
        return out

    def columns(self, K: VGroup, rows):
        """q · k_j and its weight for each row shown, beside the K cache: ({row: score}, {row: weight}, the two
        headers)."""
        ctx, theme, r = self.ctx, self.ctx.theme, self.ctx.result
        grid = K.grid
        x0 = grid.grid_box().get_right()[0] + 0.3 + COLUMN_W / 2
        scores, weights = {}, {}
        for slot, j in enumerate(rows):
            if j is None:
                continue
            y = grid.slot_point(slot, 0)[1]
            scores[j] = number_text(ctx, fmt(r.next.scores[j]), step_source("next_step", "scores", j), FONT, theme.text).move_to([x0, y, 0])
            weights[j] = number_text(ctx, pct(r.next.weights[j]), step_source("next_step", "weights", j, format="pct"), FONT,
                                     theme.heat_high).move_to([x0 + COLUMN_W, y, 0])
        heads = VGroup(text(ctx, ctx.s("kv.score_head"), theme.label_size, theme.text, max_width=COLUMN_W),
                       text(ctx, ctx.s("kv.weight_head"), theme.label_size, theme.heat_high, max_width=COLUMN_W))
        y = K.name.get_y()
        heads[0].move_to([x0, y, 0])
        heads[1].move_to([x0 + COLUMN_W, y, 0])
        return scores, weights, heads

    def mini(self) -> VGroup:
        """A sketch of the (S + 1) × (S + 1) score grid: the rows computed before (dim, later keys masked) and
        the new last row, coloured by its weights; each labelled."""
        ctx, theme, r = self.ctx, self.ctx.theme, self.ctx.result
        n = r.n_tokens + 1
        side = MINI / n
        right = half_width() - 0.1
        top = CONTENT_TOP - 0.5
        old, new = VGroup(), VGroup()
        for a in range(n):
            for b in range(n):
                cell = Square(side * 0.9, stroke_width=0).move_to([right - MINI + (b + 0.5) * side, top - (a + 0.5) * side, 0])
                if a < n - 1:
                    old.add(cell.set_fill(theme.dim if b <= a else theme.masked, 0.5 if b <= a else 0.6))
                else:
                    new.add(cell.set_fill(theme.heat(r.next.weights[b]), 1.0))
        box = SurroundingRectangle(new, color=theme.accent, buff=0.04)
        labels = [text(ctx, ctx.s("kv.mini_old", s=n - 1), theme.min_font_size, theme.dim, max_width=MINI + 0.2),
                  text(ctx, ctx.s("kv.mini_new"), theme.min_font_size, theme.accent, max_width=MINI + 0.2)]
        labels[0].next_to(old, UP, buff=0.12)
        labels[1].next_to(box, DOWN, buff=0.12)
        g = VGroup(old, new, box, *labels)
        g.old, g.new, g.labels = old, VGroup(new, box), labels
        return g
