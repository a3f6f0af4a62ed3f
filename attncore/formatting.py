"""How numbers are written, on screen and in tables: one place, so scenes and tests agree."""

from __future__ import annotations

import math

MINUS = "\u2212"  # a true minus sign: as wide as "+", clearer than a hyphen on a slide
COMPACT = 1e5  # from here on, numbers are written as mantissa and exponent


def fmt(x: float, decimals: int = 2) -> str:
    """A matrix entry: fixed decimals, a real minus sign, never "-0.00"; from 1e5 on, compact
    (1.2e+05), so that a table's columns keep their width."""
    if math.isinf(x):
        return "\u2212\u221e" if x < 0 else "\u221e"
    if abs(x) >= COMPACT:  # 123456.00 would break a table's columns: 1.2e+05
        return f"{x:.1e}".replace("-", MINUS)
    s = f"{x:.{decimals}f}"
    if float(s) == 0:
        s = s.lstrip("-")
    return s.replace("-", MINUS)


def pct(w: float, decimals: int = 1) -> str:
    """An attention weight as a percentage, e.g. 0.3521 -> "35.2%"."""
    return f"{fmt(100 * w, decimals)}%"


def sig(x: float, digits: int = 2) -> str:
    """A number of any size to `digits` significant digits: 1.0, 0.65, 0.032, 1000000 as 1.0e+06 and
    0.0000015 as 1.5e−06 (mantissa and exponent below 0.001 and from 1e5 on): RoPE's frequencies and
    angles, which span a dozen orders of magnitude."""
    if x == 0 or math.isinf(x):
        return fmt(x, 0) if x == 0 else fmt(x)
    if abs(x) >= COMPACT or abs(x) < 1e-3:
        return f"{x:.{digits - 1}e}".replace("-", MINUS)
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(x))))
    return fmt(x, decimals)
