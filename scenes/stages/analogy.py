"""The library analogy (seed 000), an optional opening: the focus token brings a question (its
query), every token is a book whose label is its key and whose summary is its value; the question
is matched against the labels with the focus token's real attention weights, the summaries are
blended by those shares into the answer (z), and the three are mapped onto Q, K and V."""

from __future__ import annotations

from manim import DOWN, UP, FadeIn, FadeOut, Line, RoundedRectangle, VGroup

from attncore import pct, steps

from ..beats import Beat, Stage, play, say
from ..components import Picture, VectorRow, half_width, number_text, stagger, text
from ..context import Source, vector_quote
from ..elision import run_label
from ..layout import CONTENT_BOTTOM, CONTENT_TOP

BOOK_H = 2.1


def card(ctx, words: str, color, width: float, height: float = 0.62, size: float | None = None) -> VGroup:
    """Words on a rounded card outlined in `color`."""
    box = RoundedRectangle(corner_radius=0.1, width=width, height=height, stroke_color=color, stroke_width=2.5)
    box.set_fill(color, opacity=0.12)
    words_ = text(ctx, words, size or ctx.theme.label_size, ctx.theme.text, max_width=width - 0.2)
    return VGroup(box, words_.move_to(box))


class AnalogyStage(Stage):
    name = "analogy"
    starts_from = "tokens"
    ends_on = "tokens"
    heading_key = "analogy.heading"

    def elided(self):
        return [(self.lay.focus_cols, self.ctx.result.n_tokens, "keys")]

    def book(self, j: int, width: float) -> Picture:
        """Token j as a book: its word on the spine, a key label on top, a value summary below."""
        ctx, theme = self.ctx, self.ctx.theme
        spine = RoundedRectangle(corner_radius=0.06, width=width, height=BOOK_H, stroke_color=theme.dim, stroke_width=2)
        word = text(ctx, ctx.token(j), theme.label_size, theme.text, max_width=width - 0.12).move_to(spine)
        tag = min(20, theme.label_size)
        short = "_short" if self.short else ""
        key = card(ctx, ctx.s(f"analogy.key_tag{short}"), theme.K, width - 0.12, 0.46, tag).move_to(spine.get_top() + DOWN * 0.32)
        value = card(ctx, ctx.s(f"analogy.value_tag{short}"), theme.V, width - 0.12, 0.46, tag)
        value.move_to(spine.get_bottom() + UP * 0.32)
        return Picture("book", spine=spine, word=word, key=key, value=value)

    def explain(self, start):
        ctx, theme, r = self.ctx, self.ctx.theme, self.ctx.result
        i, tok = ctx.focus, ctx.token(ctx.focus)
        heading = self.heading()
        slots = self.lay.focus_cols  # the best match is on the shelf, whatever is elided
        n = len(slots)
        pitch = min(2.1, 2 * half_width() / n)
        self.short = pitch < 1.6  # narrow books: "k" and "v" on the tags
        xs = [(k - (n - 1) / 2) * pitch for k in range(n)]
        # the question card, the shelf, the shares under the books, the answer card
        question = card(ctx, ctx.s("analogy.question", token=tok), theme.Q, min(9.0, 2 * half_width()))
        question.move_to([0, CONTENT_TOP - 0.55, 0])
        shelf_y = 0.1
        books, marks = {}, VGroup()
        for k, j in enumerate(slots):
            if j is None:
                marks.add(text(ctx, "…", theme.label_size, theme.dim).move_to([xs[k], shelf_y, 0]))
            else:
                books[j] = self.book(j, pitch - 0.15).move_to([xs[k], shelf_y, 0])
        board = Line([xs[0] - pitch / 2, shelf_y - BOOK_H / 2 - 0.05, 0], [xs[-1] + pitch / 2, shelf_y - BOOK_H / 2 - 0.05, 0],
                     stroke_color=theme.dim, stroke_width=4)
        shelf = VGroup(*books.values(), marks, board)
        yield Beat(say("say.analogy.question", token=tok),
                   (play(FadeOut(start), FadeIn(heading), run_time=0.6), play(FadeIn(question, shift=DOWN * 0.2), run_time=0.8)),
                   caption=say("analogy.question_caption"), hold=0.8)
        yield Beat(say("say.analogy.books"), (play(stagger((FadeIn(b, shift=UP * 0.2) for b in books.values()), 0.08),
                                                    FadeIn(marks), FadeIn(board), run_time=1.4),),
                   caption=say("analogy.books_caption"), hold=1.0)
        # match: the question against every label, with the focus token's real weights
        a = r.weights[i]
        a_max = max(a[j] for j in books)
        links, shares = VGroup(), VGroup()
        for j, b in books.items():
            strength = a[j] / a_max
            links.add(Line(question.get_bottom(), b.key.get_top(), stroke_color=theme.K, stroke_width=1 + 7 * strength,
                           stroke_opacity=0.3 + 0.7 * strength))
            share = number_text(ctx, pct(a[j]), Source("weights", (i, j), format="pct"), 20,
                                theme.accent if j == steps.strongest(r, i) else theme.text)
            shares.add(share.next_to(b.spine, DOWN, buff=0.22))
        spine_bottom = shelf_y - BOOK_H / 2
        for mark, run in zip(marks, self.lay.runs(slots)):  # under a "…": its books, and their share
            label = run_label(ctx, i, run, theme.min_font_size, 1.8 * pitch)
            shares.add(label.move_to([mark.get_x(), spine_bottom - 0.22 - label.height / 2, 0]))
        top = steps.strongest(r, i)
        best = ctx.quote(a[top], Source("weights", (i, top), format="pct"))
        yield Beat(say("say.analogy.match", token=tok, top=ctx.token(top), pct=best),
                   (play(stagger((FadeIn(line) for line in links), 0.05), run_time=1.0),
                    play(stagger((FadeIn(s, shift=DOWN * 0.1) for s in shares), 0.05), run_time=0.8)),
                   caption=say("analogy.match_caption", top=ctx.token(top), pct=best), hold=1.2, still=True, pause=True)
        # blend: the summaries, weighted by the shares, into the answer
        dims = self.lay.dims(r.d_v)
        answer = VectorRow(ctx, r.output[i], dims, Source("output", (i,)), ctx.s("analogy.answer", token=tok), color=theme.Z,
                           cell_w=0.9, cell_h=0.45, font_size=20, label_width=4.2)
        answer.move_to([0, CONTENT_BOTTOM + 0.45, 0])
        for j, b in books.items():
            b.value.set_opacity(0.25 + 0.75 * a[j] / a_max)
        vector = vector_quote(ctx, r.output[i], Source("output", (i,)), dims)
        yield Beat(say("say.analogy.blend", token=tok, vector=vector),
                   (play(FadeOut(links), FadeOut(question), run_time=0.5),
                    play(*(FadeOut(b.value.copy(), target_position=answer.grid) for b in books.values()), FadeIn(answer),
                         run_time=1.4)),
                   caption=say("analogy.blend_caption"), hold=1.4, still="blend")
        # the mapping onto Q, K and V
        rows = VGroup(*(card(ctx, ctx.s(f"analogy.map_{w}"), getattr(theme, w), min(10.0, 2 * half_width()), 0.6)
                        for w in "QKV")).arrange(DOWN, buff=0.3).move_to([0, 0.2, 0])
        yield Beat(say("say.analogy.map"), (play(FadeOut(shelf), FadeOut(shares), FadeOut(answer), run_time=0.6),
                                            play(stagger((FadeIn(row, shift=UP * 0.15) for row in rows), 0.3), run_time=1.2)),
                   caption=say("analogy.map_caption"), hold=1.6, still="map", pause=True)
        yield from self.end(heading, rows, reveal=True)
