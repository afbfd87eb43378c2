"""A scenario's places and roads as columns: the one compiled form of every scenario.

A street network of a whole city has 100k–1M nodes and more roads; one pydantic
object per item would cost about a kilobyte and tens of microseconds. So nodes and
roads are numpy columns (ids as UTF-8 bytes, optional texts as codes into a table
of distinct strings, numbers as arrays with NaN or 0 for "not given"), for a
document of ten places as for one of a million; parties, incidents, windows and
profiles stay ordinary models in ``header``.

:class:`~app.domain.network.graph.Network` compiles from these columns.
:meth:`CompactScenario.to_bytes` is the stored form (numpy ``.npz``, compressed);
:meth:`CompactScenario.json_chunks` writes the document back as JSON.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, get_args, overload

import numpy as np
import numpy.typing as npt

from app.domain.scenario.model import NodeKind, RoadStatus, ScenarioHeader

NODE_KINDS: tuple[NodeKind, ...] = get_args(NodeKind)
ROAD_STATUSES: tuple[RoadStatus, ...] = get_args(RoadStatus)
FORMAT = "safe-passage/compact@1"
ADDED_COLUMNS: dict[str, tuple[Any, Any]] = {
    "edges.candidate": (bool, False),
    "edges.risk_low": (np.float64, np.nan),
    "edges.risk_high": (np.float64, np.nan),
    "edges.vehicles_per_min": (np.float64, np.nan),
    "edges.screening_min_per_vehicle": (np.float64, np.nan),
    "edges.screening_min_per_person": (np.float64, np.nan),
    "edges.screening_lanes": (np.int64, 0),
}
"""Columns added after the stored form was fixed: their type and the value versions stored
before read as (their default: false, or NaN for "not given")."""

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


class Ids(Sequence[str]):
    """Unique string ids with lookup by bisection (no dict of a million strings).

    Stored as fixed-width UTF-8 bytes; ids that end in NUL (which fixed-width
    bytes would drop) fall back to an object array and a dict.
    """

    def __init__(self, raw: npt.NDArray[Any]) -> None:
        self.raw = raw
        self._order: IntArray | None = None
        self._sorted: npt.NDArray[Any] | None = None
        self._dict: dict[str, int] | None = None

    @classmethod
    def from_strings(cls, values: Sequence[str]) -> Ids:
        joined = "".join(values)
        if "\x00" in joined and any(v.endswith("\x00") for v in values):
            return cls(np.array(list(values), dtype=object))
        if not values:
            return cls(np.zeros(0, dtype="S1"))
        if joined.isascii():
            raw = np.array(values, dtype="S")
        else:
            raw = np.array([v.encode("utf-8") for v in values], dtype="S")
        if raw.dtype.itemsize == 0:
            raw = raw.astype("S1")
        return cls(raw)

    @property
    def is_bytes(self) -> bool:
        return self.raw.dtype.kind == "S"

    def __len__(self) -> int:
        return len(self.raw)

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> list[str]: ...

    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        value = self.raw[i]
        return value.decode("utf-8") if isinstance(value, bytes) else str(value)

    def __iter__(self) -> Iterator[str]:
        for k in range(len(self.raw)):
            yield self[k]

    def _sorted_view(self) -> tuple[IntArray, npt.NDArray[Any]]:
        if self._order is None or self._sorted is None:
            self._order = np.argsort(self.raw, kind="stable").astype(np.int64)
            self._sorted = self.raw[self._order]
        return self._order, self._sorted

    def position(self, ident: str) -> int | None:
        """Position of ``ident``, or None."""
        if not self.is_bytes:
            if self._dict is None:
                self._dict = {}
                for k, v in enumerate(self.raw.tolist()):
                    self._dict.setdefault(v, k)
            return self._dict.get(ident)
        key = ident.encode("utf-8")
        if key.endswith(b"\x00") or len(key) > self.raw.dtype.itemsize:
            return None
        order, ordered = self._sorted_view()
        k = int(np.searchsorted(ordered, key))
        if k < len(ordered) and ordered[k] == key:
            return int(order[k])
        return None

    def positions(self, wanted: Ids) -> IntArray:
        """Position of each of ``wanted`` here, -1 where absent (vectorised)."""
        if not (self.is_bytes and wanted.is_bytes):
            found = [self.position(v) for v in wanted]
            return np.array([-1 if p is None else p for p in found], dtype=np.int64)
        order, ordered = self._sorted_view()
        if len(ordered) == 0:
            return np.full(len(wanted), -1, dtype=np.int64)
        keys = wanted.raw
        if keys.dtype.itemsize > ordered.dtype.itemsize:
            too_long = np.char.str_len(keys) > ordered.dtype.itemsize
        else:
            too_long = np.zeros(len(keys), dtype=bool)
        k = np.minimum(np.searchsorted(ordered, keys), len(ordered) - 1)
        hit = (ordered[k] == keys) & ~too_long
        return np.where(hit, order[k], -1).astype(np.int64)

    def take(self, rows: npt.NDArray[np.int64]) -> Ids:
        """The ids at ``rows``, in that order."""
        return Ids(self.raw[rows])

    def scatter(self, rows: npt.NDArray[np.int64], new: Ids) -> Ids:
        """These ids with those at ``rows`` replaced by ``new``."""
        raw = self.raw.astype(np.result_type(self.raw.dtype, new.raw.dtype), copy=True)
        raw[rows] = new.raw
        return Ids(raw)

    def extended(self, new: Ids) -> Ids:
        """These ids followed by ``new``."""
        if self.is_bytes and new.is_bytes:
            return Ids(np.concatenate([self.raw, new.raw]))
        return Ids(np.array([*self, *new], dtype=object))

    def duplicates(self) -> list[tuple[int, int]]:
        """``(position, first position)`` of every repeated id, in document order.

        Linear after the sort: each run of equal ids is walked once.
        """
        order, ordered = self._sorted_view()
        if len(ordered) < 2:
            return []
        same = ordered[1:] == ordered[:-1]
        if not same.any():
            return []
        # A run of equal ids starts where an id differs from the one before it; the stable
        # sort puts the run's first occurrence in the document at the run's start.
        starts = np.flatnonzero(np.concatenate(([True], ~same)))
        run_start = starts[np.searchsorted(starts, np.arange(len(ordered)), side="right") - 1]
        repeated = np.flatnonzero(np.concatenate(([False], same)))
        out = sorted(
            zip(order[repeated].tolist(), order[run_start[repeated]].tolist(), strict=True)
        )
        return out


class IdIndex(Mapping[str, int]):
    """``id → position`` over an :class:`Ids` column, without a dict."""

    def __init__(self, ids: Ids) -> None:
        self.ids = ids

    def __getitem__(self, key: str) -> int:
        found = self.ids.position(key) if isinstance(key, str) else None
        if found is None:
            raise KeyError(key)
        return found

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.ids.position(key) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids)

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class Texts:
    """A column of optional strings: codes into ``values`` (-1: not given)."""

    values: list[str]
    codes: npt.NDArray[np.int32]

    @classmethod
    def from_values(cls, items: Sequence[str | None]) -> Texts:
        table: dict[str, int] = {}
        codes = np.fromiter(
            (-1 if v is None else table.setdefault(v, len(table)) for v in items),
            dtype=np.int32,
            count=len(items),
        )
        return cls(list(table), codes)

    def __getitem__(self, i: int) -> str | None:
        c = int(self.codes[i])
        return None if c < 0 else self.values[c]

    def mapped(self, table: Mapping[str, int], missing: int = -1) -> IntArray:
        """Each row's value looked up in ``table`` (``missing`` for none or unknown)."""
        lookup = np.array([table.get(v, missing) for v in self.values] + [missing], np.int64)
        return lookup[self.codes.astype(np.int64)]


