#!/usr/bin/env python3
"""Build the bundled scenarios ``graphs/aleppo-2016-12.json`` and ``graphs/teaching.json``.

Usage (from the repository root)::

    python scripts/build_scenarios.py            # (re)write both files
    python scripts/build_scenarios.py --check    # exit 1 if a committed file differs
    python scripts/build_scenarios.py --data DIR --out DIR

The Aleppo scenario is derived from the data pack in ``../shared/data/aleppo``
(neighbourhoods.csv, adjacency.csv, unosat_damage_2015.csv, hrw_damage.geojson,
facts-2016.md, README credit lines). Every constant below is an assumption or an
estimate and is labelled so in the scenario itself; ``graphs/README.md`` explains
each one. The output is deterministic: same inputs, byte-identical files
(ids sorted, numbers rounded, ``ensure_ascii=False``, two-space indent, final newline).

Standard library only: the data pack already holds the derived tables, so no
projection or polygon library is needed.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "aleppo"
DEFAULT_OUT = REPO / "graphs"
SCHEMA = "safe-passage/scenario@1"

# --- Constants (each one is described, with its label, in graphs/README.md) --------------

DETOUR_FACTOR = 1.3
"""Assumption: road length = straight-line distance × 1.3 (street-network detour)."""

HAZARD_PER_KM_PER_DENSITY = 2e-5
"""Assumption: per-km hazard per damage point/km²; 500 points/km² → about 1 % per km."""

HAZARD_UNCERTAINTY = 3.0
"""Assumption: the hazard factor is uncertain by this factor either way (the risk range)."""

WIDTH_PER_M_OF_BORDER = 0.02
"""Assumption: 2 m of walkable street width per 100 m of shared neighbourhood border."""

FLOW_PER_M_WIDTH_PER_MIN = 40
"""Assumption: 40 persons per minute per metre of walkable width (a moderate crowd flow)."""

MIN_CAPACITY_PER_MIN = 10
"""Assumption: floor for pairs that only touch at a corner (short shared border)."""

SINGLE_ROAD_WIDTH_M = 2.0
"""Assumption: a road added by rule (bridge, evacuation road) is one 2 m walkable lane."""

DAMAGE_RADIUS_M = 1000.0
"""Damage density around a place outside the polygons: points within 1 km per km²."""

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG), metres, for haversine distances."""

ENCLAVE_POPULATION = 100_000

WOUNDED = 500
"""UN estimate of 9 Dec 2016: about 500 of the people left in the enclave needed medical
evacuation (facts-2016.md); spread over the enclave like the population."""

SCREENING = {
    "screening_min_per_vehicle": 10,
    "screening_min_per_person": 0.2,
    "screening_lanes": 2,
}
SCREENING_HOW = (
    "Screening (assumption: facts-2016.md reports no screening times): 10 min per vehicle plus "
    "0.2 min per person aboard, two vehicles at a time."
)
VEHICLES_PER_MIN = 1
VEHICLES_HOW = (
    "Vehicles (assumption): at most one vehicle a minute in each direction on this road "
    "through the front line."
)
"""UN estimate of civilians left in the enclave on 9 Dec 2016 (facts-2016.md)."""

AS_OF = "2016-12-13T08:00:00+02:00"

# The places facts-2016.md names for the enclave on 13 Dec 2016, matched to polygon ids.
ENCLAVE: dict[str, str] = {
    "al-ansari-mashhad": "al-Mashhad (matched to the polygon al-Ansari Mashhad)",
    "al-ansari": "al-Ansari",
    "ansari-sharqi": "al-Ansari (Ansari Sharqi, 'East Ansari', taken as part of it by name)",
    "as-sukkari": "as-Sukkari",
    "al-amiriyeh": "al-Amiriyeh",
    "az-zebdiyeh": "az-Zebdiyeh",
    "sayf-ad-dauleh": "Saif ad-Dawla (polygon spelling Sayf ad-Dauleh)",
    "bustan-al-qaser": "Bustan al-Qaser",
    "al-kallaseh": "Kalasa (polygon spelling al-Kallaseh)",
}
YPG_HELD = {"ash-sheikh-maqsoud"}
CROSSING_ID = "ramouseh-crossing"
CROSSING_FROM = ("al-amiriyeh", "as-sukkari")
RAMOUSEH_PREFIX = "ad-ramouseh-"

