"""The scores stage's worked numbers (scenes/stages/scores.py): the dot product q_i . k_j as four rows
(q, k, their terms, the running sum) and its total; the table of q_i . k_j = |q_i| |k_j| cos θ for the
key the focus matches best and the one it matches worst."""

from __future__ import annotations

from dataclasses import dataclass

from manim import DOWN, LEFT, RIGHT, UP, Create, FadeOut, ReplacementTransform, SurroundingRectangle, VGroup

from attncore import fmt, steps
from attncore.tables import elided_runs, plan_axis

from ..beats import play
from ..components import VectorRow, arrange_down, row_of
from ..context import Ctx, Source
from ..layout import DIM_SLOTS, font_for
from ..texts import fit_width, half_width, number_text, text

LABEL_COL_W = 2.9  # the comparison table's row labels
VALUE_COL_W = 2.3  # one column of it: one key
VECTOR_LABELS = 3.4  # the worked vectors' labels and brackets
VECTOR_CELL_W = 1.6  # their widest cell (a 4-number vector then spans 3/4 of the width)


def top_count(d_k: int) -> int:
    """How many of the winning dot product's terms are picked out: 3, fewer for a short vector (2 of
    the toy's 4), so that they stay a few among many."""
    return max(1, min(3, d_k // 2))


@dataclass
class WorkedDot:
    """q_i . k_j worked (`dot`: attncore.steps.score_entry), its `n_top` largest terms (`top`), the
    dimensions shown, the rows q, k, terms and running sum (`panel`), the total and its line (`result`)."""

    dot: steps.DotProduct
    n_top: int
    top: steps.TopTerms
    dims: list
    q: VectorRow
    k: VectorRow
    terms: VectorRow
    running: VectorRow
    panel: VGroup
    total: VGroup
    result: VGroup


class DotProductPart:
    """The scores stage's worked numbers, for a stage's ctx."""

    ctx: Ctx

    def worked_dot(self, j: int) -> WorkedDot:
        """The focus token's query against key j, worked term by term, its largest terms kept in view."""
        ctx, theme, r, i = self.ctx, self.ctx.theme, self.ctx.result, self.ctx.focus
        tok, key = ctx.token(i), ctx.token(j)
        dot = steps.score_entry(r, i, j)
        n_top = top_count(r.d_k)
        top = steps.top_terms(r, i, j, n_top)
        dims = plan_axis(r.d_k, DIM_SLOTS, keep=top.dims)
        # cells as wide as the frame leaves beside the labels (a short vector's larger), rows as tall as their font
        w = max(1.05, min(VECTOR_CELL_W, (2 * half_width() - VECTOR_LABELS) / len(dims)))
        size = font_for(w, 0.65, theme, theme.max_font_size)
        entry = ("score_entry", i, j)
        vec = dict(cell_w=w, cell_h=max(0.55, min(0.65, size / 46)), font_size=size,
                   label_size=max(theme.label_size, 0.85 * size))
        q = VectorRow(ctx, r.Q[i], dims, Source("Q", (i,)), ctx.s("scores.q", token=tok), color=theme.Q, **vec)
        k = VectorRow(ctx, r.K[j], dims, Source("K", (j,)), ctx.s("scores.k", token=key), color=theme.K, **vec)
        runs = elided_runs(r.d_k, dims)
        products, sums = self.dot_adds_up(dot, dims, runs, j)
        terms = VectorRow(ctx, dot.terms, dims, Source("terms", step=entry),
                          ctx.s("scores.terms" if products else "scores.terms_approx"), color=theme.text, **vec)
        running = VectorRow(ctx, dot.running, dims, Source("running", step=entry),
                            ctx.s("scores.running" if sums else "scores.running_approx"),
                            color=theme.accent, colorize=False, **vec)
        for mark, run in zip(list(terms.grid.marks), runs):  # an elided run of terms: their sum, in the "…"'s place
            summed = number_text(ctx, fmt(steps.term_run(r, i, j, run)), Source("", (), ("term_run", i, j, run)),
                                 mark.font_size, theme.dim)
            if summed.width > w * 0.92:
                summed.scale_to_fit_width(w * 0.92)
            terms.grid.marks.remove(mark)
            terms.grid.marks.add(summed.move_to(mark))
        panel = fit_width(arrange_down(q, k, terms, running, buff=0.35)).move_to([0, 0.3, 0])
        # the worked numbers name their step, not the grid's cell (the key may be elided from the grid)
        total = number_text(ctx, fmt(dot.total), Source("total", step=entry), max(theme.caption_size + 4, size), theme.accent)
        result = row_of(text(ctx, ctx.s("scores.result" if sums else "scores.result_approx"), max(theme.caption_size + 4, size)),
                        total, buff=0.2)
        result.next_to(panel, DOWN, buff=0.45)
        return WorkedDot(dot, n_top, top, dims, q, k, terms, running, panel, total, result)

    def dot_adds_up(self, dot: steps.DotProduct, dims, runs, j: int) -> tuple[bool, bool]:
        """(products, sums): whether every term shown is q × k as shown, and whether every running sum
        shown (and the total) is the one before it plus the terms (and elided runs' sums) shown since, as
        shown (scenes.arithmetic). Each row's label carries "≈" where not."""
        r, i = self.ctx.result, self.ctx.focus
        shown = [m for m in dims if m is not None]
        products = self.ctx.equations(*(("product", [fmt(dot.a[m]), fmt(dot.b[m])], fmt(dot.terms[m])) for m in shown))
        operands, sums, gaps = [], [], iter(runs)
        for m in dims:
            if m is None:
                operands.append(fmt(steps.term_run(r, i, j, next(gaps))))
                continue
            operands.append(fmt(dot.terms[m]))
            sums.append(("sum", operands, fmt(dot.running[m])))
            operands = [fmt(dot.running[m])]
        sums.append(("sum", operands, fmt(dot.total)))
        return products, self.ctx.equations(*sums)

    def down(self, parts) -> tuple:
        """Paced plays: a frame on each of `parts` in turn (a column's numbers, as they are said), then gone."""
        frames = [SurroundingRectangle(p, color=self.ctx.theme.accent, buff=0.08) for p in parts]
        return (play(Create(frames[0]), run_time=0.4),
                *(play(ReplacementTransform(a, b), run_time=0.4) for a, b in zip(frames, frames[1:])),
                play(FadeOut(frames[-1]), run_time=0.3))

    def angle_values(self, j: int) -> dict:
        """|q_i|, |k_j| and their cosine, quoted for a line."""
        ctx, i = self.ctx, self.ctx.focus
        angle = steps.score_angle(ctx.result, i, j)
        at = lambda f: Source(f, step=("score_angle", i, j))
        return dict(q=ctx.quote(angle.q_norm, at("q_norm")), k=ctx.quote(angle.k_norm, at("k_norm")),
                    cos=ctx.quote(angle.cosine, at("cosine")))

    def comparison(self, *keys: int | None, beside: bool = False):
        """A table of q_i . k_j = |q_i| |k_j| cos θ for each of `keys` (None skipped): row labels (q_i,
        |q|, |k|, cos θ, q . k), then one column per key (k_j, its three numbers) and its q . k below.
        Returns (labels, {key: column}, {key: its q . k}), placed together in the middle (`beside`: in
        the frame's left half, a picture beside it)."""
        ctx, theme, r, i = self.ctx, self.ctx.theme, self.ctx.result, self.ctx.focus
        size, gap = theme.caption_size, 0.62
        ys = [(2 - n) * gap for n in range(5)]
        labels = VGroup(text(ctx, ctx.s("scores.q", token=ctx.token(i)), theme.label_size, theme.Q, max_width=LABEL_COL_W))
        for name in ("scores.len_q", "scores.len_k", "scores.cos", "scores.dot_row"):
            color = theme.accent if name == "scores.dot_row" else theme.text
            labels.add(text(ctx, ctx.s(name), theme.label_size, color, max_width=LABEL_COL_W))
        for lab, y in zip(labels, ys):
            lab.move_to([0, y, 0], aligned_edge=RIGHT)
        columns, cells = {}, {}
        for n, j in enumerate(k for k in keys if k is not None):
            x = 0.3 + VALUE_COL_W * (n + 0.5)
            angle, at = steps.score_angle(r, i, j), lambda f: Source(f, step=("score_angle", i, j))
            col = VGroup(text(ctx, ctx.s("scores.k", token=ctx.token(j)), theme.label_size, theme.K,
                              max_width=VALUE_COL_W - 0.2),
                         number_text(ctx, fmt(angle.q_norm), at("q_norm"), size, theme.text),
                         number_text(ctx, fmt(angle.k_norm), at("k_norm"), size, theme.text),
                         number_text(ctx, fmt(angle.cosine), at("cosine"), size, theme.text))
            cells[j] = number_text(ctx, fmt(angle.total), at("total"), size + 2, theme.accent)
            for part, y in zip([*col, cells[j]], ys):
                part.move_to([x, y, 0])
            columns[j] = col
        whole = VGroup(labels, *columns.values(), *cells.values())
        whole.shift(UP * 0.2 + (LEFT * whole.get_right()[0] if beside else LEFT * whole.get_center()[0]))
        return labels, columns, cells
