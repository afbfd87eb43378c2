#!/usr/bin/env python3
"""Speed and memory of evacuation plans (``safe-passage plan``) on large networks.

Usage (from the repository root)::

    python benchmarks/plans.py                 # every case, a Markdown table on stdout
    python benchmarks/plans.py --quick         # the 1k-node cases only
    python benchmarks/plans.py case grid 10000 optimal 240   # one case, JSON

Networks (100,000 people each, deterministic):

``grid``
    A square street grid (1,024 or 10,000 nodes), roads of 1–3 minutes and
    10–40 people per minute in each direction, people spread at random over
    the nodes, eight safe zones on the edge (corners and mid-sides).
``aleppo``
    ``graphs/aleppo-2016-12.json`` refined: every neighbourhood becomes a
    g × g grid of streets (g = 3: 1,224 nodes; g = 9: 11,016 nodes) whose
    crossing time splits the neighbourhood's mean road time; each original road
    (status, risk, capacity, party) joins two facing border nodes of its
    neighbourhoods; the enclave's 100,000 people are spread over their
    neighbourhoods' nodes; the centre of each safe-zone neighbourhood is the safe zone.

Each case runs in its own process; the figures are the planning time (compiling
the network's conditions, planning, and building the PLAN document) as wall clock
and as the process's CPU time (steadier on a shared machine), and the process's
peak resident memory. Horizon: a window of the given minutes, or none.
"""

from __future__ import annotations

import json
import math
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PEOPLE = 100_000


def grid_document(n_nodes: int, seed: int = 7) -> dict[str, Any]:
    """The square grid of the tests (``tests/grid_scenario.py``) with about ``n_nodes``
    places and :data:`PEOPLE` people."""
    from tests.grid_scenario import grid_scenario

    return grid_scenario(round(math.sqrt(n_nodes)), PEOPLE, seed=seed)


