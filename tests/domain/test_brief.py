"""Proposal briefs: figures (split, throughput, window fit), fallbacks, inputs and Markdown."""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import unquote

import pytest

from app.domain.formats.brief import Fallback, Proposal, build_brief, render_markdown
from app.domain.network.graph import Network
from app.domain.routes.disjoint import disjoint_pair
from app.domain.routes.engine import RouteOptions, safest_route
from app.domain.scenario.model import Window
from app.domain.scenario.reading import validate_scenario
from app.services.briefs import BriefRequest, compute_brief
from tests.domain.randomgraphs import document_of


def town() -> Network:
    """Two corridors from d to z: north (capacity 30/min, checkpoint of 'n') and south (10/min)."""
    doc: dict[str, Any] = {
        "schema": "safe-passage/scenario@1",
        "name": "Brief test",
        "as_of": "2016-12-13T08:00:00+02:00",
        "parties": [
            {"id": "n", "name": "North | force", "consent": "pending"},
            {"id": "s", "name": "South", "consent": "granted"},
        ],
        "nodes": [
            {"id": "d", "name": "District", "lat": 36.20, "lon": 37.10, "population": 900},
            {"id": "a", "lat": 36.21, "lon": 37.11},
            {"id": "b", "lat": 36.19, "lon": 37.11},
            {"id": "z", "name": "Safe zone", "kind": "safe_zone", "lat": 36.20, "lon": 37.12},
        ],
        "edges": [
            {
                "id": "d-a",
                "from": "d",
                "to": "a",
                "travel_time_min": 10,
                "risk": 0.01,
                "capacity_per_min": 30,
                "controlled_by": "n",
                "checkpoint": "n",
                "risk_source": "estimate: test",
            },
            {"id": "a-z", "from": "a", "to": "z", "travel_time_min": 10.5, "risk": 0.01},
            {
                "id": "d-b",
                "from": "d",
                "to": "b",
                "travel_time_min": 20,
                "risk": 0.02,
                "capacity_per_min": 10,
                "controlled_by": "s",
            },
            {"id": "b-z", "from": "b", "to": "z", "travel_time_min": 20, "risk": 0.02},
        ],
        "incidents": [
            {
                "id": "i1",
                "kind": "shelling",
                "edges": ["a-z"],
                "severity": 0.04,
                "confidence": 0.5,
                "observed_at": "2016-12-13T06:00:00+02:00",
                "half_life_h": 2,
                "source": "field report",
            }
        ],
    }
    return Network(validate_scenario(doc))


WINDOW = Window.model_validate(
    {
        "id": "w",
        "start": "2016-12-13T10:00:00+02:00",
        "end": "2016-12-13T11:00:00+02:00",
        "agreed_by": ["s"],
    }
)


def test_people_split_in_proportion_to_throughput_on_a_disjoint_pair() -> None:
    pair = disjoint_pair(town(), "d", "z")
    b = build_brief(Proposal(list(pair.routes), people=1000, window=WINDOW))
    north, south = b["corridors"]
    assert north["route"]["nodes"] == ["d", "a", "z"]
    assert (north["people"], south["people"]) == (750, 250)  # 30 : 10 people per minute
    assert (north["throughput_per_min"], south["throughput_per_min"]) == (30.0, 10.0)
    assert north["passing_min"] == 25 and north["last_arrival_min"] == 25 + 21  # ⌈20.5⌉
    assert south["passing_min"] == 25 and south["last_arrival_min"] == 25 + 40
    assert b["survival"]["joint"] == pytest.approx(pair.joint_survival_probability)
    assert b["survival"]["expected_harmed"] == pytest.approx(
        750 * pair.routes[0].risk + 250 * pair.routes[1].risk
    )


