"""Consent: the parties analysis against brute force, and the options that must change a route."""

from __future__ import annotations

import random
from typing import Any

import networkx as nx
import pytest

from app.domain.errors import NoRouteError
from app.domain.network.graph import Network
from app.domain.routes.consent import consent_analysis
from app.domain.routes.engine import RouteOptions, edge_mask, safest_route
from app.domain.scenario.reading import validate_scenario
from tests.domain.randomgraphs import place_objects, random_scenario, road_objects

Key = tuple[float, float]


def paths_with_parties(
    net: Network, options: RouteOptions, s: str, t: str
) -> list[tuple[Key, frozenset[str]]]:
    """(cost, time) and parties crossed (nodes, roads, checkpoints) of every simple route."""
    cond = net.conditions(options.profile, options.at)
    mask = edge_mask(cond, options.avoid_parties)
    g = nx.MultiDiGraph()
    g.add_nodes_from(net.node_ids)
    for i, e in enumerate(road_objects(net)):
        if mask[i]:
            g.add_edge(e.from_, e.to, key=i)
            if not e.directed:
                g.add_edge(e.to, e.from_, key=i)
    held = {n.id: n.controlled_by for n in place_objects(net)}
    out = []
    for path in nx.all_simple_edge_paths(g, s, t):
        parties = {held[s]}
        for u, v, i in path:
            edge = road_objects(net)[i]
            parties |= {held[u], held[v], edge.controlled_by, edge.checkpoint}
        key = (sum(cond.cost[i] for _, _, i in path), sum(cond.time[i] for _, _, i in path))
        out.append((key, frozenset(p for p in parties if p is not None)))
    return out


def best(candidates: list[tuple[Key, frozenset[str]]], ok: Any) -> Key | None:
    keys = [k for k, parties in candidates if ok(parties)]
    return min(keys) if keys else None


def key(route: Any) -> Key | None:
    return None if route is None else (route.cost, route.travel_time_min)


def same(a: Key | None, b: Key | None) -> bool:
    if a is None or b is None:
        return a is b
    return a[0] == b[0] and a[1] == pytest.approx(b[1])


@pytest.mark.parametrize("seed", range(200))
def test_parties_analysis_matches_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    net = Network(
        random_scenario(
            rng, rng.randint(2, 7), rng.randint(1, 14), parties=3, risks=[0.0, 0.01, 0.05, 0.1]
        )
    )
    options = RouteOptions(avoid_parties=tuple(rng.sample(["p0", "p1", "p2"], rng.randint(0, 1))))
    s, t = rng.sample(net.node_ids, 2)
    candidates = [
        (k, parties)
        for k, parties in paths_with_parties(net, options, s, t)
        if not parties & set(options.avoid_parties)
    ]
    granted = {p.id for p in net.scenario.parties if p.consent == "granted"}
    if not candidates:
        with pytest.raises(NoRouteError):
            consent_analysis(net, s, t, options)
        return
    analysis = consent_analysis(net, s, t, options)
    assert same(key(analysis.safest), best(candidates, lambda _: True))
    assert same(key(analysis.today), best(candidates, lambda ps: ps <= granted))
    # Options: for k new agreements, the best route needing at most k, when it improves.
    previous: Key | None = None
    expected_options = []
    for k in range(len(analysis.pending) + 1):
        found = best(candidates, lambda ps, k=k: len(ps - granted) <= k)
        if found is not None and (previous is None or found[0] < previous[0]):
            expected_options.append((k, found))
            previous = found
    assert [(len(o.agreements), o.route.cost) for o in analysis.options] == [
        (k, c) for k, (c, _) in expected_options
    ]
    for o in analysis.options:
        assert set(o.route.consents_needed()) <= set(o.agreements)
    for eff in analysis.effects:
        assert same(key(eff.alone), best(candidates, lambda ps, p=eff.party: ps - granted <= {p}))
        assert same(key(eff.refused), best(candidates, lambda ps, p=eff.party: p not in ps))
    assert analysis.as_dict()["safest_needs"] == analysis.safest.consents_needed()


