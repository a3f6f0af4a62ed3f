"""Text that does not fit its width shrinks to the smallest font size, then wraps onto lines, and only then is
cut with "…" (issue 36, point 9): the summary's sentence is whole, however long."""

from __future__ import annotations

import pytest

import attncore
from scenes.context import Ctx
from scenes.texts import text, wrap

LONG = "The animal didn't cross the street because it was too tired"


@pytest.mark.parametrize("s, n, lines", [
    (LONG, 2, ["The animal didn't cross the", "street because it was too tired"]),  # 27 and 31 characters
    ("one two three four five six", 3, ["one two", "three four", "five six"]),
    ("我有一只猫，它很可爱。", 2, ["我有一只猫，", "它很可爱。"]),
    ("supercalifragilistic", 2, ["supercalifragilistic"]),  # one Latin word is never broken
])
def test_wrap_breaks_between_words_into_lines_of_about_equal_length(s, n, lines):
    assert wrap(s, n).split("\n") == lines


@pytest.mark.parametrize("language, sentence", [("en", LONG), ("zh", "我有一只非常可爱的小猫，它每天都在窗边晒太阳，看着外面的鸟")])
def test_a_sentence_too_long_for_one_line_wraps_whole_instead_of_being_cut(language, sentence):
    ctx = Ctx(attncore.run("I have a cat"), 3, language=language)
    width = 3.6  # at the smallest size: one line is about 6 wide, two about 3.2
    one = text(ctx, sentence, ctx.theme.caption_size, max_width=width)  # one line: cut
    assert one.original_text.endswith("…")
    two = text(ctx, sentence, ctx.theme.caption_size, max_width=width, lines=2)
    assert two.original_text.replace("\n", " " if language == "en" else "") == sentence
    assert two.width <= width + 1e-3 and two.height > one.height * 1.5  # two lines, inside the width
    assert two.font_size >= ctx.theme.min_font_size - 1e-6


@pytest.mark.parametrize("language, sentence", [("en", LONG), ("zh", "我有一只非常可爱的小猫，它每天都在窗边晒太阳")])
def test_the_summarys_sentence_is_whole_inside_the_frame(language, sentence):
    """The summary's recap quotes the whole sentence (it was cut to "The animal didn't cross the stre…"), on two
    lines when one will not do, inside the frame, above the recap's rows."""
    from manim import config, tempconfig

    from scenes.stages.summary import SummaryStage

    ctx = Ctx(attncore.run(sentence), 0, language=language)
    with tempconfig({"quality": "low_quality", "disable_caching": True}):
        recap = SummaryStage(ctx).recap()
        shown = recap.sentence.original_text
        assert "…" not in shown and shown.replace("\n", " " if language == "en" else "").find(sentence) >= 0, shown
        assert recap.sentence.get_left()[0] >= -config.frame_width / 2 and recap.sentence.get_bottom()[1] > recap.column.get_top()[1]


NURSE = "The nurse said the patient will be discharged tomorrow because she recovered"


def overlapping(labels) -> list[tuple[str, str]]:
    """Pairs of labels whose boxes meet."""
    boxes = [(m.original_text, m.get_left()[0], m.get_right()[0], m.get_bottom()[1], m.get_top()[1]) for m in labels]
    return [(a[0], b[0]) for k, a in enumerate(boxes) for b in boxes[k + 1:]
            if a[1] < b[2] and b[1] < a[2] and a[3] < b[4] and b[3] < a[4]]


@pytest.mark.parametrize("sentence, staggered", [("I have a cat", False), (NURSE, True)])
def test_the_links_tokens_are_one_size_and_whole_staggered_when_one_line_would_cut_them(sentence, staggered):
    """Under the links every token is set at one size (none smaller than its neighbours: "because" was), and
    whole ("dischar…" was cut): on two staggered lines when one line would need a size below the smallest."""
    from manim import tempconfig

    from scenes.arcs import ArcsRow

    with tempconfig({"quality": "low_quality", "disable_caching": True}):
        row = ArcsRow(Ctx(attncore.run(sentence), 3))
        labels = list(row.labels.values())
        assert [m.original_text for m in labels] == list(attncore.run(sentence).tokens)
        assert row.staggered == staggered and len({round(m.font_size, 3) for m in labels}) == 1
        assert labels[0].font_size >= Ctx(attncore.run(), 3).theme.min_font_size - 1e-6
        assert not overlapping(labels)
        lines = {round(m.get_center()[1], 3) for m in labels}
        assert len(lines) == (2 if staggered else 1)


def test_a_grids_column_tokens_are_one_size_whole_and_apart():
    """A grid's column labels (the weights' keys) are whole and at one size, on two staggered lines when one would
    cut them ("postp…", "negoti…" were), and never meet; its row labels share one size."""
    from manim import tempconfig

    from scenes.components import Grid
    from scenes.context import Source

    result = attncore.run(NURSE)
    n = len(result.tokens)
    with tempconfig({"quality": "low_quality", "disable_caching": True}):
        grid = Grid(Ctx(result, 3), result.weights, list(range(n)), list(range(n)), source=Source("weights", format="pct"),
                    cell_w=0.75, cell_h=0.4, font_size=16, row_labels=result.tokens, col_labels=result.tokens)
    cols, rows = list(grid.col_labels.values()), list(grid.row_labels.values())
    assert [m.original_text for m in cols] == list(result.tokens) and not overlapping(cols)
    assert len({round(m.get_center()[1], 3) for m in cols}) == 2  # staggered
    assert len({round(m.font_size, 3) for m in cols}) == 1 and len({round(m.font_size, 3) for m in rows}) == 1
    assert min(m.get_bottom()[1] for m in cols) > max(m.get_top()[1] for m in rows)  # above the rows


@pytest.mark.parametrize("sentence, language", [(NURSE, "en"), ("I have a cat", "en"), ("我有一只猫", "zh")])
def test_q_k_and_vs_meanings_are_whole_and_apart(sentence, language):
    """Under Q, K and V their meanings ("key: what it offers, to match queries") are whole, inside the frame, and at
    least 0.2 apart (the query's and the key's touched), wrapping onto two lines rather than meeting."""
    from manim import config, tempconfig

    from scenes.pictures import qkv

    with tempconfig({"quality": "low_quality", "disable_caching": True}):
        ctx = Ctx(attncore.run(sentence), 1, language=language)
        picture = qkv(ctx)
    meanings = [picture.parts[n].meaning for n in ("Q", "K", "V")] if hasattr(picture, "parts") else [
        getattr(picture, n).meaning for n in ("Q", "K", "V")]
    for m, key in zip(meanings, ("projection.query", "projection.key", "projection.value")):
        assert m.original_text.replace("\n", " " if language == "en" else "") == ctx.s(key)
    for a, b in zip(meanings, meanings[1:]):
        assert b.get_left()[0] - a.get_right()[0] >= 0.2, (a.original_text, b.original_text)
    assert meanings[-1].get_right()[0] <= config.frame_width / 2 and meanings[0].get_left()[0] >= -config.frame_width / 2
