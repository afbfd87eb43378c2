"""Import an OpenStreetMap extract (``.osm.pbf``, ``.osm``) as a scenario's street network.

Reads the file once with pyosmium (node locations cached), keeps the ways that
make walkable or drivable roads (:func:`app.domain.formats.osm.classify_way`) and
cuts them into roads between graph nodes:

* graph nodes are the ends of ways, nodes shared by two or more ways (junctions),
  barrier nodes, and, unless every node is kept, the fewest shape points that
  keep each road's straight line within ``max_deviation_m`` of the mapped line
  (Douglas–Peucker), because incidents reach roads by their straight segments;
* a road's ``length_m`` is the length of the mapped line (geodesics on the WGS84
  ellipsoid between consecutive OSM nodes, pyproj's ``Geod``), not of its straight
  segment;
* a one-way street for vehicles becomes two one-way roads: the legal direction
  for everyone, the other direction for walkers only (``vehicle_passable`` false);
* a walkable area (a pedestrian square, :data:`~app.domain.formats.osm.WALKABLE_AREAS`)
  drawn as its outline (a closed way with ``area=yes``) or as a multipolygon relation
  becomes the roads of its outline (each outer ring of a relation, cut at the nodes it
  shares with other ways, so the square joins the streets), plus a straight road across
  it between each two of its entries (outline nodes where other ways meet it) whose line
  stays inside it (crossing no side, nor an inner ring: a hole such as a building);
  areas with more than :data:`MAX_AREA_ENTRIES` entries get the outline only.
  Relations are assembled into rings by libosmium's multipolygon assembler (pyosmium's
  ``with_areas``): only complete relations, whose member ways are all in the file, are.

Node ids are ``n<OSM node id>``; road ids ``w<OSM way id>-<k>`` for the k-th
piece of the way, with ``r`` appended for the walkers-only reverse direction;
``w<OSM way id>-<k>x`` for the k-th straight road across a walkable area;
``r<OSM relation id>-<k>`` and ``r<OSM relation id>-<k>x`` for the outline of a
multipolygon square and the roads across it.

Data © OpenStreetMap contributors, under the Open Database License (ODbL) 1.0;
the scenario carries that credit in ``credits``.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import itertools
import json
import math
from array import array
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, get_args

import numpy as np
import numpy.typing as npt

from app.domain.errors import InvalidRequestError, Problem
from app.domain.formats.osm import (
    WALK_SPEED_M_PER_MIN,
    BarrierEffect,
    WayRoad,
    barrier_effect,
    classify_area,
    classify_way,
    worse,
)
from app.domain.network.risk import EARTH_RADIUS_M
from app.domain.progress import Progress, no_progress
from app.domain.scenario.model import SCHEMA_ID, RoadStatus

OSM_CREDIT = "© OpenStreetMap contributors"
OSM_LICENCE = (
    "Street network from OpenStreetMap, available under the Open Database License (ODbL) 1.0: "
    "https://www.openstreetmap.org/copyright. A changed database derived from it must also be "
    "published under the ODbL."
)
DEFAULT_MAX_DEVIATION_M = 10.0
"""Default largest distance, metres, between a road's straight segment and its mapped line."""

MIN_LENGTH_M = 0.1
"""Roads between two distinct nodes mapped at the same point get this length, metres."""

MAX_AREA_ENTRIES = 40
"""Most entries of a walkable area joined pairwise across it (at most 780 crossings)."""

ALONG, AGAINST, ACROSS = 0, 1, 2
"""Kinds of road: along the mapped way, against a one-way street (walkers only), and
straight across a walkable area."""
ID_SUFFIX = ("", "r", "x")
"""Road id suffix of each kind."""

TAG_KEYS = ("highway", "barrier", "abandoned:highway", "disused:highway")
STATUS_NAMES: tuple[RoadStatus, ...] = get_args(RoadStatus)
STATUS_CODE = {s: i for i, s in enumerate(STATUS_NAMES)}

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class District:
    """A district polygon: rings of (lon, lat) points; holes are rings too (even-odd rule)."""

    id: str
    name: str | None
    controlled_by: str | None
    population: int | None
    rings: tuple[FloatArray, ...]


@dataclass
class ImportOptions:
    bbox: tuple[float, float, float, float] | None = None
    """``(min_lon, min_lat, max_lon, max_lat)``: keep only nodes inside (roads are cut there)."""
    max_deviation_m: float | None = DEFAULT_MAX_DEVIATION_M
    """Shape tolerance in metres; ``None`` keeps every OSM node of the roads."""
    largest_component: bool = False
    """Keep only the largest connected part of the network."""
    name: str | None = None
    districts: list[District] = field(default_factory=list)
    populations: dict[str, int] = field(default_factory=dict)
    population_source: str | None = None