def _take(value: Any, rows: npt.NDArray[np.int64]) -> Any:
    if isinstance(value, Ids):
        return value.take(rows)
    if isinstance(value, Texts):
        return Texts(value.values, np.asarray(value.codes)[rows])
    return value[rows]


def _texts_merged(a: Texts, b: Texts) -> tuple[list[str], npt.NDArray[np.int32]]:
    """``a``'s table extended by ``b``'s values, and ``b``'s codes in that table."""
    table = {v: k for k, v in enumerate(a.values)}
    values = list(a.values)
    for v in b.values:
        if v not in table:
            table[v] = len(values)
            values.append(v)
    remap = np.array([table[v] for v in b.values] + [-1], dtype=np.int32)
    return values, remap[np.asarray(b.codes).astype(np.int64)]


def _scatter(value: Any, rows: npt.NDArray[np.int64], new: Any) -> Any:
    """``value`` with ``rows`` replaced by ``new``; the same object when nothing changes
    there (an edit of one road's risk leaves the ids, ends and other columns shared, and
    what was derived from them — sorted ids, a network's arcs — still holds)."""
    if isinstance(value, Ids):
        if value.is_bytes and new.is_bytes and np.array_equal(value.raw[rows], new.raw):
            return value
        return value.scatter(rows, new)
    if isinstance(value, Texts):
        values, codes = _texts_merged(value, new)
        if values == value.values and np.array_equal(np.asarray(value.codes)[rows], codes):
            return value
        out = np.array(value.codes, dtype=np.int32)  # a broadcast column becomes writable
        out[rows] = codes
        return Texts(values, out)
    if np.array_equal(value[rows], new, equal_nan=value.dtype.kind == "f"):
        return value
    out = value.copy()
    out[rows] = new
    return out


