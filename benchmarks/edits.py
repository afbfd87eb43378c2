"""Edits at city scale: one edit plus the next route against a full PUT, and what edits add
to the store.

    python3 benchmarks/edits.py [--sides 316,1000] [--edits 10]

For each square street grid (``side`` × ``side`` places, from ``tests/grid_scenario.py``),
in one process on an embedded SQLite store (the service's catalog, no HTTP):

- *put*: replacing the stored scenario with its whole document (``PUT``), including
  compiling the new version, as the service does;
- *edit + route*: one ``set_road`` edit (a road closed, with a reason) stored as a new
  version, then the next corner-to-corner route on it;
- *store growth*: bytes the store's file grows by for ``--edits`` single-road edits, against
  the document's size.

Figures are wall-clock seconds, medians of ``--runs``; the machine is shared, so compare
rows of one run.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import Settings
from app.domain.routes.engine import RouteOptions, safest_route
from app.services.access import SYSTEM
from app.services.catalog import Catalog
from app.storage.db import make_engine, upgrade
from app.storage.repository import Repository
from tests.grid_scenario import grid_scenario


def timed(work: object) -> float:
    started = time.perf_counter()
    work()  # type: ignore[operator]
    return time.perf_counter() - started


def case(side: int, edits: int, runs: int) -> dict[str, object]:
    document = grid_scenario(side, side * side * 5)
    raw = json.dumps(document).encode()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "store.sqlite3"
        settings = Settings(
            database_url=f"sqlite:///{db}",
            max_body_bytes=2**31,
            max_scenario_bytes=2**33,
        )
        engine = make_engine(settings.database_url)
        upgrade(engine)
        catalog = Catalog(Repository(engine), settings)
        created = catalog.create(raw, SYSTEM, fmt="json", scenario_id="grid")
        version = created.version
        roads = [e["id"] for e in document["edges"]]
        corner = (f"g0-{side // 3}", f"g{side - 1}-{2 * side // 3}")

        put_times = []
        for _ in range(runs):
            gc.collect()
            put_times.append(timed(lambda: catalog.replace("grid", raw, None, SYSTEM, fmt="json")))
        version = catalog.version_info("grid").version

        edit_times, route_times = [], []
        for k in range(runs):
            body = [{"op": "set_road", "road": roads[7 * k + 1], "status": "blocked"}]
            gc.collect()
            started = time.perf_counter()
            info = catalog.edit("grid", version, body, "benchmark", SYSTEM)
            edited = time.perf_counter()
            _, network = catalog.network("grid", info.version)
            safest_route(network, *corner, RouteOptions())
            edit_times.append(edited - started)
            route_times.append(time.perf_counter() - edited)
            version = info.version

        engine.dispose()
        before = db.stat().st_size + _wal(db)
        engine = make_engine(settings.database_url)
        catalog = Catalog(Repository(engine), settings)
        for k in range(edits):
            body = [{"op": "set_road", "road": roads[11 * k + 3], "status": "damaged"}]
            version = catalog.edit("grid", version, body, f"edit {k}", SYSTEM).version
        engine.dispose()
        growth = db.stat().st_size + _wal(db) - before
    put = statistics.median(put_times)
    edit = statistics.median(edit_times)
    route = statistics.median(route_times)
    return {
        "places": side * side,
        "roads": len(roads),
        "document_mb": round(len(raw) / 1e6, 1),
        "put_s": round(put, 3),
        "edit_s": round(edit, 3),
        "next_route_s": round(route, 3),
        "edit_plus_route_over_put": round((edit + route) / put, 3),
        f"store_growth_{edits}_edits_kb": round(growth / 1024, 1),
    }


def _wal(db: Path) -> int:
    wal = Path(str(db) + "-wal")
    return wal.stat().st_size if wal.exists() else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sides", default="316,1000")
    parser.add_argument("--edits", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for side in (int(s) for s in args.sides.split(",")):
        print(json.dumps(case(side, args.edits, args.runs)), flush=True)
    print(f"# {os.cpu_count()} cores", file=sys.stderr)


if __name__ == "__main__":
    main()
