"""Read and validate a scenario document into columns: the one way in, for every size.

A 1M-node document is a few hundred megabytes of JSON; parsed whole it would be
several gigabytes of Python objects. So a JSON file or upload is read from a
stream of byte chunks (:func:`read_large_scenario`, decoding with
:mod:`~app.domain.scenario.json_stream`): ``nodes`` and ``edges`` are handed over
one item at a time and go into
:class:`~app.domain.scenario.columns.CompactScenario` columns in batches, so memory stays
near the size of the columns. A document already parsed (YAML, or JSON read
whole) goes through the same collector item by item (:func:`validate_scenario`).

Every rule is written once. Field types and ranges come from the models'
``Field`` definitions (:mod:`app.domain.scenario.model`): they are checked by columns,
and an item that fails is validated by its pydantic model on its own, for the
exact messages. Cross-field rules (duplicate and unknown ids, party references,
population above capacity, coordinates in pairs) are checked by columns over all
items; the header's lists by :func:`~app.domain.scenario.problems.reference_problems`.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import numpy as np
import numpy.typing as npt
import pydantic

from app.domain.errors import Problem, ValidationError, pointer
from app.domain.scenario.columns import (
    CompactScenario,
    EdgeColumns,
    IdIndex,
    Ids,
    NodeColumns,
    Texts,
)
from app.domain.scenario.json_stream import UnreadableDocument, read_top_level
from app.domain.scenario.model import Edge, Node, Scenario, ScenarioHeader
from app.domain.scenario.problems import (
    item_problems,
    party_problem,
    reference_problems,
)

BATCH = 16_384
"""Items checked by columns at a time."""
BIG = 2**62
"""Whole numbers beyond this (valid, if absurd) are kept as this in the columns."""


# Fields ---------------------------------------------------------------------------

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
NoneType = type(None)


class _Invalid:
    """Stands for a value its model refused: given, but of no use to the columns."""

    def __repr__(self) -> str:
        return "INVALID"


INVALID = _Invalid()


@dataclass(frozen=True)
class FieldRule:
    """What the model says of one field of a node or road: its kind, default and bounds."""

    key: str
    kind: str
    """``text``, ``float``, ``int``, ``bool`` or ``choice``."""
    optional: bool
    default: Any
    bounds: dict[str, Any]
    """``ge``/``gt``/``le``/``lt`` for numbers, ``min_length``/``max_length`` for texts."""
    choices: tuple[str, ...] = ()


def _field_rules(model: type[pydantic.BaseModel]) -> dict[str, FieldRule]:
    """The rules of every field of ``model``, read from its ``Field`` definitions."""
    rules = {}
    for name, info in model.model_fields.items():
        annotation: Any = info.annotation
        metadata = list(info.metadata)
        optional = False
        if get_origin(annotation) in (Union, UnionType):
            args = [a for a in get_args(annotation) if a is not NoneType]
            optional = len(args) < len(get_args(annotation))
            (annotation,) = args
        if get_origin(annotation) is Annotated:
            annotation, *extra = get_args(annotation)
            for item in extra:
                metadata.extend(getattr(item, "metadata", [item]))
        bounds: dict[str, Any] = {}
        for item in metadata:
            for attr in ("ge", "gt", "le", "lt", "min_length", "max_length"):
                value = getattr(item, attr, None)
                if value is not None:
                    bounds[attr] = value
        choices: tuple[str, ...] = ()
        if get_origin(annotation) is Literal:
            kind, choices = "choice", get_args(annotation)
        else:
            kind = {str: "text", float: "float", int: "int", bool: "bool"}[annotation]
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        key = info.alias or name
        rules[key] = FieldRule(key, kind, optional, default, bounds, choices)
    return rules


NODE_FIELDS = _field_rules(Node)
EDGE_FIELDS = _field_rules(Edge)
NODE_TEXTS = ("name", "name_ar", "population_source", "controlled_by", "notes")
EDGE_TEXTS = ("name", "risk_source", "controlled_by", "checkpoint", "notes")


def _check(rule: FieldRule, column: list[Any], bad: set[int]) -> None:
    """Mark the rows whose value breaks ``rule`` (bool is neither int nor float)."""
    kinds: dict[str, set[type]] = {
        "text": {str},
        "float": {int, float},
        "int": {int},
        "bool": {bool},
        "choice": {str},
    }
    allowed = kinds[rule.kind]
    if rule.optional:
        allowed = allowed | {NoneType}
    if not set(map(type, column)) <= allowed:
        bad.update(i for i, v in enumerate(column) if type(v) not in allowed)
    b = rule.bounds
    if rule.kind == "text":
        shortest, longest = b.get("min_length", 0), b.get("max_length", math.inf)
        bad.update(
            i for i, v in enumerate(column) if type(v) is str and not shortest <= len(v) <= longest
        )
    elif rule.kind == "choice":
        bad.update(i for i, v in enumerate(column) if type(v) is str and v not in rule.choices)
    elif rule.kind in ("float", "int"):
        for i, v in enumerate(column):
            if type(v) in (int, float) and not _within(v, b):
                bad.add(i)


def _within(v: float, b: dict[str, Any]) -> bool:
    try:
        if not math.isfinite(v):
            return False
    except OverflowError:  # an int too big for a float: the model says what is wrong
        return False
    return (
        ("ge" not in b or v >= b["ge"])
        and ("gt" not in b or v > b["gt"])
        and ("le" not in b or v <= b["le"])
        and ("lt" not in b or v < b["lt"])
    )


def _floats(column: list[Any]) -> tuple[npt.NDArray[np.float64], BoolArray]:
    """Values as floats (NaN where not given or refused) and which were given at all."""
    given = np.fromiter((v is not None for v in column), dtype=bool, count=len(column))
    values = np.fromiter(
        (
            v if type(v) is float or (type(v) is int and -BIG <= v <= BIG) else math.nan
            for v in column
        ),
        dtype=np.float64,
        count=len(column),
    )
    return values, given


def _ints(column: list[Any]) -> IntArray:
    """Whole numbers (0 where not given or refused), huge ones kept as ±BIG."""
    return np.fromiter(
        (max(-BIG, min(BIG, v)) if type(v) is int else 0 for v in column),
        dtype=np.int64,
        count=len(column),
    )


def _bools(column: list[Any], default: bool) -> BoolArray:
    return np.fromiter(
        (v if type(v) is bool else default for v in column), dtype=bool, count=len(column)
    )


def _codes(column: list[Any], rule: FieldRule) -> npt.NDArray[np.int8]:
    code = {c: i for i, c in enumerate(rule.choices)}
    default = code[rule.default]
    return np.fromiter(
        (code.get(v, default) if type(v) is str else default for v in column),
        dtype=np.int8,
        count=len(column),
    )


def _placeholder_ids(column: list[Any], start: int, given: list[bool]) -> list[str]:
    """Ids as strings; where none usable was given, a placeholder starting with NUL."""
    out = []
    for k, v in enumerate(column):
        if type(v) is str and given[k]:
            out.append(v)
        else:
            out.append(f"\x00{start + k}")
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
    """One list's columns (``nodes`` or ``edges``), filled a batch at a time."""

    def __init__(self, fields: dict[str, FieldRule], texts: tuple[str, ...]) -> None:
        self.fields = fields
        self.ids: list[Ids] = []
        self.texts = {k: _TextTable() for k in texts}
        self.numbers: dict[str, list[npt.NDArray[Any]]] = {}
        self.count = 0

    def add(self, key: str, values: npt.NDArray[Any]) -> None:
        self.numbers.setdefault(key, []).append(values)

    def number(self, key: str, dtype: Any) -> npt.NDArray[Any]:
        parts = self.numbers.get(key)
        return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)

    def all_ids(self) -> Ids:
        return _join(self.ids)


