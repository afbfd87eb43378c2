#!/usr/bin/env python3
"""The documents of every computing path over a corpus of scenarios, to compare two commits.

Run from the repository root, once on each commit, then compare the two files::

    python3 benchmarks/corpus_outputs.py before.json     # on the old commit
    python3 benchmarks/corpus_outputs.py after.json      # on the new one
    python3 benchmarks/corpus_outputs.py --compare before.json after.json

The corpus: ``graphs/teaching.json``, ``graphs/aleppo-2016-12.json`` and ``--random``
(25) random scenarios with parties, checkpoints, statuses, incidents, unlocated
places and ids and names that need JSON escapes. Each is compiled twice: from its
objects (``validate_scenario``) and from columns (``read_large_scenario``). For
five pairs of places it records the JSON text of routes (safest, alternatives,
disjoint pair, Pareto front, with avoided parties, consent, profiles, a risk
limit), consent analyses, briefs and map GeoJSON; then plans (fast and optimal,
with openings ranked) and a CSV incident import. Errors the domain raises are
recorded as their type, detail and extra members; any other exception as its
type. It also reports any document that differs between the two compiled forms.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.domain.errors import ScenarioError  # noqa: E402
from app.domain.network.graph import Network  # noqa: E402
from app.domain.routes.engine import RouteOptions, safest_route  # noqa: E402
from app.domain.scenario.problems import validate_scenario  # noqa: E402
from app.domain.scenario.reading import read_large_scenario  # noqa: E402
from app.services.briefs import BriefRequest, compute_brief  # noqa: E402
from app.services.incidents import ImportRequest, import_incidents  # noqa: E402
from app.services.maps import scenario_geojson  # noqa: E402
from app.services.plans import PlanRequest, compute_plan  # noqa: E402
from app.services.requests import PartiesRequest, RouteRequest  # noqa: E402
from app.services.routes import compute_parties, compute_routes  # noqa: E402

ROUTE_QUESTIONS: list[dict[str, Any]] = [
    {},
    {"alternatives": 3},
    {"disjoint": True},
    {"pareto": True},
    {"consenting_only": True},
    {"avoid_parties": ["p0"]},
    {"profile": "medical"},
    {"max_risk": 0.01},
    {"profile": "military_age_men", "alternatives": 2},
]
BRIEF_QUESTIONS: list[dict[str, Any]] = [
    {},
    {"disjoint": True},
    {"window": "w", "people": 500},
    {"avoid_parties": ["p1"]},
]
PLAN_QUESTIONS: list[dict[str, Any]] = [
    {"method": "fast", "window": "w"},
    {"method": "optimal", "window": "w", "rank_openings": True},
    {"method": "fast", "rank_openings": True},
    {"method": "fast", "consenting_only": True, "rank_openings": True, "window": "w"},
    {"method": "optimal", "avoid_parties": ["p0"], "rank_openings": True},
]


def render(document: Any) -> str:
    """JSON text as the API sends it (a dict as ``JSONResponse`` would; pieces joined)."""
    if isinstance(document, dict):
        return json.dumps(document, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return "".join(document)


def attempt(fn: Callable[..., Any], *args: Any) -> list[str]:
    try:
        return ["ok", render(fn(*args))]
    except ScenarioError as exc:
        return ["error", type(exc).__name__, exc.detail, json.dumps(exc.extra(), sort_keys=True)]
    except Exception as exc:  # recorded, so that a crash fixed or introduced shows
        return ["crash", type(exc).__name__]


def random_scenario(seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    n = rng.randint(6, 40)
    parties: list[dict[str, Any]] = []
    for k in range(3):
        party: dict[str, Any] = {
            "id": f"p{k}",
            "consent": rng.choice(["granted", "pending", "refused"]),
            "detention_record": rng.random() < 0.3,
        }
        if rng.random() < 0.5:
            party["name"] = f"Party é{k}"
        parties.append(party)
    located = rng.random() < 0.8
    nodes: list[dict[str, Any]] = []
    for i in range(n):
        node: dict[str, Any] = {"id": f"n{i}" if rng.random() < 0.9 else f'n"{i}\u00e9'}
        if rng.random() < 0.5:
            node["name"] = rng.choice(["Mill", 'Ford "x"', "Souk", "مدرسة"])
        if rng.random() < 0.2:
            node["name_ar"] = "مدرسة"
        node["kind"] = rng.choice(["junction", "junction", "district", "safe_zone", "crossing"])
        if located and rng.random() < 0.95:
            node["lat"] = round(36 + rng.random() * 0.05, rng.choice([3, 6, 9]))
            node["lon"] = round(37 + rng.random() * 0.05, 6)
        if rng.random() < 0.5:
            node["population"] = rng.randint(0, 3000)
        if rng.random() < 0.3:
            node["capacity"] = node.get("population", 0) + rng.randint(1, 5000)
        if rng.random() < 0.3:
            node["controlled_by"] = rng.choice(parties)["id"]
        nodes.append(node)
    edges: list[dict[str, Any]] = []
    for k in range(rng.randint(n, 3 * n)):
        a, b = rng.sample(range(n), 2)
        edge: dict[str, Any] = {"id": f"e{k}", "from": nodes[a]["id"], "to": nodes[b]["id"]}
        if rng.random() < 0.5:
            edge["length_m"] = rng.choice([100, 250.5, 1e3, 73.25])
        if "length_m" not in edge or rng.random() < 0.3:
            edge["travel_time_min"] = rng.choice([1, 2.5, 7])
        if rng.random() < 0.5:
            edge["capacity_per_min"] = rng.randint(1, 60)
        edge["status"] = rng.choice(["open"] * 5 + ["restricted", "damaged", "blocked"])
        edge["risk"] = rng.choice([0, 0.001, 5e-05, 0.02, 0.3, 1e-7])
        if rng.random() < 0.3:
            edge["controlled_by"] = rng.choice(parties)["id"]
        if rng.random() < 0.2:
            edge["checkpoint"] = rng.choice(parties)["id"]
        if rng.random() < 0.2:
            edge["vehicle_passable"] = False
        if rng.random() < 0.3:
            edge["directed"] = True
        if rng.random() < 0.3:
            edge["name"] = rng.choice(['Road "A"', "Main", "شارع"])
        edges.append(edge)
    incidents: list[dict[str, Any]] = []
    for k in range(rng.randint(0, 3)):
        incident: dict[str, Any] = {
            "id": f"i{k}",
            "kind": "shelling",
            "severity": 0.3,
            "observed_at": "2025-01-01T10:00:00+00:00",
            "half_life_h": 5,
        }
        if located and rng.random() < 0.5:
            incident.update(lat=36.02, lon=37.02, radius_m=1500)
        else:
            incident["edges"] = [rng.choice(edges)["id"]]
        incidents.append(incident)
    return {
        "schema": "safe-passage/scenario@1",
        "name": f"Random {seed}",
        "as_of": "2025-01-01T11:00:00+00:00",
        "parties": parties,
        "nodes": nodes,
        "edges": edges,
        "incidents": incidents,
        "windows": [
            {
                "id": "w",
                "start": "2025-01-01T12:00:00+00:00",
                "end": "2025-01-01T13:00:00+00:00",
                "agreed_by": [parties[0]["id"]],
            }
        ],
    }


def geojson_with_route(net: Network, a: str, b: str) -> Any:
    return scenario_geojson(net, None, None, [safest_route(net, a, b, RouteOptions())])


def imported(scenario: Any, text: str) -> dict[str, Any]:
    request = ImportRequest.model_validate({"format": "csv", "skip_bad": True})
    outcome = import_incidents(scenario, text, request)
    return {
        "report": outcome.report(),
        "added": outcome.added,
        "incidents": [i.id for i in outcome.scenario.incidents],
    }


def outputs(doc: dict[str, Any], label: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    raw = json.dumps(doc).encode()
    for form in ("objects", "columns"):
        # Parsed whole, and streamed: both read by the one collector into columns.
        scenario = validate_scenario(doc) if form == "objects" else read_large_scenario([raw])
        net = Network(scenario)
        ids = list(net.node_ids)
        rng = random.Random(label)
        pairs = [(ids[0], ids[-1])] + [tuple(rng.sample(ids, 2)) for _ in range(4)]
        for a, b in pairs:
            base = {"from": a, "to": b}
            for extra in ROUTE_QUESTIONS:
                request = RouteRequest.model_validate({**base, **extra})
                out[f"{form} route {a} {b} {extra}"] = attempt(compute_routes, net, request)
            parties = PartiesRequest.model_validate(base)
            out[f"{form} parties {a} {b}"] = attempt(compute_parties, net, parties)
            for extra in BRIEF_QUESTIONS:
                brief = BriefRequest.model_validate({**base, **extra})
                out[f"{form} brief {a} {b} {extra}"] = attempt(compute_brief, net, brief)
            out[f"{form} geojson {a} {b}"] = attempt(geojson_with_route, net, a, b)
        out[f"{form} geojson"] = attempt(scenario_geojson, net, "medical", None, [])
        for extra in PLAN_QUESTIONS:
            plan = PlanRequest.model_validate(extra)
            out[f"{form} plan {extra}"] = attempt(compute_plan, net, plan)
        rows = [
            f"x{k},{e},0.2,2025-01-01T10:00:00Z,," for k, e in enumerate(list(net.edge_ids)[:3])
        ]
        csv = "\n".join(
            [
                "id,edges,severity,observed_at,latitude,longitude",
                *rows,
                "y,nope,0.2,2025-01-01T10:00:00Z,,",
                "z,,0.1,2025-01-01T10:00:00Z,36.01,37.01",
            ]
        )
        out[f"{form} incidents"] = attempt(imported, scenario, csv)
    for key in sorted({k.split(" ", 1)[1] for k in out}):
        if out["objects " + key] != out["columns " + key]:
            print(f"the two forms differ: {label} {key}", file=sys.stderr)
    return out


def compare(before: Path, after: Path) -> int:
    old, new = json.loads(before.read_text()), json.loads(after.read_text())
    changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    kinds = Counter(" ".join(k.split(" ")[1:3]) for k in changed)
    print(f"{len(old)} documents before, {len(new)} after, {len(changed)} differ: {dict(kinds)}")
    for key in changed[:20]:
        print(f"  {key}")
    return 1 if changed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", type=Path)
    parser.add_argument("--random", type=int, default=25)
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args()
    if args.compare:
        return compare(*args.compare)
    if args.output is None:
        parser.error("give an output file, or --compare BEFORE AFTER")
    docs = {
        name: json.loads((ROOT / "graphs" / f"{name}.json").read_text(encoding="utf-8"))
        for name in ("teaching", "aleppo-2016-12")
    }
    for seed in range(args.random):
        docs[f"random{seed}"] = random_scenario(seed)
    result: dict[str, list[str]] = {}
    for label, doc in docs.items():
        for key, value in outputs(doc, label).items():
            result[f"{label} {key}"] = value
    args.output.write_text(json.dumps(result, ensure_ascii=False, indent=0, sort_keys=True))
    errors = sum(v[0] != "ok" for v in result.values())
    print(f"{len(result)} documents ({errors} errors) written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
