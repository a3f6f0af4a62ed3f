"""The seven stages of the video. Each reads attncore's result through `Ctx` and draws it.

A stage starts from `begin()` (the previous stage's handoff, rebuilt identically) and ends on
`handoff()`, so stages chain seamlessly in the full video and each also renders on its own.
"""

from __future__ import annotations

import numpy as np
from manim import (
    DOWN,
    LEFT,
    RIGHT,
    UP,
    FadeIn,
    FadeOut,
    LaggedStart,
    ReplacementTransform,
    Scene,
    SurroundingRectangle,
    Wait,
    TransformFromCopy,
    VGroup,
    Write,
    ORIGIN,
    Rectangle,
    RoundedRectangle,
)

from attncore import fmt, pct, steps

from . import STAGE_NAMES
from .components import Ctx, Grid, bracket, half_width, place_caption, place_heading, plan_axis
from .layout import PROJ_GAP, Layout, font_for


WEIGHTED_ROWS = 10  # token lines shown at most in the weighted sum


def stagger(animations, lag_ratio: float = 0.05):
    """LaggedStart over `animations`, or a pause when there are none (e.g. a one-token sentence)."""
    animations = list(animations)
    return LaggedStart(*animations, lag_ratio=lag_ratio) if animations else Wait()


class Stage:
    """One step of the explanation. Subclasses set `name` and implement `play`."""

    name = ""

    def __init__(self, ctx: Ctx):
        self.ctx = ctx
        self.lay = Layout(ctx)

    def begin(self) -> VGroup:
        """What is on screen when this stage starts: the previous stage's handoff."""
        index = STAGE_NAMES.index(self.name)
        return STAGES[index - 1](self.ctx).handoff() if index else VGroup()

    def handoff(self) -> VGroup:
        """What is on screen when this stage ends."""
        return VGroup()

    def play(self, scene: Scene, start: VGroup) -> None:
        raise NotImplementedError

    # helpers shared by the stages
    def heading(self, key: str, **kw):
        return place_heading(self.ctx.text(self.ctx.s(key, **kw), self.ctx.theme.heading_size))

    def show_heading(self, scene: Scene, key: str):
        heading = self.heading(key)
        scene.play(FadeIn(heading), run_time=0.6)
        return heading

    def caption(self, text: str, color=None):
        half_w = half_width()
        return place_caption(self.ctx.text(text, self.ctx.theme.caption_size, color, max_width=2 * half_w))

    def swap_caption(self, scene: Scene, old, text: str, color=None, run_time: float = 0.6):
        new = self.caption(text, color)
        if old is None:
            scene.play(FadeIn(new, shift=UP * 0.15), run_time=run_time)
        else:
            scene.play(FadeOut(old, shift=UP * 0.15), FadeIn(new, shift=UP * 0.15), run_time=run_time)
        return new

    def conclude(self, scene: Scene, cap, *leaving, reveal: bool = False) -> None:
        """Say what was elided (in place of the caption), fade out the caption and `leaving`, then
        leave exactly `handoff()` on screen: faded in when `reveal`, else swapped in silently because
        what remains on screen already looks the same."""
        cap = self.note_elisions(scene, cap)
        scene.play(FadeOut(VGroup(*(m for m in (cap, *leaving) if m is not None))), run_time=0.6)
        target = self.handoff()
        if reveal:
            scene.play(FadeIn(target), run_time=0.6)
        scene.remove(*scene.mobjects)
        scene.add(target)

    def elided(self) -> tuple:
        """The (slots, total, what) axes this stage may elide, for the note that says so."""
        return ()

    def note_elisions(self, scene: Scene, cap):
        """Replace the caption with what was elided, if anything; returns the caption now shown."""
        notes = self.lay.notes(*self.elided())
        if not notes:
            return cap
        cap = self.swap_caption(scene, cap, "   ".join(notes), self.ctx.theme.dim, run_time=0.4)
        scene.wait(1.2)
        return cap


