"""Issue 36, point 3: every displayed equation adds up as displayed. For every equation a scene says or
shows in a caption (a + b = c, a − b = c, a × b = c), the numbers as shown give the result as shown, to
its last digit, or the result carries "≈"; the residual's vectors (x, a and x + a, each entry rounded
on its own) add up entry by entry as shown, or their row is labelled with "≈". The arithmetic here is
the test's own (exact decimals), not scenes.arithmetic."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from scenes.arithmetic import adds_up

NUM = r"\(?[−-]?\d+(?:\.\d+)?(?:e[−-]?\d+)?%?\)?"
EQUATION = re.compile(rf"({NUM}(?:\s+[+−×]\s+{NUM})+)\s+=\s+({NUM})(?!\d|\.\d)")


def value(shown: str) -> Decimal:
    return Decimal(shown.strip("()").rstrip("%").replace("−", "-"))


def unit(shown: str) -> Decimal:
    """Half a unit of the shown number's last digit."""
    s = shown.strip("()").rstrip("%").replace("−", "-")
    mantissa, _, exp = s.partition("e")
    digits = len(mantissa.split(".")[1]) if "." in mantissa else 0
    return Decimal(1).scaleb(-digits + (int(exp) if exp else 0)) / 2


def holds(lhs: str, rhs: str) -> bool:
    """The shown left side, evaluated left to right (× before + and −), within half a unit of the
    right side's last digit."""
    parts = re.split(r"\s+([+−×])\s+", lhs.strip())
    terms, ops = parts[0::2], parts[1::2]
    total, product = Decimal(0), value(terms[0])
    sign = Decimal(1)
    for op, term in zip(ops, terms[1:]):
        if op == "×":
            product *= value(term)
            continue
        total += sign * product
        sign, product = (Decimal(1) if op == "+" else Decimal(-1)), value(term)
    total += sign * product
    return abs(total - value(rhs)) <= unit(rhs) + Decimal("1e-12")


def equations(text: str) -> list[tuple[str, str]]:
    return EQUATION.findall(text)


def test_the_checks_catch_the_issues_examples():
    assert not holds("1.06 + 0.37", "1.42") and holds("1.06 + 0.37", "1.43")  # m3e's residual, as the issue saw it
    assert not holds("0.21 + (−0.21)", "−0.01") and holds("0.66 − 0.26", "0.40")
    assert not holds("5 × 1.5e−06", "7.7e−06") and holds("24 × 2 × 64 × 2 × 2", "12288")
    assert equations("First number: 1.06 + 0.37 = 1.42.") == [("1.06 + 0.37", "1.42")]
    assert not equations("x ≈ 1.42")
    assert not adds_up(["1.06", "0.37"], "1.42") and adds_up(["−0.02", "0.76"], "0.74")


@pytest.mark.parametrize("name", ["default", "chinese", "model", "m3e", "toy heads"])
def test_every_equation_said_or_captioned_adds_up(runs, name):
    _, run = runs(name)
    wrong = [(c.stage, lhs, rhs) for c in run.scene.log.cues for line in (c.text, c.caption)
             for lhs, rhs in equations(line) if not holds(lhs, rhs)]
    assert not wrong


@pytest.mark.parametrize("name", ["model", "m3e", "toy heads"])
def test_the_residual_adds_up_as_shown_or_says_approximately(runs, name):
    _, run = runs(name)
    shown = {}
    for s in run.scene.log.shown:
        if s.stage == "summary" and s.source.step[:1] == ("residual",):
            shown[s.source.field, s.source.index] = s.text
    totals = [(idx, text) for (f, idx), text in shown.items() if f == "total"]
    assert totals
    exact = all(holds(f"{shown['x', idx]} + {shown['attended', idx]}", text) for idx, text in totals)
    drawn = {t[0] for s in run.snapshots if s.stage == "summary" for t in s.texts}
    labelled = any(t.startswith("x+a≈") or t.startswith("⟦x+a≈") for t in drawn)
    assert exact != labelled, (exact, sorted(t for t in drawn if t.startswith(("x+a", "⟦x+a"))))
    if name == "m3e":  # the issue's figures: 1.06 + 0.37 shown as 1.42
        assert not exact
