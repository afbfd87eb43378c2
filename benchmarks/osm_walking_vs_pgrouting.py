"""Walking routes on an ``import-osm`` network against osm2pgrouting + pgRouting on the same file.

For random pairs of street junctions, the walking route of safest-passage (``general``
profile, no risks set: the quickest walk) is compared with pgRouting's shortest path
(``pgr_dijkstra``, undirected, cost = length) on an osm2pgrouting import of the same
OSM file. A route "differs" when safest-passage finds none where pgRouting does, or
when it is more than 1 % (and 1 m) longer. Differences that remain are by design:
safest-passage does not walk through ``access=no``/``foot=no`` ways without consent,
walks steps slower than level ground, and does not import ``highway=trail``.

The ``network_*`` counts compare the imported network itself: the shortest path by
length over every imported road, whatever its status, against pgRouting's.

Setup (Debian 12; PostgreSQL 15 on 127.0.0.1:5432)::

    apt-get install postgresql-15-pgrouting postgresql-15-postgis-3 osm2pgrouting osmium-tool
    osmium cat helsinki.osm.pbf -o /tmp/helsinki.osm
    createdb -h 127.0.0.1 -U postgres osm_walk
    psql -h 127.0.0.1 -U postgres -d osm_walk \\
        -c 'CREATE EXTENSION postgis; CREATE EXTENSION pgrouting;'
    osm2pgrouting -f /tmp/helsinki.osm -c /usr/share/osm2pgrouting/mapconfig.xml \\
        -d osm_walk -U postgres -h 127.0.0.1 --clean

Run (from the checkout whose importer is measured)::

    PYTHONPATH=. python3 benchmarks/osm_walking_vs_pgrouting.py \\
        ../shared/data/osm/helsinki.osm.pbf --db osm_walk --pairs 300

Data © OpenStreetMap contributors, ODbL 1.0.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any


def junctions_outside_areas(path: Path) -> set[int]:
    """OSM ids of nodes on highway ways that are not areas (both importers keep these)."""
    import osmium

    from app.domain.formats.osm import ROAD_CLASSES

    found: set[int] = set()
    for way in osmium.FileProcessor(str(path)).with_filter(osmium.filter.KeyFilter("highway")):
        if not isinstance(way, osmium.osm.Way):
            continue
        tags = {t.k: t.v for t in way.tags}
        if tags.get("highway") in ROAD_CLASSES and tags.get("area") not in ("yes", "1", "true"):
            found.update(n.ref for n in way.nodes)
    return found


def classify(ours: float | None, theirs: float | None) -> str:
    if theirs is None:
        return "pgrouting_none"
    if ours is None:
        return "missing"
    if ours > theirs * 1.01 + 1.0:
        return "longer"
    if ours < theirs * 0.99 - 1.0:
        return "shorter"
    return "same"


def shortest_lengths(doc: dict[str, Any], pairs: list[tuple[int, int]]) -> list[float | None]:
    """Shortest path length over every road of ``doc`` (undirected, any status), metres."""
    import numpy as np
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import dijkstra

    index = {n["id"]: i for i, n in enumerate(doc["nodes"])}
    tail = np.array([index[e["from"]] for e in doc["edges"]])
    head = np.array([index[e["to"]] for e in doc["edges"]])
    weight = np.array([e["length_m"] for e in doc["edges"]])
    n = len(index)
    graph = coo_matrix((weight, (tail, head)), shape=(n, n)).tocsr()
    sources = sorted({index[f"n{a}"] for a, _ in pairs})
    where = {s: k for k, s in enumerate(sources)}
    table = dijkstra(graph, directed=False, indices=sources)
    found: list[float | None] = []
    for a, b in pairs:
        d = float(table[where[index[f"n{a}"]], index[f"n{b}"]])
        found.append(None if np.isinf(d) else d)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("osm", type=Path)
    parser.add_argument("--db", required=True, help="database holding the osm2pgrouting import")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()

    import psycopg

    from app.domain.errors import ScenarioError
    from app.domain.network.graph import Network
    from app.domain.routes.engine import safest_route
    from app.domain.scenario.reading import validate_scenario
    from app.services.osm_import import ImportOptions, import_osm

    conn = psycopg.connect(host=args.host, user=args.user, dbname=args.db, autocommit=True)
    vertex = dict(conn.execute("SELECT osm_id, id FROM ways_vertices_pgr").fetchall())
    candidates = sorted(set(vertex) & junctions_outside_areas(args.osm))
    rng = random.Random(args.seed)
    pairs = [tuple(rng.sample(candidates, 2)) for _ in range(args.pairs)]

    doc = import_osm(args.osm, ImportOptions(max_deviation_m=None)).document()
    length = {e["id"]: e["length_m"] for e in doc["edges"]}
    network = Network(validate_scenario(doc))
    kinds = ("same", "longer", "missing", "shorter", "pgrouting_none")
    counts = dict.fromkeys(kinds, 0)
    network_counts = dict.fromkeys(kinds, 0)
    for (a, b), shortest in zip(pairs, shortest_lengths(doc, pairs), strict=True):
        row = conn.execute(
            "SELECT sum(cost) FROM pgr_dijkstra("
            "'SELECT gid AS id, source, target, length_m AS cost FROM ways', %s, %s, "
            "directed := false)",
            (vertex[a], vertex[b]),
        ).fetchone()
        theirs = None if row is None or row[0] is None else float(row[0])
        try:
            route = safest_route(network, f"n{a}", f"n{b}")
            ours: float | None = sum(length[e] for e in route.edge_ids)
        except ScenarioError:
            ours = None
        counts[classify(ours, theirs)] += 1
        network_counts[classify(shortest, theirs)] += 1
    result: dict[str, Any] = {"file": args.osm.name, "pairs": len(pairs), **counts}
    result["differ"] = counts["longer"] + counts["missing"]
    result.update({f"network_{k}": v for k, v in network_counts.items()})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