class TitleStage(Stage):
    name = "title"

    def handoff(self) -> VGroup:
        return self.lay.token_labels()

    def play(self, scene: Scene, start: VGroup) -> None:
        ctx, theme = self.ctx, self.ctx.theme
        half_w = half_width()
        title = ctx.text(ctx.s("title"), 40).to_edge(UP, buff=0.9)
        sentence = ctx.text("“" + " ".join(ctx.result.tokens) + "”", 34, max_width=2 * half_w - 0.4)
        scene.play(Write(title), run_time=1.0)
        scene.play(FadeIn(sentence, shift=UP * 0.2), run_time=0.8)
        scene.wait(0.8)
        chips = VGroup()
        for i, tok in enumerate(ctx.result.tokens):
            t = ctx.text(tok, 28, theme.accent if i == ctx.focus else theme.text, max_width=3.0)
            box = RoundedRectangle(corner_radius=0.1, width=t.width + 0.3, height=0.6, stroke_color=theme.dim, stroke_width=2)
            chips.add(VGroup(box.move_to(t), t))
        per_row = max(1, min(len(chips), 8))
        chips.arrange_in_grid(cols=per_row, buff=(0.2, 0.3)) if len(chips) > per_row else chips.arrange(RIGHT, buff=0.2)
        if chips.width > 2 * half_w - 0.4:
            chips.scale_to_fit_width(2 * half_w - 0.4)
        count = self.caption(ctx.s("title.tokens", n=ctx.result.n_tokens) if ctx.result.n_tokens > 1 else ctx.s("title.token"))
        scene.play(FadeOut(sentence, shift=DOWN * 0.2), stagger((FadeIn(c, shift=DOWN * 0.2) for c in chips), 0.08), run_time=1.2)
        scene.play(FadeIn(count), run_time=0.5)
        scene.still("key")
        scene.wait(1.0)
        labels = self.handoff()
        visible = [i for i in self.lay.rows if i is not None]
        moves = [ReplacementTransform(chips[i][1], lab) for i, lab in zip(visible, labels)]
        rest = [chips[i][1] for i in range(len(chips)) if i not in visible] + [c[0] for c in chips]
        scene.play(*moves, FadeOut(VGroup(title, count, *rest)), run_time=1.2)
        scene.remove(*scene.mobjects)
        scene.add(labels)


class EmbeddingsStage(Stage):
    name = "embeddings"

    def elided(self):
        r = self.ctx.result
        return (self.lay.rows, r.n_tokens, "tokens"), (self.lay.proj_dims(r.d_model), r.d_model, "dims")


    def handoff(self) -> VGroup:
        return self.lay.x_block()

    def play(self, scene: Scene, start: VGroup) -> None:
        ctx, theme, r = self.ctx, self.ctx.theme, self.ctx.result
        heading = self.show_heading(scene, "embeddings.heading")
        cap = self.swap_caption(scene, None, ctx.s("embeddings.caption", d=r.d_model))
        E = self.lay.x_grid("embeddings")
        # one small bracket pair around each row: separate vectors first
        row_brackets = VGroup()
        for i in E.rows:
            if i is None:
                continue
            row = E.row(i)
            h = E.cell_h * 0.8
            row_brackets.add(VGroup(
                bracket(h, theme.dim, -1).next_to(row, LEFT, buff=0.12),
                bracket(h, theme.dim, 1).next_to(row, RIGHT, buff=0.12),
            ))
        vectors = [VGroup(E.row(i), b) for i, b in zip([i for i in E.rows if i is not None], row_brackets)]
        scene.play(stagger((FadeIn(v, shift=RIGHT * 0.3) for v in vectors), 0.25), FadeIn(E.marks), run_time=2.0)
        scene.wait(0.8)
        # stack: the row brackets become the matrix's brackets
        x_name = self.lay.name_over(E, "X", theme.X)
        shape = ctx.text(ctx.s("embeddings.shape", s=r.n_tokens, d=r.d_model), theme.caption_size, theme.X)
        shape.next_to(E.grid_box(), RIGHT, buff=0.6)
        cap = self.swap_caption(scene, cap, ctx.s("embeddings.stack"))
        scene.play(ReplacementTransform(row_brackets, E.brackets), FadeIn(x_name), run_time=1.0)
        scene.play(Write(shape), run_time=0.8)
        scene.still("key")
        if r.positional:
            cap = self.swap_caption(scene, cap, ctx.s("embeddings.positional"))
            X = self.lay.x_grid("X")
            scene.play(*(ReplacementTransform(E.cells[k], X.cells[k]) for k in E.cells), run_time=1.2)
            E = X
        scene.wait(1.0)
        self.conclude(scene, cap, heading, shape)


