"""Documents computed from columns: the map, briefs, plans and incident imports of a scenario
read item by item from its JSON text are those of the same scenario parsed whole, ids with
quotes and non-ASCII text included."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from app.config import Settings
from app.domain.network.graph import Network
from app.domain.scenario.reading import read_large_scenario, validate_scenario
from app.services.briefs import BriefRequest, compute_brief
from app.services.incidents import ImportRequest, import_incidents
from app.services.maps import scenario_geojson
from app.services.plans import PlanRequest, compute_plan
from tests.domain.randomgraphs import random_document


def odd_document(seed: int) -> dict[str, Any]:
    """A random scenario whose ids and names need JSON escapes, some places unlocated."""
    rng = random.Random(seed)
    doc = random_document(rng, rng.randint(4, 30), rng.randint(4, 60))
    renamed = {}
    for k, node in enumerate(doc["nodes"]):
        renamed[node["id"]] = node["id"] + rng.choice(['"q"', "\\", "ü", "\t", "حلب", ""])
        node["id"] = renamed[node["id"]]
        if rng.random() < 0.3:
            node["name"] = rng.choice(['Souk "al-Hal"', "Mašhad", "line\nbreak"])
        if rng.random() < 0.3:
            node["kind"] = rng.choice(["district", "safe_zone", "crossing"])
            node["population"] = rng.randint(0, 900)
        if rng.random() < 0.2:
            node["capacity"] = node.get("population", 0) + rng.randint(1, 500)
        if k and rng.random() < 0.15:
            del node["lat"], node["lon"]
    for edge in doc["edges"]:
        edge["from"], edge["to"] = renamed[edge["from"]], renamed[edge["to"]]
        if rng.random() < 0.3:
            edge["name"] = 'Road "7" – شارع'
        if rng.random() < 0.2:
            del edge["capacity_per_min"]
    doc["windows"] = [
        {"id": "w", "start": "2025-01-01T12:00:00+00:00", "end": "2025-01-01T14:00:00+00:00"}
    ]
    return doc


def both_forms(doc: dict[str, Any]) -> tuple[Network, Network]:
    columns = read_large_scenario([json.dumps(doc, ensure_ascii=False).encode()])
    return Network(validate_scenario(doc)), Network(columns)


@pytest.mark.parametrize("seed", range(12))
def test_map_is_the_same_json_text_from_columns_and_from_objects(seed: int) -> None:
    doc = odd_document(seed)
    whole, columns = both_forms(doc)
    text = "".join(scenario_geojson(columns, "medical"))
    assert text == "".join(scenario_geojson(whole, "medical"))
    parsed = json.loads(text)
    # The pieces joined are the document as json.dumps writes it whole.
    assert text == json.dumps(parsed, ensure_ascii=False, separators=(",", ":"))
    located = [n for n in doc["nodes"] if "lat" in n]
    nodes = [f for f in parsed["features"] if f["properties"]["layer"] == "node"]
    assert [f["properties"]["id"] for f in nodes] == [n["id"] for n in located]
    assert [f["geometry"]["coordinates"] for f in nodes] == [[n["lon"], n["lat"]] for n in located]
    assert [f["properties"]["capacity"] for f in nodes] == [n.get("capacity") for n in located]
    ids = {n["id"] for n in located}
    roads = [f for f in parsed["features"] if f["properties"]["layer"] == "road"]
    drawn = [e for e in doc["edges"] if e["from"] in ids and e["to"] in ids]
    assert [(f["properties"]["from"], f["properties"]["to"]) for f in roads] == [
        (e["from"], e["to"]) for e in drawn
    ]
    assert [f["properties"]["name"] for f in roads] == [e.get("name") for e in drawn]
    assert [f["properties"]["capacity_per_min"] for f in roads] == [
        e.get("capacity_per_min") for e in drawn
    ]


def test_a_map_without_located_places_has_no_features() -> None:
    doc = odd_document(3)
    for node in doc["nodes"]:
        node.pop("lat", None), node.pop("lon", None)
    _, columns = both_forms(doc)
    parsed = json.loads("".join(scenario_geojson(columns)))
    assert parsed["features"] == []


@pytest.mark.parametrize("seed", range(6))
def test_briefs_and_plans_are_the_same_from_columns(seed: int) -> None:
    doc = odd_document(seed)
    whole, columns = both_forms(doc)
    rng = random.Random(seed)
    for _ in range(3):
        a, b = rng.sample([n["id"] for n in doc["nodes"]], 2)
        request = BriefRequest.model_validate({"from": a, "to": b, "window": "w"})
        try:
            expected = compute_brief(whole, request)
        except Exception as exc:  # no route: the same error from columns
            with pytest.raises(type(exc)):
                compute_brief(columns, request)
            continue
        assert compute_brief(columns, request) == expected
    if any(n.get("kind") == "safe_zone" for n in doc["nodes"]) and any(
        n.get("population") for n in doc["nodes"]
    ):
        plan = PlanRequest.model_validate({"window": "w", "method": "fast", "rank_openings": True})
        limit = Settings().max_expanded_arcs
        assert compute_plan(columns, plan, max_expanded_arcs=limit) == compute_plan(
            whole, plan, max_expanded_arcs=limit
        )


def test_csv_reports_are_added_to_a_scenario_read_as_columns() -> None:
    doc = odd_document(1)
    columns = read_large_scenario([json.dumps(doc).encode()])
    road = doc["edges"][0]["id"]
    text = (
        "id,edges,severity,observed_at,latitude,longitude\n"
        f"r1,{road},0.2,2025-01-01T10:00:00Z,,\n"
        "r2,nope,0.2,2025-01-01T10:00:00Z,,\n"
        "r3,,0.1,2025-01-01T10:00:00Z,36.01,37.01\n"
    )
    outcome = import_incidents(columns, text, ImportRequest(format="csv", skip_bad=True))
    assert [i["id"] for i in outcome.added] == ["r1", "r3"]
    assert outcome.skipped == ["row 3"]
    assert [i.id for i in outcome.scenario.header.incidents] == ["r1", "r3"]
    whole = import_incidents(
        validate_scenario(doc), text, ImportRequest(format="csv", skip_bad=True)
    )
    assert whole.report() == outcome.report()
