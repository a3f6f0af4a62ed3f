"""A frame swept over a token grid's rows, as the narration says "each row": the scores', the
weights' and the outputs' grids."""

from __future__ import annotations

from manim import Create, FadeOut, ReplacementTransform, Succession, SurroundingRectangle, VGroup

from ..beats import play


def row_sweep(grid, theme, beside=()) -> tuple:
    """Paced plays over a token grid's rows (its row label and what stands `beside` the row, e.g. its
    sum, with it): a frame on the first row, moving down to the last in one play, then gone."""
    rows = [i for i in grid.rows if i is not None]

    def frame(i):
        row = grid.row(i)
        level = [b for b in beside if abs(b.get_y() - row.get_y()) < 1e-3]
        return SurroundingRectangle(VGroup(row, grid.row_labels[i], *level), color=theme.accent, buff=0.05)

    frames = [frame(i) for i in rows]
    moves = [ReplacementTransform(a, b) for a, b in zip(frames, frames[1:])]
    return (play(Create(frames[0]), run_time=0.5),
            *([play(Succession(*moves), run_time=min(2.4, 0.3 * len(moves) + 0.1))] if moves else []),
            play(FadeOut(frames[-1]), run_time=0.4))


