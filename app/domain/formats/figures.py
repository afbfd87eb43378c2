"""How answers' figures read in text (command line, brief): one wording for every output.

A probability is shown with its range next to it, never alone with four digits that read
like a forecast; the unknown part of a route and every assumed figure are sentences a
reader can quote.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def probability(p: float) -> str:
    """A probability to four places: ``0.9702``."""
    return f"{p:.4f}"


def with_range(point: float, low_high: Sequence[float] | None) -> str:
    """``0.9702 (range 0.9610–0.9880)``; the point alone when the range is a point."""
    if not low_high or abs(low_high[1] - low_high[0]) < 5e-5:
        return probability(point)
    return f"{probability(point)} (range {probability(low_high[0])}–{probability(low_high[1])})"


def unknown_sentence(unknown: Mapping[str, Any]) -> str | None:
    """What a route or plan says about roads without a risk estimate (None: there are none)."""
    if not unknown.get("roads"):
        return None
    policy = unknown["policy"]
    rule = policy["rule"]
    said = "the highest estimate in the scenario" if rule == "highest" else f"unknown_risk {rule}"
    by = "by default" if policy["given_by"] == "default" else f"set by the {policy['given_by']}"
    where = f"{unknown['roads']} of {unknown['of_roads']} roads"
    if "travel_time_min" in unknown:
        where += f" ({unknown['travel_time_min']:.0f} of the route's minutes)"
    if unknown.get("people_on_unknown_roads") is not None and "travel_time_min" not in unknown:
        where += f", used by {unknown['people_on_unknown_roads']:,} people"
    return (
        f"no risk estimate for {where}: assumed {probability(unknown['assumed_risk'])} "
        f"({said}, {by})"
    )


def assumption_line(a: Mapping[str, Any]) -> str:
    """``detention … at a checkpoint of 'gov': 0.2 (probability) — source``."""
    if a.get("value") is not None:
        figure = f"{a['value']:g}"
    elif a.get("range"):
        figure = f"{a['range'][0]:g}–{a['range'][1]:g}"
    else:
        figure = "—"
    count = a.get("count") or 0
    applies = f", applies to {count}" if count > 1 else ""
    return f"{a['quantity']}: {figure} ({a['unit']}{applies}) — {a['source']}"


def figure(fid: str, label: str, value: Any, unit: str) -> dict[str, Any]:
    """One row of a brief's figures. ``unit``: probability, probability range, people,
    people/min, min, m, time, share (a fraction shown as a percentage) or a count's noun
    (vehicles, trips)."""
    return {"id": fid, "label": label, "value": value, "unit": unit}