@dataclass
class _Ways:
    """Selected ways with their node references and coordinates, flattened; the outer
    rings of multipolygon squares are ways too, with the relation's id negated."""

    ids: list[int] = field(default_factory=list)
    roads: list[WayRoad] = field(default_factory=list)
    starts: array[int] = field(default_factory=lambda: array("q", [0]))
    refs: array[int] = field(default_factory=lambda: array("q"))
    lon: array[float] = field(default_factory=lambda: array("d"))
    lat: array[float] = field(default_factory=lambda: array("d"))
    holes: dict[int, list[tuple[FloatArray, FloatArray]]] = field(default_factory=dict)
    """Inner rings (lon, lat) of an outer ring, by its position in ``ids``."""
    members: dict[int, list[int]] = field(default_factory=dict)
    """Member way ids of each multipolygon square, by relation id."""
    assembled: set[int] = field(default_factory=set)
    """Relation ids of the squares libosmium made rings of (the others are incomplete in
    the file or their rings do not close)."""

    def add(self, ident: int, road: WayRoad, nodes: Any) -> None:
        """One way, or outer ring, from its pyosmium node references."""
        self.ids.append(ident)
        self.roads.append(road)
        for n in nodes:
            self.refs.append(n.ref)
            loc = n.location
            if loc.valid():
                self.lon.append(loc.lon)
                self.lat.append(loc.lat)
            else:
                self.lon.append(math.nan)
                self.lat.append(math.nan)
        self.starts.append(len(self.refs))


def _way_key(way: int) -> str:
    """``w<way id>``, or ``r<relation id>`` for a multipolygon square's ring."""
    return f"w{way}" if way > 0 else f"r{-way}"


@dataclass
class _Roads:
    """Roads being built, column by column."""

    way: array[int] = field(default_factory=lambda: array("q"))
    piece: array[int] = field(default_factory=lambda: array("l"))
    kind: array[int] = field(default_factory=lambda: array("b"))
    """:data:`ALONG` the way, :data:`AGAINST` a one-way street, :data:`ACROSS` an area."""
    tail: array[int] = field(default_factory=lambda: array("q"))
    head: array[int] = field(default_factory=lambda: array("q"))
    directed: array[int] = field(default_factory=lambda: array("b"))
    length: array[float] = field(default_factory=lambda: array("d"))
    time: array[float] = field(default_factory=lambda: array("d"))
    capacity: array[int] = field(default_factory=lambda: array("q"))
    status: array[int] = field(default_factory=lambda: array("b"))
    vehicle: array[int] = field(default_factory=lambda: array("b"))
    name: array[int] = field(default_factory=lambda: array("l"))
    note: array[int] = field(default_factory=lambda: array("l"))
    note_index: dict[str, int] = field(default_factory=dict)
    """Texts of ``note`` codes: why a road's status is not open."""


@dataclass
class ImportResult:
    """The imported network as columns, with counts; write or build the document from it."""

    header: dict[str, Any]
    node_ref: IntArray
    node_lon: FloatArray
    node_lat: FloatArray
    node_population: IntArray
    node_population_source: list[str | None]
    node_controller: list[str | None]
    roads: _Roads
    names: list[str | None]
    notes: list[str | None]
    summary: dict[str, Any]

    def _node_item(self, i: int) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": f"n{int(self.node_ref[i])}",
            "lat": round(float(self.node_lat[i]), 7),
            "lon": round(float(self.node_lon[i]), 7),
        }
        if self.node_population[i]:
            item["population"] = int(self.node_population[i])
            item["population_source"] = self.node_population_source[i]
        if self.node_controller[i] is not None:
            item["controlled_by"] = self.node_controller[i]
        return item

    def node_items(self) -> Iterator[dict[str, Any]]:
        for i in range(len(self.node_ref)):
            yield self._node_item(i)

    def edge_items(self) -> Iterator[dict[str, Any]]:
        r = self.roads
        for i in range(len(r.way)):
            item: dict[str, Any] = {
                "id": f"{_way_key(r.way[i])}-{r.piece[i]}{ID_SUFFIX[r.kind[i]]}",
                "from": f"n{r.tail[i]}",
                "to": f"n{r.head[i]}",
            }
            if r.directed[i]:
                item["directed"] = True
            item["length_m"] = round(r.length[i], 2)
            if not math.isnan(r.time[i]):
                item["travel_time_min"] = round(r.time[i], 4)
            item["capacity_per_min"] = r.capacity[i]
            if r.status[i]:
                item["status"] = STATUS_NAMES[r.status[i]]
            if not r.vehicle[i]:
                item["vehicle_passable"] = False
            if r.name[i] >= 0:
                item["name"] = self.names[r.name[i]]
            if r.note[i] >= 0:
                item["notes"] = self.notes[r.note[i]]
            yield item

    def document(self) -> dict[str, Any]:
        """The whole scenario document in memory (fine for districts; use write() for cities)."""
        return {**self.header, "nodes": list(self.node_items()), "edges": list(self.edge_items())}

    def node_lines(self) -> Iterator[str]:
        """:meth:`node_items` as JSON texts, formatted directly for the common node."""
        refs = self.node_ref.tolist()
        lats = [round(v, 7) for v in self.node_lat.tolist()]
        lons = [round(v, 7) for v in self.node_lon.tolist()]
        plain = (self.node_population == 0).tolist()
        for i, ref in enumerate(refs):
            if plain[i] and self.node_controller[i] is None:
                yield f'{{"id": "n{ref}", "lat": {lats[i]!r}, "lon": {lons[i]!r}}}'
            else:
                yield json.dumps(self._node_item(i), ensure_ascii=False)

    def edge_lines(self) -> Iterator[str]:
        """:meth:`edge_items` as JSON texts, formatted directly (texts encoded once each)."""
        r = self.roads
        names = [json.dumps(v, ensure_ascii=False) for v in self.names]
        notes = [json.dumps(v, ensure_ascii=False) for v in self.notes]
        columns = zip(
            r.way.tolist(), r.piece.tolist(), r.kind.tolist(), r.tail.tolist(),
            r.head.tolist(), r.directed.tolist(), r.length.tolist(), r.time.tolist(),
            r.capacity.tolist(), r.status.tolist(), r.vehicle.tolist(), r.name.tolist(),
            r.note.tolist(), strict=True,
        )  # fmt: skip
        for (
            way,
            piece,
            kind,
            tail,
            head,
            directed,
            length,
            time,
            cap,
            status,
            veh,
            nm,
            nt,
        ) in columns:
            key = f"w{way}" if way > 0 else _way_key(way)
            parts = [f'"id": "{key}-{piece}{ID_SUFFIX[kind]}", "from": "n{tail}", "to": "n{head}"']
            if directed:
                parts.append('"directed": true')
            parts.append(f'"length_m": {round(length, 2)!r}')
            if not math.isnan(time):
                parts.append(f'"travel_time_min": {round(time, 4)!r}')
            parts.append(f'"capacity_per_min": {cap}')
            if status:
                parts.append(f'"status": "{STATUS_NAMES[status]}"')
            if not veh:
                parts.append('"vehicle_passable": false')
            if nm >= 0:
                parts.append(f'"name": {names[nm]}')
            if nt >= 0:
                parts.append(f'"notes": {notes[nt]}')
            yield "{" + ", ".join(parts) + "}"

    def write(self, out: IO[str], progress: Progress = no_progress) -> None:
        """Write the document as JSON, one node or road per line, without building it whole."""
        total = len(self.node_ref) + len(self.roads.way)
        head = json.dumps(self.header, ensure_ascii=False, indent=1)[:-2]
        out.write(head + ',\n "nodes": [\n')
        done = 0
        for key, lines in (("nodes", self.node_lines()), ("edges", self.edge_lines())):
            if key == "edges":
                out.write('\n ],\n "edges": [\n')
            first = True
            for line in lines:
                out.write(("  " if first else ",\n  ") + line)
                first = False
                done += 1
                if done % 50_000 == 0:
                    progress("writing", done, total)
        out.write("\n ]\n}\n")
        progress("writing", total, total)


