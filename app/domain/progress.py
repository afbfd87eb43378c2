"""How a long computation tells its caller how far it is: one callback for every one.

``progress(phase, done, total)``: the computation is at ``done`` of ``total`` in
``phase`` (a short text a person reads: ``"reading"``, ``"fast plan"``, ``"optimal
plan: trying 40 minutes"``). ``done`` and ``total`` count what the phase works through
(OSM objects, districts, openings to price); a phase that only estimates how far it is
reports a fraction of ``total = 1``; ``total`` is ``None`` while the count is not known
(a file read to its end). A new phase may start from 0 again. The fraction done is
``done / total`` (:func:`fraction`). Callers show it (a progress bar) or ignore it
(:func:`no_progress`); computations call it now and then, never in their inner loops.

>>> seen = []
>>> report: Progress = lambda phase, done, total: seen.append((phase, fraction(done, total)))
>>> report("reading", 20_000, None); report("building roads", 250, 1_000)
>>> seen
[('reading', None), ('building roads', 0.25)]
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, float, float | None], None]
"""``progress(phase, done, total)``: see the module docstring."""


def no_progress(phase: str, done: float, total: float | None) -> None:
    """A :data:`Progress` that shows nothing."""
    return None


def fraction(done: float, total: float | None) -> float | None:
    """How far a phase is, 0 to 1; ``None`` while its total is not known.

    >>> fraction(3, 4), fraction(5, 0), fraction(7, None)
    (0.75, 1.0, None)
    """
    if total is None:
        return None
    if total <= 0:
        return 1.0
    return min(1.0, max(0.0, done / total))