def town(extra_parties: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Two ways from a to d: through the north (checkpoint of 'north') or the south road."""
    return {
        "schema": "safe-passage/scenario@1",
        "parties": [
            {"id": "north", "consent": "pending", "detention_record": True},
            {"id": "south", "consent": "granted"},
            *(extra_parties or []),
        ],
        "nodes": [{"id": x} for x in ("a", "b", "c", "d")],
        "edges": [
            {"id": "a-b", "from": "a", "to": "b", "travel_time_min": 10, "risk": 0.01},
            {
                "id": "b-d",
                "from": "b",
                "to": "d",
                "travel_time_min": 10,
                "risk": 0.01,
                "controlled_by": "north",
                "checkpoint": "north",
            },
            {"id": "a-c", "from": "a", "to": "c", "travel_time_min": 10, "risk": 0.03},
            {
                "id": "c-d",
                "from": "c",
                "to": "d",
                "length_m": 640,
                "risk": 0.03,
                "controlled_by": "south",
                "vehicle_passable": False,
            },
        ],
    }


def route_of(doc: dict[str, Any], **options: Any) -> list[str]:
    return safest_route(Network(validate_scenario(doc)), "a", "d", RouteOptions(**options)).node_ids


def test_consenting_only_leaves_out_a_pending_partys_road() -> None:
    assert route_of(town()) == ["a", "b", "d"]
    assert route_of(town(), consenting_only=True) == ["a", "c", "d"]


def test_avoiding_a_party_leaves_out_its_roads_and_checkpoints() -> None:
    assert route_of(town(), avoid_parties=("north",)) == ["a", "c", "d"]


def test_men_of_military_age_avoid_checkpoints_of_parties_with_detentions() -> None:
    # Checkpoint b-d of 'north' (detention record) adds 0.2 for this profile.
    assert route_of(town(), profile="military_age_men") == ["a", "c", "d"]
    doc = town()
    doc["parties"][0]["detention_record"] = False
    assert route_of(doc, profile="military_age_men") == ["a", "b", "d"]


def test_a_scenario_can_set_its_own_per_party_checkpoint_factor() -> None:
    doc = town()
    doc["profiles"] = [{"id": "military_age_men", "checkpoint_risk": {"north": 0.01}}]
    assert route_of(doc, profile="military_age_men") == ["a", "b", "d"]


def test_stretcher_cases_and_convoys_keep_to_vehicle_roads() -> None:
    # With 'north' avoided only the south road c-d is left, and vehicles cannot pass it.
    assert route_of(town(), avoid_parties=("north",)) == ["a", "c", "d"]
    for profile in ("medical", "convoy"):
        with pytest.raises(NoRouteError) as info:
            route_of(town(), avoid_parties=("north",), profile=profile)
        reasons = {r.edge: r.reasons for r in info.value.cut.roads}
        assert set(reasons) == {"b-d", "c-d"}
        assert reasons["c-d"] == (f"not passable by vehicles (profile {profile!r})",)


def test_profiles_travel_at_their_own_speeds() -> None:
    net = Network(validate_scenario(town()))
    times = {
        p: safest_route(net, "a", "b", RouteOptions(profile=p)).travel_time_min
        for p in ("general", "medical", "convoy")
    }
    # A given travel time is for walkers; other profiles scale it by their speed.
    assert times == {
        "general": 10.0,
        "medical": pytest.approx(10 * 64 / 48),
        "convoy": pytest.approx(10 * 64 / 150),
    }
    # Without a given time, the length at the profile's speed (64 m/min walking).
    assert safest_route(net, "c", "d").travel_time_min == pytest.approx(10.0)


def test_teaching_parties_analysis_names_whose_agreement_opens_the_safer_route() -> None:
    analysis = consent_analysis(Network(validate_scenario(town())), "a", "d")
    doc = analysis.as_dict()
    assert doc["today"]["nodes"] == ["a", "c", "d"]
    assert doc["safest"]["nodes"] == ["a", "b", "d"]
    assert doc["safest_needs"] == ["north"]
    assert doc["survival_gain"] == pytest.approx(0.99**2 - 0.97**2)
    assert [o["agreements"] for o in doc["options"]] == [[], ["north"]]
    north = doc["parties"][0]
    assert north["needed_for_safest"] and not north["indispensable"]
    assert north["if_this_party_refuses"]["nodes"] == ["a", "c", "d"]
