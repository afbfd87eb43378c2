"""The engine against the networkx reference, on random graphs with every routing option.

Options drawn per case: profile (built-in or one the document defines), incidents
(located and named, decaying) at a random time, avoided parties, consenting parties
only, a risk limit. Sizes run from a handful of nodes (ties, parallel and one-way
roads) to a few thousand (several widening rounds of the bounded search).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.domain.errors import NoRouteError, RiskLimitError
from app.domain.network.graph import Network
from app.domain.routes import engine
from app.domain.routes.engine import RouteOptions, safest_route
from app.domain.scenario.model import Scenario
from app.domain.scenario.reading import validate_scenario
from tests.domain.randomgraphs import random_document
from tests.domain.reference import reference_route

T0 = datetime(2016, 12, 13, 9, 0, tzinfo=UTC)


def with_options(rng: random.Random, doc: dict[str, Any]) -> dict[str, Any]:
    """Add incidents (located and named) and a document profile to a random document."""
    edges = [e["id"] for e in doc["edges"]]
    incidents = []
    for k in range(rng.randint(0, 4)):
        item: dict[str, Any] = {
            "id": f"i{k}",
            "severity": round(rng.random() * 0.5, 3),
            "confidence": round(rng.random(), 2),
            "observed_at": (T0 + timedelta(hours=rng.randint(-12, 12))).isoformat(),
            "half_life_h": rng.choice([None, 6, 24]),
        }
        if edges and rng.random() < 0.4:
            item["edges"] = rng.sample(edges, min(len(edges), rng.randint(1, 3)))
        else:
            item.update(
                lat=36.0 + rng.random() * 0.05,
                lon=37.0 + rng.random() * 0.05,
                radius_m=rng.choice([100, 500, 1500]),
            )
        incidents.append(item)
    doc["incidents"] = incidents
    doc["as_of"] = T0.isoformat()
    doc["profiles"] = [
        {
            "id": "cart",
            "speed_m_per_min": 40,
            "excluded_statuses": ["restricted"],
            "checkpoint_risk": {"p1": 0.3} if len(doc["parties"]) > 1 else {},
        }
    ]
    return doc


def options(rng: random.Random, parties: list[str]) -> dict[str, Any]:
    return {
        "profile": rng.choice([None, "general", "medical", "military_age_men", "convoy", "cart"]),
        "at": rng.choice([None, T0 + timedelta(hours=rng.randint(-6, 36))]),
        "avoid_parties": tuple(rng.sample(parties, min(len(parties), rng.randint(0, 1)))),
        "consenting_only": rng.random() < 0.2,
        "objective": rng.choice(["survival", "survival", "harm", "detention"]),
        "unknown_risk": rng.choice([None, None, 0.0, 0.2, "highest"]),
    }


def check(doc: dict[str, Any], rng: random.Random, queries: int = 3) -> None:
    scenario = validate_scenario(doc)
    net = Network(scenario)
    for _ in range(queries):
        opts = options(rng, net.party_ids)
        s, t = rng.sample(net.node_ids, 2)
        expected = reference_route(Scenario.model_validate(doc), s, t, **opts)
        max_risk = rng.choice([None, None, 0.05, 0.3])
        route_options = RouteOptions(max_risk=max_risk, **opts)
        if expected is None:
            with pytest.raises(NoRouteError):
                safest_route(net, s, t, route_options)
            continue
        if max_risk is not None and 1 - expected.survival_probability > max_risk + 1e-9:
            with pytest.raises(RiskLimitError):
                safest_route(net, s, t, route_options)
            continue
        route = safest_route(net, s, t, route_options)
        assert route.node_ids[0] == s and route.node_ids[-1] == t
        assert route.cost == expected.cost
        assert route.travel_time_min == pytest.approx(expected.travel_time_min, rel=1e-9)
        assert route.survival_probability == pytest.approx(expected.survival_probability, rel=1e-9)
        # Harm and detention apart, and their product the chance of arriving unharmed and free.
        harm, detention = expected.harm_probability, expected.detention_probability
        assert route.harm_probability == pytest.approx(harm, rel=1e-9, abs=1e-12)
        assert route.detention_probability == pytest.approx(detention, rel=1e-9, abs=1e-12)
        assert (1 - harm) * (1 - detention) == pytest.approx(route.survival_probability, rel=1e-9)


def without_some_risks(rng: random.Random, doc: dict[str, Any]) -> dict[str, Any]:
    """Leave a random share of the roads without a risk estimate (unknown)."""
    share = rng.choice([0.0, 0.3, 1.0])
    for edge in doc["edges"]:
        if rng.random() < share:
            edge.pop("risk", None)
    if rng.random() < 0.3:
        doc["unknown_risk"] = rng.choice([0.0, 0.05, "highest"])
    return doc


@pytest.mark.parametrize("seed", range(200))
def test_small_random_graphs_agree(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(2, 12)
    doc = random_document(rng, n, rng.randint(1, 30), risks=[0.0, 0.0, 0.01, 0.02, 0.05, 0.1])
    check(without_some_risks(rng, with_options(rng, doc)), rng)


@pytest.mark.parametrize("seed", range(9))
def test_larger_random_graphs_agree(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    if seed % 2:  # start the bounded search one road wide: it must widen several times
        monkeypatch.setattr(engine, "START_HOPS", 1)
    rng = random.Random(1000 + seed)
    n = rng.randint(200, 800)
    risks = None if seed % 3 else [0.0] * 6 + [0.001, 0.01]  # continuous, or mostly zero risk
    doc = random_document(rng, n, 3 * n, risks=risks, directed_share=0.2)
    check(with_options(rng, doc), rng, queries=4)


@pytest.mark.parametrize("seed", range(6))
def test_zero_risk_networks_route_by_time(seed: int) -> None:
    """No road has any risk (a freshly imported street map): the fastest route wins."""
    rng = random.Random(2000 + seed)
    doc = random_document(rng, 300, 900, risks=[0.0])
    doc["parties"] = []
    for item in doc["nodes"] + doc["edges"]:
        item.pop("controlled_by", None)
        item.pop("checkpoint", None)
    check(with_options(rng, doc) | {"incidents": []}, rng, queries=5)


def grid_document(side: int, rng: random.Random) -> dict[str, Any]:
    nodes = [
        {"id": f"n{r}_{c}", "lat": 36 + r * 1e-3, "lon": 37 + c * 1e-3}
        for r in range(side)
        for c in range(side)
    ]
    edges = []
    for r in range(side):
        for c in range(side):
            for dr, dc in ((0, 1), (1, 0)):
                if r + dr < side and c + dc < side:
                    edges.append(
                        {
                            "id": f"e{len(edges)}",
                            "from": f"n{r}_{c}",
                            "to": f"n{r + dr}_{c + dc}",
                            "length_m": 100,
                            "risk": rng.choice([0.0, 0.001, 0.002]),
                        }
                    )
    return {"schema": "safe-passage/scenario@1", "nodes": nodes, "edges": edges}


@pytest.mark.parametrize("start_hops", [1, 64])
def test_grid_corner_to_corner_and_short_trips_agree(
    start_hops: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many equally safe routes on a grid: ties to the faster, far and near."""
    monkeypatch.setattr(engine, "START_HOPS", start_hops)
    rng = random.Random(7)
    doc = grid_document(40, rng)
    scenario = validate_scenario(doc)
    net = Network(scenario)
    pairs = [("n0_0", "n39_39"), ("n0_39", "n39_0"), ("n20_20", "n21_22"), ("n5_5", "n5_6")]
    for s, t in pairs:
        expected = reference_route(Scenario.model_validate(doc), s, t)
        assert expected is not None
        route = safest_route(net, s, t)
        assert route.cost == expected.cost
        assert route.travel_time_min == pytest.approx(expected.travel_time_min)
