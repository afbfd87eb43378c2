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
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from app.cli import app
from app.cli.progress import progress_bar
from app.domain.errors import NoRouteError
from app.domain.formats.osm import ROAD_CLASSES, WALKABLE_AREAS
from app.domain.network.graph import Network
from app.domain.routes.engine import RouteOptions, safest_route
from app.domain.scenario.reading import validate_scenario
from app.services.osm_import import District, ImportOptions, import_osm
from tests.terminal import Screen

osmium = pytest.importorskip("osmium")

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "osm"
SAMPLES = sorted(DATA.glob("*.osm.pbf"))
pytestmark = pytest.mark.skipif(not SAMPLES, reason="OSM samples not found beside the repo")


GEOD = pytest.importorskip("pyproj").Geod(ellps="WGS84")


def geodesic(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Distance on the WGS84 ellipsoid, metres (what the importer measures roads with)."""
    return float(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def haversine(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance on the mean sphere, metres (to show what the ellipsoid changes)."""
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * r * math.asin(math.sqrt(a))


def walkable_squares(path: Path) -> dict[int, list[tuple[int, str]]]:
    """Multipolygon relations of a walkable class: their member ways and roles."""
    squares = {}
    for rel in osmium.FileProcessor(str(path), osmium.osm.RELATION):
        tags = {t.k: t.v for t in rel.tags}
        if tags.get("type") == "multipolygon" and tags.get("highway") in WALKABLE_AREAS:
            squares[rel.id] = [(m.ref, m.role) for m in rel.members if m.type == "w"]
    return squares


def counted_as_road(tags: dict[str, str]) -> bool:
    kind = tags.get("highway")
    if kind == "construction":
        kind = tags.get("construction", "road")
    kind = kind or tags.get("abandoned:highway") or tags.get("disused:highway")
    area = tags.get("area") in ("yes", "true", "1")
    return kind in ROAD_CLASSES and not (area and kind not in WALKABLE_AREAS)


class IndependentCount(osmium.SimpleHandler):  # type: ignore[misc]
    """Road segments counted straight from the file: every consecutive pair of located nodes
    of a road, and of an outer member way of a walkable multipolygon square whose member
    ways are all in the file with every node (and is no road itself: its segments are
    counted once)."""

    def __init__(self, path: Path, bbox: tuple[float, float, float, float] | None = None) -> None:
        super().__init__()
        self.squares = walkable_squares(path)
        self.members = {ref for members in self.squares.values() for ref, _ in members}
        self.member_ways: dict[int, tuple[dict[str, str], list[Any]]] = {}
        self.complete: set[int] = set()
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
        nodes = [(n.ref, n.lon, n.lat) if self._inside(n) else (n.ref,) for n in w.nodes]
        if w.id in self.members:
            self.member_ways[w.id] = (tags, nodes)
            if all(n.location.valid() for n in w.nodes):
                self.complete.add(w.id)
        if counted_as_road(tags):
            self._count(nodes, w.id)

    def _count(self, nodes: list[tuple[Any, ...]], way_id: int | None) -> None:
        for a, b in itertools.pairwise(nodes):
            if a[0] == b[0] or len(a) == 1 or len(b) == 1:
                continue
            self.segments += 1
            self.length_m += geodesic(*a[1:], *b[1:])
            self.nodes.update((a[0], b[0]))
            if way_id is not None:
                self.way_ids.add(way_id)
        for ref in {n[0] for n in nodes if len(n) > 1}:
            self.use[ref] = self.use.get(ref, 0) + 1

    def count_squares(self) -> None:
        for members in self.squares.values():
            if all(ref in self.complete for ref, _ in members):
                for ref, role in members:
                    tags, nodes = self.member_ways[ref]
                    if role == "outer" and not counted_as_road(tags):
                        self._count(nodes, None)


@functools.cache
def independent(path: Path, bbox: tuple[float, float, float, float] | None = None) -> Any:
    count = IndependentCount(path, bbox)
    count.apply_file(str(path), locations=True)
    count.count_squares()
    return count


def forward(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Roads along mapped ways: not the walkers' reverse ('r') nor straight across areas ('x')."""
    return [e for e in doc["edges"] if not e["id"].endswith(("r", "x"))]


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_every_node_import_matches_independent_count(path: Path) -> None:
    result = import_osm(path, ImportOptions(max_deviation_m=None))
    doc = result.document()
    expected = independent(path)
    roads = forward(doc)
    assert len(roads) == expected.segments
    assert result.summary["relations"] + result.summary["relations_left_out"] == len(
        expected.squares
    )
    assert {int(n["id"][1:]) for n in doc["nodes"]} == expected.nodes
    assert result.summary["ways"] == len(expected.way_ids)
    # Equal up to the summary's rounding and the 0.1 m given to nodes mapped at one point.
    assert result.summary["length_m"] == pytest.approx(expected.length_m, abs=0.5)
    assert sum(e["length_m"] for e in roads) == pytest.approx(
        expected.length_m, abs=0.01 * len(roads)
    )
    scenario = validate_scenario(doc)  # the output is a valid scenario
    assert len(scenario.nodes.id) == len(expected.nodes)


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
        chord = geodesic(*where[e["from"]], *where[e["to"]])
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


def test_progress_bar_shows_each_phase_to_its_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    screen = Screen(monkeypatch)
    out = tmp_path / "s.json"
    result = CliRunner().invoke(app, ["import-osm", str(DATA / "test.osm.pbf"), "-o", str(out),
                                      "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    ends = {}
    for line in screen.lines():
        m = re.fullmatch(r"(\S.*?) +━+╸?━* ([\d,]+)/([\d,]+) 0:00:\d\d", line)
        assert m, line
        ends[m[1]] = (m[2], m[3])
    ways, written = summary["ways_read"], summary["nodes"] + summary["edges"]
    assert list(ends) == ["reading", "building roads", "writing"]
    assert ends["building roads"] == (f"{ways:,}", f"{ways:,}")
    assert ends["writing"] == (f"{written:,}", f"{written:,}")
    assert ends["reading"][0] == ends["reading"][1]


def test_a_phase_of_unknown_length_shows_its_count(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = Screen(monkeypatch)
    with progress_bar() as progress:
        progress("reading", 40_000, None)
    assert re.fullmatch(r"reading +━+ 40,000 0:00:\d\d", screen.lines()[-1])


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


# A square drawn as its outline (area=yes, highway=pedestrian) between two streets; an
# L-shaped square whose two entries cannot see each other; a square walkers may not use
# (foot=no); a parking surface (highway=service, area=yes), which is no road.
SQUARES_XML = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="test">
 <node id="1" lat="60.1700" lon="24.9380" version="1"/>
 <node id="101" lat="60.1695" lon="24.9390" version="1"/>
 <node id="102" lat="60.1695" lon="24.9400" version="1"/>
 <node id="106" lat="60.1700" lon="24.9400" version="1"/>
 <node id="103" lat="60.1705" lon="24.9400" version="1"/>
 <node id="104" lat="60.1705" lon="24.9390" version="1"/>
 <node id="105" lat="60.1700" lon="24.9390" version="1"/>
 <node id="2" lat="60.1700" lon="24.9410" version="1"/>
 <way id="201" version="1"><nd ref="101"/><nd ref="102"/><nd ref="106"/><nd ref="103"/>
  <nd ref="104"/><nd ref="105"/><nd ref="101"/><tag k="highway" v="pedestrian"/>
  <tag k="area" v="yes"/><tag k="name" v="Testitori"/></way>
 <way id="202" version="1"><nd ref="1"/><nd ref="105"/><tag k="highway" v="residential"/></way>
 <way id="203" version="1"><nd ref="106"/><nd ref="2"/><tag k="highway" v="residential"/></way>
 <node id="411" lat="60.1720" lon="24.9390" version="1"/>
 <node id="412" lat="60.1720" lon="24.9410" version="1"/>
 <node id="413" lat="60.17225" lon="24.9410" version="1"/>
 <node id="414" lat="60.1725" lon="24.9410" version="1"/>
 <node id="415" lat="60.1725" lon="24.9400" version="1"/>
 <node id="416" lat="60.1730" lon="24.9400" version="1"/>
 <node id="417" lat="60.1730" lon="24.9395" version="1"/>
 <node id="418" lat="60.1730" lon="24.9390" version="1"/>
 <node id="421" lat="60.17225" lon="24.9420" version="1"/>
 <node id="422" lat="60.1735" lon="24.9395" version="1"/>
 <way id="401" version="1"><nd ref="411"/><nd ref="412"/><nd ref="413"/><nd ref="414"/>
  <nd ref="415"/><nd ref="416"/><nd ref="417"/><nd ref="418"/><nd ref="411"/>
  <tag k="highway" v="footway"/><tag k="area" v="yes"/></way>
 <way id="402" version="1"><nd ref="413"/><nd ref="421"/><tag k="highway" v="residential"/></way>
 <way id="403" version="1"><nd ref="417"/><nd ref="422"/><tag k="highway" v="footway"/></way>
 <node id="511" lat="60.1680" lon="24.9380" version="1"/>
 <node id="512" lat="60.1680" lon="24.9390" version="1"/>
 <node id="513" lat="60.1685" lon="24.9385" version="1"/>
 <way id="501" version="1"><nd ref="511"/><nd ref="512"/><nd ref="513"/><nd ref="511"/>
  <tag k="highway" v="pedestrian"/><tag k="area" v="yes"/><tag k="foot" v="no"/></way>
 <node id="611" lat="60.1660" lon="24.9380" version="1"/>
 <node id="612" lat="60.1660" lon="24.9390" version="1"/>
 <node id="613" lat="60.1665" lon="24.9385" version="1"/>
 <way id="601" version="1"><nd ref="611"/><nd ref="612"/><nd ref="613"/><nd ref="611"/>
  <tag k="highway" v="service"/><tag k="area" v="yes"/></way>
</osm>
"""


def test_walkers_cross_a_pedestrian_square_drawn_as_its_outline(tmp_path: Path) -> None:
    path = tmp_path / "squares.osm"
    path.write_text(SQUARES_XML)
    result = import_osm(path, ImportOptions(max_deviation_m=None))
    doc = result.document()
    by_id = {e["id"]: e for e in doc["edges"]}
    net = Network(validate_scenario(doc))

    # The square's outline is walkable, and one straight road crosses it between the two
    # streets that meet it (0.001° of longitude at 60.17°N, about 55 m).
    outline = [e for e in doc["edges"] if e["id"].startswith("w201-") and e["id"][-1] != "x"]
    assert {(e["from"], e["to"]) for e in outline} >= {("n105", "n101"), ("n101", "n102")}
    across = by_id["w201-0x"]
    assert {across["from"], across["to"]} == {"n105", "n106"}
    assert across["length_m"] == pytest.approx(geodesic(24.939, 60.17, 24.94, 60.17), abs=0.01)
    # On the ellipsoid: 0.37 % longer east-west than on a sphere of the mean radius, here.
    assert across["length_m"] / haversine(24.939, 60.17, 24.94, 60.17) == pytest.approx(
        1.00365, abs=0.0001
    )
    assert across["name"] == "Testitori" and across["vehicle_passable"] is False
    assert result.summary["area_crossings"] == 1
    walk = safest_route(net, "n1", "n2")
    assert walk.edge_ids == ["w202-0", "w201-0x", "w203-0"]
    with pytest.raises(NoRouteError):  # a square is no road for vehicles
        safest_route(net, "n1", "n2", RouteOptions(profile="convoy"))

    # In the L-shaped square the straight line between its entries would leave it:
    # walkers follow its outline instead.
    assert not any(e["id"].startswith("w401-") and e["id"].endswith("x") for e in doc["edges"])
    around = safest_route(net, "n421", "n422")
    assert around.edge_ids[0] == "w402-0" and around.edge_ids[-1] == "w403-0"
    assert all(e.startswith("w401-") for e in around.edge_ids[1:-1])

    # foot=no restricts the square as it would a street; a parking surface is no road.
    closed = [e for e in doc["edges"] if e["id"].startswith("w501-")]
    assert closed and all(e["status"] == "restricted" and "foot=no" in e["notes"] for e in closed)
    assert not any(e["id"].startswith("w601-") for e in doc["edges"])


# A square mapped as a multipolygon relation (900): its outer ring is two untagged ways,
# a hole (a kiosk) in its middle; streets meet it at the middle of each side. A square
# walkers may not use (901, foot=no). A square whose outline way is a footway too (902).
# A relation whose member way is not in the file (903); one whose ring does not close (904).
MULTIPOLYGON_XML = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="test">
 <node id="801" lat="60.1805" lon="24.9500" version="1"/>
 <node id="811" lat="60.1800" lon="24.9500" version="1"/>
 <node id="802" lat="60.1800" lon="24.9510" version="1"/>
 <node id="812" lat="60.1800" lon="24.9520" version="1"/>
 <node id="803" lat="60.1805" lon="24.9520" version="1"/>
 <node id="813" lat="60.1810" lon="24.9520" version="1"/>
 <node id="804" lat="60.1810" lon="24.9510" version="1"/>
 <node id="814" lat="60.1810" lon="24.9500" version="1"/>
 <node id="821" lat="60.18045" lon="24.95095" version="1"/>
 <node id="822" lat="60.18045" lon="24.95105" version="1"/>
 <node id="823" lat="60.18055" lon="24.95105" version="1"/>
 <node id="824" lat="60.18055" lon="24.95095" version="1"/>
 <node id="1" lat="60.1805" lon="24.9490" version="1"/>
 <node id="2" lat="60.1805" lon="24.9530" version="1"/>
 <node id="3" lat="60.1790" lon="24.9510" version="1"/>
 <node id="4" lat="60.1820" lon="24.9510" version="1"/>
 <way id="701" version="1"><nd ref="801"/><nd ref="811"/><nd ref="802"/><nd ref="812"/>
  <nd ref="803"/></way>
 <way id="702" version="1"><nd ref="803"/><nd ref="813"/><nd ref="804"/><nd ref="814"/>
  <nd ref="801"/></way>
 <way id="703" version="1"><nd ref="821"/><nd ref="822"/><nd ref="823"/><nd ref="824"/>
  <nd ref="821"/><tag k="building" v="kiosk"/></way>
 <way id="711" version="1"><nd ref="1"/><nd ref="801"/><tag k="highway" v="residential"/></way>
 <way id="712" version="1"><nd ref="803"/><nd ref="2"/><tag k="highway" v="residential"/></way>
 <way id="713" version="1"><nd ref="802"/><nd ref="3"/><tag k="highway" v="footway"/></way>
 <way id="714" version="1"><nd ref="804"/><nd ref="4"/><tag k="highway" v="footway"/></way>
 <relation id="900" version="1">
  <member type="way" ref="701" role="outer"/><member type="way" ref="702" role="outer"/>
  <member type="way" ref="703" role="inner"/>
  <tag k="type" v="multipolygon"/><tag k="highway" v="pedestrian"/>
  <tag k="name" v="Monikulmiotori"/></relation>
 <node id="841" lat="60.1830" lon="24.9500" version="1"/>
 <node id="842" lat="60.1830" lon="24.9510" version="1"/>
 <node id="843" lat="60.1835" lon="24.9505" version="1"/>
 <node id="5" lat="60.1830" lon="24.9490" version="1"/>
 <node id="6" lat="60.1830" lon="24.9520" version="1"/>
 <way id="731" version="1"><nd ref="841"/><nd ref="842"/><nd ref="843"/><nd ref="841"/></way>
 <way id="741" version="1"><nd ref="5"/><nd ref="841"/><tag k="highway" v="residential"/></way>
 <way id="742" version="1"><nd ref="842"/><nd ref="6"/><tag k="highway" v="residential"/></way>
 <relation id="901" version="1"><member type="way" ref="731" role="outer"/>
  <tag k="type" v="multipolygon"/><tag k="highway" v="pedestrian"/><tag k="foot" v="no"/>
 </relation>
 <node id="851" lat="60.1850" lon="24.9500" version="1"/>
 <node id="852" lat="60.1850" lon="24.9510" version="1"/>
 <node id="853" lat="60.1855" lon="24.9510" version="1"/>
 <node id="854" lat="60.1855" lon="24.9500" version="1"/>
 <node id="7" lat="60.1850" lon="24.9490" version="1"/>
 <node id="8" lat="60.1855" lon="24.9520" version="1"/>
 <way id="751" version="1"><nd ref="851"/><nd ref="852"/><nd ref="853"/><nd ref="854"/>
  <nd ref="851"/><tag k="highway" v="footway"/></way>
 <way id="761" version="1"><nd ref="7"/><nd ref="851"/><tag k="highway" v="residential"/></way>
 <way id="762" version="1"><nd ref="853"/><nd ref="8"/><tag k="highway" v="residential"/></way>
 <relation id="902" version="1"><member type="way" ref="751" role="outer"/>
  <tag k="type" v="multipolygon"/><tag k="highway" v="pedestrian"/></relation>
 <relation id="903" version="1"><member type="way" ref="999" role="outer"/>
  <tag k="type" v="multipolygon"/><tag k="highway" v="pedestrian"/></relation>
 <node id="861" lat="60.1870" lon="24.9500" version="1"/>
 <node id="862" lat="60.1870" lon="24.9510" version="1"/>
 <node id="863" lat="60.1875" lon="24.9510" version="1"/>
 <way id="771" version="1"><nd ref="861"/><nd ref="862"/><nd ref="863"/></way>
 <relation id="904" version="1"><member type="way" ref="771" role="outer"/>
  <tag k="type" v="multipolygon"/><tag k="highway" v="pedestrian"/></relation>
</osm>
"""


def test_walkers_cross_a_pedestrian_square_mapped_as_a_multipolygon(tmp_path: Path) -> None:
    path = tmp_path / "multipolygons.osm"
    path.write_text(MULTIPOLYGON_XML)
    result = import_osm(path, ImportOptions(max_deviation_m=None))
    doc = result.document()
    net = Network(validate_scenario(doc))
    edges = {e["id"]: e for e in doc["edges"]}

    # The outer ring, assembled from its two ways, is eight walkable roads along the
    # outline, joined to the four streets at the middle of each side.
    ring = [801, 811, 802, 812, 803, 813, 804, 814, 801]
    outline = [e for e in doc["edges"] if e["id"].startswith("r900-") and e["id"][-1] != "x"]
    assert {frozenset((e["from"], e["to"])) for e in outline} == {
        frozenset((f"n{a}", f"n{b}")) for a, b in itertools.pairwise(ring)
    }
    assert all(e["name"] == "Monikulmiotori" and e["vehicle_passable"] is False for e in outline)
    where = {n["id"]: (n["lon"], n["lat"]) for n in doc["nodes"]}
    for e in outline:
        assert e["length_m"] == pytest.approx(
            geodesic(*where[e["from"]], *where[e["to"]]), abs=0.01
        )
    assert not any(n["id"] in ("n821", "n822", "n823", "n824") for n in doc["nodes"])  # the hole

    # Straight across between the streets' entries, but not through the kiosk in the middle:
    # the four corner-cutting lines; west–east and south–north would cross the hole.
    across = {frozenset((e["from"], e["to"])) for e in doc["edges"] if e["id"].startswith("r900-")
              and e["id"].endswith("x")}  # fmt: skip
    assert across == {frozenset((f"n{a}", f"n{b}")) for a, b in
                      [(801, 802), (802, 803), (803, 804), (804, 801)]}  # fmt: skip

    # From the west street to the east one a walker cuts two corners of the square.
    walk = safest_route(net, "n1", "n2")
    assert walk.edge_ids[0] == "w711-0" and walk.edge_ids[-1] == "w712-0"
    assert len(walk.edge_ids) == 4 and all(e.endswith("x") for e in walk.edge_ids[1:3])
    corner = geodesic(24.95, 60.1805, 24.951, 60.18)
    streets = edges["w711-0"]["length_m"] + edges["w712-0"]["length_m"]
    assert sum(edges[e]["length_m"] for e in walk.edge_ids) == pytest.approx(
        streets + 2 * corner, abs=0.02
    )
    with pytest.raises(NoRouteError):  # a square is no road for vehicles
        safest_route(net, "n1", "n2", RouteOptions(profile="convoy"))

    # foot=no restricts a square mapped as a relation too, outline and crossing.
    closed = [e for e in doc["edges"] if e["id"].startswith("r901-")]
    assert len(closed) == 4 and any(e["id"].endswith("x") for e in closed)
    assert all(e["status"] == "restricted" and "foot=no" in e["notes"] for e in closed)

    # An outline that is a footway itself is drawn once (by the footway); the square adds
    # only the crossing between the two streets that meet it.
    assert [e["id"] for e in doc["edges"] if e["id"].startswith("r902-")] == ["r902-0x"]
    assert {edges["r902-0x"]["from"], edges["r902-0x"]["to"]} == {"n851", "n853"}
    assert len([e for e in doc["edges"] if e["id"].startswith("w751-")]) == 4

    # A relation whose member is missing from the extract, or whose ring does not close,
    # is left out, and counted.
    assert not any(e["id"].startswith(("r903-", "r904-")) for e in doc["edges"])
    assert result.summary["relations"] == 3 and result.summary["relations_left_out"] == 2
    assert any("2 pedestrian squares mapped as multipolygon relations were left out" in note
               for note in doc["notes"])  # fmt: skip
    assert any("multipolygon relations" in note for note in doc["notes"])
