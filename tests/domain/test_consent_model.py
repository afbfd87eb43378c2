"""One consent model (SPEC §1 Consent): routes, the parties analysis and plans agree.

On random scenarios — random parties holding places, roads and checkpoints, random
consents, random parties avoided — each answer is checked by brute force over what
it uses (the scenario's own objects, one at a time), and the three against each other:

* a route found with ``consenting_only`` involves no party without granted consent
  (``consents_needed == []``), and it exists exactly when the parties analysis finds a
  route *today*, which is the same route;
* a route found without it needs exactly the non-granted parties holding its places
  (origin and destination included), its roads and its checkpoints;
* no answer passes a place, road or checkpoint of an avoided party;
* a ``consenting_only`` plan moves nobody through or out of a place, road or checkpoint
  of a party without granted consent, and evacuates exactly the people from whose place a
  ``consenting_only`` route reaches a safe zone;
* a question whose origin or destination is held by an excluded party has no route, and
  its cut says so.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from app.domain.errors import NoRouteError
from app.domain.network.graph import Network
from app.domain.plans.concessions import rank_concessions
from app.domain.plans.evacuation import (
    NothingToEvacuateError,
    PlanOptions,
    plan_evacuation,
    standstill_plan,
)
from app.domain.routes.consent import consent_analysis
from app.domain.routes.engine import Route, RouteOptions, safest_route
from app.domain.scenario.reading import validate_scenario
from tests.domain.randomgraphs import place_objects, random_document, road_objects

PARTIES = ["p0", "p1", "p2"]
CONSENTS = ["granted", "granted", "pending", "refused", "unknown"]


def scenario(seed: int) -> tuple[Network, random.Random]:
    """A random scenario with people, safe zones and random consents."""
    rng = random.Random(seed)
    n = rng.randint(3, 8)
    doc = random_document(
        rng, n, rng.randint(2, 16), parties=len(PARTIES), risks=[0.0, 0.01, 0.05, 0.1]
    )
    for party in doc["parties"]:
        party["consent"] = rng.choice(CONSENTS)
    zones = set(rng.sample(range(n), rng.randint(1, 2)))
    for i, node in enumerate(doc["nodes"]):
        if i in zones:
            node["kind"] = "safe_zone"
        elif rng.random() < 0.6:
            node["kind"] = "district"
            node["population"] = rng.randint(1, 40)
    return Network(validate_scenario(doc)), rng


def holders(net: Network, nodes: list[str], edges: list[str]) -> list[str]:
    """Every party a route or plan over ``nodes`` and ``edges`` involves, read off the
    scenario's objects one at a time (None: held by nobody)."""
    places = {p.id: p for p in place_objects(net)}
    roads = {r.id: r for r in road_objects(net)}
    found = [places[v].controlled_by for v in nodes]
    for e in edges:
        found += [roads[e].controlled_by, roads[e].checkpoint]
    return [p for p in dict.fromkeys(found) if p is not None]


def granted(net: Network) -> set[str]:
    return {p.id for p in net.scenario.parties if p.consent == "granted"}


def route_or_none(net: Network, s: str, t: str, options: RouteOptions) -> Route | None:
    try:
        return safest_route(net, s, t, options)
    except NoRouteError as exc:
        excluded = set(options.avoid_parties)
        if options.consenting_only:
            excluded |= {p for p in PARTIES if p not in granted(net)}
        held = {p.id: p.controlled_by for p in place_objects(net)}
        # The cut names the origin or destination held by an excluded party, and only those.
        named = {(c.role, c.node, c.held_by) for c in exc.cut.places}
        expected = {
            (role, v, held[v])
            for role, v in (("origin", s), ("destination", t))
            if held[v] in excluded
        }
        assert named == expected
        for place in exc.cut.places:
            assert place.reasons[0].startswith(f"{place.role} {place.node!r} is held by")
            assert place.reasons[0] in exc.detail
        return None


