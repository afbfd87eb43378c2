"""Risk of roads: base risk combined with incident reports, always as probabilities.

Definitions (SPEC §1, §2):

* An incident's effect at time ``at`` is
  ``p = severity × confidence × 0.5 ** (age_h / half_life_h)`` where ``age_h`` is
  the hours from ``observed_at`` to ``at`` (no decay when ``half_life_h`` is null).
  An incident observed after ``at`` has no effect: it had not happened yet.
* It applies to every road passing within ``radius_m`` of its point (distance
  from the point to the straight segment between the road's end nodes), and to
  every road it names in ``edges``.
* A road's risk is ``1 − (1 − base) × Π(1 − p_i)``; risks are never summed.
* Ranges: a report of confidence ``c`` counts between ``p × c`` (its point value discounted
  once more by how far it is trusted) and ``p / c`` (the report entirely true:
  ``severity`` decayed). A road's base risk counts between its ``risk_low`` and
  ``risk_high`` (its point value where they are not given); a road without an estimate
  between 0 and the larger of what is assumed for it and the highest estimate in the
  scenario.

Distances use an equirectangular projection around each incident, which is
accurate to well under a metre at city scale.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from app.domain.scenario.model import Incident, ScenarioHeader

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG), metres."""

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class IncidentEffect:
    """How much one incident adds to one road's risk at the time asked."""

    incident: str
    probability: float
    age_h: float
    source: str | None
    kind: str = "unspecified"
    confidence: float = 1.0
    full: float | None = None
    """The effect if the report is entirely true (``severity`` decayed, confidence 1)."""

    @property
    def low(self) -> float:
        """Low end of the effect's range: the point value discounted once more by the
        report's confidence (see :func:`incident_probability`)."""
        return self.probability * self.confidence

    @property
    def high(self) -> float:
        """High end of the effect's range: the report entirely true."""
        return self.probability if self.full is None else self.full

    @property
    def label(self) -> str:
        """What a step table shows: "shelling, 1 h ago, field team, confidence 0.8"."""
        parts = [self.kind, f"{_age(self.age_h)} ago"]
        if self.source:
            parts.append(self.source)
        parts.append(f"confidence {self.confidence:g}")
        return ", ".join(parts)

    def as_dict(self) -> dict[str, object]:
        return {
            "incident": self.incident,
            "kind": self.kind,
            "probability": self.probability,
            "age_h": round(self.age_h, 3),
            "source": self.source,
            "confidence": self.confidence,
            "range": [self.low, self.high],
            "label": self.label,
        }


def _age(hours: float) -> str:
    if hours < 1:
        return f"{round(hours * 60)} min"
    if hours < 48:
        return f"{hours:.0f} h" if hours >= 10 else f"{hours:.1f} h".replace(".0 h", " h")
    return f"{hours / 24:.0f} days"


def incident_probability(incident: Incident, at: datetime) -> tuple[float, float]:
    """``(p, age_h)``: the incident's added probability of harm at ``at``, and its age.

    >>> from datetime import datetime, timezone
    >>> inc = Incident(id="i", severity=0.2, confidence=0.5, half_life_h=12,
    ...     observed_at=datetime(2016, 12, 13, 9, tzinfo=timezone.utc), edges=["e"])
    >>> incident_probability(inc, datetime(2016, 12, 13, 21, tzinfo=timezone.utc))
    (0.05, 12.0)
    """
    age_h = (at - incident.observed_at).total_seconds() / 3600.0
    if age_h < 0:
        return 0.0, age_h
    p = incident.severity * incident.confidence
    if incident.half_life_h is not None:
        p *= 0.5 ** (age_h / incident.half_life_h)
    return p, age_h


def default_time(scenario: ScenarioHeader) -> datetime | None:
    """The time questions are asked at when none is given (SPEC §5): the scenario's
    ``as_of``, or the newest report's ``observed_at`` if that is later, so that a report
    added after ``as_of`` counts without the caller naming a time."""
    times = [i.observed_at for i in scenario.incidents]
    if scenario.as_of is not None:
        times.append(scenario.as_of)
    return max(times) if times else None


def incidents_after(scenario: ScenarioHeader, at: datetime | None) -> list[str]:
    """Ids of the reports observed after ``at``: left out of an answer asked at ``at``."""
    if at is None:
        return []
    return [i.id for i in scenario.incidents if i.observed_at > at]


def segment_distances_m(
    lat: float,
    lon: float,
    lat1: FloatArray,
    lon1: FloatArray,
    lat2: FloatArray,
    lon2: FloatArray,
) -> FloatArray:
    """Distance in metres from one point to each segment (lat1, lon1)–(lat2, lon2)."""
    k = np.pi / 180.0 * EARTH_RADIUS_M
    cos0 = np.cos(np.radians(lat))
    ax, ay = (lon1 - lon) * k * cos0, (lat1 - lat) * k
    bx, by = (lon2 - lon) * k * cos0, (lat2 - lat) * k
    dx, dy = bx - ax, by - ay
    seg2 = dx * dx + dy * dy
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(seg2 > 0, -(ax * dx + ay * dy) / seg2, 0.0)
    t = np.clip(t, 0.0, 1.0)
    px, py = ax + t * dx, ay + t * dy
    result: FloatArray = np.hypot(px, py)
    return result


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres.

    >>> round(haversine_m(36.0, 37.0, 36.0, 37.01))
    900
    """
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return float(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(a)))


def haversine_array_m(
    lat1: FloatArray, lon1: FloatArray, lat2: FloatArray, lon2: FloatArray
) -> FloatArray:
    """:func:`haversine_m` for arrays of points (the same arithmetic, element by element)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    result: FloatArray = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(a))
    return result


def incident_effects(
    scenario: ScenarioHeader,
    at: datetime | None,
    edge_index: Mapping[str, int],
    seg: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
) -> dict[int, list[IncidentEffect]]:
    """Effects of every incident on every road, keyed by edge position.

    ``seg`` holds the end-point coordinates of each edge (NaN where a node has no
    geometry; such roads are reached only by incidents that name them).
    """
    effects: dict[int, list[IncidentEffect]] = {}
    if at is None:
        return effects
    lat1, lon1, lat2, lon2 = seg
    for incident in scenario.incidents:
        p, age_h = incident_probability(incident, at)
        if p <= 0.0:
            continue
        hit: set[int] = set()
        if incident.lat is not None and incident.lon is not None and incident.radius_m is not None:
            with np.errstate(invalid="ignore"):
                d = segment_distances_m(incident.lat, incident.lon, lat1, lon1, lat2, lon2)
                hit.update(int(i) for i in np.flatnonzero(d <= incident.radius_m))
        for edge_id in incident.edges or ():
            hit.add(edge_index[edge_id])
        full = p / incident.confidence if incident.confidence > 0 else p
        effect = IncidentEffect(
            incident.id, p, age_h, incident.source, incident.kind, incident.confidence, full
        )
        for i in sorted(hit):
            effects.setdefault(i, []).append(effect)
    return effects


def combine(probabilities: list[float] | tuple[float, ...]) -> float:
    """Probability that at least one of independent harms happens: 1 − Π(1 − p).

    >>> round(combine([0.1, 0.2]), 10)
    0.28
    """
    survive = 1.0
    for p in probabilities:
        survive *= 1.0 - p
    return 1.0 - survive
