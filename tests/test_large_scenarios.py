"""Large scenarios: the streamed path gives what the document parsed whole gives.

Every document here is read both ways: :func:`validate_scenario` over ``json.loads``
and :func:`read_large_scenario` over byte chunks cut at random places. Valid
documents must compile to the same network and routes; invalid ones must list the
same problems at the same pointers.
"""

from __future__ import annotations

import copy
import json
import math
import random
from typing import Any

import numpy as np
import pytest

from app.config import Settings
from app.domain.errors import DocumentTooLargeError, NoRouteError, ValidationError
from app.domain.network.graph import Network
from app.domain.routes.engine import RouteOptions, safest_route
from app.domain.scenario import reading
from app.domain.scenario.columns import CompactScenario
from app.domain.scenario.document import parse_document
from app.domain.scenario.reading import read_large_scenario, validate_scenario
from app.services.scenarios import load_scenario_file
from tests.domain.randomgraphs import random_document


def chunks(raw: bytes, rng: random.Random) -> list[bytes]:
    """Cut ``raw`` at random places (inside tokens and multi-byte characters too)."""
    out, i = [], 0
    while i < len(raw):
        step = rng.choice([1, 2, 7, 64, 4096])
        out.append(raw[i : i + step])
        i += step
    return out


def both(doc: Any, rng: random.Random, **limits: int) -> tuple[Any, Any]:
    """(plain result or problems, columnar result or problems) for one document."""
    raw = json.dumps(doc, ensure_ascii=False).encode()
    try:
        plain: Any = validate_scenario(parse_document(raw, fmt="json"), **limits)
    except ValidationError as exc:
        plain = [p.as_dict() for p in exc.problems]
    try:
        large: Any = read_large_scenario(chunks(raw, rng), **limits)
    except ValidationError as exc:
        large = [p.as_dict() for p in exc.problems]
    return plain, large


def with_extras(rng: random.Random, n: int, m: int) -> dict[str, Any]:
    doc = random_document(rng, n, m)
    for node in doc["nodes"]:
        if rng.random() < 0.3:
            node["kind"] = rng.choice(["district", "crossing", "safe_zone"])
            node["population"] = rng.randint(0, 500)
            node["name"] = rng.choice(["al-Sukkari", "Mašhad", "حلب", None])
        if rng.random() < 0.2:
            node.pop("lat"), node.pop("lon")
        if rng.random() < 0.1:
            node["capacity"] = rng.randint(500, 900)
    for edge in doc["edges"]:
        if rng.random() < 0.2:
            edge.pop(rng.choice(["length_m", "travel_time_min"]))
        if rng.random() < 0.1:
            edge["name"] = "Route " + str(rng.randint(1, 5))
            edge["risk_source"] = "estimate"
    doc["incidents"] = [
        {"id": "i1", "severity": 0.2, "observed_at": "2016-12-13T09:00:00+02:00",
         "edges": [doc["edges"][0]["id"]] if doc["edges"] else None,
         "lat": 36.02, "lon": 37.02, "radius_m": 800},
    ]  # fmt: skip
    doc["as_of"] = "2016-12-13T12:00:00+02:00"
    return doc


def same_network(a: Network, b: Network) -> None:
    assert list(a.node_ids) == list(b.node_ids)
    assert list(a.edge_ids) == list(b.edge_ids)
    for name in (
        "node_lat", "node_lon", "node_controller", "edge_tail", "edge_head", "edge_directed",
        "edge_length", "edge_given_time", "edge_base_risk", "edge_status", "edge_controller",
        "edge_checkpoint", "edge_vehicle", "edge_capacity", "arc_edge", "arc_tail", "arc_head",
    ):  # fmt: skip
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


