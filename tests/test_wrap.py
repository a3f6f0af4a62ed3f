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
    lines, inside the frame, above the recap's rows."""
    from manim import config, tempconfig

    from scenes.stages.summary import SummaryStage

    ctx = Ctx(attncore.run(sentence), 0, language=language)
    with tempconfig({"quality": "low_quality", "disable_caching": True}):
        recap = SummaryStage(ctx).recap()
        shown = recap.sentence.original_text
        assert "…" not in shown and shown.replace("\n", " " if language == "en" else "").find(sentence) >= 0, shown
        assert recap.sentence.get_left()[0] >= -config.frame_width / 2 and recap.sentence.get_bottom()[1] > recap.column.get_top()[1]
