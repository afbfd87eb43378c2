"""The page's figures as a reader sees them, written independently of app/web/geo.js.

Rounding is JavaScript's ``toFixed``: the nearest decimal to the exact binary value, ties
away from zero, which ``Decimal(x)`` with ``ROUND_HALF_UP`` reproduces.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

NBSP = "\u00a0"
DASH = "\u2013"


def fixed(x: float, digits: int) -> str:
    return str(Decimal(x).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def percent(p: float) -> str:
    """A probability as a percentage (a road's risk of one passage): 0.0297 -> '2.97 %'."""
    digits = 3 if 0 < p < 0.001 else 2
    return f"{fixed(p * 100, digits)}{NBSP}%"


def probability(p: float, ends: Sequence[float] | None = None) -> str:
    """A probability from 0 to 1 with its range: 2 decimals, up to 4 while a figure not exactly
    0 or 1 would read as 0 or 1, or while the range's two ends would read the same."""
    values = [p, *(ends or [])]

    def unclear(d: int) -> bool:
        blurred = any(
            (Decimal(fixed(v, d)) == 0 and v != 0) or (Decimal(fixed(v, d)) == 1 and v != 1)
            for v in values
        )
        return blurred or (
            ends is not None and ends[0] != ends[1] and fixed(ends[0], d) == fixed(ends[1], d)
        )

    d = 2
    while d < 4 and unclear(d):
        d += 1

    def show(v: float) -> str:
        if v in (0, 1):
            return str(int(v))
        text = fixed(v, d)
        if Decimal(text) == 0:
            return "<" + fixed(10.0**-d, d)
        if Decimal(text) == 1:
            return ">" + fixed(1 - 10.0**-d, d)
        return text

    return show(p) + (f" ({show(ends[0])}{DASH}{show(ends[1])})" if ends else "")


def expected(x: float, ends: Sequence[float] | None = None) -> str:
    """An expected number of people: 0 decimals from 100, 1 from 10, else 2; 0 reads '0'."""

    def show(v: float) -> str:
        if v == 0:
            return "0"
        d = 0 if abs(v) >= 100 else 1 if abs(v) >= 10 else 2
        return f"{Decimal(fixed(v, d)):,.{d}f}"

    return show(x) + (f" ({show(ends[0])}{DASH}{show(ends[1])})" if ends else "")


def duration(minutes: float) -> str:
    """Minutes as '45 min' or '1 h 59 min', rounded to whole minutes (half up)."""
    m = int(Decimal(minutes).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if m < 60:
        return f"{m}{NBSP}min"
    h, rest = divmod(m, 60)
    return f"{h}{NBSP}h" + (f" {rest}{NBSP}min" if rest else "")
