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
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

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
from app.domain.scenario import (
    MAX_LENGTH_M,
    MAX_PEOPLE,
    MAX_TRAVEL_TIME_MIN,
    Edge,
    Node,
    Scenario,
)
from app.domain.validation import (
    edge_reference_problems,
    item_problems,
    node_reference_problems,
    party_problem,
    reference_problems,
)

CHUNK_CHARS = 1 << 20
BATCH = 16_384
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


MARGIN = 1 << 16
"""The quick item loop wants this many characters ahead; longer items take the slow path."""
ITEM_END = re.compile(r"[ \t\n\r]*([,\]])")


def _read_items(reader: _Reader, key: str, on_item: Callable[[str, int, Any], None]) -> None:
    """The items of a list (its ``[`` already read), one by one, up to and with its ``]``."""
    if reader.peek() == "]":
        reader.pos += 1
        return
    decode = reader.json.raw_decode
    i = 0
    while True:
        if len(reader.buf) - reader.pos < MARGIN and not reader.eof:
            reader.fill()
        buf = reader.buf
        pos = WHITESPACE.match(buf, reader.pos).end()  # type: ignore[union-attr]
        try:
            item, end = decode(buf, pos)
            ends = ITEM_END.match(buf, end) if end < len(buf) - 1 or reader.eof else None
        except (ValueError, RecursionError):
            ends = None
        if ends is None:  # near the end of the buffer, or an error to report: the slow way
            reader.pos = pos
            item = reader.value()
            char = reader.peek()
            reader.pos += 1
        else:
            char = ends.group(1)
            reader.pos = ends.end()
        if type(item) is not dict or any(type(v) in (dict, list) for v in item.values()):
            _depth_check(item, 2)
        on_item(key, i, item)
        i += 1
        if char == "]":
            return
        if char != ",":
            raise reader.error("Expecting ',' delimiter", reader.pos - 1)


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
            _read_items(reader, key, on_item)
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

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
NoneType = type(None)
NUMBER = {int, float}


def _wrong_types(column: list[Any], allowed: set[type], bad: set[int]) -> None:
    """Mark the rows whose value is not of an ``allowed`` type (bool is not int)."""
    if not set(map(type, column)) <= allowed:
        bad.update(i for i, v in enumerate(column) if type(v) not in allowed)


def _texts_ok(
    column: list[Any], shortest: int, longest: int, optional: bool, bad: set[int]
) -> None:
    _wrong_types(column, {str, NoneType} if optional else {str}, bad)
    for i, v in enumerate(column):
        if type(v) is str and not shortest <= len(v) <= longest:
            bad.add(i)


def _floats(
    column: list[Any], bad: set[int], optional: bool = True
) -> tuple[npt.NDArray[np.float64], BoolArray]:
    """Values as floats (NaN where not given) and which were given; marks what cannot be."""
    given = np.fromiter((v is not None for v in column), dtype=bool, count=len(column))
    _wrong_types(column, NUMBER | {NoneType} if optional else NUMBER, bad)
    try:
        values = np.array(
            [math.nan if v is None or i in bad else v for i, v in enumerate(column)]
            if bad
            else [math.nan if v is None else v for v in column],
            dtype=np.float64,
        )
    except OverflowError:  # an integer beyond any float: the model reports it
        values = np.full(len(column), math.nan)
        for i, v in enumerate(column):
            try:
                values[i] = math.nan if v is None else float(v)
            except (OverflowError, TypeError):
                bad.add(i)
    with np.errstate(invalid="ignore"):
        bad.update(np.flatnonzero(given & ~np.isfinite(values)).tolist())
    return values, given


def _ints(column: list[Any], bad: set[int]) -> IntArray:
    """Whole numbers (0 where not given); bool, floats and huge values are marked."""
    _wrong_types(column, {int, NoneType}, bad)
    out = np.zeros(len(column), dtype=np.int64)
    for i, v in enumerate(column):
        if type(v) is int:
            if -BIG <= v <= BIG:
                out[i] = v
            else:
                out[i] = BIG if v > 0 else -BIG
    return out