CREDIT_LINES = (
    "Neighbourhoods: Center for Spatial Research, Columbia University (Conflict Urbanism: "
    "Aleppo), adapted from UN-Habitat/REACH 2013",
    "Damage data: UNITAR-UNOSAT, Damage Assessment of Aleppo, Aleppo Governorate, Syria "
    "(imagery 26 Apr and 1 May 2015), via Columbia Center for Spatial Research",
    "Damage data: Human Rights Watch, via Columbia Center for Spatial Research",
)
"""Verbatim from the data pack README for the files used; checked against it on each run."""

Json = dict[str, Any]


# --- Reading the data pack ----------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """A node with a location and a damage density (points per km²)."""

    id: str
    name: str
    lat: float
    lon: float
    density: float
    density_how: str


@dataclass(frozen=True)
class Neighbourhood:
    id: str
    name: str
    name_ar: str
    lat: float
    lon: float
    area_km2: float
    damage_points: int


@dataclass(frozen=True)
class Adjacency:
    a: str
    b: str
    shared_border_m: float
    centroid_distance_m: float


def read_neighbourhoods(data: Path) -> list[Neighbourhood]:
    with (data / "neighbourhoods.csv").open(encoding="utf-8", newline="") as f:
        return [
            Neighbourhood(
                id=row["id"],
                name=row["name_en"],
                name_ar=row["name_ar"],
                lat=float(row["lat"]),
                lon=float(row["lon"]),
                area_km2=float(row["area_km2"]),
                damage_points=int(row["unosat_damage_points"]) + int(row["hrw_damage_points"]),
            )
            for row in csv.DictReader(f)
        ]


def read_adjacency(data: Path) -> list[Adjacency]:
    with (data / "adjacency.csv").open(encoding="utf-8", newline="") as f:
        return [
            Adjacency(
                a=row["a_id"],
                b=row["b_id"],
                shared_border_m=float(row["shared_border_m"]),
                centroid_distance_m=float(row["centroid_distance_m"]),
            )
            for row in csv.DictReader(f)
        ]


def read_damage_points(data: Path) -> list[tuple[float, float]]:
    """All UNOSAT 2015 and HRW damage points as (lat, lon), inside the polygons or not."""
    points: list[tuple[float, float]] = []
    with (data / "unosat_damage_2015.csv").open(encoding="utf-8", newline="") as f:
        points.extend((float(r["lat"]), float(r["lon"])) for r in csv.DictReader(f))
    with (data / "hrw_damage.geojson").open(encoding="utf-8") as f:
        for feature in json.load(f)["features"]:
            lon, lat = feature["geometry"]["coordinates"][:2]
            points.append((float(lat), float(lon)))
    return points


def check_credit_lines(data: Path) -> None:
    readme = (data.parent / "README.md").read_text(encoding="utf-8")
    for line in CREDIT_LINES:
        if f'"{line}"' not in readme:
            raise SystemExit(f"credit line not found verbatim in the data pack README: {line!r}")


# --- Geometry and the estimates -----------------------------------------------------------


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def road_length_m(straight_m: float) -> int:
    return round_half_up(straight_m * DETOUR_FACTOR)


def round_half_up(x: float) -> int:
    return math.floor(x + 0.5)


def border_capacity(shared_border_m: float) -> int:
    width = WIDTH_PER_M_OF_BORDER * shared_border_m
    return max(MIN_CAPACITY_PER_MIN, round_half_up(width * FLOW_PER_M_WIDTH_PER_MIN))


SINGLE_ROAD_CAPACITY = round_half_up(SINGLE_ROAD_WIDTH_M * FLOW_PER_M_WIDTH_PER_MIN)


def road_risk(a: Place, b: Place, length_m: int) -> tuple[Json, str]:
    """Base risk of a road, its range and how they were computed: 1 − exp(−h·L), always < 1.

    Both ends without any damage point: no estimate (``risk`` left out, i.e. unknown — zero
    damage there means the surveys say nothing, not that the road is safe)."""
    mean = (a.density + b.density) / 2
    if mean == 0:
        return {}, (
            f"unknown: no damage point at either end ({a.id}: {a.density_how}; {b.id}: "
            f"{b.density_how}); the surveys say nothing about this road"
        )
    hazard = HAZARD_PER_KM_PER_DENSITY * mean
    km = length_m / 1000.0

    def risk_at(h: float) -> float:
        return round(1.0 - math.exp(-h * km), 6)

    how = (
        f"estimate: 1 − exp(−h·L) with L = {km:.3f} km and "
        f"h = {HAZARD_PER_KM_PER_DENSITY:g} per km per damage point/km² × mean damage density "
        f"{mean:.1f}/km² ({a.id}: {a.density:.1f}, {a.density_how}; "
        f"{b.id}: {b.density:.1f}, {b.density_how}); range: h ÷ {HAZARD_UNCERTAINTY:g} to "
        f"h × {HAZARD_UNCERTAINTY:g} (assumption); damage points are UNOSAT 2015 + HRW "
        "2013–2015, a proxy for exposure to bombardment, not a December 2016 measurement"
    )
    figures: Json = {
        "risk": risk_at(hazard),
        "risk_low": risk_at(hazard / HAZARD_UNCERTAINTY),
        "risk_high": risk_at(hazard * HAZARD_UNCERTAINTY),
    }
    return figures, how