class ProjectionStage(Stage):
    name = "projection"

    def elided(self):
        r = self.ctx.result
        widest = max(r.d_model, r.d_k, r.d_v)
        return (self.lay.rows, r.n_tokens, "tokens"), (self.lay.proj_dims(widest), widest, "dims")


    def handoff(self) -> VGroup:
        return self.lay.qkv_row()

    def weight_grid(self, which: str, left) -> VGroup:
        r, lay, theme = self.ctx.result, self.lay, self.ctx.theme
        W = getattr(r, f"W_{which}")
        w = lay.proj_cell_w
        g = Grid(self.ctx, f"W_{which}", W, lay.proj_dims(W.shape[0]), lay.proj_dims(W.shape[1]),
                 cell_w=w, cell_h=lay.row_h, font_size=font_for(w, lay.row_h, theme))
        g.next_to(left, RIGHT, buff=PROJ_GAP).align_to(left, UP)
        name = self.lay.name_over(g, f"W_{which}  ({W.shape[0]} × {W.shape[1]})", theme.matrix_color(which))
        return VGroup(g, name)

    def result_grid(self, which: str, left) -> VGroup:
        r, lay, theme = self.ctx.result, self.lay, self.ctx.theme
        M = getattr(r, which)
        g = lay.token_matrix(which, M, lay.proj_dims(M.shape[1]), lay.proj_cell_w, labels=False)
        g.next_to(left, RIGHT, buff=PROJ_GAP).align_to(left, UP)
        name = self.lay.name_over(g, self.ctx.s("projection.shape", name=which, s=M.shape[0], d=M.shape[1]), theme.matrix_color(which))
        return VGroup(g, name)

    def worked_entry(self, which: str, i: int, j: int):
        """row i of X · column j of W = entry, term by term (elided past DIM_SLOTS terms)."""
        ctx, theme, r = self.ctx, self.ctx.theme, self.ctx.result
        dot = steps.projection_entry(r, which, i, j)
        size = theme.caption_size - 2
        parts = [ctx.text(ctx.s("projection.entry", w=which), size, theme.dim)]
        for n, m in enumerate(self.lay.proj_dims(len(dot.terms))):
            if n:
                parts.append(ctx.text("+", size, theme.dim))
            if m is None:
                parts.append(ctx.text("…", size, theme.dim))
                continue
            parts += [
                ctx.number(fmt(r.X[i, m]), ("fmt", "X", i, m), size, theme.X),
                ctx.text("×", size, theme.dim),
                ctx.number(fmt(getattr(r, f"W_{which}")[m, j]), ("fmt", f"W_{which}", m, j), size, theme.matrix_color(which)),
            ]
        parts += [ctx.text("=", size, theme.dim), ctx.number(fmt(dot.total), ("fmt", which, i, j), size, theme.accent)]
        half_w = half_width()
        expr = VGroup(*parts).arrange(RIGHT, buff=0.12)
        if expr.width > 2 * half_w:
            expr.scale_to_fit_width(2 * half_w)
        return place_caption(expr)

    def play(self, scene: Scene, start: VGroup) -> None:
        ctx, theme = self.ctx, self.ctx.theme
        x_grid = start[0]
        heading = self.show_heading(scene, "projection.heading")
        i = ctx.focus
        cap = None
        for n, which in enumerate(("Q", "K", "V")):
            W = self.weight_grid(which, x_grid.grid_box())
            M = self.result_grid(which, W[0].grid_box())
            dot = ctx.text("·", 40, theme.dim).move_to((x_grid.grid_box().get_right() + W[0].grid_box().get_left()) / 2)
            eq = ctx.text("=", 34, theme.dim).move_to((W[0].grid_box().get_right() + M[0].grid_box().get_left()) / 2)
            dot.set_y(x_grid.grid_box().get_y()); eq.set_y(x_grid.grid_box().get_y())
            scene.play(FadeIn(VGroup(W, dot, eq, M[0].brackets, M[0].marks, M[1])), run_time=0.8 if n == 0 else 0.5)
            cells = M[0].cells
            if n == 0:
                j = next(c for c in M[0].cols if c is not None)
                hl = VGroup(SurroundingRectangle(x_grid.row(i), color=theme.accent, buff=0.06),
                            SurroundingRectangle(W[0].col(j), color=theme.accent, buff=0.06))
                expr = self.worked_entry(which, i, j)
                if cap is not None:
                    scene.play(FadeOut(cap), run_time=0.3)
                scene.play(FadeIn(hl), FadeIn(expr, shift=UP * 0.15), run_time=1.0)
                scene.still("key")
                scene.wait(1.6)
                scene.play(TransformFromCopy(expr[-1], cells[i, j]), run_time=0.8)
                scene.play(FadeOut(hl), FadeOut(expr), run_time=0.4)
                rest = [c for k, c in cells.items() if k != (i, j)]
                scene.play(stagger((FadeIn(c) for c in rest), 0.04), run_time=1.4)
            else:
                scene.play(stagger((FadeIn(c) for c in cells.values()), lag_ratio=0.02), run_time=0.8)
            key = {"Q": "query", "K": "key", "V": "value"}[which]
            cap = self.swap_caption(scene, cap, ctx.s(f"projection.{key}"), theme.matrix_color(which))
            scene.wait(1.0)
            scene.play(FadeOut(VGroup(W, dot, eq, M)), run_time=0.4)
        self.conclude(scene, cap, heading, start, reveal=True)


