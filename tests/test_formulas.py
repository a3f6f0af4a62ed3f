"""Formulas typeset without TeX (scenes.formulas): as tall as the text beside them, a radical that
covers what it roots, and their numbers attncore's, recorded like every number on screen."""

from __future__ import annotations

import pytest
from manim import Text, tempconfig

import attncore
from attncore import fmt
from scenes.context import Ctx, Source
from scenes.formulas import formula


@pytest.fixture(autouse=True)
def texts(tmp_path):
    with tempconfig({"text_dir": str(tmp_path / "texts")}):
        yield tmp_path / "texts"


def ctx() -> Ctx:
    r = attncore.run()
    return Ctx(r, 3)


def test_a_formula_stands_as_tall_as_text_of_its_size(texts):
    c = ctx()
    math = formula(c, r"QxdH", 24, "#FFFFFF")
    plain = Text("QxdH", font="Noto Sans", font_size=24)
    assert abs(math.height - plain.height) / plain.height < 0.15
    assert abs(formula(c, r"QxdH", 48, "#FFFFFF").height / math.height - 2) < 0.02
    assert len(list(texts.glob("math-*.svg"))) == 2  # one file a formula and size, written whole


def test_the_radical_covers_d_k_and_the_fraction_stacks():
    c = ctx()
    root, inside = formula(c, r"\sqrt{d_k}", 36, "#FFFFFF"), formula(c, r"d_k", 36, "#FFFFFF")
    assert root.width > inside.width * 1.4  # the sign and its bar over d_k, not a stub before it
    assert root.height > inside.height * 1.1
    bar_parts = [m for m in root.submobjects if m.get_top()[1] >= root.get_top()[1] - 0.02]
    assert max(m.width for m in bar_parts) > inside.width * 0.9  # the bar spans d_k
    fraction, line = formula(c, r"\frac{QK^{T}}{\sqrt{d_k}}", 36, "#FFFFFF"), formula(c, r"QK^{T}", 36, "#FFFFFF")
    assert fraction.height > 1.8 * line.height  # numerator over denominator


def test_a_formulas_numbers_are_attncores_and_recorded():
    c = ctx()
    r = c.result
    c.log.stage = "softmax"
    shown = formula(c, r"\div \sqrt{d_k} = ⟨scale⟩", 24, "#FFFFFF", scale=(fmt(r.scale), Source("scale")))
    assert shown.latex == r"\div \sqrt{d_k} = 2.00" and fmt(2.0) == "2.00"
    assert [(s.text, s.source.field) for s in c.log.shown] == [("2.00", "scale")]