class _TextTable:
    """Distinct strings of one text column, across batches."""

    def __init__(self) -> None:
        self.table: dict[str, int] = {}
        self.codes: list[npt.NDArray[np.int32]] = []

    def add(self, column: list[Any]) -> None:
        table = self.table
        self.codes.append(
            np.fromiter(
                (table.setdefault(v, len(table)) if type(v) is str else -1 for v in column),
                dtype=np.int32,
                count=len(column),
            )
        )

    def texts(self) -> Texts:
        size = sum(len(c) for c in self.codes)
        if not self.table:  # never given (the usual case for most texts): no memory at all
            return Texts([], np.broadcast_to(np.int32(-1), (size,)))
        return Texts(list(self.table), np.concatenate(self.codes))


class _ListColumns:
    """One list's columns, filled a batch at a time."""

    def __init__(self, texts: tuple[str, ...], numbers: tuple[str, ...]) -> None:
        self.ids: list[Ids] = []
        self.texts = {k: _TextTable() for k in texts}
        self.numbers: dict[str, list[npt.NDArray[Any]]] = {k: [] for k in numbers}
        self.bad: dict[int, Any] = {}
        """Items that failed the quick checks (kept raw, for the per-item checks)."""
        self.count = 0

    def number(self, key: str, dtype: Any) -> npt.NDArray[Any]:
        parts = self.numbers[key]
        return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)

    def all_ids(self) -> Ids:
        return _join(self.ids)


def _join(parts: list[Ids]) -> Ids:
    if not parts:
        return Ids(np.zeros(0, dtype="S1"))
    if all(p.is_bytes for p in parts):
        return Ids(np.concatenate([p.raw for p in parts]))
    return Ids(np.array([v for p in parts for v in p], dtype=object))


EMPTY: dict[str, Any] = {}


