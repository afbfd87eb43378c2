"""OpenStreetMap import: counts against an independent pyosmium count, tag rules, districts.

The sample files are OpenStreetMap extracts (© OpenStreetMap contributors, ODbL 1.0),
see shared/data/osm/README.md.
"""

from __future__ import annotations

import functools
import io
import itertools
import json
import math
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from app.cli import app
from app.domain.large_document import validate_scenario
from app.domain.network import Network
from app.domain.osm_rules import ROAD_CLASSES
from app.domain.routing import RouteOptions, safest_route
from app.services.osm_import import District, ImportOptions, import_osm

osmium = pytest.importorskip("osmium")

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "osm"
SAMPLES = sorted(DATA.glob("*.osm.pbf"))
pytestmark = pytest.mark.skipif(not SAMPLES, reason="OSM samples not found beside the repo")


def haversine(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * r * math.asin(math.sqrt(a))


class IndependentCount(osmium.SimpleHandler):  # type: ignore[misc]
    """Road segments counted straight from the file: every consecutive pair of located nodes."""

    def __init__(self, bbox: tuple[float, float, float, float] | None = None) -> None:
        super().__init__()
        self.bbox = bbox
        self.segments = 0
        self.length_m = 0.0
        self.nodes: set[int] = set()
        self.way_ids: set[int] = set()
        self.use: dict[int, int] = {}

    def _inside(self, n: Any) -> bool:
        if not n.location.valid():
            return False
        if self.bbox is None:
            return True
        x0, y0, x1, y1 = self.bbox
        return bool(x0 <= n.lon <= x1 and y0 <= n.lat <= y1)

    def way(self, w: Any) -> None:
        tags = {t.k: t.v for t in w.tags}
        kind = tags.get("highway")
        if kind == "construction":
            kind = tags.get("construction", "road")
        kind = kind or tags.get("abandoned:highway") or tags.get("disused:highway")
        if kind not in ROAD_CLASSES or tags.get("area") in ("yes", "true", "1"):
            return
        nodes = [n for n in w.nodes]
        for a, b in itertools.pairwise(nodes):
            if a.ref == b.ref or not (self._inside(a) and self._inside(b)):
                continue
            self.segments += 1
            self.length_m += haversine(a.lon, a.lat, b.lon, b.lat)
            self.nodes.update((a.ref, b.ref))
            self.way_ids.add(w.id)
        for ref in {n.ref for n in nodes if self._inside(n)}:
            self.use[ref] = self.use.get(ref, 0) + 1


@functools.cache
def independent(path: Path, bbox: tuple[float, float, float, float] | None = None) -> Any:
    count = IndependentCount(bbox)
    count.apply_file(str(path), locations=True)
    return count


def forward(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in doc["edges"] if not e["id"].endswith("r")]


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_every_node_import_matches_independent_count(path: Path) -> None:
    result = import_osm(path, ImportOptions(max_deviation_m=None))
    doc = result.document()
    expected = independent(path)
    roads = forward(doc)
    assert len(roads) == expected.segments
    assert {int(n["id"][1:]) for n in doc["nodes"]} == expected.nodes
    assert result.summary["ways"] == len(expected.way_ids)
    # Equal up to the summary's rounding and the 0.1 m given to nodes mapped at one point.
    assert result.summary["length_m"] == pytest.approx(expected.length_m, abs=0.5)
    assert sum(e["length_m"] for e in roads) == pytest.approx(
        expected.length_m, abs=0.01 * len(roads)
    )
    scenario = validate_scenario(doc)  # the output is a valid scenario
    assert len(scenario.nodes) == len(expected.nodes)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_simplified_import_keeps_junctions_and_lengths(path: Path) -> None:
    doc = import_osm(path).document()
    expected = independent(path)
    nodes = {int(n["id"][1:]) for n in doc["nodes"]}
    junctions = {ref for ref, k in expected.use.items() if k >= 2} & expected.nodes
    assert junctions <= nodes <= expected.nodes
    assert len(nodes) < len(expected.nodes)  # shape points were dropped
    total = sum(e["length_m"] for e in forward(doc))
    assert total == pytest.approx(expected.length_m, abs=0.5)
    # Each road's length is at least its straight segment (a line is never shorter than its chord).
    where = {n["id"]: (n["lon"], n["lat"]) for n in doc["nodes"]}
    for e in forward(doc):
        chord = haversine(*where[e["from"]], *where[e["to"]])
        assert e["length_m"] >= chord - 0.02


def test_bbox_clips_to_nodes_inside() -> None:
    path = DATA / "helsinki.osm.pbf"
    box = (24.94, 60.165, 24.95, 60.175)
    doc = import_osm(path, ImportOptions(bbox=box, max_deviation_m=None)).document()
    expected = independent(path, box)
    assert len(forward(doc)) == expected.segments
    for n in doc["nodes"]:
        assert box[0] <= n["lon"] <= box[2] and box[1] <= n["lat"] <= box[3]


def test_credits_name_openstreetmap_and_odbl() -> None:
    doc = import_osm(SAMPLES[0]).document()
    assert "© OpenStreetMap contributors" in doc["credits"]
    assert any("ODbL" in c and "openstreetmap.org/copyright" in c for c in doc["credits"])


def test_one_way_streets_are_one_way_for_vehicles_only() -> None:
    doc = import_osm(DATA / "helsinki.osm.pbf").document()
    by_id = {e["id"]: e for e in doc["edges"]}
    reverse = [e for e in doc["edges"] if e["id"].endswith("r")]
    assert reverse, "the Helsinki sample has one-way streets"
    for back in reverse:
        ahead = by_id[back["id"][:-1]]
        assert ahead["directed"] and back["directed"]
        assert (back["from"], back["to"]) == (ahead["to"], ahead["from"])
        assert back["vehicle_passable"] is False and ahead.get("vehicle_passable", True)
        assert back["length_m"] == ahead["length_m"]
    # Walkers cross a one-way piece both ways; a convoy only along it.
    net = Network(validate_scenario(doc))
    piece = next(e for e in reverse if by_id[e["id"][:-1]].get("status", "open") == "open")
    ahead = by_id[piece["id"][:-1]]
    walk_back = safest_route(net, ahead["to"], ahead["from"])
    assert walk_back.edge_ids == [piece["id"]]
    drive = safest_route(net, ahead["from"], ahead["to"], RouteOptions(profile="convoy"))
    assert drive.edge_ids == [ahead["id"]]


OSM_XML = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="test">
 <node id="1" lat="60.0000" lon="25.0000" version="1"/>
 <node id="2" lat="60.0010" lon="25.0000" version="1"/>
 <node id="3" lat="60.0020" lon="25.0000" version="1"><tag k="barrier" v="wall"/></node>
 <node id="4" lat="60.0030" lon="25.0000" version="1"/>
 <node id="5" lat="60.0040" lon="25.0000" version="1"><tag k="barrier" v="bollard"/></node>
 <node id="6" lat="60.0050" lon="25.0000" version="1"/>
 <node id="7" lat="60.0060" lon="25.0000" version="1"/>
 <node id="8" lat="60.0070" lon="25.0000" version="1"/>
 <node id="9" lat="60.0080" lon="25.0000" version="1"/>
 <way id="10" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="5"/>
  <nd ref="6"/><tag k="highway" v="residential"/><tag k="name" v="Testikatu"/></way>
 <way id="11" version="1"><nd ref="6"/><nd ref="7"/><tag k="abandoned:highway" v="footway"/></way>
 <way id="12" version="1"><nd ref="7"/><nd ref="8"/><tag k="highway" v="service"/>
  <tag k="access" v="no"/></way>
 <way id="13" version="1"><nd ref="8"/><nd ref="9"/><tag k="highway" v="construction"/>
  <tag k="construction" v="residential"/></way>
 <way id="14" version="1"><nd ref="1"/><nd ref="9"/><tag k="highway" v="platform"/></way>
 <way id="15" version="1"><nd ref="2"/><nd ref="4"/><tag k="highway" v="footway"/>
  <tag k="width" v="3"/></way>
</osm>
"""


def test_tags_map_to_status_and_vehicles(tmp_path: Path) -> None:
    path = tmp_path / "tiny.osm"
    path.write_text(OSM_XML)
    doc = import_osm(path, ImportOptions(max_deviation_m=None)).document()
    by_id = {e["id"]: e for e in doc["edges"]}
    wall = [by_id["w10-1"], by_id["w10-2"]]  # 2-3 and 3-4 touch the wall at node 3
    assert all(e["status"] == "blocked" and "barrier=wall" in e["notes"] for e in wall)
    bollard = [by_id["w10-3"], by_id["w10-4"]]
    assert all(e.get("status", "open") == "open" for e in bollard)
    assert all(e["vehicle_passable"] is False for e in bollard)
    assert by_id["w10-0"].get("vehicle_passable", True) and by_id["w10-0"]["name"] == "Testikatu"
    assert by_id["w11-0"]["status"] == "damaged" and by_id["w11-0"]["vehicle_passable"] is False
    assert by_id["w12-0"]["status"] == "restricted" and "access=no" in by_id["w12-0"]["notes"]
    assert by_id["w13-0"]["status"] == "blocked"
    assert not any(e["id"].startswith("w14") for e in doc["edges"])  # platforms are not roads
    assert by_id["w15-0"]["capacity_per_min"] == 3 * 78  # width 3 m × 78 people/min/m
    assert by_id["w10-0"]["capacity_per_min"] == 7 * 78  # residential default 2 lanes
    # The wall cuts the street; walkers go round it on the footway 2-4.
    net = Network(validate_scenario(doc))
    assert safest_route(net, "n1", "n6").edge_ids == ["w10-0", "w15-0", "w10-3", "w10-4"]


def test_districts_spread_population_and_control(tmp_path: Path) -> None:
    path = DATA / "test.osm.pbf"
    outer = [[26.93, 60.52], [26.95, 60.52], [26.95, 60.54], [26.93, 60.54], [26.93, 60.52]]
    hole = [[26.935, 60.525], [26.94, 60.525], [26.94, 60.53], [26.935, 60.53], [26.935, 60.525]]
    districts = tmp_path / "d.geojson"
    districts.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"id": "west", "controlled_by": "gov"},
                        "geometry": {"type": "Polygon", "coordinates": [outer, hole]},
                    }
                ],
            }
        )
    )
    pops = tmp_path / "p.csv"
    pops.write_text("district,population\nwest,1001\n")
    out = tmp_path / "s.json"
    result = CliRunner().invoke(
        app,
        [
            "import-osm",
            str(path),
            "-o",
            str(out),
            "--districts",
            str(districts),
            "--populations",
            str(pops),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    validate_scenario(doc)

    def inside(n: dict[str, Any]) -> bool:
        in_outer = 26.93 <= n["lon"] <= 26.95 and 60.52 <= n["lat"] <= 60.54
        in_hole = 26.935 <= n["lon"] <= 26.94 and 60.525 <= n["lat"] <= 60.53
        return in_outer and not in_hole

    members = [n for n in doc["nodes"] if inside(n)]
    assert members and len(members) < len(doc["nodes"])
    assert sum(n.get("population", 0) for n in doc["nodes"]) == 1001
    assert all(n.get("population", 0) in (1001 // len(members), 1001 // len(members) + 1)
               for n in members)  # fmt: skip
    assert all(n.get("controlled_by") == "gov" for n in members)
    assert not any(n.get("controlled_by") or n.get("population") for n in doc["nodes"]
                   if not inside(n))  # fmt: skip
    assert doc["parties"] == [{"id": "gov"}]
    summary = json.loads(result.stdout)
    assert summary["districts"] == [
        {"id": "west", "nodes": len(members), "population": 1001, "placed": 1001}
    ]


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["import-osm", str(tmp_path / "none.osm.pbf"), "-o", str(tmp_path / "x.json")]
    )
    assert result.exit_code == 2


def test_district_without_street_nodes_places_nobody() -> None:
    far = District("far", None, None, 500, ((__import__("numpy").array(
        [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])),))  # fmt: skip
    result = import_osm(SAMPLES[0], ImportOptions(districts=[far]))
    assert result.summary["districts"] == [
        {"id": "far", "nodes": 0, "population": 500, "placed": 0}
    ]
    assert result.summary["population"] == 0


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_written_file_is_the_document(path: Path) -> None:
    result = import_osm(path)
    out = io.StringIO()
    result.write(out)
    assert json.loads(out.getvalue()) == result.document()