def import_osm(
    path: str | Path, options: ImportOptions | None = None, progress: Progress = no_progress
) -> ImportResult:
    """Read an OSM file and build the street network (see the module docstring)."""
    opts = options or ImportOptions()
    p = Path(path)
    if not p.is_file():
        raise InvalidRequestError([Problem("", f"no such file: {p}")])
    ways, barriers = _read(p, progress)
    roads, node_pos = _cut(ways, barriers, opts, progress)
    if opts.largest_component:
        roads = _largest_component(roads)
    used = np.unique(np.concatenate([np.asarray(roads.tail), np.asarray(roads.head)]))
    lon = np.array([node_pos[int(r)][0] for r in used], dtype=np.float64)
    lat = np.array([node_pos[int(r)][1] for r in used], dtype=np.float64)
    population, sources, controllers, district_report = _districts(used, lon, lat, opts)
    names, name_codes = _intern(list(_road_names(ways, roads)))
    roads.name = array("l", name_codes)
    note_texts: list[str | None] = list(roads.note_index)
    parties = sorted({c for c in controllers if c is not None})
    summary = _summary(p, ways, roads, used, district_report, population)
    header: dict[str, Any] = {
        "schema": SCHEMA_ID,
        "name": opts.name or f"Streets of {p.name.split('.')[0]} (OpenStreetMap)",
        "description": f"Street network imported from the OpenStreetMap file {p.name} by "
        "safe-passage import-osm. Widths, speeds and capacities are road-class defaults "
        "(app/domain/formats/osm.py); risks are not set.",
        "credits": [OSM_CREDIT, OSM_LICENCE],
        "notes": _header_notes(p, summary, opts),
        "parties": [{"id": pid} for pid in parties],
    }
    return ImportResult(
        header=header,
        node_ref=used.astype(np.int64),
        node_lon=lon,
        node_lat=lat,
        node_population=population,
        node_population_source=sources,
        node_controller=controllers,
        roads=roads,
        names=names,
        notes=note_texts,
        summary=summary,
    )


# Reading ----------------------------------------------------------------------


def _read(path: Path, progress: Progress) -> tuple[_Ways, dict[int, BarrierEffect]]:
    try:
        import osmium  # optional dependencies: the `osm` extra
        import pyproj  # noqa: F401
    except ImportError:
        raise InvalidRequestError(
            [Problem("", "reading OpenStreetMap files needs pyosmium 4 or later and pyproj")],
            detail="install them with: pip install 'safe-passage[osm]'",
        ) from None

    ways = _Ways()
    barriers: dict[int, BarrierEffect] = {}
    processor = (
        osmium.FileProcessor(str(path))
        .with_locations()
        .with_areas(  # the relations to assemble into rings: multipolygons of a road class
            osmium.filter.TagFilter(("type", "multipolygon")), osmium.filter.KeyFilter(*TAG_KEYS)
        )
        .with_filter(osmium.filter.KeyFilter(*TAG_KEYS))
    )
    seen = 0
    try:
        for obj in processor:
            seen += 1
            if seen % 20_000 == 0:
                progress("reading", seen, None)
            if isinstance(obj, osmium.osm.Node):
                if "barrier" in obj.tags:
                    effect = barrier_effect({t.k: t.v for t in obj.tags})
                    if effect is not None:
                        barriers[obj.id] = effect
                continue
            if isinstance(obj, osmium.osm.Way):
                road = classify_way({t.k: t.v for t in obj.tags})
                if road is not None:
                    ways.add(obj.id, road, obj.nodes)
            elif isinstance(obj, osmium.osm.Relation):
                if classify_area({t.k: t.v for t in obj.tags}) is not None:
                    ways.members[obj.id] = [m.ref for m in obj.members if m.type == "w"]
            elif isinstance(obj, osmium.osm.Area) and not obj.from_way():
                # Closed ways came as ways; this is an assembled multipolygon relation
                # (only those are assembled: with_areas above), whose tags the assembler
                # copies without 'type'.
                tags = {t.k: t.v for t in obj.tags}
                road = classify_area({**tags, "type": "multipolygon"})
                if road is None:
                    continue
                for outer in obj.outer_rings():  # none when the rings do not close
                    ways.assembled.add(obj.orig_id())
                    holes = [_ring_lon_lat(inner) for inner in obj.inner_rings(outer)]
                    ways.add(-obj.orig_id(), road, outer)
                    if holes:
                        ways.holes[len(ways.ids) - 1] = holes
    except RuntimeError as exc:  # libosmium reports unreadable input this way
        raise InvalidRequestError([Problem("", f"cannot read {path.name}: {exc}")]) from None
    progress("reading", seen, seen)
    return ways, barriers