def _join(parts: list[Ids]) -> Ids:
    if not parts:
        return Ids(np.zeros(0, dtype="S1"))
    if all(p.is_bytes for p in parts):
        return Ids(np.concatenate([p.raw for p in parts]))
    return Ids(np.array([v for p in parts for v in p], dtype=object))


class _Collector:
    """Receives the items of ``nodes`` and ``edges`` and builds columns a batch at a time."""

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
        """A list ``key`` starts (again, if the key repeats: the last one wins)."""
        self.seen[key] = 0
        self.pending[key] = []
        self.listed.add(key)
        self.problems = [p for p in self.problems if not p.pointer.startswith(f"/{key}/")]
        if key == "nodes":
            self.nodes = _ListColumns(NODE_FIELDS, NODE_TEXTS)
        else:
            self.edges = _ListColumns(EDGE_FIELDS, EDGE_TEXTS)
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
        self._batch(key, self.nodes if key == "nodes" else self.edges, batch)

    def _refused(
        self, key: str, start: int, batch: list[Any], bad: set[int]
    ) -> list[tuple[int, dict[str, Any]]]:
        """Validate the items that failed a quick check with their model, for the messages;
        give back each with the refused fields replaced by :data:`INVALID`."""
        model = Node if key == "nodes" else Edge
        fields = NODE_FIELDS if key == "nodes" else EDGE_FIELDS
        out: list[tuple[int, dict[str, Any]]] = []
        for i in sorted(bad):
            item = batch[i]
            _, problems = item_problems(model, item, (key, start + i))
            self.problems.extend(problems)
            if type(item) is not dict:
                out.append((i, dict.fromkeys(fields, INVALID)))  # nothing of it is usable
                continue
            refused = {p.pointer.split("/")[3] for p in problems if p.pointer.count("/") >= 3}
            refused = {_unescape(r) for r in refused}
            out.append(
                (
                    i,
                    {
                        k: INVALID if k in refused else v
                        for k, v in item.items()
                        if k in fields or k in refused
                    },
                )
            )
        return out

    def _batch(self, key: str, cols: _ListColumns, batch: list[Any]) -> None:
        start = cols.count
        dicts = [d if type(d) is dict else EMPTY for d in batch]
        fields = cols.fields
        known = fields.keys()
        bad = {i for i, d in enumerate(batch) if type(d) is not dict or not d.keys() <= known}
        columns: dict[str, list[Any]] = {}
        for rule in fields.values():
            column = [d.get(rule.key, rule.default) for d in dicts]
            _check(rule, column, bad)
            columns[rule.key] = column
        if bad:  # rare: the model says what is wrong; the columns keep what was right
            for i, d in self._refused(key, start, batch, bad):
                for rule in fields.values():
                    columns[rule.key][i] = d.get(rule.key, rule.default)
        n = len(batch)
        ids = ("id", "from", "to") if key == "edges" else ("id",)
        given = {k: [v is not None and v is not INVALID for v in columns[k]] for k in ids}
        cols.ids.append(Ids.from_strings(_placeholder_ids(columns["id"], start, given["id"])))
        for k in cols.texts:
            cols.texts[k].add(columns[k])
        for rule in fields.values():
            column = columns[rule.key]
            if rule.kind == "float":
                values, present = _floats(column)
                cols.add(rule.key, values)
                cols.add(rule.key + ".given", present)
            elif rule.kind == "int":
                cols.add(rule.key, _ints(column))
            elif rule.kind == "bool":
                cols.add(rule.key, _bools(column, bool(rule.default)))
            elif rule.kind == "choice":
                cols.add(rule.key, _codes(column, rule))
        if key == "edges":
            for side, ends in zip(("from", "to"), self.ends, strict=True):
                ends.append(Ids.from_strings(_placeholder_ids(columns[side], -n, given[side])))
                cols.add(side + ".given", np.array(given[side], dtype=bool))
        cols.count += n