def test_window_fit_and_how_many_arrive_in_time() -> None:
    net = town()
    route = safest_route(net, "d", "z")
    short = Window.model_validate(
        {"id": "w", "start": "2016-12-13T10:00:00+02:00", "end": "2016-12-13T10:30:00+02:00"}
    )
    b = build_brief(Proposal([route], people=900, window=short))
    (c,) = b["corridors"]
    # 30 people/min leave for 30 − ⌈20.5⌉ = 9 minutes and still arrive within 30 minutes.
    assert c["fits_window"] is False and c["people_within_window"] == 270
    assert "Does not fit the window" in render_markdown(b)


def test_convoy_capacity_factor_raises_throughput() -> None:
    net = town()
    general = safest_route(net, "d", "z")
    convoy = safest_route(net, "d", "z", RouteOptions(profile="convoy"))
    assert build_brief(Proposal([general], 100, None))["corridors"][0]["throughput_per_min"] == 30
    assert build_brief(Proposal([convoy], 100, None))["corridors"][0]["throughput_per_min"] == 45


def test_inputs_name_roads_and_incidents_with_source_confidence_and_age() -> None:
    net = town()
    at = WINDOW.start
    route = safest_route(net, "d", "z", RouteOptions(at=at))
    b = build_brief(Proposal([route], 900, WINDOW))
    roads = {r["edge"]: r for r in b["inputs"]["roads"]}
    assert roads["d-a"]["base_source"] == "estimate: test"
    (incident,) = b["inputs"]["incidents"]
    assert incident == {
        "id": "i1",
        "kind": "shelling",
        "observed_at": "2016-12-13T06:00:00+02:00",
        "age_h": 4.0,
        "source": "field report",
        "confidence": 0.5,
        "added_risk": pytest.approx(0.04 * 0.5 * 0.25),
        "roads": ["a-z"],
    }
    assert roads["a-z"]["risk"] == pytest.approx(1 - 0.99 * (1 - 0.005))


def test_parties_window_agreement_and_fallbacks() -> None:
    net = town()
    route = safest_route(net, "d", "z")
    fallback = safest_route(net, "d", "z", RouteOptions(avoid_parties=("n",)))
    b = build_brief(Proposal([route], 900, WINDOW, [Fallback("n", fallback)]))
    assert b["consents_needed"] == ["n"]
    assert b["window_not_yet_agreed_by"] == ["n"]
    (party,) = b["parties"]
    assert party["checkpoints"] == ["d-a"] and party["agreed_window"] is False
    (refusal,) = b["if_a_party_refuses"]
    assert refusal["fallback"]["nodes"] == ["d", "b", "z"]
    assert refusal["survival_change"] == pytest.approx(
        fallback.survival_probability - route.survival_probability
    )
    row = b["notification"][0]
    assert row["timing"].startswith("2016-12-13 10:00 +0200 first departure")
    assert row["people"] == 900


def test_markdown_escapes_table_cells_and_links_the_map() -> None:
    net = town()
    b = build_brief(Proposal([safest_route(net, "d", "z")], 900, WINDOW))
    md = render_markdown(b)
    assert "North \\| force" in md
    url = b["corridors"][0]["map_url"]
    assert f"[Map]({url})" in md
    data = json.loads(unquote(url.split("data:application/json,", 1)[1]))
    assert data["features"][0]["geometry"]["coordinates"] == [
        [37.10, 36.20],
        [37.11, 36.21],
        [37.12, 36.20],
    ]


def test_service_defaults_people_to_the_population_and_evaluates_at_the_window() -> None:
    net = town()
    doc = document_of(net)
    doc["windows"] = [WINDOW.model_dump(mode="json")]
    net = Network(validate_scenario(doc))
    b = compute_brief(net, BriefRequest.model_validate({"from": "d", "to": "z", "window": "w"}))
    assert b["people"] == 900
    assert b["evaluated_at"] == "2016-12-13T10:00:00+02:00"
    assert b["markdown"].startswith("# Evacuation corridor: District to Safe zone")
    pair = compute_brief(
        net, BriefRequest.model_validate({"from": "d", "to": "z", "disjoint": True})
    )
    assert len(pair["corridors"]) == 2
    assert pair["survival"]["joint"] == pytest.approx(math.prod(pair["survival"]["per_corridor"]))
