"""Edits on columns against the same edits made to the JSON document and read again.

The oracle here is the plain way: apply each edit to the parsed document (dicts and
lists), then validate the whole edited document. :func:`apply_edits` must agree on
every random scenario and random edit list: valid exactly when the edited document
is, with the same places, roads and header; and :func:`diff` must name exactly the
fields that differ between the two documents.
"""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import pytest

from app.domain.errors import NoRouteError, ValidationError
from app.domain.network.graph import Network
from app.domain.routes.engine import RouteOptions, safest_route
from app.domain.scenario.columns import CompactScenario
from app.domain.scenario.document import spliced_document
from app.domain.scenario.edits import DEFAULTS, apply_edits, diff, touched_ids
from app.domain.scenario.reading import validate_scenario
from tests.domain.randomgraphs import random_document

LISTS = {"party": "parties", "incident": "incidents", "window": "windows"}
ITEMS = {"road": "edges", "place": "nodes"}


def oracle(document: dict[str, Any], edits: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The document with ``edits`` applied as plain data; None where an edit names nothing."""
    doc = copy.deepcopy(document)
    for edit in edits:
        op = edit["op"]
        verb, kind = op.split("_", 1)
        if kind in ITEMS:
            items = doc.setdefault(ITEMS[kind], [])
            if verb == "add":
                items.append(copy.deepcopy(edit[kind]))
                continue
            found = [i for i, item in enumerate(items) if item["id"] == edit[kind]]
            if not found:
                return None
            if verb == "remove":
                del items[found[0]]
            else:
                for f, v in edit.items():
                    if f in ("op", kind):
                        continue
                    if v is None:
                        items[found[0]].pop(f, None)
                    else:
                        items[found[0]][f] = v
            continue
        items = doc.setdefault(LISTS[kind], [])
        if verb == "remove":
            found = [i for i, item in enumerate(items) if item["id"] == edit[kind]]
            if not found:
                return None
            del items[found[0]]
        elif verb == "set" and kind == "party":
            found = [i for i, item in enumerate(items) if item["id"] == edit["party"]]
            if not found:
                return None
            for f, v in edit.items():
                if f not in ("op", "party"):
                    if v is None:
                        items[found[0]].pop(f, None)
                    else:
                        items[found[0]][f] = v
        else:
            same = [i for i, item in enumerate(items) if item["id"] == edit[kind]["id"]]
            if same and kind == "window":
                items[same[0]] = copy.deepcopy(edit[kind])
            else:
                items.append(copy.deepcopy(edit[kind]))
    return doc


def random_edit(rng: random.Random, doc: dict[str, Any], k: int) -> dict[str, Any]:
    roads = [e["id"] for e in doc["edges"]] + ["nowhere"]
    places = [n["id"] for n in doc["nodes"]] + ["elsewhere"]
    op = rng.choice(
        ["set_road"] * 4 + ["set_place"] * 2 + ["set_party", "add_incident", "remove_incident",
         "add_road", "remove_road", "add_place", "set_window", "remove_window"]
    )  # fmt: skip
    if op == "set_road":
        field, value = rng.choice(
            [("status", rng.choice(["open", "blocked", "damaged", "closed"])),
             ("risk", rng.choice([0.0, 0.05, 0.5, 1.0, -0.1])),
             ("capacity_per_min", rng.choice([None, 3, 0])),
             ("checkpoint", rng.choice([None, "p0", "p1", "nobody"])),
             ("controlled_by", rng.choice([None, "p1"])),
             ("length_m", rng.choice([None, 120.0])),
             ("travel_time_min", rng.choice([None, 7])),
             ("to", rng.choice(places)),
             ("name", "Route 7"),
             ("colour", "red")]
        )  # fmt: skip
        return {"op": op, "road": rng.choice(roads), field: value}
    if op == "set_place":
        field, value = rng.choice(
            [("population", rng.choice([0, 120, 900, -5])),
             ("capacity", rng.choice([None, 100, 1000])),
             ("kind", rng.choice(["district", "safe_zone", "castle"])),
             ("lat", rng.choice([None, 36.01])),
             ("controlled_by", rng.choice([None, "p0", "ghost"]))]
        )  # fmt: skip
        return {"op": op, "place": rng.choice(places), field: value}
    if op == "set_party":
        party = rng.choice(["p0", "p1", "p9"])
        return {"op": op, "party": party, "consent": rng.choice(["granted", "refused", "maybe"])}
    if op == "add_incident":
        return {
            "op": op,
            "incident": {
                "id": rng.choice(["i0", f"i{k + 10}"]),
                "severity": rng.choice([0.1, 0.3, 2.0]),
                "observed_at": "2016-12-13T09:00:00+02:00",
                "edges": [rng.choice(roads)],
            },
        }
    if op == "remove_incident":
        return {"op": op, "incident": rng.choice(["i0", "i99"])}
    if op == "add_road":
        a, b = rng.sample(places, 2)
        road = {"id": rng.choice([f"new{k}", roads[0]]), "from": a, "to": b, "length_m": 300}
        return {"op": op, "road": road}
    if op == "remove_road":
        return {"op": op, "road": rng.choice(roads)}
    if op == "add_place":
        return {"op": op, "place": {"id": rng.choice([f"q{k}", places[0]]), "kind": "assembly"}}
    if op == "set_window":
        end = rng.choice(["2016-12-15T13:00:00+02:00", "2016-12-15T09:00:00+02:00"])
        window = {"id": rng.choice(["w0", "w1"]), "start": "2016-12-15T10:00:00+02:00", "end": end}
        return {"op": op, "window": window}
    return {"op": "remove_window", "window": rng.choice(["w0", "w9"])}


def base(rng: random.Random) -> dict[str, Any]:
    doc = random_document(rng, rng.randint(3, 12), rng.randint(2, 20))
    doc["incidents"] = [
        {"id": "i0", "severity": 0.2, "observed_at": "2016-12-13T09:00:00+02:00",
         "edges": [doc["edges"][0]["id"]]}
    ]  # fmt: skip
    doc["windows"] = [
        {"id": "w0", "start": "2016-12-15T10:00:00+02:00", "end": "2016-12-15T13:00:00+02:00"}
    ]
    return doc


def documents_equal(a: CompactScenario, b: CompactScenario) -> None:
    assert list(a.nodes.id) == list(b.nodes.id)
    assert list(a.edges.id) == list(b.edges.id)
    for i in range(len(a.nodes.id)):
        assert a.node_item(i) == b.node_item(i)
    for i in range(len(a.edges.id)):
        assert a.edge_item(i) == b.edge_item(i)
    assert a.header == b.header
    na, nb = Network(a), Network(b)
    assert (na.arc_edge == nb.arc_edge).all() and (na.arc_tail == nb.arc_tail).all()


def changed_fields(a: dict[str, Any], b: dict[str, Any]) -> set[tuple[str, str, str | None]]:
    """(kind, id, field) of every difference between two documents, by plain comparison."""
    out: set[tuple[str, str, str | None]] = set()
    for kind, key in {**{"place": "nodes", "road": "edges"}, **LISTS}.items():
        xs = {x["id"]: {**DEFAULTS[kind], **x} for x in a.get(key) or []}
        ys = {y["id"]: {**DEFAULTS[kind], **y} for y in b.get(key) or []}
        out |= {(kind, i, None) for i in set(xs) ^ set(ys)}
        for i in set(xs) & set(ys):
            out |= {(kind, i, f) for f in set(xs[i]) | set(ys[i]) if xs[i].get(f) != ys[i].get(f)}
    return out


def normalised(doc: dict[str, Any]) -> dict[str, Any]:
    """The document as the columns write it back (numbers and defaults as stored)."""
    scenario = validate_scenario(doc)
    return json.loads("".join(scenario.json_chunks()))


@pytest.mark.parametrize("seed", range(300))
def test_edits_on_columns_equal_edits_on_the_document(seed: int) -> None:
    rng = random.Random(seed)
    doc = base(rng)
    scenario = validate_scenario(doc)
    edits = [random_edit(rng, doc, k) for k in range(rng.randint(1, 4))]
    expected_doc = oracle(doc, edits)
    expected: CompactScenario | None = None
    if expected_doc is not None:
        try:
            expected = validate_scenario(expected_doc)
        except ValidationError:
            expected = None
    if expected is None:
        with pytest.raises(ValidationError) as refused:
            apply_edits(scenario, edits)
        assert all(p.pointer.startswith("/") for p in refused.value.problems), edits
        return
    got = apply_edits(scenario, edits)
    documents_equal(got, expected)
    named = {(c["kind"], c["id"], c.get("field")) for c in diff(scenario, got)}
    assert named == changed_fields(normalised(doc), normalised(expected_doc))  # type: ignore[arg-type]


def test_a_bad_value_points_at_the_edit_field() -> None:
    scenario = validate_scenario(base(random.Random(1)))
    road = scenario.edges.id[0]
    with pytest.raises(ValidationError) as refused:
        apply_edits(
            scenario,
            [
                {"op": "set_road", "road": road, "status": "blocked"},
                {"op": "set_road", "road": road, "risk": 1.5},
                {"op": "set_place", "place": "nowhere", "population": 5},
            ],
        )
    assert [p.as_dict() for p in refused.value.problems] == [
        {"pointer": "/1/risk", "detail": "'risk' must be less than 1.0, got 1.5"},
        {"pointer": "/2/place", "detail": "unknown place 'nowhere'"},
    ]


def test_a_document_that_no_longer_validates_points_at_the_edit_that_broke_it() -> None:
    scenario = validate_scenario(base(random.Random(2)))
    place = scenario.nodes.id[0]
    road = scenario.edges.id[0]
    with pytest.raises(ValidationError) as refused:
        apply_edits(
            scenario,
            [
                {"op": "set_place", "place": place, "capacity": 10},
                {"op": "set_place", "place": place, "population": 50},
                {"op": "remove_road", "road": road},
            ],
        )
    assert [p.as_dict() for p in refused.value.problems] == [
        {"pointer": "/1/population", "detail": "population 50 exceeds the node's capacity 10"},
        {
            "pointer": "/2/road",
            "detail": f"incidents/0/edges/0 names this road: unknown road {road!r}",
        },
    ]


def test_edits_leave_the_scenario_they_edit_unchanged() -> None:
    doc = base(random.Random(3))
    scenario = validate_scenario(doc)
    before = "".join(scenario.json_chunks())
    apply_edits(
        scenario,
        [
            {"op": "set_road", "road": scenario.edges.id[1], "status": "blocked", "name": "x"},
            {"op": "add_place", "place": {"id": "fresh", "name": "new"}},
            {"op": "remove_road", "road": scenario.edges.id[0]},
            {"op": "remove_incident", "incident": "i0"},
        ],
    )
    assert "".join(scenario.json_chunks()) == before


@pytest.mark.parametrize("seed", range(120))
def test_the_edited_document_keeps_untouched_text_and_reads_as_the_edited_scenario(
    seed: int,
) -> None:
    rng = random.Random(seed)
    doc = base(rng)
    text = json.dumps(doc, indent=rng.choice([None, 1]), ensure_ascii=rng.random() < 0.5)
    scenario = validate_scenario(json.loads(text))
    edits = [random_edit(rng, doc, k) for k in range(rng.randint(1, 4))]
    try:
        edited = apply_edits(scenario, edits)
    except ValidationError:
        return
    spliced = spliced_document(text.encode(), scenario, edited, touched_ids(edits))
    again = validate_scenario(json.loads(spliced))
    documents_equal(again, edited)
    # Items no edit names keep their text: compare them through the plain parser.
    out = json.loads(spliced)
    named = touched_ids(edits)
    for key in ("nodes", "edges"):
        before = {item["id"]: item for item in doc[key]}
        for item in out[key]:
            if item["id"] not in named[key]:
                assert item == before[item["id"]]


def test_a_header_only_edit_of_a_compact_document_is_the_old_text_with_that_member_replaced() -> (
    None
):
    doc = base(random.Random(4))
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    scenario = validate_scenario(doc)
    incident = {"id": "i7", "severity": 0.1, "observed_at": "2016-12-13T10:00:00+02:00",
                "edges": [doc["edges"][1]["id"]]}  # fmt: skip
    edits = [{"op": "add_incident", "incident": incident}]
    edited = apply_edits(scenario, edits)
    expected = json.dumps(
        {**doc, "incidents": [*doc["incidents"], incident]},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    assert spliced_document(text.encode(), scenario, edited, touched_ids(edits)).decode() == (
        expected
    )


@pytest.mark.parametrize("seed", range(40))
def test_an_edited_network_shares_the_arcs_it_can_and_routes_as_one_compiled_anew(
    seed: int,
) -> None:
    rng = random.Random(seed)
    doc = base(rng)
    scenario = validate_scenario(doc)
    before = Network(scenario)
    edits = [random_edit(rng, doc, k) for k in range(rng.randint(1, 3))]
    try:
        edited = apply_edits(scenario, edits)
    except ValidationError:
        return
    shared, fresh = Network(edited, like=before), Network(edited)
    e0, e1 = scenario.edges, edited.edges
    structural = len(edited.nodes.id) != len(scenario.nodes.id) or not (
        len(e0.tail) == len(e1.tail)
        and (e0.tail == e1.tail).all()
        and (e0.head == e1.head).all()
        and (e0.directed == e1.directed).all()
    )
    assert (shared.arc_edge is before.arc_edge) == (not structural)
    for name in ("arc_edge", "arc_tail", "arc_head", "arc_indptr"):
        assert (getattr(shared, name) == getattr(fresh, name)).all()
    s, t = rng.sample(list(fresh.node_ids), 2)
    for net in (shared, fresh):
        try:
            answer = safest_route(net, s, t, RouteOptions()).as_dict()
        except NoRouteError:
            answer = None
        if net is shared:
            expected = answer
    assert answer == expected