class _Collector:
    """Receives items from :func:`read_top_level` and builds columns a batch at a time."""

    def __init__(self, max_nodes: int | None, max_edges: int | None) -> None:
        self.limits = {
            key: sys.maxsize if limit is None else limit
            for key, limit in (("nodes", max_nodes), ("edges", max_edges))
        }
        self.problems: list[Problem] = []
        self.seen: dict[str, int] = {"nodes": 0, "edges": 0}
        self.listed: set[str] = set()
        self.pending: dict[str, list[Any]] = {"nodes": [], "edges": []}
        self.reset("nodes")
        self.reset("edges")
        self.listed.clear()  # only lists met in the document count

    def reset(self, key: str) -> None:
        self.seen[key] = 0
        self.pending[key] = []
        self.listed.add(key)
        self.problems = [p for p in self.problems if not p.pointer.startswith(f"/{key}/")]
        if key == "nodes":
            self.nodes = _ListColumns(
                (*NODE_TEXTS, "controlled_by"), ("kind", "lat", "lon", "population", "capacity")
            )
        else:
            self.edges = _ListColumns(
                (*EDGE_TEXTS, "controlled_by", "checkpoint"),
                (
                    "directed",
                    "vehicle",
                    "length_m",
                    "travel_time_min",
                    "risk",
                    "capacity",
                    "status",
                ),
            )
            self.ends: tuple[list[Ids], list[Ids]] = ([], [])

    def item(self, key: str, i: int, item: Any) -> None:
        self.seen[key] += 1
        if self.seen[key] > self.limits[key]:
            return  # counted for the size problem; not kept
        pending = self.pending[key]
        pending.append(item)
        if len(pending) >= BATCH:
            self.flush(key)

    def flush(self, key: str) -> None:
        batch = self.pending[key]
        if not batch:
            return
        self.pending[key] = []
        if key == "nodes":
            self._nodes(batch)
        else:
            self._edges(batch)

    def _fallback(
        self,
        key: str,
        cols: _ListColumns,
        batch: list[Any],
        dicts: list[dict[str, Any]],
        bad: set[int],
    ) -> None:
        """Items that failed a quick check: validate each with its model, as the plain path."""
        model = Node if key == "nodes" else Edge
        start = cols.count
        for i in sorted(bad):
            found, problems = item_problems(model, batch[i], (key, start + i))
            self.problems.extend(problems)
            cols.bad[start + i] = batch[i]
            values = found.model_dump(by_alias=True) if found is not None else {}
            ident = batch[i].get("id") if type(batch[i]) is dict else None
            if not isinstance(values.get("id"), str):
                values["id"] = ident if isinstance(ident, str) else f"\x00{start + i}"
            if key == "edges":
                for side in ("from", "to"):
                    end = values.get(side, batch[i].get(side) if type(batch[i]) is dict else None)
                    values[side] = end if isinstance(end, str) else "\x00-"
            dicts[i] = values

    def _nodes(self, batch: list[Any]) -> None:
        cols = self.nodes
        dicts = [d if type(d) is dict else EMPTY for d in batch]
        bad = {i for i, d in enumerate(batch) if type(d) is not dict or not d.keys() <= NODE_KEYS}
        for _ in range(3):  # again after the fallback has replaced the bad items
            ids: list[Any] = [d.get("id") for d in dicts]
            _texts_ok(ids, 1, MAX_ID, False, bad)
            kinds = [d.get("kind", "junction") for d in dicts]
            _wrong_types(kinds, {str}, bad)
            bad.update(i for i, k in enumerate(kinds) if type(k) is str and k not in KIND_CODE)
            lat, lat_given = _floats([d.get("lat") for d in dicts], bad)
            lon, lon_given = _floats([d.get("lon") for d in dicts], bad)
            with np.errstate(invalid="ignore"):
                bad.update(np.flatnonzero(lat_given & ((lat < -90) | (lat > 90))).tolist())
                bad.update(np.flatnonzero(lon_given & ((lon < -180) | (lon > 180))).tolist())
            pops = [d.get("population", 0) for d in dicts]
            _wrong_types(pops, {int}, bad)
            population = _ints(pops, bad)
            bad.update(np.flatnonzero((population < 0) | (population > MAX_PEOPLE)).tolist())
            capacity = _ints([d.get("capacity") for d in dicts], bad)
            bad.update(np.flatnonzero(capacity < 0).tolist())
            caps = [d.get("capacity") for d in dicts]
            bad.update(i for i, c in enumerate(caps) if type(c) is int and c <= 0)
            texts = {k: [d.get(k) for d in dicts] for k in NODE_TEXTS}
            for column in texts.values():
                _texts_ok(column, 0, MAX_TEXT, True, bad)
            texts["controlled_by"] = [d.get("controlled_by") for d in dicts]
            _texts_ok(texts["controlled_by"], 1, MAX_ID, True, bad)
            fresh = bad - {i - cols.count for i in cols.bad}
            if not fresh:
                break
            self._fallback("nodes", cols, batch, dicts, fresh)
            bad = set()
        cols.ids.append(Ids.from_strings(ids))
        for k, column in texts.items():
            cols.texts[k].add(column)
        code = KIND_CODE
        cols.numbers["kind"].append(
            np.fromiter((code.get(k, 1) for k in kinds), dtype=np.int8, count=len(kinds))
        )
        cols.numbers["lat"].append(lat)
        cols.numbers["lon"].append(lon)
        cols.numbers["population"].append(population)
        cols.numbers["capacity"].append(np.maximum(capacity, 0))
        cols.count += len(batch)

    def _edges(self, batch: list[Any]) -> None:
        cols = self.edges
        dicts = [d if type(d) is dict else EMPTY for d in batch]
        bad = {i for i, d in enumerate(batch) if type(d) is not dict or not d.keys() <= EDGE_KEYS}
        for _ in range(3):
            ids: list[Any] = [d.get("id") for d in dicts]
            _texts_ok(ids, 1, MAX_ID, False, bad)
            froms: list[Any] = [d.get("from") for d in dicts]
            tos: list[Any] = [d.get("to") for d in dicts]
            _texts_ok(froms, 1, MAX_ID, False, bad)
            _texts_ok(tos, 1, MAX_ID, False, bad)
            length, length_given = _floats([d.get("length_m") for d in dicts], bad)
            time, time_given = _floats([d.get("travel_time_min") for d in dicts], bad)
            risk, _ = _floats([d.get("risk", 0.0) for d in dicts], bad, optional=False)
            with np.errstate(invalid="ignore"):
                bad.update(np.flatnonzero(length_given & ~(length > 0)).tolist())
                bad.update(np.flatnonzero(time_given & ~(time > 0)).tolist())
                bad.update(np.flatnonzero(length_given & (length > MAX_LENGTH_M)).tolist())
                bad.update(np.flatnonzero(time_given & (time > MAX_TRAVEL_TIME_MIN)).tolist())
                bad.update(np.flatnonzero(~((risk >= 0) & (risk < 1))).tolist())
            caps = [d.get("capacity_per_min") for d in dicts]
            capacity = _ints(caps, bad)
            bad.update(i for i, c in enumerate(caps) if type(c) is int and c <= 0)
            directed = [d.get("directed", False) for d in dicts]
            vehicle = [d.get("vehicle_passable", True) for d in dicts]
            _wrong_types(directed, {bool}, bad)
            _wrong_types(vehicle, {bool}, bad)
            statuses = [d.get("status", "open") for d in dicts]
            _wrong_types(statuses, {str}, bad)
            bad.update(i for i, k in enumerate(statuses) if type(k) is str and k not in STATUS_CODE)
            texts = {k: [d.get(k) for d in dicts] for k in EDGE_TEXTS}
            for column in texts.values():
                _texts_ok(column, 0, MAX_TEXT, True, bad)
            for k in ("controlled_by", "checkpoint"):
                texts[k] = [d.get(k) for d in dicts]
                _texts_ok(texts[k], 1, MAX_ID, True, bad)
            fresh = bad - {i - cols.count for i in cols.bad}
            if not fresh:
                break
            self._fallback("edges", cols, batch, dicts, fresh)
            bad = set()
        cols.ids.append(Ids.from_strings(ids))
        self.ends[0].append(Ids.from_strings(froms))
        self.ends[1].append(Ids.from_strings(tos))
        for k, column in texts.items():
            cols.texts[k].add(column)
        n = len(batch)
        cols.numbers["directed"].append(np.fromiter((v is True for v in directed), bool, count=n))
        cols.numbers["vehicle"].append(
            np.fromiter((v is not False for v in vehicle), bool, count=n)
        )
        cols.numbers["length_m"].append(length)
        cols.numbers["travel_time_min"].append(time)
        cols.numbers["risk"].append(np.nan_to_num(risk, nan=0.0))
        cols.numbers["capacity"].append(np.maximum(capacity, 0))
        code = STATUS_CODE
        cols.numbers["status"].append(
            np.fromiter((code.get(k, 0) for k in statuses), dtype=np.int8, count=n)
        )
        cols.count += n