class ScoresStage(Stage):
    name = "scores"

    def elided(self):
        return ((self.lay.token_cols, self.ctx.result.n_tokens, "tokens"),)


    def handoff(self) -> VGroup:
        return VGroup(self.lay.square_grid("scores"))

    def play(self, scene: Scene, start: VGroup) -> None:
        ctx, theme, r, lay = self.ctx, self.ctx.theme, self.ctx.result, self.lay
        i = j = ctx.focus
        tok = ctx.token(i)
        heading = self.show_heading(scene, "scores.heading")
        cap = self.swap_caption(scene, None, ctx.s("scores.focus", token=tok))
        q_grid, k_grid = start[0][0], start[1][0]
        hl = VGroup(SurroundingRectangle(q_grid.row(i), color=theme.Q, buff=0.06),
                    SurroundingRectangle(k_grid.row(j), color=theme.K, buff=0.06))
        scene.play(FadeIn(hl), run_time=0.6)
        scene.wait(0.6)
        # the worked dot product q_i . k_j, term by term with its running sum
        dot = steps.score_entry(r, i, j)
        dims = lay.dims(r.d_k)
        w = 1.05
        size = font_for(w, 0.5, theme)
        key = ("score_entry", i, j)

        def vec(name, values, index, label, color, colorize=True):
            g = Grid(ctx, name, values[None, :], [0], dims, cell_w=w, cell_h=0.55, font_size=size,
                     color=color, colorize=colorize, index=index)
            lab = ctx.text(label, theme.label_size, color, max_width=2.6).next_to(g.grid_box(), LEFT, buff=0.3)
            return VGroup(g, lab)

        q = vec("Q", r.Q[i], lambda _, b: (i, b), f"q  “{tok}”", theme.Q)
        k = vec("K", r.K[j], lambda _, b: (j, b), f"k  “{ctx.token(j)}”", theme.K)
        terms = vec((*key, "terms"), dot.terms, lambda _, b: (b,), "q × k", theme.text)
        running = vec((*key, "running"), dot.running, lambda _, b: (b,), ctx.s("scores.running"), theme.accent, colorize=False)
        panel = VGroup(q, k, terms, running).arrange(DOWN, buff=0.35, aligned_edge=RIGHT).move_to([0, 0.3, 0])
        scene.play(FadeOut(start), FadeOut(hl), run_time=0.6)
        scene.play(FadeIn(VGroup(q, k)), run_time=0.6)
        for slot, m in enumerate(dims):
            if m is None:
                scene.play(FadeIn(terms[0].marks), FadeIn(running[0].marks), run_time=0.3)
                continue
            col = VGroup(q[0].cells[0, m], k[0].cells[0, m])
            scene.play(TransformFromCopy(col, terms[0].cells[0, m]), run_time=0.5)
            scene.play(FadeIn(running[0].cells[0, m], shift=RIGHT * 0.1), run_time=0.35)
        scene.play(FadeIn(VGroup(terms[0].brackets, terms[1], running[0].brackets, running[1])), run_time=0.4)
        total = ctx.number(fmt(dot.total), ("fmt", "scores", i, j), theme.caption_size + 4, theme.accent)
        result = VGroup(ctx.text("q · k =", theme.caption_size + 4, theme.text), total).arrange(RIGHT, buff=0.2)
        result.next_to(panel, DOWN, buff=0.45)
        scene.play(Write(result), run_time=0.8)
        scene.still("key")
        scene.wait(1.2)
        # into the grid: the focus cell, then its row, then every row
        grid = lay.square_grid("scores")
        frame = VGroup(grid.brackets, grid.marks, *grid.row_labels.values(), *grid.col_labels.values())
        scene.play(FadeOut(panel), FadeOut(result[0]), total.animate.move_to(ORIGIN), run_time=0.6)
        scene.play(FadeIn(frame), ReplacementTransform(total, grid.cells[i, j]), run_time=0.8)
        cap = self.swap_caption(scene, cap, ctx.s("scores.row", token=tok))
        row = [c for (a, b), c in grid.cells.items() if a == i and b != j]
        scene.play(stagger((FadeIn(c, scale=1.3) for c in row), 0.15), run_time=1.2)
        scene.wait(0.6)
        cap = self.swap_caption(scene, cap, ctx.s("scores.grid"))
        others = [c for (a, _), c in grid.cells.items() if a != i]
        scene.play(stagger((FadeIn(c) for c in others), 0.02), run_time=1.5)
        scene.wait(1.2)
        self.conclude(scene, cap, heading)


