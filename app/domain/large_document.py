"""Read and validate a large JSON scenario piece by piece, straight into columns.

A 1M-node document is a few hundred megabytes of JSON; parsed whole it would be
several gigabytes of Python objects. Here the top-level object is read from a
stream of byte chunks; ``nodes`` and ``edges`` are decoded one item at a time
and go into :class:`~app.domain.compact.CompactScenario` columns in batches,
so memory stays near the size of the columns.

Validation reports exactly what :func:`~app.domain.validation.validate_scenario`
would, at the same pointers: items of the expected shape are checked by columns
(types, ranges, duplicate and unknown ids, party references), and any item that
is not goes through the same pydantic model on its own.
"""

from __future__ import annotations

import codecs
import json
import math
import re
from array import array
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from app.domain.compact import (
    NODE_KINDS,
    ROAD_STATUSES,
    CompactScenario,
    EdgeColumns,
    IdIndex,
    Ids,
    NodeColumns,
    Texts,
)
from app.domain.document import MAX_DEPTH, nesting_depth
from app.domain.errors import Problem, ValidationError, pointer
from app.domain.scenario import Edge, Node, Scenario
from app.domain.validation import (
    MAX_EDGES,
    MAX_NODES,
    edge_reference_problems,
    item_problems,
    node_reference_problems,
    party_problem,
    reference_problems,
)

CHUNK_CHARS = 1 << 20
BATCH = 65_536
WHITESPACE = re.compile(r"[ \t\n\r]*")

NODE_KEYS = frozenset(f.alias or name for name, f in Node.model_fields.items())
EDGE_KEYS = frozenset(f.alias or name for name, f in Edge.model_fields.items())
NODE_TEXTS = ("name", "name_ar", "population_source", "notes")
EDGE_TEXTS = ("name", "risk_source", "notes")
KIND_CODE = {k: i for i, k in enumerate(NODE_KINDS)}
STATUS_CODE = {s: i for i, s in enumerate(ROAD_STATUSES)}
MAX_TEXT, MAX_ID = 10_000, 200
BIG = 2**62
"""Whole numbers beyond this (valid, if absurd) are kept as this in the columns."""


class _Unreadable(Exception):
    pass