EMPTY: dict[str, Any] = {}


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def validate_scenario(
    data: Any, *, max_nodes: int | None = None, max_edges: int | None = None
) -> CompactScenario:
    """The scenario in a parsed document, or :class:`ValidationError` listing every problem.

    ``max_nodes``/``max_edges``: most places and roads accepted (``None``: no limit). The
    service and the CLI pass the limits of :class:`app.config.Settings`.

    >>> s = validate_scenario({"schema": "safe-passage/scenario@1",
    ...     "nodes": [{"id": "a"}, {"id": "b"}],
    ...     "edges": [{"id": "a-b", "from": "a", "to": "b", "length_m": 640}]})
    >>> list(s.edges.id), float(s.edges.length_m[0])
    (['a-b'], 640.0)
    """
    if not isinstance(data, dict):
        raise ValidationError([Problem("", "a scenario document must be a JSON object")])
    collector = _Collector(max_nodes, max_edges)
    header: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("nodes", "edges") and type(value) is list:
            header.pop(key, None)
            collector.reset(key)
            for i, item in enumerate(value):
                collector.item(key, i, item)
        else:
            header[key] = value
    return _finish(header, collector)


def read_large_scenario(
    chunks: Iterable[bytes], *, max_nodes: int | None = None, max_edges: int | None = None
) -> CompactScenario:
    """Parse and validate a JSON scenario from byte chunks into columns.

    ``max_nodes``/``max_edges``: most places and roads accepted (``None``: no limit).

    Raises :class:`ValidationError` with every problem (the same pointers and texts
    as :func:`validate_scenario` gives for the parsed document).
    """
    collector = _Collector(max_nodes, max_edges)
    try:
        header = read_top_level(chunks, collector.item, collector.reset)
    except UnreadableDocument as exc:
        raise ValidationError([Problem("", str(exc))], detail=str(exc)) from None
    if "" in header:
        raise ValidationError([Problem("", "a scenario document must be a JSON object")])
    return _finish(header, collector)