@pytest.mark.parametrize("seed", range(150))
def test_routes_the_parties_analysis_and_plans_use_one_consent_model(seed: int) -> None:
    net, rng = scenario(seed)
    ok = granted(net)
    avoid = tuple(rng.sample(PARTIES, rng.randint(0, 1)))
    s, t = rng.sample(net.node_ids, 2)

    plain = route_or_none(net, s, t, RouteOptions(avoid_parties=avoid))
    only = route_or_none(net, s, t, RouteOptions(avoid_parties=avoid, consenting_only=True))
    for route in (plain, only):
        if route is not None:
            involved = holders(net, route.node_ids, route.edge_ids)
            assert set(route.involved()) == set(involved)
            assert not set(involved) & set(avoid)
            needed = [p for p in involved if p not in ok]
            assert sorted(route.consents_needed()) == sorted(needed)
    if only is not None:
        assert only.consents_needed() == []
        assert plain is not None

    try:
        analysis = consent_analysis(net, s, t, RouteOptions(avoid_parties=avoid))
    except NoRouteError:
        assert plain is None and only is None
    else:
        assert plain is not None
        assert (analysis.safest.cost, analysis.safest.travel_time_min) == (
            plain.cost,
            plain.travel_time_min,
        )
        assert (analysis.today is None) == (only is None)
        if only is not None and analysis.today is not None:
            assert analysis.today.edge_ids == only.edge_ids
            assert analysis.today.node_ids == only.node_ids

    # Plans: without consenting_only, the parties involved are those of the movements.
    try:
        plan = plan_evacuation(net, PlanOptions(avoid_parties=avoid))
    except NothingToEvacuateError:
        pass
    else:
        used = [*plan.movements, *plan.stranded_moves]
        ids = net.node_ids
        nodes = [ids[v] for m in used for v in m.nodes]
        edges = [net.edge_ids[int(plan.model.arc_edge[a])] for m in used for a in m.arcs]
        involved = holders(net, nodes, edges)
        assert set(plan.parties_involved()) == set(involved)
        assert not set(involved) & set(avoid)
        assert set(plan.consents_needed()) == {p for p in involved if p not in ok}

    # With consenting_only: nobody moves through or out of ground without consent, and the
    # people who leave are exactly those a consenting-only route takes to a safe zone.
    zones = [v.id for v in place_objects(net) if v.kind == "safe_zone"]
    people = {v.id: v.population for v in place_objects(net) if v.population and v.id not in zones}
    can_leave = {
        v
        for v in people
        if any(
            route_or_none(net, v, z, RouteOptions(avoid_parties=avoid, consenting_only=True))
            for z in zones
        )
    }
    try:
        plan = plan_evacuation(net, PlanOptions(avoid_parties=avoid, consenting_only=True))
    except NothingToEvacuateError:
        assert not can_leave or not people
        return
    for m in [*plan.movements, *plan.stranded_moves]:
        nodes = [net.node_ids[v] for v in m.nodes]
        edges = [net.edge_ids[int(plan.model.arc_edge[a])] for a in m.arcs]
        assert set(holders(net, nodes, edges)) <= ok - set(avoid), (nodes, edges)
    assert plan.consents_needed() == []
    left = {net.node_ids[m.nodes[0]] for m in plan.movements}
    assert left == can_leave
    assert plan.evacuated == sum(people[v] for v in can_leave)


def test_a_place_held_without_consent_is_neither_left_nor_reached() -> None:
    doc: dict[str, Any] = {
        "schema": "safe-passage/scenario@1",
        "parties": [{"id": "gov", "consent": "granted"}, {"id": "opp", "consent": "pending"}],
        "nodes": [
            {"id": "home", "kind": "district", "population": 50, "controlled_by": "opp"},
            {"id": "x", "controlled_by": "gov"},
            {"id": "camp", "kind": "safe_zone"},
        ],
        "edges": [
            {"id": "home-x", "from": "home", "to": "x", "travel_time_min": 5},
            {"id": "x-camp", "from": "x", "to": "camp", "travel_time_min": 5},
        ],
    }
    net = Network(validate_scenario(doc))
    route = safest_route(net, "home", "camp")
    assert route.consents_needed() == ["opp"]  # the holder of the origin, though no road is its
    with pytest.raises(NoRouteError) as info:
        safest_route(net, "home", "camp", RouteOptions(consenting_only=True))
    [place] = info.value.cut.places
    assert place.as_dict() == {
        "node": "home",
        "role": "origin",
        "held_by": "opp",
        "reasons": ["origin 'home' is held by 'opp', which has not granted consent"],
    }
    assert info.value.cut.roads[0].reasons == (
        "ends at 'home', held by 'opp', which has not granted consent",
    )
    # The same place as the destination, and avoided rather than not consenting.
    with pytest.raises(NoRouteError) as info:
        safest_route(net, "camp", "home", RouteOptions(avoid_parties=("opp",)))
    assert [p.reasons for p in info.value.cut.places] == [
        ("destination 'home' is held by 'opp', which is avoided",)
    ]
    # A question from a place to itself: still no route when its holder is excluded.
    with pytest.raises(NoRouteError) as info:
        safest_route(net, "home", "home", RouteOptions(consenting_only=True))
    assert {p.role for p in info.value.cut.places} == {"origin", "destination"}
    # The parties analysis: nothing today; opp's agreement opens the route.
    analysis = consent_analysis(net, "home", "camp")
    assert analysis.today is None
    assert [o.agreements for o in analysis.options] == [("opp",)]
    # Plans: consenting only, nobody can leave home; otherwise all 50 leave, needing opp.
    options = PlanOptions(consenting_only=True)
    with pytest.raises(NothingToEvacuateError) as nobody:
        plan_evacuation(net, options)
    plan = plan_evacuation(net, PlanOptions())
    assert plan.evacuated == 50 and plan.consents_needed() == ["opp"]
    # Ranking what to open starts from the plan that moves nobody: opp's consent moves all 50.
    still = standstill_plan(net, options, nobody.value)
    assert (still.evacuated, still.stranded_at()) == (0, [{"node": "home", "count": 50}])
    ranked = rank_concessions(net, options, still)
    party = [r for r in ranked.rows if r.kind == "party"]
    assert [(r.what, r.people_gained) for r in party] == [("opp", 50)]
    assert ranked.rows[0].kind == "party"  # nothing else gets anybody out
