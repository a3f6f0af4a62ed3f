"""The library analogy (seed 000), the video's opening. First the seed's own library: a reader asks
for books on the history of AI, four books show a label outside and a summary inside, the question
fits some labels better than others (a story told, not computed: no numbers) and the summaries are
read in that measure. Then the same with the sentence: the focus token is the reader, every token a
book; its question is matched against the labels with its real attention weights, the summaries
are blended by those shares into its answer (z), and only then are the question, the labels and
the summaries named query, key and value (the books' tags turn from label/summary into key/value)."""

from __future__ import annotations

from manim import DOWN, UP, Create, FadeIn, FadeOut, Line, RoundedRectangle, SurroundingRectangle, VGroup

from attncore import pct, steps

from ..beats import Beat, Stage, play, say
from ..components import Picture, VectorRow, stagger
from ..context import Source, vector_quote
from ..elision import run_label
from ..layout import CONTENT_BOTTOM, CONTENT_TOP
from ..texts import half_width, number_text, text

BOOK_H = 2.1
SHELF_Y = 0.1
# The seed's library: (label, summary, how well the label fits the reader's question). The fit is the
# story's, told in words ("fits best", "partly", "no fit"), never a number: it only sets how thick a
# link is drawn and how much of a summary is read.
LIBRARY = (
    ("analogy.label_ai", "analogy.summary_ai", "best"),
    ("analogy.label_robots", "analogy.summary_robots", "partly"),
    ("analogy.label_rome", "analogy.summary_rome", "partly"),
    ("analogy.label_cooking", "analogy.summary_cooking", "none"),
)
FIT = {"best": 1.0, "partly": 0.35, "none": 0.0}
FIT_WORDS = {"best": "analogy.fit_best", "partly": "analogy.fit_partly", "none": "analogy.fit_none"}


def card(ctx, words: str, color, width: float, height: float = 0.62, size: float | None = None, pad: float = 0.1) -> VGroup:
    """Words on a rounded card outlined in `color`, `pad` from its sides at least."""
    box = RoundedRectangle(corner_radius=0.1, width=width, height=height, stroke_color=color, stroke_width=2.5)
    box.set_fill(color, opacity=0.12)
    words_ = text(ctx, words, size or ctx.theme.label_size, ctx.theme.text, max_width=width - 2 * pad)
    return VGroup(box, words_.move_to(box))


def tagged_card(ctx, tag: str, words: str, color, width: float) -> Picture:
    """A library book's card: its tag (label, summary) small in `color`, its words under it."""
    theme = ctx.theme
    box = RoundedRectangle(corner_radius=0.1, width=width, height=0.86, stroke_color=color, stroke_width=2.5)
    box.set_fill(color, opacity=0.12)
    tag_ = text(ctx, tag, theme.min_font_size, color, max_width=width - 0.2)
    words_ = text(ctx, words, theme.label_size, theme.text, max_width=width - 0.2)
    VGroup(tag_, words_).arrange(DOWN, buff=0.08).move_to(box)
    return Picture("card", box=box, tag=tag_, words=words_)


def dim_card(c: VGroup, strength: float, animate: bool = False):
    """A card read in the measure `strength` (0..1): its box fill and its words fade with it, the
    outline stays (the card is still there, only read less)."""
    box, *words = c
    fill, ink = 0.06 + 0.3 * strength, 0.3 + 0.7 * strength
    if animate:
        return [box.animate.set_fill(opacity=fill), *(w.animate.set_opacity(ink) for w in words)]
    box.set_fill(opacity=fill)
    for w in words:
        w.set_opacity(ink)
    return []