def _finish(header: dict[str, Any], collector: _Collector) -> CompactScenario:
    collector.flush("nodes")
    collector.flush("edges")
    size = [
        Problem(pointer(key), f"{collector.seen[key]} {key}; the limit is {collector.limits[key]}")
        for key in ("nodes", "edges")
        if collector.seen[key] > collector.limits[key]
    ]
    if size:
        raise ValidationError(size)
    return _assemble(header, collector)


@dataclass
class Given:
    """Which rows gave a value at all (valid or not) for the fields cross-row rules read."""

    lat: BoolArray
    lon: BoolArray
    length_m: BoolArray
    travel_time_min: BoolArray
    ends: tuple[BoolArray, BoolArray]
    """``from`` and ``to`` given as usable ids."""

    @classmethod
    def of_valid(cls, nodes: NodeColumns, edges: EdgeColumns) -> Given:
        """The masks of columns known valid: a value is given where it is not NaN."""
        every = np.ones(len(edges.tail), dtype=bool)
        return cls(
            ~np.isnan(nodes.lat),
            ~np.isnan(nodes.lon),
            ~np.isnan(edges.length_m),
            ~np.isnan(edges.travel_time_min),
            (every, every),
        )


def _assemble(header_data: dict[str, Any], c: _Collector) -> CompactScenario:
    problems = list(c.problems)
    listed = {k: k in c.listed and k not in header_data for k in ("nodes", "edges")}
    head = dict(header_data)
    for key in ("nodes", "edges"):
        if listed[key]:
            head[key] = []
    whole, head_problems = item_problems(Scenario, head, ())
    problems.extend(head_problems)

    nodes = _node_columns(c)
    node_ids = nodes.id
    from_ids, to_ids = _join(c.ends[0]), _join(c.ends[1])
    edges = _edge_columns(c, node_ids.positions(from_ids), node_ids.positions(to_ids))
    n, e = c.nodes, c.edges
    given = Given(
        n.number("lat.given", bool),
        n.number("lon.given", bool),
        e.number("length_m.given", bool),
        e.number("travel_time_min.given", bool),
        (e.number("from.given", bool), e.number("to.given", bool)),
    )
    problems.extend(
        column_problems(
            nodes,
            edges,
            (from_ids, to_ids),
            given,
            party_ids(header_data),
            nodes_listed=listed["nodes"],
        )
    )
    problems.extend(
        reference_problems(
            {k: v for k, v in header_data.items() if k not in ("nodes", "edges")},
            known={"nodes": IdIndex(node_ids), "edges": IdIndex(edges.id)},
            population=population_of(nodes),
        )
    )
    if problems or whole is None:
        raise ValidationError(problems)
    values = {name: getattr(whole, name) for name in ScenarioHeader.model_fields}
    header = ScenarioHeader.model_construct(_fields_set=whole.model_fields_set, **values)
    return CompactScenario(header, nodes, edges, _json_ready(header_data))


