"""validate_scenario: every problem of a document, each at its JSON pointer (SPEC §2)."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest

from app.domain.errors import ValidationError
from app.domain.scenario.columns import NODE_KINDS, ROAD_STATUSES
from app.domain.scenario.document import parse_document
from app.domain.scenario.reading import validate_scenario

SCHEMA = "safe-passage/scenario@1"
T0 = "2016-12-13T08:00:00+02:00"


def valid_document() -> dict[str, Any]:
    """A small valid scenario using every list of the document."""
    return {
        "schema": SCHEMA,
        "as_of": T0,
        "parties": [
            {"id": "gov", "consent": "granted"},
            {"id": "opp", "consent": "pending", "detention_record": True},
        ],
        "nodes": [
            {"id": "a", "lat": 36.17, "lon": 37.14, "population": 100, "controlled_by": "opp"},
            {"id": "b", "lat": 36.18, "lon": 37.15},
            {"id": "c", "kind": "safe_zone", "capacity": 500, "controlled_by": "gov"},
        ],
        "edges": [
            {"id": "a-b", "from": "a", "to": "b", "length_m": 900, "risk": 0.02},
            {"id": "b-c", "from": "b", "to": "c", "travel_time_min": 12, "checkpoint": "gov"},
            {"id": "a-c", "from": "a", "to": "c", "length_m": 1500, "controlled_by": "opp"},
            {"id": "c-a", "from": "c", "to": "a", "length_m": 1500, "directed": True},
        ],
        "incidents": [
            {"id": "i1", "edges": ["a-b"], "severity": 0.1, "observed_at": T0, "half_life_h": 12},
            {"id": "i2", "lat": 36.17, "lon": 37.14, "radius_m": 200, "severity": 0.2,
             "observed_at": T0},
        ],
        "windows": [
            {"id": "w1", "start": "2016-12-15T10:00:00+02:00", "end": "2016-12-15T13:00:00+02:00",
             "agreed_by": ["gov", "opp"]},
        ],
        "profiles": [{"id": "escort", "checkpoint_risk": {"gov": 0.05}}],
    }  # fmt: skip


def problems_of(doc: Any) -> list[tuple[str, str]]:
    """The (pointer, detail) pairs validate_scenario reports for ``doc``."""
    with pytest.raises(ValidationError) as info:
        validate_scenario(doc)
    assert info.value.problems, "a ValidationError must list at least one problem"
    return [(p.pointer, p.detail) for p in info.value.problems]


def assert_problem(doc: Any, pointer: str, *fragments: str) -> list[tuple[str, str]]:
    """``doc`` is invalid with a problem at ``pointer`` whose detail holds every fragment."""
    found = problems_of(doc)
    details = [d for p, d in found if p == pointer]
    assert details, f"no problem at {pointer!r}; got {found}"
    assert any(all(f in d for f in fragments) for d in details), (
        f"problem at {pointer!r} should mention {fragments}; got {details}"
    )
    return found


def edited(**changes: Any) -> dict[str, Any]:
    """A valid document with top-level keys replaced."""
    doc = copy.deepcopy(valid_document())
    doc.update(changes)
    return doc


def test_the_base_document_is_valid() -> None:
    scenario = validate_scenario(valid_document())
    assert list(scenario.edges.id) == ["a-b", "b-c", "a-c", "c-a"]
    assert scenario.nodes.id[int(scenario.edges.tail[0])] == "a"  # type: ignore[index]
    assert scenario.edges.length_m[0] == 900.0
    # Defaults of SPEC §2.
    nodes, edges = scenario.nodes, scenario.edges
    assert NODE_KINDS[nodes.kind[1]] == "junction"
    assert (nodes.population[1], nodes.controlled_by[1]) == (0, None)
    assert nodes.capacity[1] == 0  # 0 stands for "not given": unbounded
    assert (ROAD_STATUSES[edges.status[1]], edges.directed[1]) == ("open", False)
    # A road without a risk estimate is unknown, not safe (issue 16; SPEC §2 extended).
    assert math.isnan(edges.risk[1])
    assert edges.capacity_per_min[1] == 0  # unbounded


# --- references ------------------------------------------------------------------------------


def test_unknown_node_in_an_edge_points_at_the_field() -> None:
    doc = valid_document()
    doc["edges"][3]["to"] = "nowhere"
    doc["edges"][1]["from"] = "elsewhere"
    found = assert_problem(doc, "/edges/3/to", "unknown node", "'nowhere'")
    assert_problem(doc, "/edges/1/from", "unknown node", "'elsewhere'")
    assert len(found) == 2


@pytest.mark.parametrize("key", ["nodes", "edges", "parties", "incidents", "windows"])
def test_duplicate_ids_are_reported_at_the_second_use(key: str) -> None:
    doc = valid_document()
    doc[key].append(copy.deepcopy(doc[key][0]))
    last = len(doc[key]) - 1
    assert_problem(doc, f"/{key}/{last}/id", "duplicate id", f"/{key}/0")


def test_unknown_road_named_by_an_incident() -> None:
    doc = valid_document()
    doc["incidents"][0]["edges"] = ["a-b", "x-y"]
    assert_problem(doc, "/incidents/0/edges/1", "unknown road", "'x-y'")


@pytest.mark.parametrize(
    ("where", "pointer"),
    [
        (("nodes", 1, "controlled_by"), "/nodes/1/controlled_by"),
        (("edges", 0, "controlled_by"), "/edges/0/controlled_by"),
        (("edges", 2, "checkpoint"), "/edges/2/checkpoint"),
    ],
)
def test_unknown_party_on_a_node_or_road(where: tuple[str, int, str], pointer: str) -> None:
    doc = valid_document()
    key, i, field = where
    doc[key][i][field] = "ghosts"
    assert_problem(doc, pointer, "unknown party", "'ghosts'")


def test_unknown_party_agreeing_to_a_window() -> None:
    doc = valid_document()
    doc["windows"][0]["agreed_by"] = ["gov", "ghosts"]
    assert_problem(doc, "/windows/0/agreed_by/1", "unknown party", "'ghosts'")


def test_unknown_party_in_a_profile_checkpoint_risk() -> None:
    doc = valid_document()
    doc["profiles"][0]["checkpoint_risk"] = {"gov": 0.1, "ghosts": 0.3}
    assert_problem(doc, "/profiles/0/checkpoint_risk/ghosts", "unknown party", "'ghosts'")


def test_pointer_tokens_are_escaped() -> None:
    # RFC 6901: "/" in a key is written "~1" and "~" is written "~0".
    doc = valid_document()
    doc["profiles"][0]["checkpoint_risk"] = {"a/b~c": 0.3}
    assert_problem(doc, "/profiles/0/checkpoint_risk/a~1b~0c", "unknown party")


# --- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("risk", "fragment"), [(1.0, "less than 1"), (1.5, "less than 1"), (-0.1, "at least 0")]
)
def test_risk_outside_zero_to_one(risk: float, fragment: str) -> None:
    doc = valid_document()
    doc["edges"][2]["risk"] = risk
    assert_problem(doc, "/edges/2/risk", "'risk'", fragment)


def test_risk_just_below_one_is_accepted() -> None:
    doc = valid_document()
    doc["edges"][2]["risk"] = 0.999999
    assert validate_scenario(doc).edges.risk[2] == 0.999999


def test_nan_and_infinity_from_real_json_text_anywhere_numeric() -> None:
    text = b"""{
      "schema": "safe-passage/scenario@1",
      "nodes": [{"id": "a", "lat": NaN, "lon": 37.1, "population": 5},
                {"id": "b", "lat": 36.1, "lon": Infinity}],
      "edges": [{"id": "e", "from": "a", "to": "b", "length_m": -Infinity,
                 "travel_time_min": Infinity, "risk": NaN}],
      "incidents": [{"id": "i", "edges": ["e"], "severity": 0.1, "confidence": NaN,
                     "observed_at": "2016-12-13T08:00:00+02:00", "half_life_h": Infinity}],
      "profiles": [{"id": "p", "speed_m_per_min": NaN, "checkpoint_risk": {}}]
    }"""
    data = parse_document(text)
    found = dict(problems_of(data))
    for pointer in (
        "/nodes/0/lat",
        "/nodes/1/lon",
        "/edges/0/length_m",
        "/edges/0/travel_time_min",
        "/edges/0/risk",
        "/incidents/0/confidence",
        "/incidents/0/half_life_h",
        "/profiles/0/speed_m_per_min",
    ):
        assert pointer in found, f"{pointer} not reported; got {found}"
        assert "finite number" in found[pointer]
    assert "nan" in found["/edges/0/risk"] and "-inf" in found["/edges/0/length_m"]


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("length_m", 0, "greater than 0"),
        ("length_m", -5, "greater than 0"),
        ("travel_time_min", 0, "greater than 0"),
        ("travel_time_min", -1.5, "greater than 0"),
        ("capacity_per_min", 0, "greater than 0"),
        ("capacity_per_min", -3, "greater than 0"),
    ],
)
def test_road_figures_must_be_positive(field: str, value: float, fragment: str) -> None:
    doc = valid_document()
    doc["edges"][0][field] = value
    assert_problem(doc, f"/edges/0/{field}", f"'{field}'", fragment, repr(value))


@pytest.mark.parametrize("capacity", [0, -10])
def test_node_capacity_must_be_positive(capacity: int) -> None:
    doc = valid_document()
    doc["nodes"][2]["capacity"] = capacity
    assert_problem(doc, "/nodes/2/capacity", "'capacity'", "greater than 0")


def test_negative_population() -> None:
    doc = valid_document()
    doc["nodes"][0]["population"] = -1
    assert_problem(doc, "/nodes/0/population", "'population'", "at least 0")


def test_population_above_capacity() -> None:
    doc = valid_document()
    doc["nodes"][2]["population"] = 501
    assert_problem(doc, "/nodes/2/population", "population 501", "capacity 500")
    doc["nodes"][2]["population"] = 500
    assert validate_scenario(doc).nodes.population[2] == 500


# --- types and shape -------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0.1", "high"])
def test_risk_given_as_a_string_is_a_type_error(value: str) -> None:
    doc = valid_document()
    doc["edges"][0]["risk"] = value
    assert_problem(doc, "/edges/0/risk", "'risk'", "number")


@pytest.mark.parametrize(
    ("pointer", "value", "expected"),
    [
        ("/edges/0/risk", True, "number"),
        ("/edges/0/risk", False, "number"),
        ("/edges/0/length_m", "900", "number"),
        ("/edges/0/directed", "yes", "boolean"),
        ("/edges/0/vehicle_passable", 0, "boolean"),
        ("/nodes/0/population", "100", "integer"),
        ("/nodes/0/population", True, "integer"),
    ],
)
def test_values_of_the_wrong_json_type_are_not_coerced(
    pointer: str, value: Any, expected: str
) -> None:
    # A JSON true is not the number 1, "900" is text, and "yes" is not a boolean: a document
    # with them was written wrongly, and guessing could turn a typo into a route.
    doc = valid_document()
    _, key, i, field = pointer.split("/")
    doc[key][int(i)][field] = value
    assert_problem(doc, pointer, f"'{field}'", expected)


def test_a_list_where_an_object_is_expected() -> None:
    doc = valid_document()
    doc["edges"][1] = ["b", "c"]
    assert_problem(doc, "/edges/1", "valid dictionary")


def test_an_object_where_a_list_is_expected() -> None:
    doc = edited(windows={"id": "w"})
    assert_problem(doc, "/windows", "valid list")


def test_a_document_that_is_not_an_object() -> None:
    assert problems_of([valid_document()]) == [("", "a scenario document must be a JSON object")]


def test_nodes_given_as_an_object_is_one_problem_not_a_cascade() -> None:
    doc = valid_document()
    doc["nodes"] = {n["id"]: n for n in doc["nodes"]}
    found = assert_problem(doc, "/nodes", "valid list")
    # The edges name nodes that the document does declare, just in the wrong shape.
    assert [p for p, _ in found] == ["/nodes"]


def test_parties_given_as_an_object_is_one_problem_not_a_cascade() -> None:
    doc = valid_document()
    doc["parties"] = {p["id"]: p for p in doc["parties"]}
    found = assert_problem(doc, "/parties", "valid list")
    assert [p for p, _ in found] == ["/parties"]


def test_empty_graph() -> None:
    doc = edited(nodes=[], edges=[], incidents=[], windows=[], profiles=[])
    assert_problem(doc, "/nodes", "at least one node")


def test_missing_schema() -> None:
    doc = valid_document()
    del doc["schema"]
    assert_problem(doc, "/schema", "'schema'", "required")


@pytest.mark.parametrize("schema", ["safe-passage/scenario@2", "", 1])
def test_wrong_schema(schema: Any) -> None:
    assert_problem(edited(schema=schema), "/schema", SCHEMA)


def test_missing_required_fields() -> None:
    doc = valid_document()
    del doc["nodes"][1]["id"]
    doc["edges"][0] = {"id": "a-b", "length_m": 10}
    del doc["incidents"][0]["severity"]
    del doc["incidents"][1]["observed_at"]
    del doc["windows"][0]["end"]
    del doc["parties"][0]["id"]
    found = problems_of(doc)
    for pointer, field in [
        ("/nodes/1/id", "id"),
        ("/edges/0/from", "from"),
        ("/edges/0/to", "to"),
        ("/incidents/0/severity", "severity"),
        ("/incidents/1/observed_at", "observed_at"),
        ("/windows/0/end", "end"),
        ("/parties/0/id", "id"),
    ]:
        assert (pointer, f"'{field}' is required") in found, (pointer, found)


def test_missing_nodes_list() -> None:
    doc = valid_document()
    del doc["nodes"]
    assert_problem(doc, "/nodes", "'nodes' is required")


def test_edge_needs_length_or_travel_time() -> None:
    doc = valid_document()
    del doc["edges"][0]["length_m"]
    assert_problem(doc, "/edges/0", "'length_m'", "'travel_time_min'")
    doc["edges"][0]["travel_time_min"] = 3
    validate_scenario(doc)


def test_self_loop() -> None:
    doc = valid_document()
    doc["edges"][1]["to"] = "b"
    assert_problem(doc, "/edges/1/to", "two different nodes")


@pytest.mark.parametrize(("given", "missing"), [("lat", "lon"), ("lon", "lat")])
def test_lat_without_lon(given: str, missing: str) -> None:
    doc = valid_document()
    doc["nodes"][2][given] = 36.0
    assert_problem(doc, f"/nodes/2/{missing}", "'lat' and 'lon'")


@pytest.mark.parametrize(("field", "value"), [("lat", 90.5), ("lat", -91), ("lon", 181)])
def test_coordinates_out_of_range(field: str, value: float) -> None:
    doc = valid_document()
    doc["nodes"][0][field] = value
    assert_problem(doc, f"/nodes/0/{field}", f"'{field}'", repr(value))


def test_incident_without_location_or_roads() -> None:
    doc = valid_document()
    del doc["incidents"][0]["edges"]
    assert_problem(doc, "/incidents/0", "location", "'edges'")


def test_incident_with_an_incomplete_location() -> None:
    doc = valid_document()
    del doc["incidents"][1]["radius_m"]
    del doc["incidents"][1]["lon"]
    found = assert_problem(doc, "/incidents/1/radius_m", "'radius_m'")
    assert_problem(doc, "/incidents/1/lon", "'lon'")
    assert len(found) == 2


@pytest.mark.parametrize("end", ["2016-12-15T09:00:00+02:00", "2016-12-15T10:00:00+02:00"])
def test_window_must_end_after_it_starts(end: str) -> None:
    doc = valid_document()
    doc["windows"][0]["end"] = end
    assert_problem(doc, "/windows/0/end", "'end' must be after 'start'")


def test_window_order_is_checked_with_yaml_timestamps() -> None:
    # YAML turns unquoted timestamps into datetime objects, not strings.
    text = b"""