def read_large_scenario(
    chunks: Iterable[bytes], *, max_nodes: int | None = None, max_edges: int | None = None
) -> CompactScenario:
    """Parse and validate a JSON scenario from byte chunks into columns.

    ``max_nodes``/``max_edges``: most places and roads accepted (``None``: no limit).

    Raises :class:`ValidationError` with every problem (same pointers and texts
    as :func:`~app.domain.validation.validate_scenario`).
    """
    collector = _Collector(max_nodes, max_edges)
    try:
        header = read_top_level(chunks, collector.item, collector.reset)
        collector.flush("nodes")
        collector.flush("edges")
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
    node_texts = {k: t.texts() for k, t in c.nodes.texts.items()}
    edge_texts = {k: t.texts() for k, t in c.edges.texts.items()}
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

    n = c.nodes
    nodes = NodeColumns(
        id=node_ids,
        name=node_texts["name"],
        name_ar=node_texts["name_ar"],
        kind=n.number("kind", np.int8),
        lat=n.number("lat", np.float64),
        lon=n.number("lon", np.float64),
        population=n.number("population", np.int64),
        population_source=node_texts["population_source"],
        capacity=n.number("capacity", np.int64),
        controlled_by=node_texts["controlled_by"],
        notes=node_texts["notes"],
    )
    problems.extend(_node_problems(nodes, c.nodes.bad, party_ids))

    from_ids, to_ids = _join(c.ends[0]), _join(c.ends[1])
    tail, head_pos = node_ids.positions(from_ids), node_ids.positions(to_ids)
    e = c.edges
    edges = EdgeColumns(
        id=edge_ids,
        tail=tail,
        head=head_pos,
        name=edge_texts["name"],
        directed=e.number("directed", bool),
        length_m=e.number("length_m", np.float64),
        travel_time_min=e.number("travel_time_min", np.float64),
        capacity_per_min=e.number("capacity", np.int64),
        status=e.number("status", np.int8),
        risk=e.number("risk", np.float64),
        risk_source=edge_texts["risk_source"],
        controlled_by=edge_texts["controlled_by"],
        checkpoint=edge_texts["checkpoint"],
        vehicle_passable=e.number("vehicle", bool),
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