def _node_columns(c: _Collector) -> NodeColumns:
    n = c.nodes
    texts = {k: t.texts() for k, t in n.texts.items()}
    return NodeColumns(
        id=n.all_ids(),
        name=texts["name"],
        name_ar=texts["name_ar"],
        kind=n.number("kind", np.int8),
        lat=n.number("lat", np.float64),
        lon=n.number("lon", np.float64),
        population=n.number("population", np.int64),
        population_source=texts["population_source"],
        capacity=n.number("capacity", np.int64),
        controlled_by=texts["controlled_by"],
        notes=texts["notes"],
    )


def _edge_columns(c: _Collector, tail: IntArray, head: IntArray) -> EdgeColumns:
    e = c.edges
    texts = {k: t.texts() for k, t in e.texts.items()}
    return EdgeColumns(
        id=e.all_ids(),
        tail=tail,
        head=head,
        name=texts["name"],
        directed=e.number("directed", bool),
        length_m=e.number("length_m", np.float64),
        travel_time_min=e.number("travel_time_min", np.float64),
        capacity_per_min=e.number("capacity_per_min", np.int64),
        status=e.number("status", np.int8),
        risk=e.number("risk", np.float64),
        risk_low=e.number("risk_low", np.float64),
        risk_high=e.number("risk_high", np.float64),
        risk_source=texts["risk_source"],
        controlled_by=texts["controlled_by"],
        checkpoint=texts["checkpoint"],
        vehicle_passable=e.number("vehicle_passable", bool),
        candidate=e.number("candidate", bool),
        vehicles_per_min=e.number("vehicles_per_min", np.float64),
        screening_min_per_vehicle=e.number("screening_min_per_vehicle", np.float64),
        screening_min_per_person=e.number("screening_min_per_person", np.float64),
        screening_lanes=e.number("screening_lanes", np.int64),
        notes=texts["notes"],
    )


def item_columns(
    nodes: list[dict[str, Any]], edges: list[dict[str, Any]], node_ids: Ids
) -> tuple[NodeColumns, EdgeColumns, tuple[Ids, Ids]]:
    """Columns of valid node and road items (the ends of roads looked up in ``node_ids``),
    and the ids the roads name at their ends."""
    c = _Collector(len(nodes), len(edges))
    for key, items in (("nodes", nodes), ("edges", edges)):
        c.reset(key)
        for i, item in enumerate(items):
            c.item(key, i, item)
        c.flush(key)
    if c.problems:  # the caller validated each item: a problem here is a defect
        raise ValidationError(c.problems)
    ends = _join(c.ends[0]), _join(c.ends[1])
    return (
        _node_columns(c),
        _edge_columns(c, node_ids.positions(ends[0]), node_ids.positions(ends[1])),
        ends,
    )


def party_ids(header: dict[str, Any]) -> set[str] | None:
    """The ids the header's ``parties`` declares (None when it is not a list)."""
    parties = header.get("parties", [])
    if not isinstance(parties, list):
        return None
    return {p["id"] for p in parties if isinstance(p, dict) and isinstance(p.get("id"), str)}


def population_of(nodes: NodeColumns) -> Callable[[str], int]:
    """The people at a place, by its id (for rules of the header that count people)."""
    index = IdIndex(nodes.id)

    def people(place: str) -> int:
        return int(nodes.population[index[place]])

    return people


def column_problems(
    nodes: NodeColumns,
    edges: EdgeColumns,
    ends: tuple[Ids, Ids],
    given: Given,
    parties: set[str] | None,
    *,
    nodes_listed: bool = True,
) -> list[Problem]:
    """Every rule across places and roads, checked by columns, at document pointers.

    Duplicate ids, a scenario without places, unknown places at a road's ends, roads
    joining a place to itself, roads without length or time, unknown parties,
    population above capacity, coordinates given alone, a risk range without a risk or
    not around it.
    """
    problems: list[Problem] = []
    # Duplicate ids (items with no usable id hold a placeholder starting with NUL).
    for key, ids in (("nodes", nodes.id), ("edges", edges.id)):
        for k, first in ids.duplicates():
            ident = ids[k]
            if not ident.startswith("\x00"):
                problems.append(
                    Problem(
                        pointer(key, k, "id"),
                        f"duplicate id {ident!r} (first used at {pointer(key, first)})",
                    )
                )
    if nodes_listed and len(nodes.id) == 0:
        problems.append(Problem("/nodes", "a scenario needs at least one node"))
    problems.extend(_node_problems(nodes, given, parties))
    known_nodes = IdIndex(nodes.id) if nodes_listed else None
    problems.extend(_edge_problems(edges, ends, given, known_nodes, parties))
    return problems


