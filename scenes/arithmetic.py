"""The rule every displayed equation follows (issue 36): a student who does the arithmetic on the
numbers shown must get the result shown, to its last digit; where the rounded operands do not give
it (each number is attncore's value rounded on its own), the result carries "≈" instead of "=", and
the line says that the result is of the unrounded numbers. `adds_up` (a sum), `multiplies_out` (a
product), `divides_out` (a quotient) are the checks; `relation` and `sign` pick the sign.

"To its last digit": the exact result of the shown operands lies within half a unit of the shown
result's last digit (so a result exactly halfway may be rounded either way). Numbers are read as the
video writes them: a real minus sign, a percentage ("58.8%", which is 0.588 in a product), a compact
exponent ("7.7e−06").
"""

from __future__ import annotations

from decimal import Decimal
from typing import Sequence

MINUS = "\u2212"


def number(shown: str) -> Decimal:
    """A number as the video writes it ("−0.02", "1.06", "58.8%", "7.7e−06") as an exact decimal, in
    its own unit (58.8 for "58.8%")."""
    return Decimal(shown.strip().rstrip("%").replace(MINUS, "-"))


def value(shown: str) -> Decimal:
    """The number's value: a percentage divided by 100 ("58.8%" is 0.588)."""
    n = number(shown)
    return n / 100 if shown.strip().endswith("%") else n


def half_unit(shown: str) -> Decimal:
    """Half a unit of the number's last digit shown ("1.42": 0.005; "7.7e−06": 5e−08; "58.8%": 0.0005)."""
    unit = Decimal(1).scaleb(number(shown).as_tuple().exponent) / 2
    return unit / 100 if shown.strip().endswith("%") else unit


def gives(exact: Decimal, shown: str) -> bool:
    """True when `exact` (the shown operands' result) rounds to the shown result at its last digit."""
    return abs(exact - value(shown)) <= half_unit(shown)


def adds_up(terms: Sequence[str], total: str) -> bool:
    """True when the terms as shown, added, give the total as shown at its last digit (each term
    with its own sign: "−0.26" is negative; percentages add as percentages)."""
    return gives(sum((value(t) for t in terms), Decimal(0)), total)


def multiplies_out(factors: Sequence[str], product: str) -> bool:
    """True when the factors as shown, multiplied, give the product as shown ("5 × 1.5e−06 =
    7.7e−06" does not: 7.5e−06)."""
    exact = Decimal(1)
    for f in factors:
        exact *= value(f)
    return gives(exact, product)


def divides_out(numerator: str, denominator: str, quotient: str) -> bool:
    """True when the shown numerator divided by the shown denominator gives the shown quotient."""
    d = value(denominator)
    return d != 0 and gives(value(numerator) / d, quotient)


# each operation by its name, on (operands, result): a sum's terms, a product's factors, a quotient's two
CHECKS = {"sum": adds_up, "product": multiplies_out, "quotient": lambda operands, result: divides_out(*operands, result),
          "difference": lambda operands, result: gives(value(operands[0]) - value(operands[1]), result)}


def sign(holds: bool) -> str:
    """"=" for an equation that holds as shown, else "≈"."""
    return "=" if holds else "≈"


def relation(terms: Sequence[str], total: str) -> str:
    """"=" when the shown terms give the shown total, else "≈"."""
    return sign(adds_up(terms, total))