@pytest.mark.parametrize("seed", range(40))
def test_valid_documents_compile_to_the_same_network(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    if seed % 2:
        monkeypatch.setattr(reading, "BATCH", 1 + seed % 5)
    rng = random.Random(seed)
    doc = with_extras(rng, rng.randint(2, 40), rng.randint(1, 80))
    plain, large = both(doc, rng)
    assert not isinstance(plain, list), plain
    a, b = Network(plain), Network(large)
    same_network(a, b)
    for node in a.node_ids:
        assert a.node_index[node] == b.node_index[node]
    for k in range(len(plain.nodes.id)):
        assert plain.node_item(k) == large.node_item(k)
    for k in range(len(plain.edges.id)):
        assert plain.edge_item(k) == large.edge_item(k)
    for _ in range(5):
        s, t = rng.sample(list(a.node_ids), 2)
        opts = RouteOptions(profile=rng.choice(["general", "medical"]), avoid_parties=("p1",))
        try:
            expected = safest_route(a, s, t, opts).as_dict()
        except NoRouteError as exc:
            with pytest.raises(NoRouteError) as got:
                safest_route(b, s, t, opts)
            assert got.value.cut.as_dict() == exc.cut.as_dict()
            continue
        assert safest_route(b, s, t, opts).as_dict() == expected


def append(doc: dict[str, Any], key: str, item: Any) -> None:
    if isinstance(doc.get(key, []), list):
        doc.setdefault(key, []).append(item)


MUTATIONS: list[tuple[str, Any]] = [
    ("node", lambda n, r: n.update(id=n["id"] if r.random() < 0.5 else 5)),
    ("node", lambda n, r: n.update(lat=float("nan"))),
    ("node", lambda n, r: n.update(lat=91.0)),
    ("node", lambda n, r: n.update(colour="red")),
    ("node", lambda n, r: n.update(population=-1)),
    ("node", lambda n, r: n.update(population=1000, capacity=10)),
    ("node", lambda n, r: n.update(population=2.5)),
    ("node", lambda n, r: n.update(kind="castle")),
    ("node", lambda n, r: n.update(controlled_by="nobody")),
    ("node", lambda n, r: n.pop("lon", None)),
    ("node", lambda n, r: n.update(id="")),
    ("node", lambda n, r: n.update(name="x" * 10_001)),
    ("node", lambda n, r: n.update(population=True)),
    ("edge", lambda e, r: e.update(risk=1.0)),
    ("edge", lambda e, r: e.update(risk="high")),
    ("edge", lambda e, r: e.update(to="nowhere")),
    ("edge", lambda e, r: e.update(to=e["from"])),
    ("edge", lambda e, r: (e.pop("length_m", None), e.pop("travel_time_min", None))),
    ("edge", lambda e, r: e.update(status="closed")),
    ("edge", lambda e, r: e.update(checkpoint="nobody", controlled_by="p9")),
    ("edge", lambda e, r: e.update(directed="yes")),
    ("edge", lambda e, r: e.update(capacity_per_min=0)),
    ("edge", lambda e, r: e.update(length_m=float("inf"))),
    ("edge", lambda e, r: e.update(**{"from": 3})),
    ("edge", lambda e, r: e.update(id="e0")),
    ("edge", lambda e, r: e.update(extra=1)),
    ("doc", lambda d, r: d.update(schema="v2")),
    ("doc", lambda d, r: d.update(nodes=[])),
    ("doc", lambda d, r: d.update(nodes={"a": 1})),
    ("doc", lambda d, r: d.pop("nodes", None)),
    ("doc", lambda d, r: d.update(parties="none")),
    ("doc", lambda d, r: d.update(flavour="vanilla")),
    ("doc", lambda d, r: d["incidents"].append({"id": "i2", "severity": 0.1, "edges": ["zz"],
                                                "observed_at": "2016-12-13T09:00:00+02:00"})),
    ("doc", lambda d, r: append(d, "nodes", "not an object")),
    ("doc", lambda d, r: append(d, "edges", None)),
]  # fmt: skip


@pytest.mark.parametrize("seed", range(200))
def test_invalid_documents_list_the_same_problems(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    if seed % 2:  # many small batches: positions must still be the document's
        monkeypatch.setattr(reading, "BATCH", 1 + seed % 7)
    rng = random.Random(10_000 + seed)
    doc = with_extras(rng, rng.randint(2, 15), rng.randint(1, 30))
    for _ in range(rng.randint(1, 4)):
        where, mutate = rng.choice(MUTATIONS)
        if where == "node" and isinstance(doc.get("nodes"), list) and doc["nodes"]:
            target = rng.choice(doc["nodes"])
            if isinstance(target, dict):
                mutate(target, rng)
        elif where == "edge" and doc.get("edges"):
            target = rng.choice(doc["edges"])
            if isinstance(target, dict):
                mutate(target, rng)
        elif where == "doc":
            mutate(doc, rng)
    plain, large = both(copy.deepcopy(doc), rng)
    if isinstance(plain, list):
        assert large == plain
    else:
        same_network(Network(plain), Network(large))


def test_size_limits_are_reported_alike() -> None:
    rng = random.Random(3)
    doc = with_extras(rng, 30, 60)
    plain, large = both(doc, rng, max_nodes=10, max_edges=20)
    assert (
        plain
        == large
        == [
            {"pointer": "/edges", "detail": "60 edges; the limit is 20"},
            {"pointer": "/nodes", "detail": "30 nodes; the limit is 10"},
        ]
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "[1, 2]",
        '{"schema": "safe-passage/scenario@1", "nodes": [{"id": "a"},, ]}',
        '{"schema": "safe-passage/scenario@1", "nodes": [{"id": "a"}] "edges": []}',
        '{"schema": "safe-passage/scenario@1",\n "nodes": [\n  {"id": "a"}\n  {"id": "b"}]}',
        '{"nodes": [{"id": "a"}]} trailing',
        '{"nodes": [' + "[" * 70 + "]" * 70 + "]}",
        '{"nodes": [{"id": "a", "population": ' + "9" * 5000 + "}]}",
        '{"schema": "safe-passage/scenario@1", "nodes": [{"id": "a"}],}',
    ],
)
def test_unreadable_documents_are_one_problem_at_the_root(text: str) -> None:
    raw = text.encode()
    with pytest.raises(ValidationError) as plain:
        validate_scenario(parse_document(raw, fmt="json"))
    with pytest.raises(ValidationError) as large:
        read_large_scenario([raw[i : i + 3] for i in range(0, len(raw), 3)])
    assert [p.pointer for p in large.value.problems] == [""]
    assert [p.as_dict() for p in large.value.problems] == [
        p.as_dict() for p in plain.value.problems
    ]


def test_utf8_split_across_chunks_and_bad_utf8() -> None:
    doc = {"schema": "safe-passage/scenario@1", "nodes": [{"id": "حلب"}, {"id": "ü"}]}
    raw = json.dumps(doc, ensure_ascii=False).encode()
    compact = read_large_scenario([raw[i : i + 1] for i in range(len(raw))])
    assert list(compact.nodes.id) == ["حلب", "ü"]
    with pytest.raises(ValidationError) as bad:
        read_large_scenario([b'{"schema": "\xff"}'])
    assert "UTF-8" in bad.value.problems[0].detail


@pytest.mark.parametrize("seed", range(10))
def test_stored_form_and_json_round_trip(seed: int) -> None:
    rng = random.Random(500 + seed)
    doc = with_extras(rng, rng.randint(2, 40), rng.randint(1, 80))
    compact = read_large_scenario([json.dumps(doc).encode()])
    again = CompactScenario.from_bytes(compact.to_bytes())
    same_network(Network(compact), Network(again))
    text = "".join(compact.json_chunks(batch=7))
    reread = validate_scenario(json.loads(text))
    same_network(Network(reread), Network(compact))
    assert reread.header.incidents == compact.header.incidents
    assert reread.header.as_of == compact.header.as_of


def test_lengths_from_coordinates_match() -> None:
    doc = {
        "schema": "safe-passage/scenario@1",
        "nodes": [{"id": "a", "lat": 36.0, "lon": 37.0}, {"id": "b", "lat": 36.0, "lon": 37.01}],
        "edges": [{"id": "ab", "from": "a", "to": "b", "travel_time_min": 5}],
    }
    net = Network(read_large_scenario([json.dumps(doc).encode()]))
    assert net.edge_length[0] == Network(validate_scenario(doc)).edge_length[0]
    assert math.isclose(net.edge_length[0], 900, abs_tol=1)


def test_ids_ending_in_nul_and_long_ids_are_found() -> None:
    ids = ["a\x00", "a", "ü" * 200, "b"]
    doc = {"schema": "safe-passage/scenario@1", "nodes": [{"id": i} for i in ids],
           "edges": [{"id": "x", "from": "a\x00", "to": "ü" * 200, "length_m": 1}]}  # fmt: skip
    net = Network(read_large_scenario([json.dumps(doc).encode()]))
    assert list(net.node_ids) == ids
    assert [net.node_index[i] for i in ids] == [0, 1, 2, 3]
    assert "a\x00\x00" not in net.node_index and "c" not in net.node_index
    assert (int(net.edge_tail[0]), int(net.edge_head[0])) == (0, 2)


def test_large_files_load_as_columns(tmp_path: Any) -> None:
    rng = random.Random(21)
    doc = with_extras(rng, 30, 90)
    path = tmp_path / "streets.json"
    path.write_text(json.dumps(doc))
    streamed = load_scenario_file(path, Settings(large_scenario_bytes=1))
    same_network(Network(streamed), Network(validate_scenario(doc)))
    assert int(streamed.nodes.population.sum()) == sum(n.get("population", 0) for n in doc["nodes"])
    with pytest.raises(DocumentTooLargeError):
        load_scenario_file(path, Settings(large_scenario_bytes=1, max_scenario_bytes=100))
    yaml_path = tmp_path / "streets.yaml"
    yaml_path.write_text(json.dumps(doc))  # JSON is YAML too; YAML files are read whole
    same_network(
        Network(load_scenario_file(yaml_path, Settings(large_scenario_bytes=1))), Network(streamed)
    )
