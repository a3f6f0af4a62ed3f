"""How numbers are written, on screen and in tables: one place, so scenes and tests agree."""

from __future__ import annotations

import math

MINUS = "\u2212"  # a true minus sign: as wide as "+", clearer than a hyphen on a slide


def fmt(x: float, decimals: int = 2) -> str:
    """A matrix entry: fixed decimals, a real minus sign, never "-0.00"."""
    if math.isinf(x):
        return "\u2212\u221e" if x < 0 else "\u221e"
    s = f"{x:.{decimals}f}"
    if float(s) == 0:
        s = s.lstrip("-")
    return s.replace("-", MINUS)


def pct(w: float, decimals: int = 1) -> str:
    """An attention weight as a percentage, e.g. 0.3521 -> "35.2%"."""
    return f"{fmt(100 * w, decimals)}%"