def _ring_lon_lat(ring: Any) -> tuple[FloatArray, FloatArray]:
    points = [(n.location.lon, n.location.lat) for n in ring]
    xy = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return xy[:, 0].copy(), xy[:, 1].copy()


# Cutting ways into roads ------------------------------------------------------


@functools.cache
def _wgs84() -> Any:
    from pyproj import Geod

    return Geod(ellps="WGS84")


def _segment_lengths_m(lon: FloatArray, lat: FloatArray) -> FloatArray:
    """Length of each consecutive pair of points, metres: the geodesic on the WGS84
    ellipsoid (OSM's datum; a sphere is off by up to 0.5 %, 0.3 % at Helsinki)."""
    _, _, distance = _wgs84().inv(lon[:-1], lat[:-1], lon[1:], lat[1:])
    result: FloatArray = np.asarray(distance, dtype=np.float64)
    return result


def simplify(lon: FloatArray, lat: FloatArray, tolerance_m: float) -> list[int]:
    """Douglas–Peucker: positions to keep so every point lies within ``tolerance_m`` of the chords.

    >>> simplify(np.array([0.0, 0.00005, 0.0001]), np.array([0.0, 0.0001, 0.0]), 5.0)
    [0, 1, 2]
    >>> simplify(np.array([0.0, 0.00005, 0.0001]), np.array([0.0, 0.00001, 0.0]), 5.0)
    [0, 2]
    """
    n = len(lon)
    if n <= 2:
        return list(range(n))
    k = math.pi / 180.0 * EARTH_RADIUS_M
    x = (lon - lon[0]) * k * math.cos(math.radians(float(lat[0])))
    y = (lat - lat[0]) * k
    keep = [0, n - 1]
    stack = [(0, n - 1)]
    while stack:
        i, j = stack.pop()
        if j - i < 2:
            continue
        dx, dy = x[j] - x[i], y[j] - y[i]
        px, py = x[i + 1 : j] - x[i], y[i + 1 : j] - y[i]
        seg2 = dx * dx + dy * dy
        if seg2 > 0:
            t = np.clip((px * dx + py * dy) / seg2, 0.0, 1.0)
            d = np.hypot(px - t * dx, py - t * dy)
        else:
            d = np.hypot(px, py)
        m = int(np.argmax(d))
        if d[m] > tolerance_m:
            keep.append(i + 1 + m)
            stack.extend([(i, i + 1 + m), (i + 1 + m, j)])
    return sorted(keep)


def _cut(
    ways: _Ways, barriers: dict[int, BarrierEffect], opts: ImportOptions, progress: Progress
) -> tuple[_Roads, dict[int, tuple[float, float]]]:
    refs = np.frombuffer(ways.refs, dtype=np.int64) if len(ways.refs) else np.zeros(0, np.int64)
    lon = np.frombuffer(ways.lon, dtype=np.float64) if len(ways.lon) else np.zeros(0)
    lat = np.frombuffer(ways.lat, dtype=np.float64) if len(ways.lat) else np.zeros(0)
    starts = np.frombuffer(ways.starts, dtype=np.int64)
    valid = ~np.isnan(lon)
    if opts.bbox is not None:
        x0, y0, x1, y1 = opts.bbox
        with np.errstate(invalid="ignore"):
            valid &= (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)
    uniq, counts = np.unique(refs[valid], return_counts=True)
    junction = set(uniq[counts >= 2].tolist()) | set(barriers)
    uses = (uniq, counts)
    roads = _Roads()
    node_pos: dict[int, tuple[float, float]] = {}
    n_ways = len(ways.ids)
    index: dict[int, int] | None = None
    """Position of each way in ``ways``, by OSM way id (made for the first relation)."""
    pieces_of: Counter[int] = Counter()
    """Pieces of each way or relation so far (a relation may have several outer rings)."""
    crossings_of: Counter[int] = Counter()
    for w in range(n_ways):
        if w % 5_000 == 0:
            progress("building roads", w, n_ways)
        a, b = int(starts[w]), int(starts[w + 1])
        ok = valid[a:b]
        way_id = ways.ids[w]
        usable = ok[:-1] & ok[1:]  # segments between two located nodes
        own: Counter[int] | None = None
        if way_id < 0:
            if index is None:
                index = {ident: m for m, ident in enumerate(ways.ids) if ident > 0}
            own, drawn = _drawn_by_members(ways, way_id, index, (refs, valid, starts))
            r = refs[a:b].tolist()
            usable &= np.array([(p, q) not in drawn for p, q in itertools.pairwise(r)], bool)
        pieces = pieces_of[way_id]
        for s, e in _runs(usable):
            pieces = _cut_run(
                ways, w, pieces, (a + s, a + e + 1), (refs, lon, lat),
                junction, barriers, opts, roads, node_pos,
            )  # fmt: skip
        pieces_of[way_id] = pieces
        if ways.roads[w].area and bool(ok.all()) and b - a >= 4 and refs[a] == refs[b - 1]:
            ring = (refs[a:b], lon[a:b], lat[a:b])
            crossings_of[way_id] += _cross_area(
                ways, w, ring, uses, barriers, roads, crossings_of[way_id], own
            )
    progress("building roads", n_ways, n_ways)
    return roads, node_pos