class SoftmaxStage(Stage):
    name = "softmax"

    def elided(self):
        return ((self.lay.token_cols, self.ctx.result.n_tokens, "tokens"),)


    def handoff(self) -> VGroup:
        return self.lay.weights_block()

    def play(self, scene: Scene, start: VGroup) -> None:
        ctx, theme, r, lay = self.ctx, self.ctx.theme, self.ctx.result, self.lay
        i = ctx.focus
        heading = self.show_heading(scene, "softmax.heading")
        scores = start[0]
        scale = ctx.number(fmt(r.scale), ("fmt", "scale"), theme.caption_size, theme.accent)
        cap = self.caption(ctx.s("softmax.scale", dk=r.d_k, scale=scale.text))
        scene.play(FadeIn(cap), run_time=0.6)
        scaled = lay.square_grid("scaled", cell_text=lay.masked_text(), fill=lay.masked_fill())
        scene.play(*(ReplacementTransform(scores.cells[k], scaled.cells[k]) for k in scores.cells),
                   *(FadeIn(f) for f in scaled.fills.values()), run_time=1.2)
        scene.remove(scores)
        scene.add(scaled)
        if r.causal:
            cap = self.swap_caption(scene, cap, ctx.s("softmax.masked"))
        scene.wait(1.2)
        # the focus row worked out: e^x, their sum, each share
        sm = steps.softmax_row(r, i)
        w, _ = lay.grid_cell
        size = font_for(w, 0.5, theme)
        src = ("softmax_row", i)
        cols = lay.token_cols

        def row_grid(name, values, index, label, percent=False, color=None, cell_text=None):
            g = Grid(ctx, name, np.asarray(values)[None, :], [0], cols, cell_w=w, cell_h=0.55, font_size=size,
                     percent=percent, colorize=False, brackets=False, index=index, cell_text=cell_text)
            lab = ctx.text(label, theme.label_size, color or theme.text, max_width=1.7).next_to(g.grid_box(), LEFT, buff=0.3)
            return VGroup(g, lab)

        masked_cell = lay.masked_text()
        masked = (lambda _, b: masked_cell(i, b)) if masked_cell else None
        xs = row_grid((*src, "x"), sm.x, lambda _, b: (b,), "x", cell_text=masked)
        exp_label = ctx.s("softmax.exp") if sm.shift == 0 else ctx.s("softmax.exp_shifted", shift=fmt(sm.shift))
        ex = row_grid((*src, "exps"), sm.exps, lambda _, b: (b,), exp_label)
        ws = row_grid("weights", r.weights[i], lambda _, b: (i, b), "%", percent=True, color=theme.heat_high)
        toks = VGroup(*(ctx.text(r.tokens[j], theme.label_size, theme.accent if j == i else theme.text, max_width=w * 0.95)
                        for j in cols if j is not None))
        panel = VGroup(xs, ex, ws).arrange(DOWN, buff=0.3, aligned_edge=RIGHT)
        for t, (slot, j) in zip(toks, [(s, j) for s, j in enumerate(cols) if j is not None]):
            t.move_to(xs[0].slot_point(0, slot) + UP * 0.55)
        total = ctx.number(fmt(sm.total), ("fmt", (*src, "total")), size, theme.accent)
        total_t = VGroup(ctx.text(ctx.s("softmax.sum") + " =", theme.label_size, theme.dim), total).arrange(RIGHT, buff=0.15)
        total_t.next_to(ex, RIGHT, buff=0.3)
        whole = VGroup(toks, panel, total_t)
        half_w = half_width()
        if whole.width > 2 * half_w:
            whole.scale_to_fit_width(2 * half_w)
        whole.move_to([0, 0.2, 0])
        hl = SurroundingRectangle(scaled.row(i), color=theme.accent, buff=0.05)
        scene.play(FadeIn(hl), run_time=0.5)
        scene.play(FadeOut(scaled), FadeOut(hl), run_time=0.6)
        scene.play(FadeIn(toks), FadeIn(xs), run_time=0.6)
        scene.play(stagger((TransformFromCopy(xs[0].cells[k], ex[0].cells[k]) for k in ex[0].cells), 0.1),
                   FadeIn(ex[1]), FadeIn(ex[0].marks), run_time=1.2)
        scene.play(FadeIn(total_t), run_time=0.6)
        scene.play(FadeIn(ws), run_time=0.8)
        scene.still("key")
        scene.wait(1.6)
        # every row: heat-coloured percentages, each summing to 100%
        block = self.handoff()
        cap = self.swap_caption(scene, cap, ctx.s("softmax.caption"))
        scene.play(FadeOut(whole), run_time=0.6)
        scene.play(FadeIn(block), run_time=0.8)
        scene.wait(1.6)
        self.conclude(scene, cap, heading)