def _concat(value: Any, new: Any) -> Any:
    if isinstance(value, Ids):
        return value.extended(new)
    if isinstance(value, Texts):
        values, codes = _texts_merged(value, new)
        return Texts(values, np.concatenate([np.asarray(value.codes), codes]))
    return np.concatenate([value, new])


class _Rows:
    """Row operations shared by :class:`NodeColumns` and :class:`EdgeColumns` (each returns
    new columns; arrays of columns that do not change are shared)."""

    def _with(self, value: Callable[[str], Any]) -> Any:
        names = [f.name for f in fields(self)]  # type: ignore[arg-type]
        return type(self)(**{name: value(name) for name in names})

    def take(self, rows: npt.NDArray[np.int64]) -> Any:
        """The rows at ``rows``, in that order."""
        return self._with(lambda name: _take(getattr(self, name), rows))

    def scatter(self, rows: npt.NDArray[np.int64], new: Any) -> Any:
        """These columns with rows ``rows`` replaced by the rows of ``new``."""
        return self._with(lambda name: _scatter(getattr(self, name), rows, getattr(new, name)))

    def extended(self, new: Any) -> Any:
        """These columns with the rows of ``new`` after them."""
        return self._with(lambda name: _concat(getattr(self, name), getattr(new, name)))


@dataclass
class NodeColumns(_Rows):
    id: Ids
    name: Texts
    name_ar: Texts
    kind: npt.NDArray[np.int8]
    lat: FloatArray
    lon: FloatArray
    population: IntArray
    population_source: Texts
    capacity: IntArray
    """0: not given (unbounded); capacities are positive."""
    controlled_by: Texts
    notes: Texts


@dataclass
class EdgeColumns(_Rows):
    id: Ids
    tail: IntArray
    """Position of ``from`` in the nodes."""
    head: IntArray
    """Position of ``to`` in the nodes."""
    name: Texts
    directed: BoolArray
    length_m: FloatArray
    """NaN: not given."""
    travel_time_min: FloatArray
    """NaN: not given."""
    capacity_per_min: IntArray
    """0: not given (unbounded)."""
    status: npt.NDArray[np.int8]
    risk: FloatArray
    """NaN: unknown (no estimate given)."""
    risk_low: FloatArray
    """NaN: not given (the estimate is a point)."""
    risk_high: FloatArray
    """NaN: not given (the estimate is a point)."""
    risk_source: Texts
    controlled_by: Texts
    checkpoint: Texts
    vehicle_passable: BoolArray
    candidate: BoolArray
    """Closed today but could be negotiated open (``candidate: true``)."""
    vehicles_per_min: FloatArray
    """NaN: not given (unbounded)."""
    screening_min_per_vehicle: FloatArray
    """NaN: not given."""
    screening_min_per_person: FloatArray
    """NaN: not given."""
    screening_lanes: IntArray
    """0: not given."""
    notes: Texts


def _num(value: float) -> float | int:
    """Whole floats as ints in JSON output (640 rather than 640.0)."""
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