class AnalogyStage(Stage):
    name = "analogy"
    starts_from = "tokens"
    ends_on = "tokens"
    heading_key = "analogy.heading"

    def elided(self):
        return [(self.lay.focus_cols, self.ctx.result.n_tokens, "keys")]

    def book(self, j: int, width: float) -> Picture:
        """Token j as a book: its word on the spine, a label card on top, a summary card below."""
        ctx, theme = self.ctx, self.ctx.theme
        spine = RoundedRectangle(corner_radius=0.06, width=width, height=BOOK_H, stroke_color=theme.dim, stroke_width=2)
        word = text(ctx, ctx.token(j), theme.label_size, theme.text, max_width=width - 0.12).move_to(spine)
        tag = min(20, theme.label_size)  # "summary" fits the narrowest book (10 slots) at the minimum size
        key = card(ctx, ctx.s("analogy.label_tag"), theme.K, width - 0.1, 0.46, tag, pad=0.06)
        key.move_to(spine.get_top() + DOWN * 0.32)
        value = card(ctx, ctx.s("analogy.summary_tag"), theme.V, width - 0.1, 0.46, tag, pad=0.06)
        value.move_to(spine.get_bottom() + UP * 0.32)
        return Picture("book", spine=spine, word=word, key=key, value=value)

    def library_book(self, label: str, summary: str, width: float) -> Picture:
        """One of the seed's books: a label card on top, a summary card below, in a book's outline."""
        ctx, theme = self.ctx, self.ctx.theme
        spine = RoundedRectangle(corner_radius=0.06, width=width, height=BOOK_H, stroke_color=theme.dim, stroke_width=2)
        key = tagged_card(ctx, ctx.s("analogy.label_tag"), ctx.s(label), theme.K, width - 0.16)
        value = tagged_card(ctx, ctx.s("analogy.summary_tag"), ctx.s(summary), theme.V, width - 0.16)
        key.move_to(spine.get_top() + DOWN * (key.height / 2 + 0.08))
        value.move_to(spine.get_bottom() + UP * (value.height / 2 + 0.08))
        return Picture("book", spine=spine, key=key, value=value)

    def explain(self, start):
        heading = self.heading()
        yield from self.library(start, heading)
        yield from self.sentence(heading)

    # ---- the seed's library: a story, no numbers ----------------------------------------------------
    def library(self, start, heading):
        ctx, theme = self.ctx, self.ctx.theme
        question = card(ctx, ctx.s("analogy.library_question"), theme.Q, min(9.0, 2 * half_width()))
        question.move_to([0, CONTENT_TOP - 0.55, 0])
        n = len(LIBRARY)
        pitch = min(3.3, 2 * half_width() / n)
        books = [self.library_book(label, summary, pitch - 0.2).move_to([(k - (n - 1) / 2) * pitch, SHELF_Y, 0])
                 for k, (label, summary, _) in enumerate(LIBRARY)]
        board = Line([-n * pitch / 2, SHELF_Y - BOOK_H / 2 - 0.05, 0], [n * pitch / 2, SHELF_Y - BOOK_H / 2 - 0.05, 0],
                     stroke_color=theme.dim, stroke_width=4)
        # the library (its empty shelf), then the reader's question, as each is said
        yield Beat(say("say.analogy.library_question"),
                   (play(FadeOut(start), FadeIn(heading), run_time=0.6), play(FadeIn(board), run_time=0.6)),
                   caption=say("analogy.library_question_caption"), hold=0.8,
                   paced=(play(FadeIn(question, shift=DOWN * 0.2), run_time=0.8),))
        yield Beat(say("say.analogy.library_books"),
                   (play(stagger((FadeIn(b, shift=UP * 0.2) for b in books), 0.12), run_time=1.4),),
                   caption=say("analogy.library_books_caption"), hold=1.0)
        # the question against every label, then the verdicts in the order they are said: the best, the partial
        # ones, the one that does not fit (how well each fits is the story's: words, no numbers)
        fits = [FIT[fit] for *_, fit in LIBRARY]
        links = VGroup(*(Line(question.get_bottom(), b.key.get_top(), stroke_color=theme.K, stroke_width=1 + 7 * f,
                              stroke_opacity=0.25 + 0.75 * f) for b, f in zip(books, fits)))
        colour = {"best": theme.accent, "partly": theme.text, "none": theme.dim}
        verdicts = VGroup(*(text(ctx, ctx.s(FIT_WORDS[fit]), theme.label_size, colour[fit], max_width=pitch - 0.2)
                            .next_to(b.spine, DOWN, buff=0.22) for b, (*_, fit) in zip(books, LIBRARY)))
        said = [[v for v, (*_, fit) in zip(verdicts, LIBRARY) if fit == f] for f in FIT]
        yield Beat(say("say.analogy.library_match"),
                   (play(stagger((FadeIn(line) for line in links), 0.1), run_time=1.0),),
                   caption=say("analogy.library_match_caption"), hold=1.2,
                   paced=tuple(play(*(FadeIn(v, shift=DOWN * 0.1) for v in group), run_time=0.5) for group in said))
        # the summaries read in that measure, as said: the best one read, the partial ones and the cookbook faded to
        # how much of them is read, then they fly into the reader's answer (their cards' boxes fly: a copy of their
        # words would lie on the words)
        answer = card(ctx, ctx.s("analogy.library_answer"), theme.Z, min(11.0, 2 * half_width()), 0.56)
        answer.move_to([0, CONTENT_BOTTOM + 0.45, 0])
        read = [[a for b, (*_, fit) in zip(books, LIBRARY) if fit == f for a in dim_card(b.value, FIT[f], animate=True)]
                for f in FIT]
        yield Beat(say("say.analogy.library_read"), (play(*read[0], run_time=0.6),),
                   caption=say("analogy.library_read_caption"), hold=1.2, pause=True, still="library",
                   paced=(*(play(*r, run_time=0.6) for r in read[1:]),
                          play(*(FadeOut(b.value.box.copy(), target_position=answer) for b, f in zip(books, fits) if f > 0),
                               FadeIn(answer), run_time=1.2)))
        yield Beat(None, (play(FadeOut(VGroup(question, links, *books, board, verdicts, answer)), run_time=0.6),), hold=0)

    # ---- the same with the sentence, with its real attention --------------------------------------------
    def sentence(self, heading):
        ctx, theme, r = self.ctx, self.ctx.theme, self.ctx.result
        i, tok = ctx.focus, ctx.token(ctx.focus)
        slots = self.lay.focus_cols  # the best match is on the shelf, whatever is elided
        n = len(slots)
        pitch = min(2.1, 2 * half_width() / n)
        xs = [(k - (n - 1) / 2) * pitch for k in range(n)]
        # the question card, the shelf, the shares under the books, the answer card
        question = card(ctx, ctx.s("analogy.question", token=tok), theme.Q, min(9.0, 2 * half_width()))
        question.move_to([0, CONTENT_TOP - 0.55, 0])
        books, marks = {}, VGroup()
        for k, j in enumerate(slots):
            if j is None:
                marks.add(text(ctx, "…", theme.label_size, theme.dim).move_to([xs[k], SHELF_Y, 0]))
            else:
                books[j] = self.book(j, pitch - 0.12).move_to([xs[k], SHELF_Y, 0])
        board = Line([xs[0] - pitch / 2, SHELF_Y - BOOK_H / 2 - 0.05, 0], [xs[-1] + pitch / 2, SHELF_Y - BOOK_H / 2 - 0.05, 0],
                     stroke_color=theme.dim, stroke_width=4)
        shelf = VGroup(*books.values(), marks, board)
        # the sentence's words where their books will stand, the focus token framed as the reader; then its question
        words = VGroup(*(b.word for b in books.values()))
        reader = SurroundingRectangle(books[i].word, color=theme.Q, buff=0.1)
        yield Beat(say("say.analogy.question", token=tok),
                   (play(FadeIn(words), FadeIn(marks), run_time=0.6), play(Create(reader), run_time=0.5)),
                   caption=say("analogy.question_caption"), hold=0.8,
                   paced=(play(FadeIn(question, shift=DOWN * 0.2), run_time=0.8),))
        # every word becomes a book around it (the reader's frame gives way to its book: it is one of them)
        covers = [VGroup(b.spine, b.key, b.value) for b in books.values()]
        yield Beat(say("say.analogy.books", token=tok),
                   (play(FadeOut(reader), stagger((FadeIn(c, shift=UP * 0.2) for c in covers), 0.08), FadeIn(board),
                         run_time=1.4),),
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
        spine_bottom = SHELF_Y - BOOK_H / 2
        for mark, run in zip(marks, self.lay.runs(slots)):  # under a "…": its books, and their share
            label = run_label(ctx, i, run, theme.min_font_size, 1.8 * pitch, self.lay.runs(slots))
            shares.add(label.move_to([mark.get_x(), spine_bottom - 0.22 - label.height / 2, 0]))
        top = steps.strongest(r, i)
        best = ctx.quote(a[top], Source("weights", (i, top), format="pct"))
        # the links, then the shares, then the best match framed, as each is said
        first = SurroundingRectangle(VGroup(books[top].spine, shares[list(books).index(top)]), color=theme.accent, buff=0.06)
        yield Beat(say("say.analogy.match", token=tok, top=ctx.token(top), pct=best),
                   (play(stagger((FadeIn(line) for line in links), 0.05), run_time=1.0),),
                   caption=say("analogy.match_caption", top=ctx.token(top), pct=best), hold=1.2, still=True, pause=True,
                   paced=(play(stagger((FadeIn(s, shift=DOWN * 0.1) for s in shares), 0.05), run_time=0.8),
                          play(Create(first), run_time=0.5)))
        # blend: the summaries, weighted by the shares, into the answer
        dims = self.lay.dims(r.d_v)
        answer = VectorRow(ctx, r.output[i], dims, Source("output", (i,)), ctx.s("analogy.answer", token=tok), color=theme.Z,
                           cell_w=0.9, cell_h=0.45, font_size=20, label_width=4.2)
        answer.move_to([0, CONTENT_BOTTOM + 0.45, 0])
        read = [x for j, b in books.items() for x in dim_card(b.value, a[j] / a_max, animate=True)]
        vector = vector_quote(ctx, r.output[i], Source("output", (i,)), dims)
        # the summaries read in measure, then flown into the answer, then its numbers, as each is said
        yield Beat(say("say.analogy.blend", token=tok, vector=vector),
                   (play(FadeOut(links), FadeOut(question), FadeOut(first), *read, run_time=0.6),),
                   caption=say("analogy.blend_caption"), hold=1.4, still="blend",
                   paced=(play(*(FadeOut(b.value[0].copy(), target_position=answer.grid) for b in books.values()),
                               FadeIn(answer.label), FadeIn(answer.grid.brackets), run_time=1.2),
                          play(FadeIn(answer.grid.body), run_time=0.6)))
        # the reveal: the shelf goes up, the tags turn into key and value, and the three mappings come
        rows = VGroup(*(card(ctx, ctx.s(f"analogy.map_{w}"), getattr(theme, w), min(10.0, 2 * half_width()), 0.6)
                        for w in "QKV")).arrange(DOWN, buff=0.3)
        lift = CONTENT_TOP - 0.15 - (SHELF_Y + BOOK_H / 2)
        rows.move_to([0, (SHELF_Y + lift - BOOK_H / 2 - 0.25 + CONTENT_BOTTOM + 0.1) / 2, 0])
        # the old tags fade where they are, the shelf rises, the new tags fade in: a text never morphs into another
        up = UP * lift
        old, new = VGroup(), VGroup()
        for b in books.values():
            for c, key in ((b.key, "analogy.key_tag_revealed"), (b.value, "analogy.value_tag_revealed")):
                box, words = c
                tag = text(ctx, ctx.s(key), min(20, theme.label_size), theme.text, max_width=box.width - 0.12)
                old.add(words)
                new.add(tag.move_to(box.get_center() + up))
        rise = [m.animate.shift(up) for b in books.values() for m in (b.spine, b.word, b.key[0])]
        rise += [m.animate.shift(up) for m in (marks, board)]
        rise += [b.value[0].animate.shift(up).set_fill(opacity=0.12) for b in books.values()]  # every summary a value
        yield Beat(say("say.analogy.map"), (play(FadeOut(shares), FadeOut(answer), FadeOut(old), run_time=0.4),
                                            play(*rise, run_time=0.6),
                                            play(stagger((FadeIn(t, scale=0.8) for t in new), 0.03),
                                                 stagger((FadeIn(row, shift=UP * 0.15) for row in rows), 0.3), run_time=1.2)),
                   caption=say("analogy.map_caption"), hold=1.6, still="map", pause=True)
        for b in books.values():  # what is left of the books on screen: without their old tags
            b.key.remove(b.key[1])
            b.value.remove(b.value[1])
        yield from self.end(heading, rows, shelf, new, reveal=True)
