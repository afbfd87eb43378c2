"""Which JSON reader for large scenario documents: time and peak memory.

Run:  python3 benchmarks/json_readers.py [--sizes 100k,1M] [--runs 3] [--dir DIR]

For each size a 4-neighbour grid scenario is written as JSON (as in
``benchmarks/large_scenario.py``: 1M nodes and 2M roads are 209 MB; with ``-text``,
e.g. ``--sizes 100k-text``, every place also has an Arabic name and notes with
``:`` and ``{`` in them), then each
reader runs in a fresh process on the file read in 1 MiB chunks (as an upload
arrives): its items are counted, nothing is kept. Printed: the best wall time of
``--runs`` runs and the process's peak resident memory (the interpreter with the
imports alone is the "baseline" row). The readers:

- (``handwritten``, the reader json_stream replaced, was measured at commit e79a0a0, where
  it still existed; its figures are in ``benchmarks/README-json.md``);
- ``json_stream``: ``app.domain.scenario.json_stream.read_top_level`` (msgspec in batches of
  about 1 MB, the standard library for what msgspec refuses);
- ``ijson_coro``: ijson's C backend (yajl2_c), ``items_coro`` of ``nodes.item`` and
  of ``edges.item``, both sent every chunk (ijson follows one prefix at a time; the
  other members are not read at all: a lower bound on a complete ijson reader);
- ``ijson_file``: ``ijson.items`` over the file, once per list (two passes: the
  cheapest way to have both lists from ijson, but an upload cannot be read twice);
- ``msgspec_raw``: the whole text, top-level members as ``msgspec.Raw``, each list
  as a list of ``Raw``, each item decoded on its own;
- ``msgspec``, ``orjson``, ``json``: the whole document decoded at once.

``--collector`` also times ``read_large_scenario`` (validation into columns) over
the hand-written reader and over ``json_stream``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SIDES = {"100k": 316, "1M": 1000}
READERS = [
    "baseline",
    "json_stream",
    "ijson_coro",
    "ijson_file",
    "msgspec_raw",
    "msgspec",
    "orjson",
    "json",
]
TEXT = '"name_ar":"حلب","notes":"source: OCHA, 2024 {estimate}",'
"""Added to every place by the ``-text`` sizes: non-ASCII, ':' and '{' inside strings."""
COLLECTORS = ["collector_json_stream"]
CHUNK = 1 << 20


def chunks(path: str) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def whole(path: str) -> bytes:
    return b"".join(chunks(path))


def read(reader: str, path: str) -> int:
    """Run one reader over the document; the number of nodes and edges it gave."""
    count = 0

    def on_item(key: str, i: int, item: Any) -> None:
        nonlocal count
        count += 1

    def on_list(key: str) -> None:
        pass

    if reader == "baseline":
        import ijson
        import msgspec
        import orjson

        import app.domain.scenario.json_stream
        import app.domain.scenario.reading  # noqa: F401
    elif reader == "json_stream":
        from app.domain.scenario.json_stream import read_top_level as streamed

        streamed(chunks(path), on_item, on_list)
    elif reader == "ijson_coro":
        import ijson

        sinks = {key: ijson.sendable_list() for key in ("nodes", "edges")}
        coros = {key: ijson.items_coro(sinks[key], f"{key}.item", use_float=True) for key in sinks}
        for chunk in chunks(path):
            for key, coro in coros.items():
                coro.send(chunk)
                for item in sinks[key]:
                    on_item(key, 0, item)
                del sinks[key][:]
        for coro in coros.values():
            coro.close()
    elif reader == "ijson_file":
        import ijson

        for key in ("nodes", "edges"):
            with open(path, "rb") as f:
                for i, item in enumerate(ijson.items(f, f"{key}.item", use_float=True)):
                    on_item(key, i, item)
    elif reader == "msgspec_raw":
        import msgspec

        top = msgspec.json.decode(whole(path), type=dict[str, msgspec.Raw])
        as_raws = msgspec.json.Decoder(list[msgspec.Raw]).decode
        decode = msgspec.json.Decoder().decode
        for key in ("nodes", "edges"):
            for i, raw in enumerate(as_raws(top.pop(key))):
                on_item(key, i, decode(raw))
    else:
        loads: Callable[[bytes], Any]
        if reader == "msgspec":
            import msgspec

            loads = msgspec.json.decode
        elif reader == "orjson":
            import orjson

            loads = orjson.loads
        else:
            loads = json.loads
        doc = loads(whole(path))
        for key in ("nodes", "edges"):
            for i, item in enumerate(doc[key]):
                on_item(key, i, item)
    return count


def collect(reader: str, path: str) -> int:
    from app.domain.scenario.reading import read_large_scenario

    compact = read_large_scenario(chunks(path), max_nodes=10**7, max_edges=10**7)
    return len(compact.nodes.id) + len(compact.edges.id)


def child(reader: str, path: str) -> None:
    read("baseline", path)  # every process holds the same modules
    start = time.perf_counter()
    count = collect(reader, path) if reader.startswith("collector") else read(reader, path)
    took = time.perf_counter() - start
    status = Path("/proc/self/status").read_text()
    peak_kib = int(status.split("VmHWM:")[1].split()[0])  # this process's high-water mark
    print(json.dumps({"seconds": took, "items": count, "peak_mib": peak_kib / 1024}))


def run(reader: str, path: Path) -> tuple[float, float, int]:
    """(seconds, peak MiB, items) of one run in a fresh process."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", reader, str(path)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    out = proc.stdout.read()
    if proc.wait() != 0:
        raise SystemExit(f"{reader} failed on {path}")
    result = json.loads(out)
    return result["seconds"], result["peak_mib"], result["items"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100k,1M")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--readers", default=",".join(READERS))
    parser.add_argument("--collector", action="store_true")
    parser.add_argument("--dir", help="keep the documents here (default: a temporary directory)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    sys.path.insert(0, str(Path(__file__).parent))
    from large_scenario import write_grid

    readers = args.readers.split(",") + (COLLECTORS if args.collector else [])
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.dir or tmp)
        for size in args.sizes.split(","):
            path = folder / f"grid-{size}.json"
            if not path.exists():
                write_grid(path, SIDES[size.removesuffix("-text")])
                if size.endswith("-text"):
                    path.write_text(path.read_text().replace('"lat":', TEXT + '"lat":'))
            print(f"\n{size} nodes: {path.stat().st_size / 1e6:.0f} MB")
            print(f"| reader | best of {args.runs} (s) | peak RSS (MiB) |")
            print("|---|---|---|")
            counts = set()
            for reader in readers:
                results = [run(reader, path) for _ in range(args.runs)]
                best = min(r[0] for r in results)
                peak = max(r[1] for r in results)
                if reader != "baseline":
                    counts.add(results[0][2])
                print(f"| {reader} | {best:.2f} | {peak:.0f} |", flush=True)
            assert len(counts) == 1, f"readers disagree on the number of items: {counts}"


if __name__ == "__main__":
    main()
