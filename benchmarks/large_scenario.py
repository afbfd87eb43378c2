"""A whole city's street graph through the service: upload, store, compile, route over HTTP.

Run:  python3 benchmarks/large_scenario.py [--sizes 100k,1M] [--requests 30] [--osm]

For each size, a 4-neighbour grid scenario (like shared/PERF-ANCHORS.md: 100 m roads,
risk uniform in [0, 0.01)) is written as a JSON file, then:

1. ``safe-passage serve`` starts on 127.0.0.1 with a fresh SQLite database;
2. the file is uploaded with ``POST /v1/scenarios``, streamed (time to 201: read item
   by item into columns, validated, stored as sent plus compact columns, compiled);
3. routes corner to corner (the worst case) and between random places are asked
   over HTTP, one at a time (medians);
4. the service is restarted and the first route timed again (compiled from the
   stored columns, no JSON parsed);
5. the server's peak and current resident memory are read from /proc.

With ``--osm``, also ``safe-passage import-osm`` on a synthetic OpenStreetMap file
of the same grid (every node a junction of a residential row and a footway
column): wall time and peak memory of the command.

In the same run, in this process: ``scipy.sparse.csgraph.dijkstra`` from one
source on the same graph (the target is HTTP median ≤ 2× this), and networkx
(DiGraph from the arrays, ``dijkstra_path``) for comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import networkx as nx
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

ROOT = Path(__file__).resolve().parents[1]
SIZES = {"10k": 100, "100k": 316, "1M": 1000}


def write_grid(
    path: Path, side: int, seed: int = 0, parties: tuple[str, ...] = ()
) -> tuple[Any, Any, Any]:
    """Write the grid scenario; return its road arrays (tail, head, risk) for the baselines.

    ``parties`` are declared (consent unknown, holding nothing) so that edits may put
    places under their control."""
    rng = np.random.default_rng(seed)
    n = side * side
    idx = np.arange(n, dtype=np.int64).reshape(side, side)
    tail = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    head = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    risk = np.round(rng.random(len(tail)) * 0.01, 6)
    with path.open("w") as f:
        f.write('{"schema":"safe-passage/scenario@1","name":"Grid ' + str(n) + '",')
        if parties:
            declared = [{"id": p, "name": p, "consent": "unknown"} for p in parties]
            f.write('"parties":' + json.dumps(declared) + ",")
        f.write('"nodes":[')
        for start in range(0, n, 10_000):
            part = [
                f'{{"id":"n{i}","lat":{36 + (i // side) * 1e-3:.6f},'
                f'"lon":{37 + (i % side) * 1e-3:.6f}}}'
                for i in range(start, min(n, start + 10_000))
            ]
            f.write(("," if start else "") + ",".join(part))
        f.write('],"edges":[')
        for start in range(0, len(tail), 10_000):
            part = [
                f'{{"id":"e{k}","from":"n{tail[k]}","to":"n{head[k]}","length_m":100,'
                f'"risk":{float(risk[k])!r}}}'
                for k in range(start, min(len(tail), start + 10_000))
            ]
            f.write(("," if start else "") + ",".join(part))
        f.write("]}")
    return tail, head, risk


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    """``safe-passage serve`` in a child process on a private data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.env = {
            **os.environ,
            "SAFE_PASSAGE_DATA_DIR": str(data_dir),
            "SAFE_PASSAGE_LOG_JSON": "false",
        }
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "app.cli", *args], env=self.env, cwd=ROOT,
            capture_output=True, check=True,
        )  # fmt: skip
        return out.stdout.decode().strip()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port)],
            env=self.env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("the service did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=60)
            self.proc = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def memory_mib(self) -> dict[str, float]:
        assert self.proc is not None
        out = {}
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                out[key] = int(value.split()[0]) / 1024
        return out


def chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while piece := f.read(1 << 20):
            yield piece


def median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1000


def routes(client: httpx.Client, sid: str, pairs: list[tuple[str, str]]) -> list[float]:
    times = []
    for a, b in pairs:
        start = time.perf_counter()
        r = client.post(f"/v1/scenarios/{sid}/routes", json={"from": a, "to": b})
        times.append(time.perf_counter() - start)
        assert r.status_code == 200, r.text
    return times


def bench(label: str, side: int, requests: int, work: Path) -> dict[str, Any]:
    n = side * side
    print(f"\n## {label}: {n:,} nodes", flush=True)
    path = work / f"grid-{label}.json"
    start = time.perf_counter()
    tail, head, risk = write_grid(path, side)
    took = time.perf_counter() - start
    print(f"wrote {path.stat().st_size / 2**20:,.0f} MiB of JSON in {took:.1f} s", flush=True)
    out: dict[str, Any] = {"nodes": n, "roads": len(tail), "json_mib": path.stat().st_size / 2**20}

    data_dir = work / f"data-{label}"
    server = Server(data_dir)
    token = server.cli("token", "create", "--role", "planner", "--name", "bench")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    server.start()
    rng = random.Random(1)
    corner = [("n0", f"n{n - 1}")] * requests
    random_pairs = [(f"n{rng.randrange(n)}", f"n{rng.randrange(n)}") for _ in range(requests)]
    centre = (side // 2) * side + side // 2
    short = [(f"n{centre}", f"n{centre + 20 * side + 20}")] * requests
    try:
        with httpx.Client(base_url=server.url, headers=headers, timeout=600) as client:
            start = time.perf_counter()
            created = client.post("/v1/scenarios", content=chunks(path))
            out["upload_s"] = time.perf_counter() - start
            assert created.status_code == 201, created.text
            sid = created.json()["id"]
            out["after_upload"] = server.memory_mib()
            start = time.perf_counter()
            routes(client, sid, corner[:1])
            out["first_route_s"] = time.perf_counter() - start
            out["corner_ms"] = median_ms(routes(client, sid, corner))
            out["random_ms"] = median_ms(routes(client, sid, random_pairs))
            out["short_ms"] = median_ms(routes(client, sid, short))
            out["memory"] = server.memory_mib()
        server.stop()
        server.start()
        with httpx.Client(base_url=server.url, headers=headers, timeout=600) as client:
            start = time.perf_counter()
            routes(client, sid, corner[:1])
            out["restart_first_route_s"] = time.perf_counter() - start
            start = time.perf_counter()
            got = client.get(f"/v1/scenarios/{sid}")
            out["download_s"] = time.perf_counter() - start
            assert got.status_code == 200 and len(got.content) == path.stat().st_size
            out["restart_memory"] = server.memory_mib()
    finally:
        server.stop()

    # Baselines in this process, on the same graph.
    weight = np.rint(-np.log1p(-risk) * 1e9)
    t2, h2, w2 = np.r_[tail, head], np.r_[head, tail], np.r_[weight, weight]
    graph = csr_matrix((w2, (t2, h2)), shape=(n, n))
    times = []
    for _ in range(max(5, requests // 3)):
        start = time.perf_counter()
        dijkstra(graph, indices=0, return_predecessors=True)
        times.append(time.perf_counter() - start)
    out["scipy_ms"] = median_ms(times)
    start = time.perf_counter()
    digraph = nx.DiGraph()
    digraph.add_nodes_from(range(n))
    digraph.add_weighted_edges_from(zip(t2.tolist(), h2.tolist(), w2.tolist(), strict=True))
    out["networkx_build_s"] = time.perf_counter() - start
    start = time.perf_counter()
    nx.dijkstra_path(digraph, 0, n - 1)
    out["networkx_route_s"] = time.perf_counter() - start
    report(label, out)
    path.unlink()
    return out


def osm_import(label: str, side: int, work: Path) -> dict[str, Any]:
    """Time ``safe-passage import-osm`` on a synthetic grid city as an .osm.pbf file."""
    import resource

    import osmium

    n = side * side
    pbf = work / f"grid-{label}.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        for i in range(n):
            lat, lon = 36 + (i // side) * 1e-3, 37 + (i % side) * 1e-3
            writer.add_node(osmium.osm.mutable.Node(id=i + 1, location=(lon, lat)))
        for r in range(side):
            row = [r * side + c + 1 for c in range(side)]
            tags = {"highway": "residential", "name": f"Row {r}"}
            writer.add_way(osmium.osm.mutable.Way(id=r + 1, nodes=row, tags=tags))
        for c in range(side):
            column = [r * side + c + 1 for r in range(side)]
            tags = {"highway": "footway"}
            writer.add_way(osmium.osm.mutable.Way(id=side + c + 1, nodes=column, tags=tags))
    out = work / f"grid-{label}.osm.json"
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "app.cli", "import-osm", str(pbf), "-o", str(out), "--json"],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    took = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    result = {
        "nodes": n,
        "import_s": took,
        "peak_mib": peak,
        "json_mib": out.stat().st_size / 2**20,
    }
    print(
        f"\n{label} import-osm: {n:,} OSM nodes in {took:.1f} s, peak {peak:,.0f} MiB "
        f"(largest child so far), {result['json_mib']:,.0f} MiB of scenario JSON",
        flush=True,
    )
    pbf.unlink()
    out.unlink()
    return result


def report(label: str, r: dict[str, Any]) -> None:
    print("| what | figure |\n|---|---|")
    rows = [
        ("scenario JSON", f"{r['json_mib']:,.0f} MiB, {r['nodes']:,} nodes, {r['roads']:,} roads"),
        ("upload → 201 (stream, validate, store, compile)", f"{r['upload_s']:.1f} s"),
        ("first route after upload", f"{r['first_route_s'] * 1000:,.0f} ms"),
        ("first route after a restart (from stored columns)",
         f"{r['restart_first_route_s']:.2f} s"),
        ("route over HTTP, corner to corner (median)", f"{r['corner_ms']:,.1f} ms"),
        ("scipy dijkstra in-process, one source (median)", f"{r['scipy_ms']:,.1f} ms"),
        ("**ratio HTTP corner route / scipy**", f"**{r['corner_ms'] / r['scipy_ms']:.2f}**"),
        ("route over HTTP, random places (median)", f"{r['random_ms']:,.1f} ms"),
        ("route over HTTP, ~40 roads (median)", f"{r['short_ms']:,.1f} ms"),
        ("GET the whole document (streamed)", f"{r['download_s']:.1f} s"),
        ("server memory peak / now (upload + routes)",
         f"{r['memory']['VmHWM']:,.0f} / {r['memory']['VmRSS']:,.0f} MiB"),
        ("server memory peak after restart + route", f"{r['restart_memory']['VmHWM']:,.0f} MiB"),
        ("networkx: DiGraph from arrays / dijkstra_path corner",
         f"{r['networkx_build_s']:.1f} s / {r['networkx_route_s']:.2f} s"),
    ]  # fmt: skip
    for what, figure in rows:
        print(f"| {what} | {figure} |")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100k,1M")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--osm", action="store_true", help="Also time import-osm.")
    parser.add_argument("--json", help="Also write the figures to this file.")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label in args.sizes.split(","):
            if args.osm:
                results[f"osm-{label}"] = osm_import(label, SIZES[label], Path(tmp))
            else:
                results[label] = bench(label, SIZES[label], args.requests, Path(tmp))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