@dataclass
class CompactScenario:
    """A scenario whose nodes and roads are columns (see the module docstring)."""

    header: ScenarioHeader
    """Everything but nodes and edges."""
    nodes: NodeColumns
    edges: EdgeColumns
    source: dict[str, Any] | None = None
    """The header's members as the document gave them (JSON values), so that a document
    written back keeps them as written; None: written from :attr:`header`."""

    @property
    def counts(self) -> tuple[int, int]:
        """How many places and roads."""
        return len(self.nodes.id), len(self.edges.id)

    # JSON ---------------------------------------------------------------------

    def header_document(self) -> dict[str, Any]:
        """Every member but ``nodes`` and ``edges``, JSON-ready."""
        if self.source is not None:
            return dict(self.source)
        doc = self.header.model_dump(mode="json", by_alias=True, exclude_defaults=True)
        doc["schema"] = self.header.schema_
        return doc

    def node_item(self, i: int) -> dict[str, Any]:
        c = self.nodes
        item: dict[str, Any] = {"id": c.id[i]}
        for key in ("name", "name_ar"):
            text = getattr(c, key)[i]
            if text is not None:
                item[key] = text
        if c.kind[i] != NODE_KINDS.index("junction"):
            item["kind"] = NODE_KINDS[int(c.kind[i])]
        if not math.isnan(c.lat[i]):
            item["lat"], item["lon"] = float(c.lat[i]), float(c.lon[i])
        if c.population[i]:
            item["population"] = int(c.population[i])
        for key in ("population_source", "controlled_by", "notes"):
            text = getattr(c, key)[i]
            if text is not None:
                item[key] = text
        if c.capacity[i]:
            item["capacity"] = int(c.capacity[i])
        return item

    def edge_item(self, i: int) -> dict[str, Any]:
        c = self.edges
        item: dict[str, Any] = {
            "id": c.id[i],
            "from": self.nodes.id[int(c.tail[i])],
            "to": self.nodes.id[int(c.head[i])],
        }
        if c.name[i] is not None:
            item["name"] = c.name[i]
        if c.directed[i]:
            item["directed"] = True
        for key in ("length_m", "travel_time_min"):
            value = float(getattr(c, key)[i])
            if not math.isnan(value):
                item[key] = _num(value)
        if c.capacity_per_min[i]:
            item["capacity_per_min"] = int(c.capacity_per_min[i])
        if c.status[i]:
            item["status"] = ROAD_STATUSES[int(c.status[i])]
        for key in ("risk", "risk_low", "risk_high"):
            value = float(getattr(c, key)[i])
            if not math.isnan(value):
                item[key] = value
        for key in ("risk_source", "controlled_by", "checkpoint"):
            text = getattr(c, key)[i]
            if text is not None:
                item[key] = text
        if not c.vehicle_passable[i]:
            item["vehicle_passable"] = False
        if c.candidate[i]:
            item["candidate"] = True
        for key in ("vehicles_per_min", "screening_min_per_vehicle", "screening_min_per_person"):
            value = float(getattr(c, key)[i])
            if not math.isnan(value):
                item[key] = _num(value)
        if c.screening_lanes[i]:
            item["screening_lanes"] = int(c.screening_lanes[i])
        if c.notes[i] is not None:
            item["notes"] = c.notes[i]
        return item

    def json_chunks(self, batch: int = 2_000) -> Iterator[str]:
        """The scenario as one JSON document, in pieces (never whole in memory)."""
        head = json.dumps(self.header_document(), ensure_ascii=False, separators=(",", ":"))
        yield head[:-1] + (',"nodes":[' if head != "{}" else '{"nodes":[')
        for key, size, item in (
            ("nodes", len(self.nodes.id), self.node_item),
            ("edges", len(self.edges.id), self.edge_item),
        ):
            if key == "edges":
                yield '],"edges":['
            for start in range(0, size, batch):
                parts = [
                    json.dumps(item(i), ensure_ascii=False, separators=(",", ":"))
                    for i in range(start, min(size, start + batch))
                ]
                yield ("," if start else "") + ",".join(parts)
        yield "]}"

    # Stored form ------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """The columns and header as a compressed numpy ``.npz`` archive."""
        arrays: dict[str, npt.NDArray[Any]] = {
            "format": _text_array(FORMAT),
            "header": _text_array(json.dumps(self.header_document(), ensure_ascii=False)),
        }
        for prefix, columns in (("nodes", self.nodes), ("edges", self.edges)):
            for f in fields(columns):
                value = getattr(columns, f.name)
                key = f"{prefix}.{f.name}"
                if isinstance(value, Ids):
                    if value.is_bytes:
                        arrays[key] = value.raw
                    else:
                        arrays[key + ".json"] = _text_array(json.dumps(value.raw.tolist()))
                elif isinstance(value, Texts):
                    arrays[key + ".values"] = _text_array(json.dumps(value.values))
                    arrays[key + ".codes"] = value.codes
                else:
                    arrays[key] = value
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> CompactScenario:
        """Read what :meth:`to_bytes` wrote (the header is validated again)."""
        with np.load(io.BytesIO(blob), allow_pickle=False) as archive:
            data = {k: archive[k] for k in archive.files}
        if _text(data["format"]) != FORMAT:
            raise ValueError("not a safe-passage compact scenario")
        source = json.loads(_text(data["header"]))
        header = ScenarioHeader.model_validate(source)

        def columns(prefix: str, kind: type[Any]) -> Any:
            values: dict[str, Any] = {}
            for f in fields(kind):
                key = f"{prefix}.{f.name}"
                if key in data:
                    values[f.name] = Ids(data[key]) if f.name == "id" else data[key]
                elif key + ".json" in data:
                    values[f.name] = Ids(np.array(json.loads(_text(data[key + ".json"])), object))
                elif key in ADDED_COLUMNS:  # stored before the field existed: its default
                    dtype, default = ADDED_COLUMNS[key]
                    values[f.name] = np.full(len(data[f"{prefix}.tail"]), default, dtype=dtype)
                else:
                    values[f.name] = Texts(
                        json.loads(_text(data[key + ".values"])), data[key + ".codes"]
                    )
            return kind(**values)

        return cls(header, columns("nodes", NodeColumns), columns("edges", EdgeColumns), source)


def _text_array(text: str) -> npt.NDArray[np.uint8]:
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def _text(array: npt.NDArray[Any]) -> str:
    return bytes(array.tobytes()).decode("utf-8")
