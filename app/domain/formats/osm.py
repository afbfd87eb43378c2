"""How OpenStreetMap tags become roads: class → width, speed and capacity; tags → status.

Pure tables and functions over tag dictionaries; reading files is in
:mod:`app.services.osm_import`. Every figure below is a documented default for
planning, not a measurement of any real street; a scenario may override any road.

Road classes (``highway=*``, https://wiki.openstreetmap.org/wiki/Key:highway):

============== ======== ======= ========= =====================================
class          width m  walk    vehicles  note
                        m/min
============== ======== ======= ========= =====================================
motorway       14.0     64      yes       4 lanes; no pedestrians by default → restricted
trunk          14.0     64      yes       4 lanes
primary        14.0     64      yes       4 lanes
secondary      7.0      64      yes       2 lanes
tertiary       7.0      64      yes       2 lanes
unclassified   7.0      64      yes       2 lanes
residential    7.0      64      yes       2 lanes
road           7.0      64      yes       class unknown: 2 lanes
``*_link``     3.5      64      yes       1 lane (motorway_link: no pedestrians → restricted)
living_street  5.0      64      yes       shared space (estimate)
service        3.5      64      yes       1 lane
busway         3.5      64      yes       1 lane
pedestrian     6.0      64      no        pedestrian street or square (estimate)
track          3.0      64      no        one vehicle wide, unpaved: not for buses
footway        2.0      64      no        sidewalk or footpath
path           1.5      64      no
cycleway       2.5      64      no
bridleway      2.0      64      no
corridor       2.0      64      no        indoor passage
steps          2.0      46      no        stairs: slower and lower flow
============== ======== ======= ========= =====================================

Sources:

* Lane width 3.5 m: AASHTO, *A Policy on Geometric Design of Highways and Streets*
  ("Green Book"), travel lanes of 3.0–3.6 m (10–12 ft), 3.6 m on arterials.
  Default lane counts per class follow the OSM wiki (Key:lanes: two lanes for
  most roads, one for links and service roads). Widths of footways, paths,
  pedestrian streets and living streets are estimates; a ``width`` tag (metres)
  or a ``lanes`` tag (× 3.5 m) on the way replaces the default.
* Capacity: people entering per minute = effective width × specific flow,
  with the maximum specific flow of the hydraulic model of the SFPE Handbook
  of Fire Protection Engineering (Gwynne & Rosenbaum, "Employing the hydraulic
  model in assessing emergency movement"): 1.3 persons/s per metre for
  corridors, ramps and doorways (78 per minute per metre) and 0.94 persons/s
  per metre for stairs with 7.5 in risers and 10 in treads (56 per minute).
* Walking speed 64 m/min: MUTCD 2009 §4E.06 (as the ``general`` profile). On
  stairs, the same SFPE model gives a speed constant of 1.00 against 1.40 for
  level walkways: 64 × 1.00/1.40 ≈ 46 m/min. Travel times in a scenario are
  walking times; profiles scale them by their own speed.

Status (https://wiki.openstreetmap.org/wiki/Key:access, Key:barrier,
Lifecycle_prefix), worst applies (blocked > damaged > restricted > open):

* ``highway=construction`` → blocked (closed while built).
* ``abandoned:highway=*``, ``disused:highway=*``, ``abandoned=yes``,
  ``disused=yes``, ``ruins=yes`` → damaged (still there, not kept up).
* ``access=no|private`` (unless ``foot`` allows walkers), ``foot=no``, and
  motorways without ``foot`` → restricted (exists; passage needs permission).
* ``barrier=*`` on the way itself → blocked.
* A barrier node on a road affects the road on both sides of it: walls,
  fences, ditches, debris and the like block it; gates marked ``access=no``,
  ``access=private`` or ``locked=yes`` restrict it; border controls restrict it;
  bollards, blocks, stiles, turnstiles, cycle barriers and height restrictors
  stop vehicles only.

One-way streets (``oneway=yes|1|true|-1``, and roundabouts and motorways) are
one-way for vehicles only: walkers may use them both ways (Key:oneway).

Areas (``area=yes``, https://wiki.openstreetmap.org/wiki/Tag:area=yes): a
pedestrian street or square drawn as its outline (``highway=pedestrian`` or
``footway``) is walkable across, so its outline becomes roads and walkers may
cross it in a straight line between the places where other ways meet it (see
:mod:`app.services.osm_import`); ``foot=no`` restricts it as any road. Other
``area=yes`` ways (parking surfaces, service areas) are not roads and are left out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import get_args

from app.domain.scenario.model import RoadStatus

LANE_WIDTH_M = 3.5
"""Width of one traffic lane, metres (AASHTO Green Book: 3.0–3.6 m)."""

WALKWAY_FLOW_PER_MIN_PER_M = 78.0
"""Maximum specific flow on level walkways, persons per minute per metre (SFPE: 1.3 /s/m)."""

STAIRS_FLOW_PER_MIN_PER_M = 56.0
"""Maximum specific flow on stairs, persons per minute per metre (SFPE: 0.94 /s/m)."""

WALK_SPEED_M_PER_MIN = 64.0
"""Level walking speed, metres per minute (MUTCD 2009 §4E.06)."""

STAIRS_SPEED_M_PER_MIN = 46.0
"""Walking speed on stairs, horizontal metres per minute (64 × 1.00/1.40, SFPE)."""

MAX_WIDTH_M = 60.0
"""Widths above this are treated as mapping errors and replaced by the class default."""


@dataclass(frozen=True)
class RoadClass:
    """Defaults for one ``highway=*`` value."""

    highway: str
    width_m: float
    vehicle: bool
    walk_speed_m_per_min: float = WALK_SPEED_M_PER_MIN
    flow_per_min_per_m: float = WALKWAY_FLOW_PER_MIN_PER_M
    foot_by_default: bool = True


def _classes() -> dict[str, RoadClass]:
    table = [
        RoadClass("motorway", 4 * LANE_WIDTH_M, True, foot_by_default=False),
        RoadClass("trunk", 4 * LANE_WIDTH_M, True),
        RoadClass("primary", 4 * LANE_WIDTH_M, True),
        RoadClass("secondary", 2 * LANE_WIDTH_M, True),
        RoadClass("tertiary", 2 * LANE_WIDTH_M, True),
        RoadClass("unclassified", 2 * LANE_WIDTH_M, True),
        RoadClass("residential", 2 * LANE_WIDTH_M, True),
        RoadClass("road", 2 * LANE_WIDTH_M, True),
        RoadClass("motorway_link", LANE_WIDTH_M, True, foot_by_default=False),
        RoadClass("trunk_link", LANE_WIDTH_M, True),
        RoadClass("primary_link", LANE_WIDTH_M, True),
        RoadClass("secondary_link", LANE_WIDTH_M, True),
        RoadClass("tertiary_link", LANE_WIDTH_M, True),
        RoadClass("living_street", 5.0, True),
        RoadClass("service", LANE_WIDTH_M, True),
        RoadClass("busway", LANE_WIDTH_M, True),
        RoadClass("pedestrian", 6.0, False),
        RoadClass("track", 3.0, False),
        RoadClass("footway", 2.0, False),
        RoadClass("path", 1.5, False),
        RoadClass("cycleway", 2.5, False),
        RoadClass("bridleway", 2.0, False),
        RoadClass("corridor", 2.0, False),
        RoadClass(
            "steps",
            2.0,
            False,
            walk_speed_m_per_min=STAIRS_SPEED_M_PER_MIN,
            flow_per_min_per_m=STAIRS_FLOW_PER_MIN_PER_M,
        ),
    ]
    return {c.highway: c for c in table}


ROAD_CLASSES: dict[str, RoadClass] = _classes()
"""Road classes imported as roads, by ``highway=*`` value."""

STATUS_ORDER: dict[RoadStatus, int] = {s: i for i, s in enumerate(get_args(RoadStatus))}
"""Road statuses from best to worst, as the scenario model lists them."""

RUIN_PREFIXES = ("abandoned:", "disused:")
YES = {"yes", "true", "1"}
FOOT_ALLOWED = {"yes", "designated", "permissive", "official"}
WALKABLE_AREAS = {"pedestrian", "footway"}
"""``highway=*`` values of areas walkers may cross: a closed way with ``area=yes``, or a
``type=multipolygon`` relation (:func:`classify_area`)."""
CLOSED_ACCESS = {"no", "private"}
BLOCKING_BARRIERS = {
    "wall",
    "fence",
    "city_wall",
    "retaining_wall",
    "hedge",
    "ditch",
    "debris",
    "log",
    "guard_rail",
    "railing",
    "handrail",
}
VEHICLE_BARRIERS = {
    "bollard",
    "block",
    "jersey_barrier",
    "cycle_barrier",
    "motorcycle_barrier",
    "kissing_gate",
    "stile",
    "turnstile",
    "full-height_turnstile",
    "swing_gate",
    "planter",
    "bus_trap",
    "height_restrictor",
    "chain",
    "bar",
}
GATES = {"gate", "lift_gate", "sliding_gate", "wicket_gate", "hampshire_gate", "entrance"}
CONTROL_POINTS = {"border_control", "toll_booth", "checkpoint"}


@dataclass(frozen=True)
class WayRoad:
    """What one OSM way contributes: its class and the attributes of its roads."""

    highway: str
    status: RoadStatus
    vehicle_passable: bool
    oneway: int
    """Direction for vehicles: 1 along the way, -1 against it, 0 both ways."""
    capacity_per_min: int
    walk_speed_m_per_min: float
    name: str | None
    reasons: tuple[str, ...]
    """Why the status is not ``open`` (tag=value phrases)."""
    area: bool = False
    """A walkable area drawn as its outline (``area=yes``): walkers may cross it."""


@dataclass(frozen=True)
class BarrierEffect:
    """What a barrier node does to the roads on both sides of it."""

    status: RoadStatus
    vehicle_passable: bool
    reason: str


def worse(a: RoadStatus, b: RoadStatus) -> RoadStatus:
    """The more severe of two statuses."""
    return a if STATUS_ORDER[a] >= STATUS_ORDER[b] else b


def parse_width_m(value: str | None) -> float | None:
    """A ``width`` tag in metres (``"3.5"``, ``"3.5 m"``, ``"12'"``, ``"12 ft"``), or None.

    >>> parse_width_m("3,5 m"), parse_width_m("10'"), parse_width_m("wide")
    (3.5, 3.048, None)
    """
    if not value:
        return None
    m = re.match(r"\s*([0-9]+(?:[.,][0-9]+)?)\s*(m|ft|'|)\s*$", value)
    if m is None:
        return None
    number = float(m.group(1).replace(",", "."))
    if m.group(2) in ("ft", "'"):
        number *= 0.3048
    return number if 0.0 < number <= MAX_WIDTH_M else None


def parse_lanes(value: str | None) -> int | None:
    """A ``lanes`` tag as a whole number of lanes (1–12), or None."""
    if not value or not value.strip().isdigit():
        return None
    lanes = int(value.strip())
    return lanes if 1 <= lanes <= 12 else None


def road_width_m(road: RoadClass, tags: Mapping[str, str]) -> float:
    """Effective width of a way, metres: ``width``, else ``lanes`` × 3.5 m, else the default."""
    width = parse_width_m(tags.get("width"))
    if width is not None:
        return width
    lanes = parse_lanes(tags.get("lanes"))
    if lanes is not None and road.vehicle:
        return lanes * LANE_WIDTH_M
    return road.width_m


def capacity_per_min(road: RoadClass, width_m: float) -> int:
    """People entering per minute: width × specific flow, at least 1.

    >>> capacity_per_min(ROAD_CLASSES["residential"], 7.0)
    546
    """
    return max(1, math.floor(width_m * road.flow_per_min_per_m))


def _oneway(tags: Mapping[str, str], highway: str) -> int:
    value = (tags.get("oneway") or "").strip().lower()
    if value in YES:
        return 1
    if value == "-1" or value == "reverse":
        return -1
    if value == "no":
        return 0
    implied = highway in ("motorway", "motorway_link") or tags.get("junction") in (
        "roundabout",
        "circular",
    )
    return 1 if implied else 0


def _lifecycle_class(tags: Mapping[str, str]) -> tuple[str | None, RoadStatus, list[str]]:
    """The way's road class and the status its lifecycle tags give."""
    highway = tags.get("highway")
    if highway == "construction":
        built = tags.get("construction")
        return (built or "road"), "blocked", ["highway=construction"]
    if highway is not None:
        reasons = [f"{k}=yes" for k in ("abandoned", "disused", "ruins") if tags.get(k) in YES]
        return highway, ("damaged" if reasons else "open"), reasons
    for prefix in RUIN_PREFIXES:
        value = tags.get(prefix + "highway")
        if value is not None:
            return value, "damaged", [f"{prefix}highway={value}"]
    return None, "open", []