def _runs(usable: BoolArray) -> Iterator[tuple[int, int]]:
    """``(s, e)`` for each longest run of usable segments ``s .. e - 1`` (nodes ``s .. e``).

    >>> list(_runs(np.array([True, True, False, True, False, False, True])))
    [(0, 2), (3, 4), (6, 7)]
    """
    flags = np.zeros(len(usable) + 2, dtype=np.int8)
    flags[1:-1] = usable
    edges = np.flatnonzero(np.diff(flags))
    yield from zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True)


def _drawn_by_members(
    ways: _Ways,
    way_id: int,
    index: dict[int, int],
    flat: tuple[IntArray, BoolArray, IntArray],
) -> tuple[Counter[int], set[tuple[int, int]]]:
    """What the relation's member ways that are roads themselves (an outline also tagged
    ``highway=footway``, say) already draw: how often they use each node (such uses
    make no entry), and their segments both ways (the ring does not draw them twice)."""
    refs, valid, starts = flat
    uses: Counter[int] = Counter()
    drawn: set[tuple[int, int]] = set()
    for member in ways.members.get(-way_id, ()):
        m = index.get(member)
        if m is None:
            continue
        a, b = int(starts[m]), int(starts[m + 1])
        uses.update(refs[a:b][valid[a:b]].tolist())
        for p, q in itertools.pairwise(refs[a:b].tolist()):
            drawn.update(((p, q), (q, p)))
    return uses, drawn


def _cross_area(
    ways: _Ways,
    w: int,
    ring: tuple[IntArray, FloatArray, FloatArray],
    uses: tuple[IntArray, IntArray],
    barriers: dict[int, BarrierEffect],
    roads: _Roads,
    first_piece: int = 0,
    own: Counter[int] | None = None,
) -> int:
    """Straight roads across a walkable area between its entries (ids ending in ``x``,
    numbered from ``first_piece``); returns how many.

    An entry is an outline node that another way uses too (``own``: uses by ways that
    only draw the same outline). Two entries are joined when the straight line between
    them crosses no side of the outline nor of an inner ring (a hole), and its middle
    lies inside (so it does not cut across a notch of a concave square, nor a hole).
    """
    r, x, y = ring
    uniq, counts = uses
    local = Counter(r.tolist())
    if own:
        local.update(own)
    total = counts[np.searchsorted(uniq, r)]
    first: dict[int, int] = {}
    for i, ref in enumerate(r.tolist()[:-1]):
        if total[i] > local[ref]:
            first.setdefault(ref, i)
    entries = sorted(first.values())
    if len(entries) < 2 or len(entries) > MAX_AREA_ENTRIES:
        return 0
    k = math.pi / 180.0 * EARTH_RADIUS_M
    cos = math.cos(math.radians(float(y[0])))
    px = (x - x[0]) * k * cos
    py = (y - y[0]) * k
    holes = [((hx - x[0]) * k * cos, (hy - y[0]) * k) for hx, hy in ways.holes.get(w, [])]
    tails, heads, lengths = [], [], []
    for i, j in itertools.combinations(entries, 2):
        if _inside_outline(px, py, i, j, holes):
            tails.append(int(r[i]))
            heads.append(int(r[j]))
            chord = _segment_lengths_m(x[[i, j]], y[[i, j]])
            lengths.append(max(float(chord[0]), MIN_LENGTH_M))
    road, way_id = ways.roads[w], ways.ids[w]
    if not any(t in barriers or h in barriers for t, h in zip(tails, heads, strict=True)):
        _add_roads(roads, road, way_id, first_piece, tails, heads, lengths, ACROSS)
        return len(tails)
    for k, (t, h, length) in enumerate(zip(tails, heads, lengths, strict=True)):
        _add_road(roads, road, way_id, first_piece + k, (t, h), length, barriers, ACROSS)
    return len(tails)


def _turn(ox: Any, oy: Any, qx: Any, qy: Any, rx: Any, ry: Any) -> FloatArray:
    """Sign of the turn o → q → r (+1 left, -1 right, 0 straight); arrays broadcast."""
    turned: FloatArray = np.sign((qx - ox) * (ry - oy) - (qy - oy) * (rx - ox))
    return turned


