"""A sentence underlined a part at a time as it is read out: the title's sentence, the summary's
shuffled one."""

from __future__ import annotations

from manim import Create, FadeOut, Line, ReplacementTransform

from ..beats import play

READ_PART, READ_MOST = 20, 8  # the sentence underlined a part at a time as it is read


def reading(sentence, chars: int, color) -> tuple:
    """Paced plays: a line under `sentence` (a line of text, `chars` characters) moving along it, a part
    at a time (about READ_PART characters each, at most READ_MOST parts), as it is read out; then gone.
    None for a sentence of one part: it is read before the line would move."""
    n = min(READ_MOST, chars // READ_PART)
    if n < 2:
        return ()
    left, w, y = sentence.get_left()[0], sentence.width / n, sentence.get_bottom()[1] - 0.12
    lines = [Line([left + k * w, y, 0], [left + (k + 1) * w, y, 0], color=color, stroke_width=3) for k in range(n)]
    return (play(Create(lines[0]), run_time=0.4),
            *(play(ReplacementTransform(a, b), run_time=0.4) for a, b in zip(lines, lines[1:])),
            play(FadeOut(lines[-1]), run_time=0.3))