schema: safe-passage/scenario@1
nodes: [{id: a}]
windows:
  - id: w
    start: 2016-12-15T10:00:00+02:00
    end: 2016-12-15T09:00:00+02:00
"""
    assert_problem(parse_document(text), "/windows/0/end", "'end' must be after 'start'")


def test_window_order_compares_instants_across_offsets() -> None:
    doc = valid_document()
    # 10:00+02:00 is 08:00Z; 09:00Z is an hour later.
    doc["windows"][0]["end"] = "2016-12-15T09:00:00Z"
    assert validate_scenario(doc).header.windows[0].end.hour == 9
    doc["windows"][0]["end"] = "2016-12-15T07:30:00Z"
    assert_problem(doc, "/windows/0/end", "after 'start'")


@pytest.mark.parametrize(
    "pointer",
    ["/as_of", "/incidents/0/observed_at", "/windows/0/start", "/windows/0/end"],
)
def test_timestamps_need_a_utc_offset(pointer: str) -> None:
    doc = valid_document()
    naive = "2016-12-15T11:00:00"
    tokens = pointer.split("/")[1:]
    if len(tokens) == 1:
        doc[tokens[0]] = naive
    else:
        doc[tokens[0]][int(tokens[1])][tokens[2]] = naive
    assert_problem(doc, pointer, "UTC offset", naive)


@pytest.mark.parametrize("value", ["yesterday", "2016-13-45T10:00:00+02:00"])
def test_unreadable_timestamp(value: str) -> None:
    doc = valid_document()
    doc["incidents"][0]["observed_at"] = value
    assert_problem(doc, "/incidents/0/observed_at", "'observed_at'")


@pytest.mark.parametrize(
    ("pointer", "field"),
    [
        ("/colour", "colour"),
        ("/nodes/0/population_estimate", "population_estimate"),
        ("/edges/1/speed", "speed"),
        ("/parties/1/flag", "flag"),
        ("/incidents/0/where", "where"),
        ("/windows/0/duration", "duration"),
        ("/profiles/0/walks", "walks"),
    ],
)
def test_unknown_fields(pointer: str, field: str) -> None:
    doc = valid_document()
    tokens = pointer.split("/")[1:]
    if len(tokens) == 1:
        doc[field] = 1
    else:
        doc[tokens[0]][int(tokens[1])][field] = 1
    assert_problem(doc, pointer, "unknown field", f"'{field}'")


@pytest.mark.parametrize(
    ("pointer", "value"),
    [("/edges/0/status", "closed"), ("/parties/0/consent", "maybe"), ("/nodes/0/kind", "city")],
)
def test_values_outside_an_enumeration(pointer: str, value: str) -> None:
    doc = valid_document()
    _, key, i, field = pointer.split("/")
    doc[key][int(i)][field] = value
    found = assert_problem(doc, pointer, f"'{field}'")
    detail = dict(found)[pointer]
    assert "open" in detail or "granted" in detail or "junction" in detail, detail


# --- everything at once ----------------------------------------------------------------------


def test_every_problem_is_reported_at_once_sorted_by_pointer() -> None:
    doc = valid_document()
    doc["edges"] += [{"id": f"x{k}", "from": "a", "to": "b", "length_m": 100} for k in range(4, 11)]
    doc["extra"] = True  # /extra
    del doc["schema"]  # /schema
    doc["nodes"][1]["capacity"] = -1  # /nodes/1/capacity
    doc["nodes"].append({"id": "b"})  # /nodes/3/id duplicates /nodes/1/id
    doc["edges"][0]["risk"] = 1.0  # /edges/0/risk
    doc["edges"][4]["to"] = "a"  # /edges/4/to: a road from a to a
    doc["edges"][2]["to"] = "zz"  # /edges/2/to
    doc["edges"][10]["length_m"] = float("nan")  # /edges/10/length_m
    doc["edges"][3]["checkpoint"] = "ghosts"  # /edges/3/checkpoint
    doc["incidents"][0]["edges"] = ["nope"]  # /incidents/0/edges/0
    doc["windows"][0]["end"] = "2016-12-15T09:00:00+02:00"  # /windows/0/end
    doc["parties"][1]["consent"] = "sure"  # /parties/1/consent
    with pytest.raises(ValidationError) as info:
        validate_scenario(doc)
    pointers = [p.pointer for p in info.value.problems]
    # Numeric tokens sort as numbers (/edges/2 before /edges/10), then fields alphabetically.
    assert pointers == [
        "/edges/0/risk",
        "/edges/2/to",
        "/edges/3/checkpoint",
        "/edges/4/to",
        "/edges/10/length_m",
        "/extra",
        "/incidents/0/edges/0",
        "/nodes/1/capacity",
        "/nodes/3/id",
        "/parties/1/consent",
        "/schema",
        "/windows/0/end",
    ]
    assert info.value.detail == "12 problems found"
    assert info.value.extra()["errors"][1] == {
        "pointer": "/edges/2/to",
        "detail": "unknown node 'zz'",
    }


def test_an_item_that_is_not_an_object_is_one_problem_at_its_place() -> None:
    doc = valid_document()
    doc["nodes"].append("not an object")
    doc["edges"].append(None)
    with pytest.raises(ValidationError) as refused:
        validate_scenario(doc)
    assert [p.pointer for p in refused.value.problems] == ["/edges/4", "/nodes/3"]