def _inside_outline(
    px: FloatArray,
    py: FloatArray,
    i: int,
    j: int,
    holes: list[tuple[FloatArray, FloatArray]] | None = None,
) -> bool:
    """Whether the segment between outline points ``i`` and ``j`` lies inside the closed
    outline ``px, py`` (metres; last point = first) and outside its ``holes`` (closed
    rings, same frame): it properly crosses no side not ending at ``i`` or ``j``, and
    its middle is inside (even-odd rule over the outline and the holes)."""
    ax, ay, bx, by = px[i], py[i], px[j], py[j]
    rings = [(px, py), *(holes or [])]
    sx, sy, ex, ey = (np.concatenate(part) for part in zip(
        *((rx[:-1], ry[:-1], rx[1:], ry[1:]) for rx, ry in rings), strict=True
    ))  # fmt: skip
    n = len(px) - 1
    sides = np.ones(len(sx), dtype=bool)
    for end in (i, j):
        sides[end % n] = False
        sides[(end - 1) % n] = False

    d1, d2 = _turn(ax, ay, bx, by, sx, sy), _turn(ax, ay, bx, by, ex, ey)
    d3, d4 = _turn(sx, sy, ex, ey, ax, ay), _turn(sx, sy, ex, ey, bx, by)
    if np.any(sides & (d1 * d2 < 0) & (d3 * d4 < 0)):
        return False
    mx, my = (ax + bx) / 2, (ay + by) / 2
    straddle = (sy > my) != (ey > my)
    with np.errstate(divide="ignore", invalid="ignore"):
        cross_x = sx + (my - sy) * (ex - sx) / (ey - sy)
    return bool(np.count_nonzero(straddle & (cross_x > mx)) % 2 == 1)


def _cut_run(
    ways: _Ways,
    w: int,
    pieces: int,
    span: tuple[int, int],
    points: tuple[IntArray, FloatArray, FloatArray],
    junction: set[int],
    barriers: dict[int, BarrierEffect],
    opts: ImportOptions,
    roads: _Roads,
    node_pos: dict[int, tuple[float, float]],
) -> int:
    """Cut the way's points in ``span`` (all located) into roads; returns the pieces so far."""
    a, b = span
    refs, lon, lat = points
    r, x, y = refs[a:b], lon[a:b], lat[a:b]
    # Drop repeated consecutive references (a mapping slip) so no road joins a node to itself.
    keep = np.r_[True, r[1:] != r[:-1]]
    r, x, y = r[keep], x[keep], y[keep]
    if len(r) < 2:
        return pieces
    cum = np.r_[0.0, np.cumsum(_segment_lengths_m(x, y))]
    ref_list = r.tolist()
    splits = [0] + [i for i in range(1, len(r) - 1) if ref_list[i] in junction] + [len(r) - 1]
    cuts: list[int] = []
    for i, j in itertools.pairwise(splits):
        if ref_list[i] == ref_list[j]:  # a closed loop between two cuts: split it in the middle
            if j - i < 2:
                continue
            mid = (i + j) // 2
            parts = [(i, mid), (mid, j)]
        else:
            parts = [(i, j)]
        for u, v in parts:
            if opts.max_deviation_m is None:
                kept = list(range(u, v + 1))
            else:
                kept = [u + k for k in simplify(x[u : v + 1], y[u : v + 1], opts.max_deviation_m)]
            cuts.extend(kept if not cuts or cuts[-1] != kept[0] else kept[1:])
    road = ways.roads[w]
    way_id = ways.ids[w]
    at = np.asarray(cuts, dtype=np.int64)
    located = zip(x[at].tolist(), y[at].tolist(), strict=True)
    node_pos.update(zip(r[at].tolist(), located, strict=True))
    start, end = at[:-1], at[1:]
    distinct = r[start] != r[end]
    start, end = start[distinct], end[distinct]
    tails, heads = r[start].tolist(), r[end].tolist()
    lengths = np.maximum(cum[end] - cum[start], MIN_LENGTH_M).tolist()
    touched = any(t in barriers or h in barriers for t, h in zip(tails, heads, strict=True))
    if road.oneway == 0 and not touched:
        _add_roads(roads, road, way_id, pieces, tails, heads, lengths)
        return pieces + len(tails)
    for t, h, length in zip(tails, heads, lengths, strict=True):
        _add_road(roads, road, way_id, pieces, (t, h), length, barriers)
        pieces += 1
    return pieces


def _add_roads(
    roads: _Roads,
    road: WayRoad,
    way_id: int,
    first: int,
    tails: list[int],
    heads: list[int],
    lengths: list[float],
    kind: int = ALONG,
) -> None:
    """Many two-way pieces of one way without barriers, column by column."""
    k = len(tails)
    note = -1
    if road.reasons:
        text = "; ".join(dict.fromkeys(road.reasons))
        note = roads.note_index.setdefault(text, len(roads.note_index))
    speed = road.walk_speed_m_per_min
    roads.way.extend([way_id] * k)
    roads.piece.extend(range(first, first + k))
    roads.kind.extend([kind] * k)
    roads.tail.extend(tails)
    roads.head.extend(heads)
    roads.directed.extend([0] * k)
    roads.length.extend(lengths)
    if speed != WALK_SPEED_M_PER_MIN:
        roads.time.extend([length / speed for length in lengths])
    else:
        roads.time.extend([math.nan] * k)
    roads.capacity.extend([road.capacity_per_min] * k)
    roads.status.extend([STATUS_CODE[road.status]] * k)
    roads.vehicle.extend([int(road.vehicle_passable)] * k)
    roads.note.extend([note] * k)