def classify_way(tags: Mapping[str, str]) -> WayRoad | None:
    """The road an OSM way makes, or None when the way is not a walkable or drivable road.

    >>> r = classify_way({"highway": "residential", "oneway": "yes", "name": "Mannerheimintie"})
    >>> r.status, r.vehicle_passable, r.oneway, r.capacity_per_min
    ('open', True, 1, 546)
    >>> classify_way({"abandoned:highway": "footway"}).status
    'damaged'
    >>> classify_way({"highway": "platform"}) is None
    True
    >>> classify_way({"highway": "pedestrian", "area": "yes"}).area
    True
    >>> classify_way({"highway": "service", "area": "yes"}) is None
    True
    """
    highway, status, reasons = _lifecycle_class(tags)
    area = tags.get("area") in YES
    if highway is None or (area and highway not in WALKABLE_AREAS):
        return None
    road = ROAD_CLASSES.get(highway)
    if road is None:
        return None
    foot = tags.get("foot")
    access = tags.get("access")
    if access in CLOSED_ACCESS and foot not in FOOT_ALLOWED:
        status = worse(status, "restricted")
        reasons.append(f"access={access}")
    if foot == "no":
        status = worse(status, "restricted")
        reasons.append("foot=no")
    elif not road.foot_by_default and foot not in FOOT_ALLOWED:
        status = worse(status, "restricted")
        reasons.append(f"highway={highway}: no pedestrians unless foot=yes")
    barrier = tags.get("barrier")
    if barrier is not None:
        status = "blocked"
        reasons.append(f"barrier={barrier}")
    vehicle = road.vehicle and not any(
        tags.get(k) in ("no", "private") for k in ("vehicle", "motor_vehicle", "motorcar")
    )
    if vehicle and access == "no" and tags.get("motor_vehicle") not in FOOT_ALLOWED:
        vehicle = False
    width = road_width_m(road, tags)
    return WayRoad(
        highway=highway,
        status=status,
        vehicle_passable=vehicle,
        oneway=_oneway(tags, highway) if vehicle else 0,
        capacity_per_min=capacity_per_min(road, width),
        walk_speed_m_per_min=road.walk_speed_m_per_min,
        name=tags.get("name"),
        reasons=tuple(reasons),
        area=area,
    )