def aleppo_document(g: int, seed: int = 7) -> dict[str, Any]:
    rng = random.Random(seed)
    base = json.loads((ROOT / "graphs" / "aleppo-2016-12.json").read_text())
    by_id = {n["id"]: n for n in base["nodes"]}
    times: dict[str, list[float]] = {nid: [] for nid in by_id}
    for e in base["edges"]:
        minutes = e.get("travel_time_min") or e["length_m"] / 64.0
        times[e["from"]].append(minutes)
        times[e["to"]].append(minutes)
    nodes, edges = [], []

    def sub(nid: str, r: int, c: int) -> str:
        return f"{nid}#{r}-{c}"

    centre = g // 2
    for nid, node in by_id.items():
        step = max(1.0, (sum(times[nid]) / max(1, len(times[nid]))) / (2 * g))
        people = node.get("population", 0)
        share = [people // (g * g)] * (g * g)
        share[0] += people - sum(share)
        for r in range(g):
            for c in range(g):
                item: dict[str, Any] = {
                    "id": sub(nid, r, c),
                    "controlled_by": node.get("controlled_by"),
                }
                if node.get("kind") == "safe_zone":
                    if (r, c) == (centre, centre):
                        item["kind"] = "safe_zone"
                elif share[r * g + c]:
                    item["population"] = share[r * g + c]
                nodes.append(item)
                for dr, dc in ((0, 1), (1, 0)):
                    if r + dr < g and c + dc < g:
                        edges.append(
                            {
                                "id": f"{sub(nid, r, c)}--{sub(nid, r + dr, c + dc)}",
                                "from": sub(nid, r, c),
                                "to": sub(nid, r + dr, c + dc),
                                "travel_time_min": round(step, 2),
                                "capacity_per_min": 60,
                                "controlled_by": node.get("controlled_by"),
                            }
                        )
    for e in base["edges"]:
        a, b = by_id[e["from"]], by_id[e["to"]]
        # Join the border nodes that face each other (by bearing between centroids).
        dy, dx = b["lat"] - a["lat"], b["lon"] - a["lon"]
        norm = max(abs(dx), abs(dy)) or 1.0

        def border(dy: float, dx: float, norm: float = norm) -> tuple[int, int]:
            return (
                min(g - 1, max(0, round(centre - dy / norm * centre))),
                min(g - 1, max(0, round(centre + dx / norm * centre))),
            )

        ra, ca = border(dy, dx)
        rb, cb = border(-dy, -dx)
        road = {k: v for k, v in e.items() if k not in {"id", "from", "to", "name", "notes"}}
        road.pop("risk_source", None)
        road.update(id=e["id"], **{"from": sub(e["from"], ra, ca)}, to=sub(e["to"], rb, cb))
        edges.append(road)
    rng.shuffle(edges)
    return {
        "schema": "safe-passage/scenario@1",
        "as_of": base["as_of"],
        "parties": base["parties"],
        "nodes": nodes,
        "edges": edges,
    }


def build(network: str, size: int) -> dict[str, Any]:
    if network == "grid":
        return grid_document(size)
    return aleppo_document(3 if size <= 2000 else 9)


def run_case(network: str, size: int, method: str, horizon: int | None) -> dict[str, Any]:
    from app.config import Settings
    from app.domain.network.graph import Network
    from app.domain.plans.evacuation import PlanOptions, plan_evacuation
    from app.domain.scenario.reading import validate_scenario
    from app.services.plans import without_cycle_collection

    net = Network(validate_scenario(build(network, size)))
    options = PlanOptions(
        method=method,  # type: ignore[arg-type]
        horizon=horizon,
        max_expanded_arcs=Settings().max_expanded_arcs,  # the service's limit
    )
    started, cpu = time.perf_counter(), time.process_time()
    with without_cycle_collection():  # as the plan service runs it
        plan = plan_evacuation(net, options)
        document = plan.as_dict()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "network": network,
        "nodes": net.n_nodes,
        "roads": len(net.edge_ids),
        "method": method,
        "horizon": horizon,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "evacuated": document["evacuated"],
        "egress_time_min": document["egress_time_min"],
        "lower_bound_min": document["lower_bound_min"],
        "upper_bound_evacuated": document["upper_bound_evacuated"],
        "movements": len(document["movements"]),
        "expected_harm": round(document["expected_harm"], 1),
    }


CASES = [
    (network, size, method, horizon)
    for network in ("grid", "aleppo")
    for size in (1000, 10000)
    for horizon in (240, None)
    for method in ("fast", "optimal")
]


def main(argv: list[str]) -> int:
    if argv[:1] == ["case"]:
        network, size, method, horizon = argv[1], int(argv[2]), argv[3], argv[4]
        out = run_case(network, size, method, None if horizon == "none" else int(horizon))
        print(json.dumps(out))
        return 0
    quick = "--quick" in argv
    print(
        "| network | nodes | roads | window (min) | method | time (s) | CPU (s) "
        "| peak memory (MiB) | evacuated | egress (min) | bound | movements | expected harm |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for network, size, method, horizon in CASES:
        if quick and size > 2000:
            continue
        proc = subprocess.run(
            [sys.executable, __file__, "case", network, str(size), method, str(horizon or "none")],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            print(
                f"| {network} | {size} | | {horizon} | {method} | failed: "
                f"{proc.stderr.strip().splitlines()[-1]} |"
            )
            continue
        r = json.loads(proc.stdout)
        bound = (
            f"≥ {r['lower_bound_min']} min"
            if r["horizon"] is None
            else f"≤ {r['upper_bound_evacuated']:,} people"
        )
        print(
            f"| {r['network']} | {r['nodes']:,} | {r['roads']:,} | {r['horizon'] or 'none'} "
            f"| {r['method']} | {r['seconds']} | {r['cpu_seconds']} | {r['peak_mib']} "
            f"| {r['evacuated']:,} "
            f"| {r['egress_time_min']} | {bound} | {r['movements']:,} | {r['expected_harm']:,} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
