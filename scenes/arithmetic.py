"""The rule every displayed equation follows (issue 36): a student who does the arithmetic on the
numbers shown must get the result shown, to its last digit; where the rounded operands do not give
it (each number is attncore's value rounded on its own), the result carries "≈" instead of "=", and
the line says that the sum is of the unrounded numbers. `adds_up` is the check; `relation` picks the
sign.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Sequence

MINUS = "\u2212"


def number(shown: str) -> Decimal:
    """A number as the video writes it ("−0.02", "1.06", "58.8%") as an exact decimal."""
    return Decimal(shown.strip().rstrip("%").replace(MINUS, "-"))


def places(shown: str) -> int:
    """How many digits the number shows after its point."""
    s = shown.strip().rstrip("%")
    return len(s.split(".")[1]) if "." in s else 0


def adds_up(terms: Sequence[str], total: str) -> bool:
    """True when the terms as shown, added, give the total as shown at its last digit (each term
    with its own sign: "−0.26" is negative)."""
    exact = sum((number(t) for t in terms), Decimal(0))
    step = Decimal(1).scaleb(-places(total))
    return exact.quantize(step, rounding=ROUND_HALF_EVEN) == number(total)


def relation(terms: Sequence[str], total: str) -> str:
    """"=" when the shown terms give the shown total, else "≈"."""
    return "=" if adds_up(terms, total) else "≈"