class WeightedSumStage(Stage):
    name = "weighted-sum"

    def elided(self):
        r = self.ctx.result
        rows = plan_axis(r.n_tokens, WEIGHTED_ROWS, keep=[self.ctx.focus])
        return (rows, r.n_tokens, "tokens"), (self.lay.qkv_dims(r.d_v), r.d_v, "dims")


    def handoff(self) -> VGroup:
        return self.lay.z_block()

    def play(self, scene: Scene, start: VGroup) -> None:
        ctx, theme, r, lay = self.ctx, self.ctx.theme, self.ctx.result, self.lay
        i = ctx.focus
        heading = self.show_heading(scene, "weighted.heading")
        grid = start[0]
        hl = SurroundingRectangle(VGroup(grid.row(i), grid.row_labels[i]), color=theme.accent, buff=0.05)
        cap = self.swap_caption(scene, None, ctx.s("weighted.caption", token=ctx.token(i)))
        scene.play(FadeIn(hl), run_time=0.5)
        scene.wait(0.5)
        # one line per token j: a_j, a bar, v_j (faded by a_j), -> a_j v_j
        scaled = steps.weighted_values(r, i)
        dims = lay.qkv_dims(r.d_v)
        w, h = lay.qkv_cell_w, lay.row_h
        size = font_for(w, h, theme)
        a_max = r.weights[i].max()
        lines = VGroup()
        bars = VGroup()
        for j in self.elided()[0][0]:
            if j is None:
                lines.add(ctx.text("⋮", size, theme.dim))
                continue
            a = r.weights[i, j]
            label = ctx.text(r.tokens[j], theme.label_size, theme.text, max_width=1.5)
            share = ctx.number(pct(a), ("pct", "weights", i, j), size, theme.heat_high)
            bar = Rectangle(width=max(0.02, 1.2 * a / a_max), height=h * 0.5, stroke_width=0).set_fill(theme.heat_high, 1)
            v = Grid(ctx, "V", r.V[j][None, :], [0], dims, cell_w=w, cell_h=h, font_size=size, index=lambda _, b, j=j: (j, b))
            v.body.set_opacity(0.3 + 0.7 * a / a_max)  # the numbers fade with their weight
            v.brackets.set_stroke(opacity=0.3 + 0.7 * a / a_max)
            arrow = ctx.text("→", size, theme.dim)
            av = Grid(ctx, ("weighted_values", i), scaled[j][None, :], [0], dims, cell_w=w, cell_h=h, font_size=size,
                      color=theme.Z, index=lambda _, b, j=j: (j, b))
            parts = VGroup(label, share, bar, v, arrow, av)
            label.move_to([0, 0, 0]).align_to([-0.1, 0, 0], RIGHT)
            share.move_to([0.55, 0, 0])
            bar.move_to([1.2, 0, 0]).align_to([1.2, 0, 0], LEFT)
            v.next_to(bar, RIGHT, buff=0.25).align_to([2.7, 0, 0], LEFT)
            arrow.next_to(v, RIGHT, buff=0.25)
            av.next_to(arrow, RIGHT, buff=0.25)
            bars.add(bar)
            lines.add(parts)
        lines.arrange(DOWN, buff=h * 0.1, aligned_edge=RIGHT)
        label_x = next(l for l in lines if isinstance(l, VGroup))[0].get_x()
        for mark in (l for l in lines if not isinstance(l, VGroup)):
            mark.set_x(label_x)  # "⋮" under the token labels
        z = Grid(ctx, "output", r.output[i][None, :], [0], dims, cell_w=w, cell_h=h, font_size=size,
                 color=theme.Z, index=lambda _, b: (i, b))
        z_label = ctx.text(f"z  “{ctx.token(i)}” = Σ", theme.label_size, theme.Z, max_width=3.5)
        last = next(l for l in reversed(lines) if isinstance(l, VGroup) and len(l) == 6)
        z.next_to(last[5].grid_box(), DOWN, buff=0.35).align_to(last[5].grid_box(), LEFT)
        z_label.next_to(z.grid_box(), LEFT, buff=0.3)
        whole = VGroup(lines, z, z_label)
        half_w = half_width()
        top, bottom = 2.75, -2.9
        if whole.height > top - bottom or whole.width > 2 * half_w:
            whole.scale(min((top - bottom) / whole.height, 2 * half_w / whole.width))
        whole.move_to([0, (top + bottom) / 2, 0])
        scene.play(FadeOut(start), FadeOut(hl), run_time=0.6)
        firsts = VGroup(*(VGroup(*l[:4]) if isinstance(l, VGroup) and len(l) == 6 else l for l in lines))
        scene.play(stagger((FadeIn(m, shift=RIGHT * 0.2) for m in firsts), 0.1), run_time=1.6)
        scene.wait(0.6)
        seconds = [VGroup(*l[4:]) for l in lines if isinstance(l, VGroup) and len(l) == 6]
        scene.play(stagger((FadeIn(m, shift=RIGHT * 0.2) for m in seconds), 0.1), run_time=1.4)
        scene.play(FadeIn(z_label), TransformFromCopy(VGroup(*(l[5] for l in lines if isinstance(l, VGroup) and len(l) == 6)), z), run_time=1.2)
        scene.still("key")
        scene.wait(1.6)
        block = self.handoff()
        cap = self.swap_caption(scene, cap, ctx.s("weighted.message"), theme.Z)
        scene.play(FadeOut(whole), run_time=0.6)
        scene.play(FadeIn(block), run_time=0.8)
        scene.wait(2.0)
        self.conclude(scene, cap, heading)