class _Reader:
    """The document's text from byte chunks, with JSON values decoded at a cursor."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self.chunks = iter(chunks)
        self.decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self.json = json.JSONDecoder()
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.lines_before = 0  # newlines in the text already dropped
        self.line_start = 0  # buffer offset where the current line starts (may be < 0)
        self.started = False

    def fill(self, need: int = CHUNK_CHARS) -> None:
        """Make at least ``need`` characters available after the cursor, unless at the end."""
        while not self.eof and len(self.buf) - self.pos < need:
            chunk = next(self.chunks, None)
            try:
                text = self.decoder.decode(chunk or b"", final=chunk is None)
            except UnicodeDecodeError as exc:
                raise _Unreadable(f"the document is not valid UTF-8 ({exc.reason})") from None
            if chunk is None:
                self.eof = True
            if not self.started and text:
                self.started = True
                text = text.removeprefix("\ufeff")
            dropped = self.buf[: self.pos]
            newlines = dropped.count("\n")
            self.lines_before += newlines
            if newlines:
                self.line_start = dropped.rfind("\n") + 1 - self.pos
            else:
                self.line_start -= self.pos
            self.buf = self.buf[self.pos :] + text
            self.pos = 0

    def where(self, pos: int) -> str:
        line = self.lines_before + self.buf.count("\n", 0, pos) + 1
        last = self.buf.rfind("\n", 0, pos)
        column = pos - (last + 1 if last >= 0 else self.line_start) + 1
        return f"line {line}, column {column}"

    def error(self, message: str, pos: int | None = None) -> _Unreadable:
        return _Unreadable(
            f"not valid JSON: {message} at {self.where(self.pos if pos is None else pos)}"
        )

    def skip_ws(self) -> None:
        while True:
            self.pos = WHITESPACE.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf) or self.eof:
                return
            self.fill()

    def peek(self) -> str:
        self.skip_ws()
        return self.buf[self.pos] if self.pos < len(self.buf) else ""

    def expect(self, char: str, what: str) -> None:
        if self.peek() != char:
            raise self.error(f"Expecting {what}")
        self.pos += 1

    def value(self) -> Any:
        self.skip_ws()
        need = CHUNK_CHARS
        while True:
            self.fill(need)
            try:
                obj, end = self.json.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if not self.eof:
                    need *= 2  # the value runs past the buffer: read more and try again
                    continue
                raise self.error(exc.msg, exc.pos) from None
            except RecursionError:
                raise _Unreadable(
                    f"the document is nested deeper than {MAX_DEPTH} levels"
                ) from None
            except ValueError as exc:  # e.g. an integer of more than 4300 digits
                raise _Unreadable(f"not valid JSON: {exc}") from None
            if end == len(self.buf) and not self.eof:
                need *= 2  # a number may go on in the next chunk
                continue
            self.pos = end
            return obj

    def at_end(self) -> bool:
        self.skip_ws()
        return self.pos >= len(self.buf) and self.eof


def _depth_check(value: Any, levels_above: int) -> None:
    if nesting_depth(value) + levels_above > MAX_DEPTH:
        # As parse_document says: the depth where the limit is first passed.
        depth = MAX_DEPTH + 1
        raise _Unreadable(f"the document is nested {depth} levels deep; the limit is {MAX_DEPTH}")


def read_top_level(
    chunks: Iterable[bytes],
    on_item: Callable[[str, int, Any], None],
    on_list: Callable[[str], None],
) -> dict[str, Any]:
    """Read the top-level object; stream ``nodes``/``edges`` items to ``on_item(key, i, item)``.

    Returns every other member. ``on_list(key)`` is called when such a list starts
    (again, if the key repeats: the last one wins, as in ``json.loads``).
    """
    reader = _Reader(chunks)
    reader.fill()
    if reader.at_end():
        raise _Unreadable("the document is empty")
    if reader.peek() != "{":
        value = reader.value()
        return {"": value}  # not an object: reported by the caller
    reader.pos += 1
    header: dict[str, Any] = {}
    first = True
    while True:
        char = reader.peek()
        if char == "}" and first:
            reader.pos += 1
            break
        if char != '"':
            raise reader.error("Expecting property name enclosed in double quotes")
        key = reader.value()
        reader.expect(":", "':' delimiter")
        if key in ("nodes", "edges") and reader.peek() == "[":
            reader.pos += 1
            header.pop(key, None)
            on_list(key)
            i = 0
            if reader.peek() == "]":
                reader.pos += 1
            else:
                while True:
                    item = reader.value()
                    _depth_check(item, 2)
                    on_item(key, i, item)
                    i += 1
                    char = reader.peek()
                    reader.pos += 1
                    if char == "]":
                        break
                    if char != ",":
                        raise reader.error("Expecting ',' delimiter", reader.pos - 1)
        else:
            value = reader.value()
            _depth_check(value, 1)
            header[key] = value
        first = False
        char = reader.peek()
        reader.pos += 1
        if char == "}":
            break
        if char != ",":
            raise reader.error("Expecting ',' delimiter", reader.pos - 1)
    if not reader.at_end():
        raise reader.error("Extra data")
    return header


# Columns -------------------------------------------------------------------------


def _is_num(v: Any) -> bool:
    return (type(v) is float and math.isfinite(v)) or type(v) is int


def _is_text(v: Any, longest: int = MAX_TEXT) -> bool:
    return type(v) is str and len(v) <= longest


def _is_id(v: Any) -> bool:
    return type(v) is str and 1 <= len(v) <= MAX_ID


class _Columns:
    """Values of one list (nodes or edges), gathered in batches."""

    def __init__(self, texts: tuple[str, ...]) -> None:
        self.texts = texts
        self.ids: list[Ids] = []
        self.batch_ids: list[str] = []
        self.text_values: dict[str, list[str | None]] = {k: [] for k in texts}
        self.count = 0
        self.bad: dict[int, Any] = {}
        """Items that failed the quick checks (kept raw, for the per-item checks)."""

    def flush_ids(self) -> None:
        if self.batch_ids:
            self.ids.append(Ids.from_strings(self.batch_ids))
            self.batch_ids = []

    def all_ids(self) -> Ids:
        self.flush_ids()
        if not self.ids:
            return Ids(np.zeros(0, dtype="S1"))
        if all(i.is_bytes for i in self.ids):
            return Ids(np.concatenate([i.raw for i in self.ids]))
        return Ids(np.array([v for part in self.ids for v in part], dtype=object))


class _Collector:
    """Receives items from :func:`read_top_level` and builds columns, noting problems."""

    def __init__(self, max_nodes: int, max_edges: int) -> None:
        self.limits = {"nodes": max_nodes, "edges": max_edges}
        self.problems: list[Problem] = []
        self.seen: dict[str, int] = {"nodes": 0, "edges": 0}
        self.listed: set[str] = set()
        self.reset("nodes")
        self.reset("edges")
        self.listed.clear()  # only lists met in the document count

    def reset(self, key: str) -> None:
        self.seen[key] = 0
        self.listed.add(key)
        self.problems = [p for p in self.problems if not p.pointer.startswith(f"/{key}/")]
        if key == "nodes":
            self.nodes = _Columns((*NODE_TEXTS, "controlled_by"))
            self.n_kind = array("b")
            self.n_lat, self.n_lon = array("d"), array("d")
            self.n_pop, self.n_cap = array("q"), array("q")
        else:
            self.edges = _Columns((*EDGE_TEXTS, "controlled_by", "checkpoint"))
            self.e_from: list[str] = []
            self.e_to: list[str] = []
            self.e_from_ids: list[Ids] = []
            self.e_to_ids: list[Ids] = []
            self.e_directed, self.e_vehicle = array("b"), array("b")
            self.e_length, self.e_time, self.e_risk = array("d"), array("d"), array("d")
            self.e_cap = array("q")
            self.e_status = array("b")

    def item(self, key: str, i: int, item: Any) -> None:
        self.seen[key] += 1
        if self.seen[key] > self.limits[key]:
            return  # counted for the size problem; not kept
        if key == "nodes":
            self._node(i, item)
        else:
            self._edge(i, item)

    # Nodes -------------------------------------------------------------------------

    def _node(self, i: int, item: Any) -> None:
        cols = self.nodes
        ok = type(item) is dict and item.keys() <= NODE_KEYS and _is_id(item.get("id"))
        if ok:
            kind, lat, lon = item.get("kind", "junction"), item.get("lat"), item.get("lon")
            pop, cap = item.get("population", 0), item.get("capacity")
            ok = (
                kind in KIND_CODE
                and (lat is None or (_is_num(lat) and -90.0 <= lat <= 90.0))
                and (lon is None or (_is_num(lon) and -180.0 <= lon <= 180.0))
                and type(pop) is int
                and pop >= 0
                and (cap is None or (type(cap) is int and cap > 0))
                and all(item.get(k) is None or _is_text(item[k]) for k in NODE_TEXTS)
                and (item.get("controlled_by") is None or _is_id(item["controlled_by"]))
            )
        values = item
        if not ok:
            model, problems = item_problems(Node, item, ("nodes", i))
            self.problems.extend(problems)
            self.nodes.bad[i] = item
            values = model.model_dump(by_alias=True) if model is not None else {}
        cols.batch_ids.append(_ident(item, values, i))
        for k in cols.texts:
            cols.text_values[k].append(values.get(k))
        self.n_kind.append(KIND_CODE.get(values.get("kind", "junction"), 1))
        lat, lon = values.get("lat"), values.get("lon")
        self.n_lat.append(math.nan if lat is None else float(lat))
        self.n_lon.append(math.nan if lon is None else float(lon))
        self.n_pop.append(min(int(values.get("population") or 0), BIG))
        self.n_cap.append(min(int(values.get("capacity") or 0), BIG))
        cols.count += 1
        if len(cols.batch_ids) >= BATCH:
            cols.flush_ids()

    # Edges -------------------------------------------------------------------------

    def _edge(self, i: int, item: Any) -> None:
        cols = self.edges
        ok = (
            type(item) is dict
            and item.keys() <= EDGE_KEYS
            and _is_id(item.get("id"))
            and _is_id(item.get("from"))
            and _is_id(item.get("to"))
        )
        if ok:
            length, time = item.get("length_m"), item.get("travel_time_min")
            cap, risk = item.get("capacity_per_min"), item.get("risk", 0.0)
            ok = (
                (length is None or (_is_num(length) and length > 0))
                and (time is None or (_is_num(time) and time > 0))
                and (cap is None or (type(cap) is int and cap > 0))
                and _is_num(risk)
                and 0.0 <= risk < 1.0
                and type(item.get("directed", False)) is bool
                and type(item.get("vehicle_passable", True)) is bool
                and item.get("status", "open") in STATUS_CODE
                and all(item.get(k) is None or _is_text(item[k]) for k in EDGE_TEXTS)
                and all(
                    item.get(k) is None or _is_id(item[k]) for k in ("controlled_by", "checkpoint")
                )
            )
        values = item
        if not ok:
            model, problems = item_problems(Edge, item, ("edges", i))
            self.problems.extend(problems)
            cols.bad[i] = item
            values = model.model_dump(by_alias=True) if model is not None else {}
        cols.batch_ids.append(_ident(item, values, i))
        for side, column in (("from", self.e_from), ("to", self.e_to)):
            end = values.get(side, item.get(side) if type(item) is dict else None)
            column.append(end if isinstance(end, str) else "\x00-")
        for k in cols.texts:
            cols.text_values[k].append(values.get(k))
        self.e_directed.append(bool(values.get("directed", False)))
        self.e_vehicle.append(bool(values.get("vehicle_passable", True)))
        length, time = values.get("length_m"), values.get("travel_time_min")
        self.e_length.append(math.nan if length is None else float(length))
        self.e_time.append(math.nan if time is None else float(time))
        self.e_risk.append(float(values.get("risk") or 0.0))
        self.e_cap.append(min(int(values.get("capacity_per_min") or 0), BIG))
        self.e_status.append(STATUS_CODE.get(values.get("status", "open"), 0))
        cols.count += 1
        if len(cols.batch_ids) >= BATCH:
            cols.flush_ids()
            self._flush_ends()

    def _flush_ends(self) -> None:
        if self.e_from:
            self.e_from_ids.append(Ids.from_strings(self.e_from))
            self.e_to_ids.append(Ids.from_strings(self.e_to))
            self.e_from, self.e_to = [], []

    def ends(self) -> tuple[Ids, Ids]:
        self._flush_ends()

        def join(parts: list[Ids]) -> Ids:
            if not parts:
                return Ids(np.zeros(0, dtype="S1"))
            if all(p.is_bytes for p in parts):
                return Ids(np.concatenate([p.raw for p in parts]))
            return Ids(np.array([v for p in parts for v in p], dtype=object))

        return join(self.e_from_ids), join(self.e_to_ids)


def _ident(item: Any, values: dict[str, Any], i: int) -> str:
    """The id to index an item by: its own if it has a string one (even an invalid one,
    so duplicates are still found), else a placeholder no document id starts with."""
    ident = values.get("id")
    if not isinstance(ident, str) and type(item) is dict:
        ident = item.get("id")
    return ident if isinstance(ident, str) else f"\x00{i}"


def _texts(cols: _Columns) -> dict[str, Texts]:
    return {k: Texts.from_values(v) for k, v in cols.text_values.items()}


def read_large_scenario(
    chunks: Iterable[bytes], *, max_nodes: int = MAX_NODES, max_edges: int = MAX_EDGES
) -> CompactScenario:
    """Parse and validate a JSON scenario from byte chunks into columns.

    Raises :class:`ValidationError` with every problem (same pointers and texts
    as :func:`~app.domain.validation.validate_scenario`).
    """
    collector = _Collector(max_nodes, max_edges)
    try:
        header = read_top_level(chunks, collector.item, collector.reset)
    except _Unreadable as exc:
        raise ValidationError([Problem("", str(exc))], detail=str(exc)) from None
    if "" in header:
        raise ValidationError([Problem("", "a scenario document must be a JSON object")])
    size = [
        Problem(pointer(key), f"{collector.seen[key]} {key}; the limit is {collector.limits[key]}")
        for key in ("nodes", "edges")
        if collector.seen[key] > collector.limits[key]
    ]
    if size:
        raise ValidationError(size)
    return _assemble(header, collector)


def _assemble(header_data: dict[str, Any], c: _Collector) -> CompactScenario:
    problems = list(c.problems)
    listed = {k: k in c.listed and k not in header_data for k in ("nodes", "edges")}
    head = dict(header_data)
    for key in ("nodes", "edges"):
        if listed[key]:
            head[key] = []
    header, head_problems = item_problems(Scenario, head, ())
    problems.extend(head_problems)

    node_ids = c.nodes.all_ids()
    edge_ids = c.edges.all_ids()
    node_texts, edge_texts = _texts(c.nodes), _texts(c.edges)
    parties_data = header_data.get("parties", [])
    party_ids: set[str] | None = None
    if isinstance(parties_data, list):
        party_ids = {
            p["id"] for p in parties_data if isinstance(p, dict) and isinstance(p.get("id"), str)
        }

    # Duplicate ids (bad items with no usable id hold a placeholder starting with NUL).
    for key, ids in (("nodes", node_ids), ("edges", edge_ids)):
        for k, first in ids.duplicates():
            ident = ids[k]
            if not ident.startswith("\x00"):
                problems.append(
                    Problem(
                        pointer(key, k, "id"),
                        f"duplicate id {ident!r} (first used at {pointer(key, first)})",
                    )
                )
    if listed["nodes"] and c.nodes.count == 0:
        problems.append(Problem("/nodes", "a scenario needs at least one node"))

    nodes = NodeColumns(
        id=node_ids,
        name=node_texts["name"],
        name_ar=node_texts["name_ar"],
        kind=np.frombuffer(c.n_kind, dtype=np.int8).copy() if c.n_kind else np.zeros(0, np.int8),
        lat=np.array(c.n_lat, dtype=np.float64),
        lon=np.array(c.n_lon, dtype=np.float64),
        population=np.array(c.n_pop, dtype=np.int64),
        population_source=node_texts["population_source"],
        capacity=np.array(c.n_cap, dtype=np.int64),
        controlled_by=node_texts["controlled_by"],
        notes=node_texts["notes"],
    )
    problems.extend(_node_problems(nodes, c.nodes.bad, party_ids))

    from_ids, to_ids = c.ends()
    tail, head_pos = node_ids.positions(from_ids), node_ids.positions(to_ids)
    edges = EdgeColumns(
        id=edge_ids,
        tail=tail,
        head=head_pos,
        name=edge_texts["name"],
        directed=np.array(c.e_directed, dtype=bool),
        length_m=np.array(c.e_length, dtype=np.float64),
        travel_time_min=np.array(c.e_time, dtype=np.float64),
        capacity_per_min=np.array(c.e_cap, dtype=np.int64),
        status=np.array(c.e_status, dtype=np.int8),
        risk=np.array(c.e_risk, dtype=np.float64),
        risk_source=edge_texts["risk_source"],
        controlled_by=edge_texts["controlled_by"],
        checkpoint=edge_texts["checkpoint"],
        vehicle_passable=np.array(c.e_vehicle, dtype=bool),
        notes=edge_texts["notes"],
    )
    known_nodes = IdIndex(node_ids) if listed["nodes"] else None
    problems.extend(_edge_problems(edges, c.edges.bad, from_ids, to_ids, known_nodes, party_ids))
    problems.extend(
        reference_problems(
            {k: v for k, v in header_data.items() if k not in ("nodes", "edges")},
            known={"nodes": IdIndex(node_ids), "edges": IdIndex(edge_ids)},
        )
    )
    if problems or header is None:
        raise ValidationError(_unique(problems))
    return CompactScenario(header, nodes, edges)


def _rows(mask: np.ndarray[Any, Any], bad: dict[int, Any]) -> Iterator[int]:
    for i in np.flatnonzero(mask).tolist():
        if i not in bad:
            yield i


def _node_problems(
    nodes: NodeColumns, bad: dict[int, Any], parties: set[str] | None
) -> list[Problem]:
    problems: list[Problem] = []
    for i, item in bad.items():
        if isinstance(item, dict):
            problems.extend(node_reference_problems(i, item, parties))
    if parties is not None:
        unknown = {v for v in nodes.controlled_by.values if v not in parties}
        if unknown:
            codes = [k for k, v in enumerate(nodes.controlled_by.values) if v in unknown]
            for i in _rows(np.isin(nodes.controlled_by.codes, codes), bad):
                found = party_problem(
                    nodes.controlled_by[i], pointer("nodes", i, "controlled_by"), parties
                )
                if found:
                    problems.append(found)
    cap, pop = nodes.capacity, nodes.population
    for i in _rows((cap > 0) & (cap < pop), bad):
        problems.append(
            Problem(
                pointer("nodes", i, "population"),
                f"population {int(pop[i])} exceeds the node's capacity {int(cap[i])}",
            )
        )
    for i in _rows(np.isnan(nodes.lat) != np.isnan(nodes.lon), bad):
        missing = "lon" if np.isnan(nodes.lon[i]) else "lat"
        problems.append(
            Problem(pointer("nodes", i, missing), "give both 'lat' and 'lon', or neither")
        )
    return problems


def _edge_problems(
    edges: EdgeColumns,
    bad: dict[int, Any],
    from_ids: Ids,
    to_ids: Ids,
    nodes: IdIndex | None,
    parties: set[str] | None,
) -> list[Problem]:
    problems: list[Problem] = []
    for i, item in bad.items():
        if isinstance(item, dict):
            problems.extend(edge_reference_problems(i, item, nodes, parties))
    if nodes is not None:
        for side, ids, pos in (("from", from_ids, edges.tail), ("to", to_ids, edges.head)):
            for i in _rows(pos < 0, bad):
                problems.append(Problem(pointer("edges", i, side), f"unknown node {ids[i]!r}"))
    same = from_ids.raw == to_ids.raw
    for i in _rows(same, bad):
        problems.append(Problem(pointer("edges", i, "to"), "a road must join two different nodes"))
    for i in _rows(np.isnan(edges.length_m) & np.isnan(edges.travel_time_min), bad):
        problems.append(
            Problem(pointer("edges", i), "give 'length_m' or 'travel_time_min' (or both)")
        )
    if parties is not None:
        for key in ("controlled_by", "checkpoint"):
            column: Texts = getattr(edges, key)
            codes = [k for k, v in enumerate(column.values) if v not in parties]
            if codes:
                for i in _rows(np.isin(column.codes, codes), bad):
                    found = party_problem(column[i], pointer("edges", i, key), parties)
                    if found:
                        problems.append(found)
    return problems


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[str, str]] = set()
    out = []
    for p in problems:
        if (p.pointer, p.detail) not in seen:
            seen.add((p.pointer, p.detail))
            out.append(p)
    return out
