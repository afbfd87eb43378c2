"""The assumed numbers an answer rests on, each with its value and where it comes from.

A negotiator quotes what an answer prints; every figure in it that is an assumption or an
estimate rather than a report is listed beside it (route, plan, map card, brief):

* detention at checkpoints — the profile's figure for each party whose checkpoint is passed;
* roads without a risk estimate — the probability assumed for them and the policy that says so;
* road risk estimates — grouped by how the scenario labels their source (``estimate: …``,
  ``assumption: …``, another source, or none given);
* speed — the profile's speed, where travel times come from lengths or are scaled to it;
* populations (plans) — grouped the same way by ``population_source``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.domain.network.graph import Conditions, IntArray
from app.domain.scenario.profiles import WALKING_SPEED_M_PER_MIN


@dataclass(frozen=True)
class Assumption:
    """One assumed or estimated figure an answer uses."""

    quantity: str
    value: float | None
    """The figure, when it is one number."""
    source: str
    range: tuple[float, float] | None = None
    """Lowest and highest figure, when several roads or places carry different ones."""
    unit: str = "probability"
    applies_to: list[str] = field(default_factory=list)
    """Ids of the roads or places it applies to (at most :data:`LISTED`)."""
    count: int = 0
    """How many roads or places it applies to."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "quantity": self.quantity,
            "value": self.value,
            "range": list(self.range) if self.range else None,
            "unit": self.unit,
            "source": self.source,
            "applies_to": self.applies_to,
            "count": self.count,
        }


LISTED = 20
"""Most ids an assumption lists (``count`` says how many there are)."""


def source_label(text: str | None) -> str:
    """How a source text labels its figure: ``estimate``, ``assumption``, ``given`` (a
    source that is neither) or ``not given``."""
    if not text:
        return "not given"
    head = text.split(":", 1)[0].strip().lower()
    return head if head in ("estimate", "assumption") else "given"


def _figure(values: list[float]) -> tuple[float | None, tuple[float, float] | None]:
    lo, hi = min(values), max(values)
    return (lo, None) if lo == hi else (None, (lo, hi))


def _grouped(
    quantity: str,
    ids: list[str],
    values: list[float],
    sources: list[str | None],
    unit: str,
) -> list[Assumption]:
    groups: dict[str, list[int]] = {}
    for k, text in enumerate(sources):
        groups.setdefault(source_label(text), []).append(k)
    out = []
    for label, rows in groups.items():
        value, spread = _figure([values[k] for k in rows])
        distinct = list(dict.fromkeys(sources[k] for k in rows if sources[k]))
        if label == "not given":
            source = "no source given in the scenario"
        elif len(distinct) == 1:
            source = str(distinct[0])
        else:
            source = f"{label}: {len(distinct)} different sources (each item states its own)"
        out.append(
            Assumption(
                f"{quantity} ({label})",
                value,
                source,
                spread,
                unit,
                [ids[k] for k in rows[:LISTED]],
                len(rows),
            )
        )
    return out


def route_assumptions(cond: Conditions, edges: Iterable[int]) -> list[Assumption]:
    """The assumed figures behind an answer that uses the roads ``edges``."""
    net, profile = cond.network, cond.profile
    rows: IntArray = np.unique(np.fromiter(edges, dtype=np.int64))
    out: list[Assumption] = []
    if len(rows) == 0:
        return out
    ids = [net.edge_ids[e] for e in rows.tolist()]
    # Detention at checkpoints, per party.
    detained = rows[cond.detention[rows] > 0]
    for code in dict.fromkeys(net.edge_checkpoint[detained].tolist()):
        on = detained[net.edge_checkpoint[detained] == code]
        party = net.party_ids[code]
        out.append(
            Assumption(
                f"detention or disappearance at a checkpoint of {party!r} (profile {profile.id!r})",
                float(cond.detention[on[0]]),
                profile.checkpoint_risk_source or profile.source or "no source given",
                applies_to=[net.edge_ids[e] for e in on[:LISTED].tolist()],
                count=len(on),
            )
        )
    # Roads without an estimate.
    unknown = rows[net.edge_unknown[rows]]
    if len(unknown):
        policy = cond.unknown
        how = (
            "the highest estimate of any road in the scenario"
            if policy.rule == "highest"
            else "a figure"
        )
        out.append(
            Assumption(
                "harm on roads without a risk estimate",
                policy.assumed,
                f"unknown_risk {policy.rule!r} ({how}), set by the {policy.given_by}"
                if policy.given_by != "default"
                else f"default unknown_risk 'highest' ({how})",
                applies_to=[net.edge_ids[e] for e in unknown[:LISTED].tolist()],
                count=len(unknown),
            )
        )
    # Road risk estimates.
    known = ~net.edge_unknown[rows]
    if known.any():
        k_rows = rows[known]
        sources = net.edge_texts("risk_source")
        out += _grouped(
            "base risk of roads",
            [ids[k] for k in np.flatnonzero(known).tolist()],
            net.edge_base_risk[k_rows].tolist(),
            [sources[e] for e in k_rows.tolist()],
            "probability",
        )
    # Speed.
    derived = bool(np.isnan(net.edge_given_time[rows]).any())
    if derived or profile.speed_m_per_min != WALKING_SPEED_M_PER_MIN:
        out.append(
            Assumption(
                f"speed of profile {profile.id!r}",
                profile.speed_m_per_min,
                profile.source or "no source given",
                unit="m/min",
                count=len(rows),
            )
        )
    return out


def population_assumptions(cond: Conditions, places: Iterable[int]) -> list[Assumption]:
    """The population figures of ``places`` (those with people), grouped by source label."""
    net = cond.network
    rows = np.fromiter(places, dtype=np.int64)
    rows = rows[net.node_population[rows] > 0]
    if len(rows) == 0:
        return []
    sources = net.node_texts("population_source")
    return _grouped(
        "population",
        [net.node_ids[v] for v in rows.tolist()],
        [float(x) for x in net.node_population[rows].tolist()],
        [sources[v] for v in rows.tolist()],
        "people",
    )
