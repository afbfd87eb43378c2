"""Independent checks for evacuation plans, written from SPEC §1/§3 and the scenario document.

Nothing here uses the planner's code: the linear program is built straight from
the document, and the replay walks a plan's movements minute by minute.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from typing import Any

import networkx as nx
import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix


def flow_document(rng: random.Random, n_nodes: int, n_edges: int) -> dict[str, Any]:
    """A small random scenario with people, safe zones and tight capacities."""
    zones = set(rng.sample(range(n_nodes), rng.choice([1, 1, 2])))
    nodes = []
    for i in range(n_nodes):
        node: dict[str, Any] = {"id": f"n{i}"}
        if i in zones:
            node["kind"] = "safe_zone"
            if rng.random() < 0.3:
                node["capacity"] = rng.randint(3, 25)
        else:
            pop = rng.choice([0, rng.randint(1, 14), rng.randint(1, 14)])
            node["population"] = pop
            if rng.random() < 0.5:
                node["capacity"] = max(1, pop + rng.randint(0, 2))
        nodes.append(node)
    edges = []
    for k in range(n_edges):
        a, b = rng.sample(range(n_nodes), 2)
        edge: dict[str, Any] = {
            "id": f"e{k}",
            "from": f"n{a}",
            "to": f"n{b}",
            "directed": rng.random() < 0.3,
            "travel_time_min": rng.choice([1, 2, 3, 4, 0.5, 1.5, 2.2]),
            "risk": rng.choice([0.0, 0.01, 0.05, 0.2]),
            "status": rng.choice(["open"] * 8 + ["blocked"] * 2),
        }
        if rng.random() < 0.9:
            edge["capacity_per_min"] = rng.randint(1, 3)
        edges.append(edge)
    return {"schema": "safe-passage/scenario@1", "nodes": nodes, "edges": edges}


def _arcs(doc: dict[str, Any]) -> list[tuple[str, str, str, int, float]]:
    """(edge id, from, to, minutes, capacity) for every open direction of every road."""
    out = []
    for e in doc["edges"]:
        if e.get("status", "open") == "blocked":
            continue
        minutes = max(1, math.ceil(e["travel_time_min"]))
        cap = e.get("capacity_per_min") or math.inf
        out.append((e["id"], e["from"], e["to"], minutes, cap))
        if not e.get("directed", False):
            out.append((e["id"], e["to"], e["from"], minutes, cap))
    return out


def _is_zone(node: dict[str, Any]) -> bool:
    return bool(node.get("kind") == "safe_zone")


def people(doc: dict[str, Any]) -> dict[str, int]:
    return {
        n["id"]: n.get("population", 0)
        for n in doc["nodes"]
        if not _is_zone(n) and n.get("population", 0) > 0
    }


def most_ever(doc: dict[str, Any]) -> int:
    """People who can ever reach a safe zone: networkx max flow, roads unbounded."""
    g = nx.DiGraph()
    for _, u, v, _, _ in _arcs(doc):
        g.add_edge(u, v)  # no capacity attribute: unbounded
    for nid, pop in people(doc).items():
        g.add_edge("SOURCE", nid, capacity=pop)
    for n in doc["nodes"]:
        if _is_zone(n):
            g.add_edge(n["id"], "SINK", capacity=n.get("capacity") or math.inf)
    if "SOURCE" not in g or "SINK" not in g:
        return 0
    value: float = nx.maximum_flow_value(g, "SOURCE", "SINK")
    return int(value)


def lp_evacuated(doc: dict[str, Any], horizon: int) -> int:
    """Most people at a safe zone by ``horizon`` minutes, by linear programming.

    Variables: people entering each road direction at each minute, people waiting
    at each non-zone node from each minute to the next (everybody, residents
    included, at most the node's capacity), people received at each zone each
    minute, and people left at each node at the end. Conservation at every node
    and minute; residents present at minute 0.
    """
    nodes = {n["id"]: n for n in doc["nodes"]}
    arcs = _arcs(doc)
    var_bounds: list[tuple[float, float | None]] = []
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    objective: list[float] = []

    def new_var(lo: float, hi: float | None, gain: float = 0.0) -> int:
        var_bounds.append((lo, hi))
        objective.append(-gain)
        return len(var_bounds) - 1

    # Constraint (v, t): inflow − outflow = −supply.
    index: dict[tuple[str, int], int] = {}
    for nid in nodes:
        for t in range(horizon + 1):
            index[(nid, t)] = len(index)

    def term(node: str, t: int, var: int, sign: float) -> None:
        rows.append(index[(node, t)])
        cols.append(var)
        vals.append(sign)

    for _, u, v, minutes, cap in arcs:
        for t in range(horizon - minutes + 1):
            x = new_var(0, None if math.isinf(cap) else cap)
            term(u, t, x, -1.0)
            term(v, t + minutes, x, +1.0)
    receptions: dict[str, list[int]] = defaultdict(list)
    for nid, node in nodes.items():
        if _is_zone(node):
            for t in range(horizon + 1):
                r = new_var(0, None, gain=1.0)
                receptions[nid].append(r)
                term(nid, t, r, -1.0)
            continue
        cap = node.get("capacity")
        for t in range(horizon):
            w = new_var(0, cap)
            term(nid, t, w, -1.0)
            term(nid, t + 1, w, +1.0)
        left = new_var(0, None)
        term(nid, horizon, left, -1.0)
    supply = np.zeros(len(index))
    for nid, pop in people(doc).items():
        supply[index[(nid, 0)]] = pop
    a_eq = coo_matrix((vals, (rows, cols)), shape=(len(index), len(var_bounds))).tocsr()
    ub_rows, ub_cols, ub_rhs = [], [], []
    for k, (nid, rs) in enumerate(receptions.items()):
        if nodes[nid].get("capacity") is not None:
            ub_rows += [k] * len(rs)
            ub_cols += rs
            ub_rhs.append(nodes[nid]["capacity"])
        else:
            ub_rhs.append(1e12)
    a_ub = coo_matrix(
        (np.ones(len(ub_rows)), (ub_rows, ub_cols)), shape=(len(receptions), len(var_bounds))
    ).tocsr()
    result = linprog(
        objective,
        A_ub=a_ub,
        b_ub=ub_rhs,
        A_eq=a_eq,
        b_eq=-supply,
        bounds=var_bounds,
        method="highs",
    )
    assert result.status == 0, result.message
    return round(-result.fun)


def lp_quickest(doc: dict[str, Any], count: int, upper: int | None = None) -> int:
    """Least horizon by which ``count`` people can be evacuated (LP at each probe)."""
    lo, hi = 0, upper
    if hi is None:
        hi = 1
        while lp_evacuated(doc, hi) < count:
            lo, hi = hi + 1, hi * 2
    while lo < hi:
        mid = (lo + hi) // 2
        if lp_evacuated(doc, mid) >= count:
            hi = mid
        else:
            lo = mid + 1
    return lo


def replay(
    doc: dict[str, Any], plan: dict[str, Any], horizon: int
) -> Counter[tuple[str, str, int]]:
    """Walk the plan minute by minute; assert every capacity and rule. Returns road entries.

    Entries are keyed (edge, from node, minute). Occupancy counts everybody
    waiting at a node from one minute to the next: residents who have not left,
    people in transit, and stranded people where they stopped.
    """
    nodes = {n["id"]: n for n in doc["nodes"]}
    edges = {e["id"]: e for e in doc["edges"]}
    entries: Counter[tuple[str, str, int]] = Counter()
    waiting: Counter[tuple[str, int]] = Counter()
    left_home: Counter[str] = Counter()
    received: Counter[str] = Counter()
    moves = [(m, True) for m in plan["movements"]] + [
        (m, False) for m in plan["stranded_movements"]
    ]
    for m, evacuated in moves:
        origin = m["nodes"][0]
        assert nodes[origin].get("population", 0) > 0 and not _is_zone(nodes[origin])
        assert m["count"] > 0
        left_home[origin] += m["count"]
        assert len(m["edges"]) == len(m["enter_min"]) == len(m["nodes"]) - 1 >= 1
        for t in range(m["enter_min"][0]):
            waiting[(origin, t)] += m["count"]
        arrival = 0
        for k, eid in enumerate(m["edges"]):
            e, a, b = edges[eid], m["nodes"][k], m["nodes"][k + 1]
            assert e.get("status", "open") != "blocked"
            assert (e["from"], e["to"]) == (a, b) or (
                not e.get("directed", False) and (e["to"], e["from"]) == (a, b)
            )
            enter = m["enter_min"][k]
            assert enter >= arrival
            if k > 0:
                assert not _is_zone(nodes[a]) or enter == arrival, "waited at a safe zone"
                for t in range(arrival, enter):
                    waiting[(a, t)] += m["count"]
            entries[(eid, a, enter)] += m["count"]
            arrival = enter + max(1, math.ceil(e["travel_time_min"]))
        last = m["nodes"][-1]
        if evacuated:
            assert _is_zone(nodes[last])
            assert m["arrive_min"] == arrival <= horizon
            received[last] += m["count"]
        else:
            assert arrival <= horizon
            for t in range(arrival, horizon):
                waiting[(last, t)] += m["count"]
    for nid, pop in people(doc).items():
        assert left_home[nid] <= pop
        for t in range(horizon):
            waiting[(nid, t)] += pop - left_home[nid]
    for (eid, _, _), c in entries.items():
        cap = edges[eid].get("capacity_per_min")
        assert cap is None or c <= cap, f"road {eid} admits {c} > {cap}"
    for (nid, _), c in waiting.items():
        cap = nodes[nid].get("capacity")
        if not _is_zone(nodes[nid]):
            assert cap is None or c <= cap, f"node {nid} holds {c} > {cap}"
    for nid, c in received.items():
        cap = nodes[nid].get("capacity")
        assert cap is None or c <= cap, f"safe zone {nid} receives {c} > {cap}"
    assert plan["evacuated"] == sum(received.values())
    assert plan["stranded"] == plan["total_population"] - plan["evacuated"]
    assert plan["total_population"] == sum(people(doc).values())
    arrivals = [m["arrive_min"] for m in plan["movements"]]
    assert plan["egress_time_min"] == max(arrivals, default=0)
    return entries


def saturated_minutes(
    doc: dict[str, Any], entries: Counter[tuple[str, str, int]]
) -> dict[str, int]:
    """Per road: minutes in which some direction admitted its full capacity."""
    edges = {e["id"]: e for e in doc["edges"]}
    full: dict[str, set[int]] = defaultdict(set)
    for (eid, _, t), c in entries.items():
        if c == edges[eid].get("capacity_per_min"):
            full[eid].add(t)
    return {eid: len(ts) for eid, ts in full.items()}


def expected_harm(doc: dict[str, Any], plan: dict[str, Any]) -> float:
    """Σ people × (1 − Π(1 − risk)) over their roads (documents without incidents)."""
    edges = {e["id"]: e for e in doc["edges"]}
    total = 0.0
    for m in plan["movements"] + plan["stranded_movements"]:
        survive = 1.0
        for eid in m["edges"]:
            survive *= 1.0 - edges[eid].get("risk", 0.0)
        total += m["count"] * (1.0 - survive)
    return total
