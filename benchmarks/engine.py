"""Routing engines side by side on 4-neighbour grids of 10k, 100k and 1M nodes.

Run:  python3 benchmarks/engine.py [--sizes 10k,100k,1M] [--runs 7] [--json out.json]

Like shared/PERF-ANCHORS.md: every road has a risk drawn uniformly from [0, 0.01)
(cost −ln(1 − risk)), 100 m long; the worst-case question is corner to corner
(every engine settles nearly the whole graph), the short one about 40 roads from
the centre. Figures are medians of ``--runs`` runs, in one process, one after
another, so compare ratios within a run: the machine is shared and noisy.

Rows:
* scipy — ``scipy.sparse.csgraph.dijkstra`` from one source with predecessors on a
  prebuilt CSR matrix: the floor the service is measured against.
* engine — :func:`app.domain.routes.engine.safest_route` on a compiled network (bounded
  lexicographic search over fixed CSR arrays, path and figures included).
* engine, old — the previous method: two CSR matrices built and two full searches
  per question (kept here to show the gain).
* networkx — ``nx.dijkstra_path`` / ``bidirectional_dijkstra`` on a DiGraph with the
  same weights; reference — :func:`tests.domain.reference.reference_route`, the
  readable oracle of the tests (pydantic scenario + networkx).
* igraph, rustworkx — when installed (they are not dependencies).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' oracle

from app.domain.network.graph import COST_SCALE, Network
from app.domain.routes.engine import RouteOptions, edge_mask, safest_route
from app.domain.scenario.columns import CompactScenario, EdgeColumns, Ids, NodeColumns, Texts
from app.domain.scenario.model import ScenarioHeader

SIZES = {"10k": 100, "100k": 316, "1M": 1000}


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    """Median seconds over ``runs`` calls, and the last result."""
    times, result = [], None
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def grid(side: int, seed: int = 0) -> tuple[np.ndarray[Any, Any], ...]:
    """Edges of a side × side grid: tail, head, risk (one road per neighbour pair)."""
    rng = np.random.default_rng(seed)
    idx = np.arange(side * side, dtype=np.int64).reshape(side, side)
    tail = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    head = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    risk = rng.random(len(tail)) * 0.01
    return tail, head, risk


def compact_grid(side: int, tail: Any, head: Any, risk: Any) -> CompactScenario:
    """The grid as a compact scenario (ids n0…, e0…), built straight from arrays."""
    n, m = side * side, len(tail)
    none_n = Texts([], np.broadcast_to(np.int32(-1), (n,)))
    none_m = Texts([], np.broadcast_to(np.int32(-1), (m,)))
    r, c = np.divmod(np.arange(n), side)
    nodes = NodeColumns(
        id=Ids.from_strings([f"n{i}" for i in range(n)]),
        name=none_n, name_ar=none_n, kind=np.ones(n, np.int8),
        lat=36.0 + r * 1e-3, lon=37.0 + c * 1e-3,
        population=np.zeros(n, np.int64), population_source=none_n,
        capacity=np.zeros(n, np.int64), controlled_by=none_n, notes=none_n,
    )  # fmt: skip
    edges = EdgeColumns(
        id=Ids.from_strings([f"e{k}" for k in range(m)]), tail=tail, head=head, name=none_m,
        directed=np.zeros(m, bool), length_m=np.full(m, 100.0),
        travel_time_min=np.full(m, np.nan), capacity_per_min=np.zeros(m, np.int64),
        status=np.zeros(m, np.int8), risk=risk, risk_low=np.full(m, np.nan),
        risk_high=np.full(m, np.nan), risk_source=none_m, controlled_by=none_m,
        checkpoint=none_m, vehicle_passable=np.ones(m, bool), candidate=np.zeros(m, bool),
        vehicles_per_min=np.full(m, np.nan), screening_min_per_vehicle=np.full(m, np.nan),
        screening_min_per_person=np.full(m, np.nan), screening_lanes=np.zeros(m, np.int64),
        notes=none_m,
    )  # fmt: skip
    header = ScenarioHeader.model_validate({"schema": "safe-passage/scenario@1"})
    return CompactScenario(header, nodes, edges)


def two_full_searches(net: Network, s: int, t: int) -> float:
    """The previous method: build two CSR matrices, search everything twice."""
    cond = net.conditions()
    ok = edge_mask(cond)[net.arc_edge]
    n = net.n_nodes
    tail, head = net.arc_tail[ok], net.arc_head[ok]
    c, tt = cond.arc_cost[ok], cond.arc_time[ok]
    dist = dijkstra(csr_matrix((c, (tail, head)), shape=(n, n)), indices=s)
    tight = np.isfinite(dist[tail]) & (dist[tail] + c == dist[head])
    g = csr_matrix((tt[tight], (tail[tight], head[tight])), shape=(n, n))
    d2 = dijkstra(g, indices=s, return_predecessors=True)[0]
    return float(d2[t])


def bench(label: str, side: int, runs: int, heavy: bool) -> dict[str, Any]:
    n = side * side
    tail, head, risk = grid(side)
    weight = -np.log1p(-risk) + 1e-9 * 100 / 64  # cost plus a small time term
    corner, far = 0, n - 1
    centre = (side // 2) * side + side // 2
    near = centre + 20 * side + 20
    out: dict[str, Any] = {"nodes": n, "roads": len(tail)}
    print(f"\n## {label}: {n:,} nodes, {len(tail):,} roads ({2 * len(tail):,} arcs)", flush=True)

    # scipy floor
    both_t = np.concatenate([tail, head])
    both_h = np.concatenate([head, tail])
    w2 = np.concatenate([weight, weight])
    build_s, g = timed(lambda: csr_matrix((w2, (both_t, both_h)), shape=(n, n)), 3)
    scipy_s, _ = timed(lambda: dijkstra(g, indices=corner, return_predecessors=True), runs)
    out["scipy"] = {"build_s": build_s, "route_s": scipy_s}

    # engine
    before = rss_mib()
    compact = compact_grid(side, tail, head, risk)
    compile_s, net = timed(lambda: Network(compact), 1)
    cond_s, _ = timed(lambda: net.conditions(), 1)
    mem = rss_mib() - before
    ids = net.node_ids
    engine_s, route = timed(lambda: safest_route(net, ids[corner], ids[far]), runs)
    short_s, short = timed(lambda: safest_route(net, ids[centre], ids[near]), runs)
    opts = RouteOptions(avoid_parties=(), consenting_only=False, profile="convoy")
    masked_s, _ = timed(lambda: safest_route(net, ids[corner], ids[far], opts), runs)
    dict_s, _ = timed(lambda: route.as_dict(), runs)
    old_s, _ = timed(lambda: two_full_searches(net, corner, far), max(1, runs // 2))
    out["engine"] = {
        "compile_s": compile_s, "conditions_s": cond_s, "memory_mib": mem,
        "route_s": engine_s, "short_route_s": short_s, "other_profile_route_s": masked_s,
        "as_dict_s": dict_s, "old_route_s": old_s, "hops": len(route.edges),
        "short_hops": len(short.edges),
    }  # fmt: skip
    # The engine's answer is the scipy optimum (same cost).
    dist = dijkstra(g, indices=corner)
    assert abs(route.cost / COST_SCALE - dist[far]) < 1e-6 * max(1.0, dist[far]) + 1e-3

    # networkx
    runs_nx = 1 if n >= 1_000_000 else max(1, runs // 2)
    before = rss_mib()
    nx_build_s, digraph = timed(lambda: _nx_graph(n, both_t, both_h, w2), 1)
    nx_mem = rss_mib() - before
    nx_s, _ = timed(lambda: nx.dijkstra_path(digraph, corner, far), runs_nx)
    nx_short_s, _ = timed(lambda: nx.bidirectional_dijkstra(digraph, centre, near), runs)
    out["networkx"] = {
        "build_s": nx_build_s,
        "memory_mib": nx_mem,
        "route_s": nx_s,
        "short_route_s": nx_short_s,
    }
    digraph = nx.DiGraph()  # let the big one go before the next engines
    gc.collect()

    if heavy and n <= 100_000:
        from app.domain.scenario.model import Scenario
        from tests.domain.reference import reference_route

        # The oracle reads the document's own models, one object per place and road.
        scenario = Scenario.model_validate(json.loads("".join(compact.json_chunks())))

        ref_s, ref = timed(
            lambda: reference_route(scenario, ids[corner], ids[far]), max(1, runs // 3)
        )
        assert ref is not None and ref.cost == route.cost
        out["reference"] = {"route_s": ref_s}
    out.update(_others(n, both_t, both_h, w2, corner, far, runs))
    _print(label, out)
    return out


def _nx_graph(n: int, tail: Any, head: Any, weight: Any) -> nx.DiGraph:
    dg = nx.DiGraph()
    dg.add_nodes_from(range(n))
    dg.add_weighted_edges_from(zip(tail.tolist(), head.tolist(), weight.tolist(), strict=True))
    return dg


def _others(n: int, tail: Any, head: Any, w: Any, s: int, t: int, runs: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        import igraph
    except ImportError:
        pass
    else:
        pairs = np.column_stack([tail, head]).tolist()
        build_s, g = timed(lambda: igraph.Graph(n=n, edges=pairs, directed=True), 1)
        weights = w.tolist()
        route_s, _ = timed(
            lambda: g.get_shortest_paths(s, to=t, weights=weights, output="vpath"),
            max(1, runs // 2),
        )
        out["igraph"] = {"build_s": build_s, "route_s": route_s}
    try:
        import rustworkx as rx
    except ImportError:
        pass
    else:
        if n <= 100_000:  # its one-to-one search builds paths to every settled node
            edges = list(zip(tail.tolist(), head.tolist(), w.tolist(), strict=True))

            def build() -> Any:
                g = rx.PyDiGraph()
                g.add_nodes_from(range(n))
                g.add_edges_from(edges)
                return g

            build_s, rg = timed(build, 1)
            route_s, _ = timed(
                lambda: rx.dijkstra_shortest_paths(rg, s, target=t, weight_fn=float),
                max(1, runs // 2),
            )
            out["rustworkx"] = {"build_s": build_s, "route_s": route_s}
    return out


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def _print(label: str, r: dict[str, Any]) -> None:
    e, sp = r["engine"], r["scipy"]
    print("| engine | build / compile | corner to corner | ratio to scipy | ~40-road trip |")
    print("|---|---|---|---|---|")
    print(f"| scipy dijkstra (+pred), prebuilt CSR | {_ms(sp['build_s'])} | "
          f"{_ms(sp['route_s'])} | 1.0 | – |")  # fmt: skip
    print(
        f"| **safe-passage engine** (route + figures) | {_ms(e['compile_s'])} + "
        f"{_ms(e['conditions_s'])} conditions | {_ms(e['route_s'])} | "
        f"{e['route_s'] / sp['route_s']:.2f} | {_ms(e['short_route_s'])} |"
    )
    other = e["other_profile_route_s"]
    print(
        f"| engine, other profile (mask over the same arrays) | – | "
        f"{_ms(other)} | {other / sp['route_s']:.2f} | – |"
    )
    print(
        f"| engine, old method (2 CSR builds + 2 full searches) | – | {_ms(e['old_route_s'])} | "
        f"{e['old_route_s'] / sp['route_s']:.2f} | – |"
    )
    nxr = r["networkx"]
    print(
        f"| networkx dijkstra_path / bidirectional | {_ms(nxr['build_s'])} | {_ms(nxr['route_s'])} "
        f"| {nxr['route_s'] / sp['route_s']:.1f} | {_ms(nxr['short_route_s'])} |"
    )
    if "reference" in r:
        ref = r["reference"]["route_s"]
        ratio = ref / sp["route_s"]
        print(f"| reference (tests' oracle, networkx) | – | {_ms(ref)} | {ratio:.1f} | – |")
    for name in ("igraph", "rustworkx"):
        if name in r:
            o = r[name]
            print(
                f"| {name} | {_ms(o['build_s'])} | {_ms(o['route_s'])} | "
                f"{o['route_s'] / sp['route_s']:.1f} | – |"
            )
    print(
        f"\nEngine memory for the compiled network and one profile: {e['memory_mib']:.0f} MiB "
        f"(networkx DiGraph: {nxr['memory_mib']:.0f} MiB); route as JSON-ready dict "
        f"({e['hops']} roads): {_ms(e['as_dict_s'])}.",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10k,100k,1M")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-reference", action="store_true")
    parser.add_argument("--json", help="Also write the figures to this file.")
    args = parser.parse_args()
    results = {}
    for label in args.sizes.split(","):
        results[label] = bench(label, SIZES[label], args.runs, not args.no_reference)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