def _json_ready(source: dict[str, Any]) -> dict[str, Any] | None:
    """The header's members as given, when they are plain JSON (YAML may give timestamps
    and other values JSON has not: then None, and the header is written from the model)."""
    try:
        json.dumps(source, allow_nan=False)
    except (TypeError, ValueError):
        return None
    return source


def _rows(mask: npt.NDArray[np.bool_]) -> list[int]:
    rows: list[int] = np.flatnonzero(mask).tolist()
    return rows


def _party_problems(
    key: str, column: Texts, field: str, parties: set[str] | None
) -> Iterator[Problem]:
    if parties is None:  # the party list itself is broken: reported once, there
        return
    codes = [k for k, v in enumerate(column.values) if v not in parties]
    if codes:
        for i in _rows(np.isin(column.codes, codes)):
            found = party_problem(column[i], pointer(key, i, field), parties)
            if found:
                yield found


def _node_problems(nodes: NodeColumns, given: Given, parties: set[str] | None) -> list[Problem]:
    problems = list(_party_problems("nodes", nodes.controlled_by, "controlled_by", parties))
    cap, pop = nodes.capacity, nodes.population
    for i in _rows((cap > 0) & (cap < pop)):
        problems.append(
            Problem(
                pointer("nodes", i, "population"),
                f"population {int(pop[i])} exceeds the node's capacity {int(cap[i])}",
            )
        )
    for i in _rows(given.lat != given.lon):
        missing = "lat" if given.lon[i] else "lon"
        problems.append(
            Problem(pointer("nodes", i, missing), "give both 'lat' and 'lon', or neither")
        )
    return problems


def _edge_problems(
    edges: EdgeColumns,
    ends: tuple[Ids, Ids],
    given: Given,
    nodes: IdIndex | None,
    parties: set[str] | None,
) -> list[Problem]:
    problems: list[Problem] = []
    from_ids, to_ids = ends
    if nodes is not None:
        for side, ids, pos, present in (
            ("from", from_ids, edges.tail, given.ends[0]),
            ("to", to_ids, edges.head, given.ends[1]),
        ):
            for i in _rows((pos < 0) & present):
                problems.append(Problem(pointer("edges", i, side), f"unknown node {ids[i]!r}"))
    same = (from_ids.raw == to_ids.raw) & given.ends[0] & given.ends[1]
    for i in _rows(same):
        problems.append(Problem(pointer("edges", i, "to"), "a road must join two different nodes"))
    for i in _rows(~given.length_m & ~given.travel_time_min):
        problems.append(
            Problem(pointer("edges", i), "give 'length_m' or 'travel_time_min' (or both)")
        )
    for key in ("controlled_by", "checkpoint"):
        problems.extend(_party_problems("edges", getattr(edges, key), key, parties))
    no_checkpoint = edges.checkpoint.codes < 0
    for key in ("screening_min_per_vehicle", "screening_min_per_person", "screening_lanes"):
        column = getattr(edges, key)
        given_here = column > 0 if key == "screening_lanes" else ~np.isnan(column)
        for i in _rows(given_here & no_checkpoint):
            problems.append(
                Problem(pointer("edges", i, key), "screening needs a 'checkpoint' on the road")
            )
    risk = edges.risk
    for key, bound in (("risk_low", edges.risk_low), ("risk_high", edges.risk_high)):
        for i in _rows(~np.isnan(bound) & np.isnan(risk)):
            problems.append(
                Problem(pointer("edges", i, key), f"'{key}' needs the road's 'risk' estimate")
            )
    with np.errstate(invalid="ignore"):
        low_above, high_below = edges.risk_low > risk, edges.risk_high < risk
    for i in _rows(low_above):
        problems.append(
            Problem(pointer("edges", i, "risk_low"), "'risk_low' is above the road's 'risk'")
        )
    for i in _rows(high_below):
        problems.append(
            Problem(pointer("edges", i, "risk_high"), "'risk_high' is below the road's 'risk'")
        )
    return problems
