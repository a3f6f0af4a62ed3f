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
