"""When no route exists, the cut names a smallest set of closed roads to open (brute force)."""

from __future__ import annotations

import copy
import random
from collections import deque
from itertools import combinations
from typing import Any

import pytest

from app.domain.errors import NoRouteError
from app.domain.network.graph import Network
from app.domain.routes.engine import RouteOptions, edge_mask, safest_route
from app.domain.scenario.reading import validate_scenario
from tests.domain.randomgraphs import random_document

PROFILES = ["general", "medical", "military_age_men", "convoy"]
CASES = 300


def reaches(doc: dict[str, Any], open_edges: set[str], s: str, t: str) -> bool:
    """Whether ``t`` can be reached from ``s`` over the roads in ``open_edges`` (BFS)."""
    adj: dict[str, list[str]] = {n["id"]: [] for n in doc["nodes"]}
    for e in doc["edges"]:
        if e["id"] in open_edges:
            adj[e["from"]].append(e["to"])
            if not e["directed"]:
                adj[e["to"]].append(e["from"])
    seen, queue = {s}, deque([s])
    while queue:
        u = queue.popleft()
        for v in adj[u]:
            if v not in seen:
                seen.add(v)
                queue.append(v)
    return t in seen


def opened(doc: dict[str, Any], roads: set[str]) -> dict[str, Any]:
    """``doc`` with every reason to refuse ``roads`` lifted: open, passable, held by nobody,
    and so are the places at their ends."""
    out = copy.deepcopy(doc)
    ends = set()
    for e in out["edges"]:
        if e["id"] in roads:
            e.update(status="open", vehicle_passable=True, controlled_by=None, checkpoint=None)
            ends |= {e["from"], e["to"]}
    for node in out["nodes"]:
        if node["id"] in ends:
            node["controlled_by"] = None
    return out


def no_route_cases() -> list[tuple[int, dict[str, Any], RouteOptions, str, str]]:
    """Small random questions that have no route, until ``CASES`` of them are found."""
    cases = []
    for seed in range(20 * CASES):
        rng = random.Random(seed)
        n = rng.randint(2, 7)
        doc = random_document(rng, n, rng.randint(0, 11))
        options = RouteOptions(
            profile=rng.choice(PROFILES),
            avoid_parties=tuple(rng.sample(["p0", "p1"], rng.randint(0, 1))),
            consenting_only=rng.random() < 0.2,
        )
        s, t = rng.sample([node["id"] for node in doc["nodes"]], 2)
        try:
            safest_route(Network(validate_scenario(doc)), s, t, options)
        except NoRouteError:
            cases.append((seed, doc, options, s, t))
            if len(cases) == CASES:
                return cases
    raise AssertionError(f"only {len(cases)} random questions without a route")


def test_no_route_names_smallest_separating_closures_and_fewest_to_lift() -> None:
    disconnected = separated = 0
    for seed, doc, options, s, t in no_route_cases():
        net = Network(validate_scenario(doc))
        with pytest.raises(NoRouteError) as info:
            safest_route(net, s, t, options)
        cut = info.value.cut
        every_road = {e["id"] for e in doc["edges"]}

        # Disconnected exactly when no path exists even with every road open.
        assert cut.disconnected == (not reaches(doc, every_road, s, t)), seed
        if cut.disconnected:
            assert cut.roads == [] and cut.open_to_connect == [], seed
            assert "even with every closure lifted" in info.value.detail
            disconnected += 1
            continue
        separated += 1

        cond = net.conditions(options.profile, options.at)
        usable = edge_mask(cond, options.avoid_parties, options.consenting_only)
        open_now = {net.edge_ids[i] for i in range(len(net.edge_ids)) if usable[i]}
        closed = sorted(every_road - open_now)
        separating = [r.edge for r in cut.roads]
        to_lift = [r.edge for r in cut.open_to_connect]
        for named in (separating, to_lift):
            assert named, seed
            assert len(set(named)) == len(named), seed
            assert set(named) <= set(closed), (seed, named, closed)
        for road in cut.roads + cut.open_to_connect:
            assert road.reasons, (seed, road)
            assert road.edge in info.value.detail

        # Every path, over open and closed roads alike, crosses a road of the separating set,
        # and no smaller set of closed roads does that (brute force over subsets).
        assert not reaches(doc, every_road - set(separating), s, t), (seed, separating)
        for k in range(len(separating)):
            for subset in combinations(closed, k):
                assert reaches(doc, every_road - set(subset), s, t), (seed, subset, separating)

        # Opening exactly the roads to lift gives a route, through the whole service...
        again = Network(validate_scenario(opened(doc, set(to_lift))))
        route = safest_route(again, s, t, options)
        assert route.node_ids[0] == s and route.node_ids[-1] == t
        # ...and no smaller set of closed roads would do (brute force over subsets).
        for k in range(len(to_lift)):
            for subset in combinations(closed, k):
                assert not reaches(doc, open_now | set(subset), s, t), (seed, subset, to_lift)

    # Both kinds of answer occurred often enough for the checks above to mean something.
    assert disconnected >= 30 and separated >= 100, (disconnected, separated)