class SummaryStage(Stage):
    name = "summary"


    def play(self, scene: Scene, start: VGroup) -> None:
        ctx, theme, r = self.ctx, self.ctx.theme, self.ctx.result
        heading = self.heading("summary.heading")
        half_w = half_width()
        formula = ctx.text(ctx.s("summary.formula"), 34, theme.text, max_width=2 * half_w)
        shapes = VGroup(*(
            ctx.text(ctx.s(f"summary.{key}", s=r.n_tokens, dk=r.d_k, dv=r.d_v), theme.caption_size, color, max_width=2 * half_w)
            for key, color in (("scores", theme.K), ("weights", theme.heat_high), ("output", theme.Z))
        )).arrange(DOWN, buff=0.25)
        VGroup(formula, shapes).arrange(DOWN, buff=0.5).move_to([0, 0.3, 0])
        scene.play(FadeIn(heading), FadeOut(start, shift=DOWN * 0.3), run_time=1.0)
        scene.play(Write(formula), run_time=1.6)
        scene.play(FadeIn(shapes, shift=UP * 0.2), run_time=0.8)
        scene.still("key")
        scene.wait(3.0)


STAGES: tuple[type[Stage], ...] = (
    TitleStage,
    EmbeddingsStage,
    ProjectionStage,
    ScoresStage,
    SoftmaxStage,
    WeightedSumStage,
    SummaryStage,
)
assert tuple(s.name for s in STAGES) == STAGE_NAMES


def stage_class(name: str) -> type[Stage]:
    return STAGES[STAGE_NAMES.index(name)]