def density_around(lat: float, lon: float, points: Iterable[tuple[float, float]]) -> int:
    return sum(1 for p in points if haversine_m(lat, lon, p[0], p[1]) <= DAMAGE_RADIUS_M)


def area_shares(areas: dict[str, float], total: int) -> dict[str, int]:
    """Integers proportional to ``areas`` summing to ``total`` (largest remainder, ties by id)."""
    whole = sum(areas.values())
    exact = {k: total * v / whole for k, v in areas.items()}
    shares = {k: math.floor(v) for k, v in exact.items()}
    left = total - sum(shares.values())
    for k in sorted(exact, key=lambda k: (-(exact[k] - shares[k]), k))[:left]:
        shares[k] += 1
    return shares


def components(nodes: Iterable[str], pairs: Iterable[tuple[str, str]]) -> list[list[str]]:
    parent = {n: n for n in nodes}

    def find(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[str, list[str]] = {}
    for n in sorted(parent):
        groups.setdefault(find(n), []).append(n)
    return sorted(groups.values(), key=lambda g: (-len(g), g[0]))


def bridges(places: dict[str, Place], pairs: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """Join the components: repeatedly the closest pair of centroids in different components.

    Returns ``(a, b, why)`` with ``a < b``.
    """
    added: list[tuple[str, str, str]] = []
    links = list(pairs)
    while len(groups := components(places, links)) > 1:
        best: tuple[float, str, str] | None = None
        for i, g in enumerate(groups):
            others = [n for h in groups[i + 1 :] for n in h]
            for a in g:
                for b in others:
                    pa, pb = places[a], places[b]
                    d = haversine_m(pa.lat, pa.lon, pb.lat, pb.lon)
                    lo, hi = sorted((a, b))
                    key = (d, lo, hi)
                    if best is None or key < best:
                        best = key
        assert best is not None
        d, a, b = best
        small = min((g for g in groups if a in g or b in g), key=len)
        why = (
            f"assumption: bridging road added by the generator to join the component "
            f"{{{', '.join(small)}}} (no adjacency in the data pack) to the rest, at the closest "
            f"pair of centroids between components ({d:.0f} m apart); not a surveyed road"
        )
        added.append((a, b, why))
        links.append((a, b))
    return added


# --- The Aleppo scenario ------------------------------------------------------------------


def controller(node_id: str) -> str:
    if node_id in ENCLAVE:
        return "opposition"
    if node_id in YPG_HELD:
        return "ypg"
    return "gov"


def edge_id(a: str, b: str) -> str:
    return f"{a}--{b}"


def build_aleppo(data: Path) -> Json:
    check_credit_lines(data)
    hoods = read_neighbourhoods(data)
    adjacency = read_adjacency(data)
    points = read_damage_points(data)
    by_id = {h.id: h for h in hoods}

    places: dict[str, Place] = {
        h.id: Place(
            h.id,
            h.name,
            h.lat,
            h.lon,
            h.damage_points / h.area_km2,
            f"{h.damage_points} points in {h.area_km2:g} km²",
        )
        for h in hoods
    }
    repeated = {h.name for h in hoods if sum(1 for g in hoods if g.name == h.name) > 1}
    # Road names: a neighbourhood name shared by several polygons gets its id added.
    names: dict[str, str] = {
        h.id: f"{h.name} ({h.id})" if h.name in repeated else h.name for h in hoods
    }

    # Added places: the crossing (placed by rule) and the reception areas (facts file).
    amiriyeh = by_id["al-amiriyeh"]
    ramouseh = min(
        (h for h in hoods if h.id.startswith(RAMOUSEH_PREFIX)),
        key=lambda h: (haversine_m(amiriyeh.lat, amiriyeh.lon, h.lat, h.lon), h.id),
    )
    crossing_lat = round((amiriyeh.lat + ramouseh.lat) / 2, 6)
    crossing_lon = round((amiriyeh.lon + ramouseh.lon) / 2, 6)
    outside = {
        CROSSING_ID: ("ar-Ramouseh crossing", crossing_lat, crossing_lon),
        "al-rashideen": ("al-Rashideen (Rashidin)", 36.185, 37.070),
        "khan-al-asal": ("Khan al-Asal", 36.170, 37.035),
    }
    area_km2 = math.pi * (DAMAGE_RADIUS_M / 1000) ** 2
    for pid, (name, lat, lon) in outside.items():
        n = density_around(lat, lon, points)
        places[pid] = Place(pid, name, lat, lon, n / area_km2, f"{n} points within 1 km")
        names[pid] = name

    population = area_shares({k: by_id[k].area_km2 for k in ENCLAVE}, ENCLAVE_POPULATION)
    enclave_area = sum(by_id[k].area_km2 for k in ENCLAVE)

    wounded = area_shares({k: by_id[k].area_km2 for k in ENCLAVE}, WOUNDED)
    nodes: list[Json] = []
    for h in hoods:
        node: Json = {"id": h.id, "name": h.name}
        if h.name_ar:
            node["name_ar"] = h.name_ar
        node.update(kind="district", lat=h.lat, lon=h.lon, controlled_by=controller(h.id))
        if h.id in ENCLAVE:
            node["population"] = population[h.id]
            node["population_source"] = (
                f"estimate: UN estimate of about {ENCLAVE_POPULATION:,} civilians left in the "
                f"enclave on 9 Dec 2016 (facts-2016.md), spread over the {len(ENCLAVE)} enclave "
                f"neighbourhoods in proportion to polygon area ({h.area_km2:g} of "
                f"{enclave_area:g} km²; uniform density assumed), rounded by largest remainder"
            )
            node["notes"] = (
                f"Opposition-held on 13 Dec 2016 (approximate): facts-2016.md names "
                f"{ENCLAVE[h.id]} as part of the remaining enclave."
            )
        elif h.id in YPG_HELD:
            node["notes"] = "Held by the Kurdish YPG in December 2016 (facts-2016.md)."
        nodes.append(node)
    nodes.append(
        {
            "id": CROSSING_ID,
            "name": outside[CROSSING_ID][0],
            "kind": "crossing",
            "lat": crossing_lat,
            "lon": crossing_lon,
            "controlled_by": "gov",
            "notes": (
                "The 15 Dec 2016 evacuation left the enclave via al-Amiriyeh / as-Sukkari through "
                "government lines at ar-Ramouseh (facts-2016.md). Approximate location placed by "
                f"rule, not surveyed: midpoint of the centroids of al-amiriyeh and {ramouseh.id} "
                "(the ar-Ramouseh polygon nearest al-amiriyeh)."
            ),
        }
    )
    for pid in ("al-rashideen", "khan-al-asal"):
        _, lat, lon = outside[pid]
        nodes.append(
            {
                "id": pid,
                "name": outside[pid][0],
                "kind": "safe_zone",
                "lat": lat,
                "lon": lon,
                "controlled_by": "opposition",
                "notes": (
                    "Reception area of the Dec 2016 evacuation in the opposition-held western "
                    "countryside (facts-2016.md). Coordinates approximate (± 1–2 km), from the "
                    "facts file; no polygon in the data pack. Capacity not known: unbounded."
                ),
            }
        )
    nodes.sort(key=lambda n: str(n["id"]))

    edges: list[Json] = []

    def add_road(
        a: str,
        b: str,
        length_m: int,
        capacity: int,
        capacity_how: str,
        *,
        evacuation: bool = False,
        controlled_by: str | None = None,
        checkpoint: str | None = None,
        notes: list[str] | None = None,
    ) -> None:
        a, b = sorted((a, b))
        ca, cb = controller_of(a), controller_of(b)
        risk, risk_how = road_risk(places[a], places[b], length_m)
        remarks = list(notes or [])
        status = "open"
        owner: str | None = ca
        if ca != cb:
            if evacuation:
                owner = controlled_by
                remarks.append(
                    f"Front line ({ca} / {cb}), open here only because this is the route of the "
                    "15 Dec 2016 evacuation (facts-2016.md)."
                )
            else:
                status, owner = "blocked", None
                remarks.append(
                    f"Front line ({ca} / {cb}) in mid-December 2016 (approximate): blocked. "
                    "Contested, so no single controlling party."
                )
        remarks.append(capacity_how)
        edge: Json = {
            "id": edge_id(a, b),
            "name": f"{names[a]} – {names[b]}",
            "from": a,
            "to": b,
            "length_m": length_m,
            "capacity_per_min": capacity,
            "status": status,
            **risk,
            "risk_source": risk_how,
            "controlled_by": owner,
        }
        if checkpoint is not None:
            edge["checkpoint"] = checkpoint
            edge.update(SCREENING)
            remarks.append(SCREENING_HOW)
        if evacuation:
            edge["vehicles_per_min"] = VEHICLES_PER_MIN
            remarks.append(VEHICLES_HOW)
        edge["notes"] = " ".join(remarks)
        edges.append(edge)

    def controller_of(pid: str) -> str:
        if pid == CROSSING_ID:
            return "gov"
        if pid in ("al-rashideen", "khan-al-asal"):
            return "opposition"
        return controller(pid)

    for adj in adjacency:
        add_road(
            adj.a,
            adj.b,
            road_length_m(adj.centroid_distance_m),
            border_capacity(adj.shared_border_m),
            f"Length: assumption, centroid distance {adj.centroid_distance_m:g} m × "
            f"{DETOUR_FACTOR:g}. Capacity: estimate from the shared border "
            f"({adj.shared_border_m:g} m × {WIDTH_PER_M_OF_BORDER:g} m of width per m × "
            f"{FLOW_PER_M_WIDTH_PER_MIN} persons/min per m, at least {MIN_CAPACITY_PER_MIN}).",
        )
    single_road = (
        f"Capacity: assumption, one {SINGLE_ROAD_WIDTH_M:g} m walkable lane × "
        f"{FLOW_PER_M_WIDTH_PER_MIN} persons/min per m; checkpoint processing not modelled."
    )

    def straight(a: str, b: str) -> float:
        pa, pb = places[a], places[b]
        return haversine_m(pa.lat, pa.lon, pb.lat, pb.lon)

    def length_how(a: str, b: str) -> str:
        return f"Length: assumption, haversine {straight(a, b):.0f} m × {DETOUR_FACTOR:g}."

    hood_places = {h.id: places[h.id] for h in hoods}
    for a, b, why in bridges(hood_places, [(adj.a, adj.b) for adj in adjacency]):
        add_road(
            a,
            b,
            road_length_m(straight(a, b)),
            SINGLE_ROAD_CAPACITY,
            f"{length_how(a, b)} {single_road}",
            notes=[why + "."],
        )
    evacuation_route = "Route of the 15 Dec 2016 evacuation (facts-2016.md); geometry approximate."
    for district in CROSSING_FROM:
        add_road(
            district,
            CROSSING_ID,
            road_length_m(straight(district, CROSSING_ID)),
            SINGLE_ROAD_CAPACITY,
            f"{length_how(district, CROSSING_ID)} {single_road}",
            evacuation=True,
            controlled_by="gov",
            checkpoint="gov",
            notes=[evacuation_route, "Government checkpoint at the crossing."],
        )
    add_road(
        CROSSING_ID,
        ramouseh.id,
        road_length_m(straight(CROSSING_ID, ramouseh.id)),
        SINGLE_ROAD_CAPACITY,
        f"{length_how(CROSSING_ID, ramouseh.id)} {single_road}",
        notes=["Joins the crossing to the government-held ar-Ramouseh polygon it was placed by."],
    )
    add_road(
        CROSSING_ID,
        "al-rashideen",
        road_length_m(straight(CROSSING_ID, "al-rashideen")),
        SINGLE_ROAD_CAPACITY,
        f"{length_how(CROSSING_ID, 'al-rashideen')} {single_road}",
        evacuation=True,
        controlled_by="gov",
        notes=[evacuation_route, "Runs through government-held ground to al-Rashideen."],
    )
    add_road(
        "al-rashideen",
        "khan-al-asal",
        road_length_m(straight("al-rashideen", "khan-al-asal")),
        SINGLE_ROAD_CAPACITY,
        f"{length_how('al-rashideen', 'khan-al-asal')} {single_road}",
        notes=[evacuation_route],
    )
    edges.sort(key=lambda e: str(e["id"]))

    return {
        "schema": SCHEMA,
        "name": "Eastern Aleppo, 13 December 2016",
        "description": (
            "Historical, approximate reconstruction of Aleppo on 13 December 2016, when about "
            "100,000 civilians (UN estimate) remained in the last opposition-held enclave of "
            "eastern Aleppo, for teaching and testing safe-passage. Built by "
            "scripts/build_scenarios.py from the data pack's neighbourhood polygons, damage "
            "points and the facts file of public 2016 reporting. Control, roads, risks, "
            "capacities and populations are estimates or assumptions. NOT FOR OPERATIONAL USE."
        ),
        "illustrative": True,
        "as_of": AS_OF,
        "credits": [
            *CREDIT_LINES,
            "Source repository: CenterForSpatialResearch/aleppo_test, MIT licence, "
            "Copyright (c) 2019 Columbia Center for Spatial Research",
            "Events, places outside the polygons and parties of December 2016: public reporting "
            "by UN OCHA and the UN Security Council, ICRC and major news agencies, as compiled in "
            "the data pack's facts-2016.md",
        ],
        "notes": aleppo_notes(ramouseh.id),
        "parties": [
            {
                "id": "gov",
                "name": "Government forces and allies",
                "consent": "granted",
                "detention_record": True,
                "notes": (
                    "Consent value is an illustration, not a record. detention_record: the UN "
                    "reported men aged roughly 30–50 going missing after crossing into "
                    "government-held areas (late Nov – Dec 2016, facts-2016.md)."
                ),
            },
            {
                "id": "opposition",
                "name": "Armed opposition groups",
                "consent": "pending",
                "notes": (
                    "Several competing factions inside the enclave (including Jabhat Fatah "
                    "al-Sham, formerly al-Nusra) treated as one party: a simplification. The UN "
                    "reported armed groups preventing some civilians from leaving "
                    "(facts-2016.md). Consent value is an illustration, not a record."
                ),
            },
            {
                "id": "ypg",
                "name": "Kurdish YPG (Sheikh Maqsoud)",
                "consent": "unknown",
                "notes": "Consent value is an illustration, not a record.",
            },
        ],
        "nodes": nodes,
        "edges": edges,
        "groups": [
            {
                "id": "wounded",
                "name": "Wounded and sick needing medical evacuation",
                "needs": "stretcher",
                "at": {k: v for k, v in sorted(wounded.items()) if v},
                "source": (
                    f"estimate: UN estimate of about {WOUNDED} people needing medical evacuation "
                    "in the enclave on 9 Dec 2016 (facts-2016.md), spread over the enclave "
                    "neighbourhoods in proportion to area like the population"
                ),
            }
        ],
        "fleets": [
            {
                "id": "buses",
                "name": "SARC / ICRC escorted buses (illustrative fleet)",
                "kind": "bus",
                "count": 20,
                "seats": 70,
                "speed_m_per_min": 250,
                "depot": CROSSING_ID,
                "load_min": 20,
                "unload_min": 10,
                "source": (
                    "seats: reported, about 350 people in five buses on 18 Dec 2016, about 70 a "
                    "bus (facts-2016.md); count 20, speed 15 km/h, loading 20 min and unloading "
                    "10 min: assumptions (not reported), depot at the crossing because the "
                    "convoys waited at the crossing point"
                ),
            },
            {
                "id": "ambulances",
                "name": "SARC / ICRC ambulances (illustrative fleet)",
                "kind": "ambulance",
                "count": 10,
                "seats": 1,
                "stretchers": 2,
                "speed_m_per_min": 300,
                "depot": CROSSING_ID,
                "load_min": 15,
                "unload_min": 10,
                "source": (
                    "assumptions: ambulances accompanied the convoys (facts-2016.md) but their "
                    "number, stretcher places and times were not reported; 10 ambulances of two "
                    "stretchers and one seat for a companion"
                ),
            },
        ],
        "incidents": [],
        "windows": [
            {
                "id": "pause-2016-12-15-3h",
                "name": "Three-hour pause, 15 Dec 2016 (illustrative)",
                "start": "2016-12-15T10:00:00+02:00",
                "end": "2016-12-15T13:00:00+02:00",
                "agreed_by": ["gov", "opposition"],
                "notes": (
                    "Illustrative, not the actual arrangement: the daily three-hour 10:00–13:00 "
                    "'humanitarian pause' format offered from 11 Aug 2016, applied to 15 Dec."
                ),
            },
            {
                "id": "pause-2016-12-15-48h",
                "name": "48-hour pause from 15 Dec 2016 (illustrative)",
                "start": "2016-12-15T10:00:00+02:00",
                "end": "2016-12-17T10:00:00+02:00",
                "agreed_by": ["gov", "opposition"],
                "notes": (
                    "Illustrative, not the actual arrangement: the 48-hour pause the UN asked "
                    "for in August 2016, applied from 15 Dec (the real evacuation was "
                    "suspended 16–18 Dec)."
                ),
            },
        ],
    }


def aleppo_notes(ramouseh_id: str) -> list[str]:
    enclave = ", ".join(sorted(ENCLAVE))
    return [
        "Historical and approximate; not for operational use. Nothing here was checked on the "
        "ground. The neighbourhood polygons date from 2013 and the damage points from "
        "2013–2015; the December 2016 facts come from public reporting.",
        "Nodes: the 133 neighbourhood polygons of the data pack (id, names and centroid from "
        "neighbourhoods.csv) as districts, plus one crossing and two safe zones added from "
        "facts-2016.md.",
        f"Control (approximate): opposition for the enclave neighbourhoods facts-2016.md names "
        f"on 13 Dec 2016 ({enclave}); ypg for ash-sheikh-maqsoud; gov for every other "
        "neighbourhood. The safe zones are in the opposition-held western countryside.",
        "Roads: one road per adjacent pair of polygons in adjacency.csv, standing for the "
        "streets across their shared border (the data pack has no Aleppo street network). "
        "A road between neighbourhoods held by different parties is a front line: status "
        "blocked and controlled_by null (contested), except the roads of the 15 Dec evacuation "
        "route. Simplification: this also closes the government / YPG line, which people did "
        "cross in late 2016.",
        f"Length (assumption): straight-line distance × detour factor {DETOUR_FACTOR:g} "
        "(centroid distance from adjacency.csv, or haversine for roads added by the generator).",
        f"Capacity (estimate): capacity_per_min = max({MIN_CAPACITY_PER_MIN}, "
        f"round(shared_border_m × {WIDTH_PER_M_OF_BORDER:g} × {FLOW_PER_M_WIDTH_PER_MIN})), "
        f"i.e. {WIDTH_PER_M_OF_BORDER * 100:g} m of walkable width per 100 m of border at "
        f"{FLOW_PER_M_WIDTH_PER_MIN} persons/min per metre; roads added by the generator get "
        f"one {SINGLE_ROAD_WIDTH_M:g} m lane ({SINGLE_ROAD_CAPACITY}/min). shared_border_m "
        "overstates real borders (data pack README), so treat capacities as relative.",
        f"Risk (estimate): risk = 1 − exp(−h × L_km), h = {HAZARD_PER_KM_PER_DENSITY:g} × the "
        "mean damage density of the two ends (UNOSAT 2015 + HRW damage points per km² of the "
        "polygon; for places outside the polygons, points within 1 km per km²). Always below 1. "
        "Old damage stands in for exposure to bombardment; it is not a casualty rate. Places "
        "outside the damage surveys get 0 damage: that means unknown, not safe, so a road with no "
        "damage point at either end has no risk estimate (risk left out: unknown; answers "
        f"state what they assume for it). Range (assumption): h ÷ {HAZARD_UNCERTAINTY:g} to "
        f"h × {HAZARD_UNCERTAINTY:g}, given as risk_low and risk_high.",
        "Connectivity: adjacency.csv has 4 components; the generator joins them with bridging "
        "roads at the closest pair of centroids between components (each says so in notes).",
        f"Crossing: placed by rule at the midpoint of the al-amiriyeh and {ramouseh_id} "
        "centroids; roads from al-amiriyeh and as-sukkari, with a gov checkpoint, on to "
        f"{ramouseh_id} and to al-Rashideen, then Khan al-Asal.",
        f"Population (estimate): the UN estimate of about {ENCLAVE_POPULATION:,} civilians in "
        "the enclave on 9 Dec 2016, spread over the enclave neighbourhoods by area. Other "
        "districts have population 0 because this scenario is about evacuating the enclave, "
        "not because nobody lived there.",
        "Parties' consent values and both windows are illustrations, not records of what was "
        "agreed. incidents is empty on purpose: no incident about a real place is invented.",
        "Licence caveat (data pack README): the UNOSAT and HRW terms of use were not checked; "
        "confirm them before any public release and keep the credit lines.",
    ]


# --- The teaching scenario ----------------------------------------------------------------

TEACHING_ROADS: tuple[tuple[str, str, float, float, int, str], ...] = (
    # (from, to, travel_time_min, risk, capacity_per_min, status)
    ("hilltop", "square", 10, 0.10, 20, "open"),
    ("camp", "square", 10, 0.10, 20, "open"),
    ("hilltop", "mill", 15, 0.02, 10, "open"),
    ("mill", "square", 8, 0.05, 10, "open"),
    ("ford", "mill", 10, 0.03, 10, "open"),
    ("camp", "ford", 15, 0.01, 15, "open"),
    ("riverside", "square", 5, 0.04, 10, "open"),
    ("camp", "hilltop", 12, 0.0, 30, "blocked"),
)
TEACHING_SPEED_M_PER_MIN = 64


def build_teaching() -> Json:
    def node(nid: str, name: str, kind: str, party: str | None, **extra: Any) -> Json:
        if "population" in extra:
            extra["population_source"] = "estimate: invented figure for teaching; no real place"
        return {"id": nid, "name": name, "kind": kind, **extra, "controlled_by": party}

    nodes = [
        node("camp", "Camp", "safe_zone", None, capacity=2000),
        node("ford", "Ford", "crossing", "north"),
        node("hilltop", "Hilltop", "district", "east", population=1200),
        node("mill", "Mill", "junction", "east"),
        node("riverside", "Riverside", "district", "east", population=600),
        node("square", "Square", "junction", "east"),
    ]
    edges: list[Json] = []
    for a, b, minutes, risk, capacity, status in TEACHING_ROADS:
        owner = "north" if "ford" in (a, b) else "east"
        edge: Json = {
            "id": edge_id(a, b),
            "name": f"{a.capitalize()} – {b.capitalize()}",
            "from": a,
            "to": b,
            "length_m": round_half_up(minutes * TEACHING_SPEED_M_PER_MIN),
            "travel_time_min": minutes,
            "capacity_per_min": capacity,
            "status": status,
            "risk": risk,
            "risk_source": "estimate: invented figure for teaching",
            "controlled_by": owner,
        }
        if (a, b) == ("ford", "mill"):
            edge["checkpoint"] = "north"
        if status == "blocked":
            edge["notes"] = "Blocked by rubble: the shortest way, but never used."
        edges.append(edge)
    edges.sort(key=lambda e: str(e["id"]))
    return {
        "schema": SCHEMA,
        "name": "Teaching network",
        "description": (
            "A small abstract network, no real places, for recomputing safe-passage's answers "
            "by hand: see the worked example in graphs/README.md."
        ),
        "illustrative": True,
        "as_of": "2025-03-01T08:00:00+00:00",
        "credits": [],
        "notes": [
            "Abstract: every name and number is invented for teaching.",
            "Each road has travel_time_min and length_m = travel_time_min × 64 m/min, so "
            "either gives the same time on foot.",
            "The incident is reported at 10:00, after as_of: at as_of it has no effect.",
        ],
        "parties": [
            {"id": "east", "name": "Eastern authority", "consent": "granted"},
            {
                "id": "north",
                "name": "Northern force",
                "consent": "pending",
                "detention_record": True,
                "notes": "Runs the checkpoint at the Ford (invented for teaching).",
            },
        ],
        "nodes": nodes,
        "edges": edges,
        "incidents": [
            {
                "id": "shelling-ford",
                "kind": "shelling",
                "edges": ["ford--mill"],
                "severity": 0.4,
                "confidence": 0.5,
                "observed_at": "2025-03-01T10:00:00+00:00",
                "half_life_h": 6,
                "source": "invented for teaching",
            }
        ],
        "windows": [
            {
                "id": "pause-1",
                "name": "Morning pause",
                "start": "2025-03-01T10:00:00+00:00",
                "end": "2025-03-01T13:00:00+00:00",
                "agreed_by": ["east", "north"],
            }
        ],
    }


# --- Writing ------------------------------------------------------------------------------


def render(doc: Json) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def documents(data: Path) -> dict[str, str]:
    return {
        "aleppo-2016-12.json": render(build_aleppo(data)),
        "teaching.json": render(build_teaching()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the data pack's aleppo/")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the files")
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if a file would change"
    )
    args = parser.parse_args(argv)
    if not (args.data / "neighbourhoods.csv").is_file():
        parser.error(f"no data pack at {args.data} (expected neighbourhoods.csv)")
    stale = []
    for name, text in documents(args.data).items():
        path = args.out / name
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current == text:
            continue
        if args.check:
            stale.append(name)
        else:
            args.out.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if stale:
        print(
            f"out of date: {', '.join(stale)}; run python scripts/build_scenarios.py",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