def test_cut_reasons_say_why_each_road_is_closed() -> None:
    # a to b: through x, two closures (blocked; gov checkpoint); through y and z, three.
    doc: dict[str, Any] = {
        "schema": "safe-passage/scenario@1",
        "parties": [{"id": "gov", "consent": "pending"}, {"id": "opp", "consent": "granted"}],
        "nodes": [{"id": k} for k in ("a", "b", "x", "y", "z")],
        "edges": [
            {"id": "ax", "from": "a", "to": "x", "travel_time_min": 1, "status": "blocked"},
            {"id": "xb", "from": "x", "to": "b", "travel_time_min": 1, "checkpoint": "gov"},
            {"id": "ay", "from": "a", "to": "y", "travel_time_min": 1, "status": "damaged",
             "vehicle_passable": False},
            {"id": "yz", "from": "y", "to": "z", "travel_time_min": 1, "controlled_by": "gov"},
            {"id": "zb", "from": "z", "to": "b", "travel_time_min": 1, "status": "blocked"},
        ],
    }  # fmt: skip
    reasons = {
        "ax": ["blocked"],
        "xb": ["checkpoint of avoided party 'gov'"],
        "ay": [
            "damaged: not usable by profile 'medical'",
            "not passable by vehicles (profile 'medical')",
        ],
        "yz": ["controlled by avoided party 'gov'"],
        "zb": ["blocked"],
    }
    net = Network(validate_scenario(doc))
    with pytest.raises(NoRouteError) as info:
        safest_route(net, "a", "b", RouteOptions(profile="medical", avoid_parties=("gov",)))
    cut = info.value.extra()["cut"]
    assert cut["disconnected"] is False
    assert cut["open_to_connect"] == [{"edge": e, "reasons": reasons[e]} for e in ("ax", "xb")]
    # Separating: one road of each of the two ways round, with its reasons.
    [first, second] = sorted(cut["roads"], key=lambda r: r["edge"] in ("ax", "xb"))
    assert first["edge"] in ("ay", "yz", "zb") and second["edge"] in ("ax", "xb")
    for road in cut["roads"]:
        assert road["reasons"] == reasons[road["edge"]]
    assert "ax (blocked)" in info.value.detail or "xb (checkpoint" in info.value.detail

    # Walkers may use damaged roads; y–z belongs to a party that has not consented.
    with pytest.raises(NoRouteError) as info:
        safest_route(net, "y", "z", RouteOptions(consenting_only=True))
    consent = [{"edge": "yz", "reasons": ["controlled by 'gov', which has not granted consent"]}]
    cut = info.value.extra()["cut"]
    assert cut["open_to_connect"] == consent
    # Separating y from z takes y–z and one closure on the way round through a, x and b.
    assert len(cut["roads"]) == 2 and consent[0] in cut["roads"]


def test_disconnected_when_no_road_leads_there_at_all() -> None:
    doc: dict[str, Any] = {
        "schema": "safe-passage/scenario@1",
        "nodes": [{"id": "a"}, {"id": "b"}, {"id": "c"}],
        "edges": [
            {"id": "ab", "from": "a", "to": "b", "travel_time_min": 1, "status": "blocked"},
            {"id": "cb", "from": "c", "to": "b", "travel_time_min": 1, "directed": True},
        ],
    }
    net = Network(validate_scenario(doc))
    # The one-way road runs from c to b, so nothing at all leads from a to c.
    with pytest.raises(NoRouteError) as info:
        safest_route(net, "a", "c")
    assert info.value.cut.as_dict() == {
        "roads": [],
        "open_to_connect": [],
        "disconnected": True,
        "places": [],
    }
    assert "even with every closure lifted" in info.value.detail
    # From c, the one-way road reaches b; only the blocked road stands between b and a.
    with pytest.raises(NoRouteError) as info:
        safest_route(net, "c", "a")
    blocked = [{"edge": "ab", "reasons": ["blocked"]}]
    assert info.value.cut.as_dict() == {
        "roads": blocked,
        "open_to_connect": blocked,
        "disconnected": False,
        "places": [],
    }