def classify_area(tags: Mapping[str, str]) -> WayRoad | None:
    """The walkable area a relation makes (a square mapped as a ``type=multipolygon``
    relation: no ``area=yes`` needed), or None; the same rules as :func:`classify_way`.

    >>> square = classify_area({"type": "multipolygon", "highway": "pedestrian", "foot": "no"})
    >>> square.area, square.vehicle_passable, square.status, square.reasons
    (True, False, 'restricted', ('foot=no',))
    >>> classify_area({"type": "multipolygon", "highway": "residential"}) is None
    True
    >>> classify_area({"type": "route", "highway": "pedestrian"}) is None
    True
    """
    if tags.get("type") != "multipolygon" or tags.get("area") == "no":
        return None
    return classify_way({**tags, "area": "yes"})


def barrier_effect(tags: Mapping[str, str]) -> BarrierEffect | None:
    """What a node's ``barrier=*`` does to the roads through it, or None.

    >>> barrier_effect({"barrier": "bollard"})
    BarrierEffect(status='open', vehicle_passable=False, reason='barrier=bollard')
    >>> barrier_effect({"barrier": "gate", "access": "private"}).status
    'restricted'
    >>> barrier_effect({"barrier": "gate"}) is None
    True
    """
    barrier = tags.get("barrier")
    if barrier is None:
        return None
    reason = f"barrier={barrier}"
    if barrier in BLOCKING_BARRIERS:
        return BarrierEffect("blocked", False, reason)
    if barrier in VEHICLE_BARRIERS:
        return BarrierEffect("open", False, reason)
    if barrier in GATES:
        closed = tags.get("access") in CLOSED_ACCESS or tags.get("locked") in YES
        if closed:
            detail = "locked=yes" if tags.get("locked") in YES else f"access={tags['access']}"
            return BarrierEffect("restricted", True, f"{reason} ({detail})")
        return None
    if barrier in CONTROL_POINTS:
        return BarrierEffect("restricted", True, reason)
    return None
