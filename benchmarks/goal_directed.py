"""Goal-directed safest routes (A* with landmark bounds) against the plain search, in one run.

Run:  python3 benchmarks/goal_directed.py [--sizes 10k,100k,1M] [--runs 5] [--http 100k]
                                         [--json out.json]

Grids as in benchmarks/engine.py (4-neighbour, 100 m roads, risk uniform in [0, 0.01),
seed 0). Per size, in this process:

* the landmarks' preparation (:func:`app.domain.routes.landmarks.prepare`): wall time and
  bytes, plus the reverse arc index the search reads (built once per network);
* corner to corner, ~40 roads from the centre and 10 random pairs: the plain search
  (:func:`~app.domain.routes.engine.lexicographic_path`, two scipy Dijkstra runs) and the
  goal-directed one (:func:`~app.domain.routes.engine.goal_directed_path`), medians of
  ``--runs``; each answer checked to be the same route; nodes the search settled;
* the whole answer the service sends (``compute_routes`` + orjson: route, figures, steps),
  with the landmarks ready;
* a closure edit (1% of roads blocked, an incident on 20 roads): the edited version's
  network (``like=`` the first) takes the landmarks over at once; its first route
  (conditions of the new version built) and the next ones.

With ``--http SIZE``: ``safe-passage serve`` on 127.0.0.1 (fresh SQLite database), that grid
uploaded (one party declared), and routes asked one at a time over HTTP, end to end as a
client sees them: 4 corner-to-corner, 30 distinct short (~40 roads) and 10 random questions,
none asked twice (the service keeps answers per version); median, first and slowest of each.
Then one edit (1% of roads blocked, a band of places put under the party, an incident on 20
roads) and new questions avoiding that party: they must see the edit at once.
1M over HTTP means a ~30 s upload (benchmarks/large_scenario.py measures that one).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine import compact_grid, grid, rss_mib

from app.domain.network.graph import Network
from app.domain.routes import engine
from app.domain.routes.landmarks import landmarks_of, prepare
from app.domain.scenario.edits import apply_edits
from app.services.requests import RouteRequest
from app.services.routes import compute_routes

SIZES = {"10k": 100, "100k": 316, "1M": 1000}


def median_ms(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, result


def questions(side: int, seed: int = 1) -> dict[str, list[tuple[int, int]]]:
    n = side * side
    centre = (side // 2) * side + side // 2
    rng = random.Random(seed)
    return {
        "corner": [(0, n - 1)],
        "short": [(centre, centre + 20 * side + 20)],
        "random": [(rng.randrange(n), rng.randrange(n)) for _ in range(10)],
    }


def settled(cond: Any, marks: Any, s: int, t: int) -> int:
    net = cond.network
    out = engine.search(
        net.arc_indptr, net.arc_head, net.arc_tail, cond.arc_usable_cost, cond.arc_time,
        net.arc_rev_indptr, net.arc_by_head, net.arc_edge, None, None, marks.forward,
        marks.backward, marks.scale_forward, marks.scale_backward, s, t, engine.MOST_TIED,
    )  # fmt: skip
    return int(out[4])


def answer(net: Network, s: int, t: int) -> bytes:
    """What the service sends for a route question (less HTTP)."""
    request = RouteRequest.model_validate({"from": net.node_ids[s], "to": net.node_ids[t]})
    return orjson.dumps(compute_routes(net, request))


def bench(label: str, side: int, runs: int) -> dict[str, Any]:
    n = side * side
    tail, head, risk = grid(side)
    net = Network(compact_grid(side, tail, head, risk))
    cond = net.conditions()
    out: dict[str, Any] = {"nodes": n, "roads": len(tail)}
    print(f"\n## {label}: {n:,} nodes, {len(tail):,} roads", flush=True)

    gc.collect()
    before = rss_mib()
    start = time.perf_counter()
    marks = prepare(net)
    out["landmarks_s"] = time.perf_counter() - start
    assert marks is not None
    out["landmarks_mib"] = marks.nbytes / 2**20
    out["landmark_count"] = len(marks.nodes)
    start = time.perf_counter()
    reverse = net.arc_by_head.nbytes + net.arc_rev_indptr.nbytes
    out["reverse_index_s"] = time.perf_counter() - start
    out["reverse_index_mib"] = reverse / 2**20
    out["rss_growth_mib"] = rss_mib() - before
    print(
        f"landmarks: {out['landmark_count']} in {out['landmarks_s']:.2f} s, "
        f"{out['landmarks_mib']:.1f} MiB; reverse arc index {out['reverse_index_s']:.2f} s, "
        f"{out['reverse_index_mib']:.1f} MiB; RSS +{out['rss_growth_mib']:.0f} MiB",
        flush=True,
    )

    for kind, pairs in questions(side).items():
        plain_t, goal_t, full_t, counts, roads = [], [], [], [], []
        for s, t in pairs:
            reps = runs if kind != "random" else max(1, runs // 3)
            p_ms, plain = median_ms(
                lambda: engine.lexicographic_path(cond, cond.arc_usable, s, t),  # noqa: B023
                reps,
            )
            g_ms, goal = median_ms(lambda: engine.goal_directed_path(cond, marks, s, t), runs)  # noqa: B023
            assert (goal.nodes, goal.edges) == (plain.nodes, plain.edges), (s, t)
            f_ms, _ = median_ms(lambda: answer(net, s, t), runs)  # noqa: B023
            plain_t.append(p_ms)
            goal_t.append(g_ms)
            full_t.append(f_ms)
            counts.append(settled(cond, marks, s, t))
            roads.append(len(plain.edges))
        row = {
            "roads": statistics.median(roads),
            "plain_ms": statistics.median(plain_t),
            "goal_ms": statistics.median(goal_t),
            "ratio": statistics.median(p / g for p, g in zip(plain_t, goal_t, strict=True)),
            "settled": statistics.median(counts),
            "answer_ms": statistics.median(full_t),
        }
        out[kind] = row
        print(
            f"{kind:>7}: {row['roads']:.0f} roads; plain {row['plain_ms']:.1f} ms, "
            f"goal-directed {row['goal_ms']:.2f} ms (×{row['ratio']:.0f}, "
            f"{row['settled']:.0f} settled); whole answer {row['answer_ms']:.1f} ms",
            flush=True,
        )

    # A closure edit: 1% of roads blocked and an incident; landmarks taken over.
    rng = random.Random(2)
    edits: list[dict[str, Any]] = [
        {"op": "set_road", "road": f"e{k}", "status": "blocked"}
        for k in rng.sample(range(len(tail)), len(tail) // 100)
    ]
    incident = {
        "id": "shelling", "edges": [f"e{k}" for k in rng.sample(range(len(tail)), 20)],
        "severity": 0.3, "observed_at": "2025-01-01T00:00:00+00:00",
    }  # fmt: skip
    edits.append({"op": "add_incident", "incident": incident})
    start = time.perf_counter()
    edited = Network(apply_edits(net.columns, edits), like=net)
    out["edit_compile_s"] = time.perf_counter() - start
    assert landmarks_of(edited) is marks
    s, t = questions(side)["corner"][0]
    start = time.perf_counter()
    answer(edited, s, t)
    out["edit_first_answer_ms"] = (time.perf_counter() - start) * 1000
    out["edit_answer_ms"], _ = median_ms(lambda: answer(edited, s, t), runs)
    cond2 = edited.conditions()
    p_ms, plain = median_ms(lambda: engine.lexicographic_path(cond2, cond2.arc_usable, s, t), 1)
    g_ms, goal = median_ms(lambda: engine.goal_directed_path(cond2, marks, s, t), runs)
    assert (goal.nodes, goal.edges) == (plain.nodes, plain.edges)
    out["edit_corner"] = {"plain_ms": p_ms, "goal_ms": g_ms}
    print(
        f"after a closure edit ({len(edits) - 1} roads blocked, an incident): compiled in "
        f"{out['edit_compile_s']:.2f} s, landmarks kept; first answer "
        f"{out['edit_first_answer_ms']:.0f} ms (builds the version's conditions), then "
        f"{out['edit_answer_ms']:.1f} ms; corner plain {p_ms:.1f} ms, goal-directed "
        f"{g_ms:.2f} ms",
        flush=True,
    )
    return out


def http_questions(side: int, seed: int = 5) -> dict[str, list[tuple[int, int]]]:
    """Distinct questions for the HTTP run (none asked twice: the service keeps answers per
    version, and a repeated question would be answered from memory)."""
    n = side * side
    rng = random.Random(seed)
    short = []
    for _ in range(30):
        a = rng.randrange(side - 25) * side + rng.randrange(side - 25)
        short.append((a, a + 20 * side + 20))
    return {
        "corner": [(0, n - 1), (n - 1, 0), (side - 1, n - side), (n - side, side - 1)],
        "short": short,
        "random": [(rng.randrange(n), rng.randrange(n)) for _ in range(10)],
    }


def http(label: str, side: int) -> dict[str, Any]:
    """Routes over HTTP on a served grid, end to end, before and after an edit."""
    import httpx
    from large_scenario import Server, chunks, write_grid

    n = side * side
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "grid.json"
        write_grid(path, side, parties=("north",))
        server = Server(Path(work) / "data")
        token = server.cli("token", "create", "--role", "planner", "--name", "bench")
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        server.start()
        try:
            with httpx.Client(base_url=server.url, headers=headers, timeout=600) as client:
                start = time.perf_counter()
                created = client.post("/v1/scenarios", content=chunks(path))
                assert created.status_code == 201, created.text
                out["upload_s"] = time.perf_counter() - start
                sid = created.json()["id"]

                def ask(kind: str, pairs: list[tuple[int, int]], **extra: Any) -> None:
                    times = []
                    for a, b in pairs:
                        body = {"from": f"n{a}", "to": f"n{b}", **extra}
                        start = time.perf_counter()
                        r = client.post(f"/v1/scenarios/{sid}/routes", json=body)
                        times.append((time.perf_counter() - start) * 1000)
                        assert r.status_code == 200, r.text
                    out[kind] = {
                        "median_ms": statistics.median(times),
                        "max_ms": max(times),
                        "first_ms": times[0],
                        "count": len(times),
                        "bytes": len(r.content),
                    }
                    print(
                        f"HTTP {label} {kind:>22}: median {statistics.median(times):6.1f} ms, "
                        f"first {times[0]:6.1f} ms, slowest {max(times):6.1f} ms "
                        f"({len(times)} questions, {len(r.content) / 1024:.0f} KiB)",
                        flush=True,
                    )

                ask("first", [(5, 7)])  # compiles the version; landmarks in the background
                time.sleep(max(2.0, n * 8e-6))  # let the landmarks be prepared
                asked = http_questions(side)
                for kind, pairs in asked.items():
                    ask(kind, pairs)
                # An edit: 1% of roads blocked, an incident on 20 roads, a band of rows held by
                # a party the next questions avoid. Applied the moment it is stored.
                rng = random.Random(9)
                roads = 2 * side * (side - 1)
                edits: list[dict[str, Any]] = [
                    {"op": "set_road", "road": f"e{k}", "status": "blocked"}
                    for k in rng.sample(range(roads), roads // 100)
                ]
                edits.append({"op": "set_party", "party": "north", "consent": "refused"})
                band = range((side // 3) * side, (side // 3 + 3) * side, 7)
                edits += [{"op": "set_place", "place": f"n{i}", "controlled_by": "north"}
                          for i in band]  # fmt: skip
                edits.append({
                    "op": "add_incident",
                    "incident": {
                        "id": "shelling", "kind": "shelling", "severity": 0.3,
                        "observed_at": "2026-12-07T06:00:00Z",
                        "edges": [f"e{k}" for k in rng.sample(range(roads), 20)],
                    },
                })  # fmt: skip
                etag = client.get(f"/v1/scenarios/{sid}").headers["ETag"]
                start = time.perf_counter()
                r = client.post(
                    f"/v1/scenarios/{sid}/edits",
                    json={"edits": edits, "reason": "benchmark"},
                    headers={"If-Match": etag},
                )
                assert r.status_code == 200, r.text
                out["edit_ms"] = (time.perf_counter() - start) * 1000
                print(f"HTTP {label} edit of {len(edits)} changes: {out['edit_ms']:.0f} ms")
                held = set(band)
                for kind, pairs in http_questions(side, seed=6).items():
                    free = [(a, b) for a, b in pairs if a not in held and b not in held]
                    ask(f"{kind} after edit", free, avoid_parties=["north"])
        finally:
            server.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10k,100k,1M")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--http", default="100k", help="size served over HTTP ('' for none)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    load = os.getloadavg()
    cores = os.cpu_count()
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {cores} cores")
    results: dict[str, Any] = {"load_before": load}
    for label in args.sizes.split(","):
        results[label] = bench(label, SIZES[label], args.runs)
    if args.http:
        results["http"] = http(args.http, SIZES[args.http])
    results["load_after"] = os.getloadavg()
    print("load average after: {:.2f} {:.2f} {:.2f}".format(*results["load_after"]))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