def _add_road(
    roads: _Roads,
    road: WayRoad,
    way_id: int,
    piece: int,
    ends: tuple[int, int],
    length: float,
    barriers: dict[int, BarrierEffect],
    kind: int = ALONG,
) -> None:
    status, vehicle, reasons = road.status, road.vehicle_passable, list(road.reasons)
    for node in ends:
        effect = barriers.get(node)
        if effect is not None:
            status = worse(status, effect.status)
            vehicle = vehicle and effect.vehicle_passable
            reasons.append(f"{effect.reason} at node n{node}")
    note = -1
    if reasons:
        note = roads.note_index.setdefault("; ".join(dict.fromkeys(reasons)), len(roads.note_index))
    speed = road.walk_speed_m_per_min
    time = length / speed if speed != WALK_SPEED_M_PER_MIN else math.nan
    oneway = road.oneway if vehicle else 0
    forward = ends if oneway >= 0 else (ends[1], ends[0])
    directions = [(forward, kind, vehicle, oneway != 0)]
    if oneway != 0:  # walkers may go against a one-way street
        directions.append(((forward[1], forward[0]), AGAINST, False, True))
    for (t, h), way_kind, veh, directed in directions:
        roads.way.append(way_id)
        roads.piece.append(piece)
        roads.kind.append(way_kind)
        roads.tail.append(t)
        roads.head.append(h)
        roads.directed.append(int(directed))
        roads.length.append(length)
        roads.time.append(time)
        roads.capacity.append(road.capacity_per_min)
        roads.status.append(STATUS_CODE[status])
        roads.vehicle.append(int(veh))
        roads.note.append(note)


def _road_names(ways: _Ways, roads: _Roads) -> Iterator[str | None]:
    by_way = {wid: road.name for wid, road in zip(ways.ids, ways.roads, strict=True)}
    for w in roads.way:
        yield by_way[w]


def _intern(values: list[str | None]) -> tuple[list[str | None], list[int]]:
    table: dict[str, int] = {}
    codes = []
    for v in values:
        codes.append(-1 if v is None else table.setdefault(v, len(table)))
    return list(table.keys()), codes


def _largest_component(roads: _Roads) -> _Roads:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    tail, head = np.asarray(roads.tail), np.asarray(roads.head)
    nodes, inverse = np.unique(np.concatenate([tail, head]), return_inverse=True)
    m = len(tail)
    g = coo_matrix((np.ones(m), (inverse[:m], inverse[m:])), shape=(len(nodes), len(nodes)))
    _, label = connected_components(g, directed=False)
    biggest = np.bincount(label).argmax()
    keep = label[inverse[:m]] == biggest
    out = _Roads(note_index=roads.note_index)
    for name in _Roads.__dataclass_fields__:
        column = getattr(roads, name)
        if isinstance(column, array) and len(column) == m:
            setattr(out, name, array(column.typecode, np.asarray(column)[keep].tolist()))
    return out


# Districts --------------------------------------------------------------------


def points_in_rings(lon: FloatArray, lat: FloatArray, rings: tuple[FloatArray, ...]) -> BoolArray:
    """Even-odd rule over all rings (holes included): which points lie inside.

    >>> square = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]], dtype=float)
    >>> points_in_rings(np.array([0.5, 1.5]), np.array([0.5, 0.5]), (square,)).tolist()
    [True, False]
    """
    inside = np.zeros(len(lon), dtype=bool)
    for ring in rings:
        xs, ys = ring[:, 0], ring[:, 1]
        cand = (lon >= xs.min()) & (lon <= xs.max()) & (lat >= ys.min()) & (lat <= ys.max())
        idx = np.flatnonzero(cand)
        if len(idx) == 0:
            continue
        px, py = lon[idx], lat[idx]
        flip = np.zeros(len(idx), dtype=bool)
        for k in range(len(ring) - 1):
            x1, y1, x2, y2 = xs[k], ys[k], xs[k + 1], ys[k + 1]
            if y1 == y2:
                continue
            crosses = (y1 > py) != (y2 > py)
            x_at = x1 + (py - y1) * (x2 - x1) / (y2 - y1)
            flip ^= crosses & (px < x_at)
        inside[idx] ^= flip
    return inside


def _districts(
    refs: IntArray, lon: FloatArray, lat: FloatArray, opts: ImportOptions
) -> tuple[IntArray, list[str | None], list[str | None], list[dict[str, Any]]]:
    n = len(refs)
    population = np.zeros(n, dtype=np.int64)
    sources: list[str | None] = [None] * n
    controllers: list[str | None] = [None] * n
    assigned = np.zeros(n, dtype=bool)
    report = []
    for d in opts.districts:
        members = np.flatnonzero(points_in_rings(lon, lat, d.rings) & ~assigned)
        assigned[members] = True
        for i in members.tolist():
            controllers[i] = d.controlled_by
        people = opts.populations.get(d.id, d.population)
        placed = 0
        if people and len(members):
            share, extra = divmod(people, len(members))
            population[members] = share
            population[members[:extra]] += 1
            where = opts.population_source or "the district's 'population' property"
            text = (
                f"estimate: district {d.id!r} population {people} from {where}, "
                f"spread evenly over its {len(members)} street nodes"
            )
            for i in members.tolist():
                if population[i]:
                    sources[i] = text
            placed = people
        report.append(
            {"id": d.id, "nodes": len(members), "population": people or 0, "placed": placed}
        )
    return population, sources, controllers, report


def read_districts(path: str | Path) -> list[District]:
    """District polygons from a GeoJSON FeatureCollection (Polygon and MultiPolygon features).

    Each feature needs an ``id`` (feature id or ``properties.id``); ``name``,
    ``controlled_by`` (a party id) and ``population`` properties are optional.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidRequestError([Problem("", f"cannot read districts {p}: {exc}")]) from None
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list):
        raise InvalidRequestError([Problem("", f"{p.name}: not a GeoJSON FeatureCollection")])
    out: list[District] = []
    problems: list[Problem] = []
    for i, feature in enumerate(features):
        if not isinstance(feature, dict):
            problems.append(Problem(f"/features/{i}", "a feature must be a JSON object"))
            continue
        props = feature.get("properties") or {}
        ident = feature.get("id", props.get("id"))
        geometry = feature.get("geometry") or {}
        kind, coords = geometry.get("type"), geometry.get("coordinates")
        if ident is None:
            problems.append(Problem(f"/features/{i}", "a district needs an 'id'"))
            continue
        polygons: list[Any] = []
        if kind == "Polygon" and isinstance(coords, list):
            polygons = [coords]
        elif kind == "MultiPolygon" and isinstance(coords, list):
            polygons = coords
        try:
            rings = tuple(np.asarray(r, dtype=np.float64)[:, :2] for poly in polygons for r in poly)
        except (TypeError, ValueError, IndexError):
            rings = ()
        if not rings or any(len(r) < 4 for r in rings):
            problems.append(
                Problem(f"/features/{i}/geometry", "expected a Polygon or MultiPolygon of rings")
            )
            continue
        pop = props.get("population")
        out.append(
            District(
                id=str(ident),
                name=props.get("name"),
                controlled_by=props.get("controlled_by"),
                population=int(pop) if isinstance(pop, int | float) else None,
                rings=rings,
            )
        )
    if problems:
        raise InvalidRequestError(problems, detail=f"{p.name}: {problems[0].detail}")
    return out


def read_populations(path: str | Path) -> dict[str, int]:
    """Per-district populations from a CSV: columns ``district`` (or ``id``), ``population``."""
    p = Path(path)
    try:
        with p.open(newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except OSError as exc:
        raise InvalidRequestError([Problem("", f"cannot read populations {p}: {exc}")]) from None
    table: dict[str, int] = {}
    problems = []
    for line, row in enumerate(rows, start=2):
        key = row.get("district") or row.get("id")
        value = (row.get("population") or "").replace(",", "").strip()
        if not key or not value.isdigit():
            problems.append(
                Problem(
                    f"/{line}", f"{p.name} line {line}: need 'district' and a whole 'population'"
                )
            )
            continue
        table[key] = int(value)
    if problems:
        raise InvalidRequestError(problems, detail=problems[0].detail)
    return table


# Summary ----------------------------------------------------------------------


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _summary(
    path: Path,
    ways: _Ways,
    roads: _Roads,
    nodes: IntArray,
    districts: list[dict[str, Any]],
    population: IntArray,
) -> dict[str, Any]:
    kinds = np.asarray(roads.kind)
    way_ids = np.asarray(roads.way)
    status = np.asarray(roads.status)
    by_class = Counter(r.highway for r in ways.roads)
    return {
        "file": path.name,
        "sha256": _file_sha256(path),
        "ways": len(np.unique(way_ids[way_ids > 0])),
        "relations": len(np.unique(way_ids[way_ids < 0])),
        "relations_left_out": len(ways.members.keys() - ways.assembled),
        "ways_read": len(ways.ids),
        "nodes": len(nodes),
        "edges": len(roads.way),
        "one_way_pairs": int(np.count_nonzero(kinds == AGAINST)),
        "area_crossings": int(np.count_nonzero(kinds == ACROSS)),
        "length_m": round(float(np.asarray(roads.length)[kinds == ALONG].sum()), 1),
        "status": {s: int(np.count_nonzero(status == k)) for s, k in STATUS_CODE.items()},
        "vehicle_passable": int(np.count_nonzero(np.asarray(roads.vehicle))),
        "classes": dict(by_class.most_common()),
        "districts": districts,
        "population": int(population.sum()),
    }


def _header_notes(path: Path, summary: dict[str, Any], opts: ImportOptions) -> list[str]:
    shape = (
        "every OSM node of the roads kept"
        if opts.max_deviation_m is None
        else f"shape points kept where a road bends more than {opts.max_deviation_m:g} m"
    )
    squares = summary["relations"]
    sources = f"{summary['ways']} ways" + (f", {squares} multipolygon squares" if squares else "")
    notes = [
        f"Imported from {path.name} (sha256 {summary['sha256']}): {sources}, "
        f"{summary['nodes']} nodes, {summary['edges']} roads, "
        f"{summary['length_m'] / 1000:.1f} km; {shape}.",
        "One-way streets are one-way for vehicles only: the reverse direction is a separate "
        "road for walkers ('vehicle_passable': false, id ending in 'r').",
        "Pedestrian squares drawn as outlines (area=yes) or as multipolygon relations (roads "
        "'r<relation id>-<k>' along their outer rings) are walkable across: straight roads "
        "join the places where other ways meet them (id ending in 'x'); 'length_m' above is "
        "the mapped length, without them.",
    ]
    if summary["relations_left_out"]:
        notes.append(
            f"{summary['relations_left_out']} pedestrian squares mapped as multipolygon "
            "relations were left out: a member way or node is missing from the file, or "
            "their rings do not close."
        )
    if opts.bbox is not None:
        notes.append("Clipped to bbox (lon/lat) " + ",".join(f"{v:g}" for v in opts.bbox) + ".")
    return notes
