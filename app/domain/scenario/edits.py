"""Edits: named changes to a scenario, applied to its columns (SPEC §5).

An edit list is a document of its own::

    [{"op": "set_road", "road": "sukkari-amiriyah", "status": "blocked"},
     {"op": "add_incident", "incident": {"id": "i9", "edges": ["x-y"], ...}}]

:func:`apply_edits` applies it in order, all or nothing, and checks the edited
scenario by the same rules as a document read from a file (field rules of the
models, :func:`~app.domain.scenario.reading.column_problems` across places and
roads, :func:`~app.domain.scenario.problems.reference_problems` for the header). Every
problem points into the edit list (``/2/road``, ``/0/incident/severity``): the
caller puts it under its own prefix (``/edits``).

Only the rows an edit names are rebuilt; the other columns are shared with the
scenario edited, so an edit costs about one pass over the columns, not a reading
of the document.

:func:`diff` lists what differs between two scenarios, field by field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pydantic

from app.domain.errors import Problem, ValidationError, escape_pointer_token
from app.domain.scenario.columns import CompactScenario, IdIndex, Ids
from app.domain.scenario.model import Edge, Incident, Node, Party, Profile, ScenarioHeader, Window
from app.domain.scenario.problems import item_problems, reference_problems
from app.domain.scenario.reading import (
    Given,
    column_problems,
    item_columns,
    party_ids,
    population_of,
)

OPS = (
    "set_road",
    "set_place",
    "set_party",
    "add_incident",
    "remove_incident",
    "add_road",
    "remove_road",
    "add_place",
    "set_window",
    "remove_window",
)
"""The operations of an edit list."""

HEADER_LISTS = {"party": "parties", "incident": "incidents", "window": "windows"}

IntArray = npt.NDArray[np.int64]


def _ptr(*tokens: str | int) -> str:
    return "".join("/" + escape_pointer_token(t) for t in tokens)


@dataclass
class _Listed:
    """One item of a header list while edits are applied, and the edit that last set it."""

    item: dict[str, Any]
    origin: str | None = None
    """Pointer of the edit (or of the item inside it) whose fields the item's fields are."""


@dataclass
class _Edited:
    """The state of an edit list being applied."""

    scenario: CompactScenario
    header: dict[str, Any]
    lists: dict[str, list[_Listed]]
    nodes: dict[int, tuple[dict[str, Any], str]] = field(default_factory=dict)
    """Changed places: row → (item, pointer of its fields in the edit list)."""
    added_nodes: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    edges: dict[int, tuple[dict[str, Any], str]] = field(default_factory=dict)
    added_edges: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    removed_edges: dict[int, str] = field(default_factory=dict)
    """Removed roads: row → pointer of the edit that removed it."""
    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.node_index = IdIndex(self.scenario.nodes.id)
        self.edge_index = IdIndex(self.scenario.edges.id)


def apply_edits(scenario: CompactScenario, edits: Any) -> CompactScenario:
    """The scenario with ``edits`` applied in order, or :class:`ValidationError` with every
    problem at its pointer in the edit list.

    >>> from app.domain.scenario.reading import validate_scenario
    >>> s = validate_scenario({"schema": "safe-passage/scenario@1",
    ...     "nodes": [{"id": "a"}, {"id": "b"}],
    ...     "edges": [{"id": "a-b", "from": "a", "to": "b", "length_m": 640}]})
    >>> t = apply_edits(s, [{"op": "set_road", "road": "a-b", "status": "blocked"}])
    >>> [(c["id"], c["field"], c["before"], c["after"]) for c in diff(s, t)]
    [('a-b', 'status', 'open', 'blocked')]
    """
    if not isinstance(edits, list):
        raise ValidationError([Problem("", "the edits must be a list")])
    if not edits:
        raise ValidationError([Problem("", "give at least one edit")])
    header = scenario.header_document()
    lists = {
        key: [_Listed(dict(item)) for item in header.get(key) or []]
        for key in HEADER_LISTS.values()
    }
    state = _Edited(scenario, header, lists)
    for k, edit in enumerate(edits):
        where = _ptr(k)
        if not isinstance(edit, dict):
            state.problems.append(Problem(where, "an edit must be an object with an 'op'"))
            continue
        op = edit.get("op")
        if op not in OPS:
            state.problems.append(
                Problem(_ptr(k, "op"), f"unknown op {op!r}; one of {', '.join(OPS)}")
            )
            continue
        _APPLY[op](state, edit, k)
    return _finish(state)


def touched_ids(edits: list[Any]) -> dict[str, set[str]]:
    """The ids of the places (``"nodes"``) and roads (``"edges"``) an edit list names: the
    items an edited document writes anew
    (see :func:`~app.domain.scenario.document.spliced_document`)."""
    out: dict[str, set[str]] = {"nodes": set(), "edges": set()}
    for edit in edits:
        if not isinstance(edit, dict):
            continue
        for kind, key in (("place", "nodes"), ("road", "edges")):
            target = edit.get(kind)
            if isinstance(target, dict):
                target = target.get("id")
            if isinstance(target, str) and str(edit.get("op", "")).endswith(kind):
                out[key].add(target)
    return out


# Operations --------------------------------------------------------------------------


def _target(state: _Edited, edit: dict[str, Any], k: int, key: str) -> str | None:
    value = edit.get(key)
    if not isinstance(value, str):
        state.problems.append(Problem(_ptr(k, key), f"{key!r} must name a {key} by its id"))
        return None
    return value


def _updated(
    state: _Edited, item: dict[str, Any], edit: dict[str, Any], k: int, key: str
) -> dict[str, Any] | None:
    """``item`` with the edit's fields set (``null`` clears one), or None after a problem."""
    changes = {f: v for f, v in edit.items() if f not in ("op", key)}
    if not changes:
        state.problems.append(Problem(_ptr(k), "give at least one field to set"))
        return None
    if "id" in changes:
        state.problems.append(
            Problem(_ptr(k, "id"), f"a {key}'s id cannot change; remove it and add another")
        )
        return None
    out = dict(item)
    if key == "road" and "risk" in changes:
        # A range belongs to the estimate it surrounds: a new risk without its own range
        # replaces the old estimate whole.
        for f in ESTIMATE_RANGE:
            changes.setdefault(f, None)
    for f, v in changes.items():
        if v is None:
            out.pop(f, None)
        else:
            out[f] = v
    return out


ESTIMATE_RANGE = ("risk_low", "risk_high")
"""The fields of a road's risk range, cleared when an edit sets the risk alone."""


def _checked(
    state: _Edited, model: type[pydantic.BaseModel], item: Any, where: str
) -> dict[str, Any] | None:
    """``item`` if its model accepts it; else its problems (under ``where``) and None."""
    if not isinstance(item, dict):
        state.problems.append(Problem(where, "must be an object"))
        return None
    _, problems = item_problems(model, item, ())
    state.problems.extend(Problem(where + p.pointer, p.detail) for p in problems)
    return None if problems else item


@dataclass(frozen=True)
class _Items:
    """Where an edit list keeps the places or the roads it changes."""

    kind: str
    """``place`` or ``road``: the member naming the item in an edit."""
    model: type[pydantic.BaseModel]
    changed: str
    added: str
    index: str
    item: str
    """The scenario's method writing one row as a document item."""


PLACES = _Items("place", Node, "nodes", "added_nodes", "node_index", "node_item")
ROADS = _Items("road", Edge, "edges", "added_edges", "edge_index", "edge_item")


def _setter(items: _Items) -> Any:
    """``set_place`` / ``set_road``: set fields of an item, one added earlier included."""

    def apply(state: _Edited, edit: dict[str, Any], k: int) -> None:
        ident = _target(state, edit, k, items.kind)
        if ident is None:
            return
        added: list[tuple[dict[str, Any], str]] = getattr(state, items.added)
        for n, (item, _) in enumerate(added):
            if item["id"] == ident:
                new = _updated(state, item, edit, k, items.kind)
                if new is not None and _checked(state, items.model, new, _ptr(k)) is not None:
                    added[n] = (new, _ptr(k))
                return
        row = getattr(state, items.index).get(ident)
        if row is None or (items is ROADS and row in state.removed_edges):
            state.problems.append(Problem(_ptr(k, items.kind), f"unknown {items.kind} {ident!r}"))
            return
        changed: dict[int, tuple[dict[str, Any], str]] = getattr(state, items.changed)
        current = changed[row][0] if row in changed else getattr(state.scenario, items.item)(row)
        new = _updated(state, current, edit, k, items.kind)
        if new is not None and _checked(state, items.model, new, _ptr(k)) is not None:
            changed[row] = (new, _ptr(k))

    return apply


def _item_adder(items: _Items) -> Any:
    """``add_place`` / ``add_road``: a new item, checked by its model."""

    def apply(state: _Edited, edit: dict[str, Any], k: int) -> None:
        item = _checked(state, items.model, edit.get(items.kind), _ptr(k, items.kind))
        if item is not None:
            getattr(state, items.added).append((dict(item), _ptr(k, items.kind)))

    return apply


def _remove_road(state: _Edited, edit: dict[str, Any], k: int) -> None:
    rid = _target(state, edit, k, "road")
    if rid is None:
        return
    for n, (item, _) in enumerate(state.added_edges):
        if item["id"] == rid:
            del state.added_edges[n]
            return
    row = state.edge_index.get(rid)
    if row is None or row in state.removed_edges:
        state.problems.append(Problem(_ptr(k, "road"), f"unknown road {rid!r}"))
        return
    state.edges.pop(row, None)
    state.removed_edges[row] = _ptr(k, "road")


def _set_party(state: _Edited, edit: dict[str, Any], k: int) -> None:
    pid = _target(state, edit, k, "party")
    if pid is None:
        return
    for listed in state.lists["parties"]:
        if listed.item.get("id") == pid:
            new = _updated(state, listed.item, edit, k, "party")
            if new is not None:
                listed.item, listed.origin = new, _ptr(k)
            return
    state.problems.append(Problem(_ptr(k, "party"), f"unknown party {pid!r}"))


def _adder(kind: str) -> Any:
    """``add_incident`` adds an item; ``set_window`` adds one or replaces the one with its id."""
    key = HEADER_LISTS[kind]

    def apply(state: _Edited, edit: dict[str, Any], k: int) -> None:
        item = edit.get(kind)
        where = _ptr(k, kind)
        if not isinstance(item, dict):
            state.problems.append(Problem(where, f"{kind!r} must be an object"))
            return
        items = state.lists[key]
        same = [n for n, listed in enumerate(items) if listed.item.get("id") == item.get("id")]
        if same and kind == "window":  # a window is set: the one with its id is replaced
            items[same[0]] = _Listed(dict(item), where)
        else:  # an incident is added (a repeated id is the document's duplicate-id problem)
            items.append(_Listed(dict(item), where))

    return apply


def _remover(kind: str) -> Any:
    key = HEADER_LISTS[kind]

    def apply(state: _Edited, edit: dict[str, Any], k: int) -> None:
        ident = _target(state, edit, k, kind)
        if ident is None:
            return
        items = state.lists[key]
        for n, listed in enumerate(items):
            if listed.item.get("id") == ident:
                del items[n]
                return
        state.problems.append(Problem(_ptr(k, kind), f"unknown {kind} {ident!r}"))

    return apply


_APPLY = {
    "set_road": _setter(ROADS),
    "set_place": _setter(PLACES),
    "set_party": _set_party,
    "add_incident": _adder("incident"),
    "remove_incident": _remover("incident"),
    "add_road": _item_adder(ROADS),
    "remove_road": _remove_road,
    "add_place": _item_adder(PLACES),
    "set_window": _adder("window"),
    "remove_window": _remover("window"),
}


# The edited scenario -------------------------------------------------------------------


def _finish(state: _Edited) -> CompactScenario:
    if state.problems:  # bad values are reported before the document's rules run
        raise ValidationError(state.problems)
    s = state.scenario
    header = dict(state.header)
    origins: dict[tuple[str, int], str] = {}
    for key, items in state.lists.items():
        if items or key in header:
            header[key] = [listed.item for listed in items]
        for n, listed in enumerate(items):
            if listed.origin is not None:
                origins[(key, n)] = listed.origin

    # Places: changed rows in place, added ones after (ids never change in place).
    node_rows = np.array(sorted(state.nodes), dtype=np.int64)
    node_items = [state.nodes[r][0] for r in node_rows.tolist()]
    added_nodes = [item for item, _ in state.added_nodes]
    place_ids = s.nodes.id
    if added_nodes:
        place_ids = place_ids.extended(Ids.from_strings([i["id"] for i in added_nodes]))
    edge_rows = np.array(sorted(state.edges), dtype=np.int64)
    edge_items = [state.edges[r][0] for r in edge_rows.tolist()]
    added_edges = [item for item, _ in state.added_edges]
    staged_nodes, staged_edges, staged_ends = item_columns(
        node_items + added_nodes, edge_items + added_edges, place_ids
    )
    n, a = len(node_rows), len(added_nodes)
    nodes = s.nodes
    if n:
        nodes = nodes.scatter(node_rows, staged_nodes.take(np.arange(n)))
    if a:
        nodes = nodes.extended(staged_nodes.take(np.arange(n, n + a)))
    for r, (_, where) in state.nodes.items():
        origins[("nodes", r)] = where
    for j, (_, where) in enumerate(state.added_nodes):
        origins[("nodes", len(s.nodes.id) + j)] = where

    # Roads: changed rows in place, removed ones dropped, added ones after.
    edges = s.edges
    ends = (s.nodes.id.take(edges.tail), s.nodes.id.take(edges.head))
    m, b = len(edge_rows), len(added_edges)
    if m:
        picked = np.arange(m)
        edges = edges.scatter(edge_rows, staged_edges.take(picked))
        ends = (
            ends[0].scatter(edge_rows, staged_ends[0].take(picked)),
            ends[1].scatter(edge_rows, staged_ends[1].take(picked)),
        )
    keep = np.ones(len(edges.tail), dtype=bool)
    keep[list(state.removed_edges)] = False
    final_row = np.cumsum(keep) - 1
    if not keep.all():
        rows = np.flatnonzero(keep)
        edges = edges.take(rows)
        ends = (ends[0].take(rows), ends[1].take(rows))
    if b:
        rest = np.arange(m, m + b)
        edges = edges.extended(staged_edges.take(rest))
        ends = (
            ends[0].extended(staged_ends[0].take(rest)),
            ends[1].extended(staged_ends[1].take(rest)),
        )
    for r, (_, where) in state.edges.items():
        origins[("edges", int(final_row[r]))] = where
    kept = int(keep.sum())
    for j, (_, where) in enumerate(state.added_edges):
        origins[("edges", kept + j)] = where

    problems = column_problems(nodes, edges, ends, Given.of_valid(nodes, edges), party_ids(header))
    model, header_problems = item_problems(ScenarioHeader, header, ())
    problems.extend(header_problems)
    problems.extend(
        reference_problems(
            header,
            known={"nodes": IdIndex(nodes.id), "edges": IdIndex(edges.id)},
            population=population_of(nodes),
        )
    )
    if problems or model is None:
        removed = {s.edges.id[r]: where for r, where in state.removed_edges.items()}
        raise ValidationError([_repointed(p, origins, removed) for p in problems])
    return CompactScenario(model, nodes, edges, header)


def _repointed(
    problem: Problem, origins: dict[tuple[str, int], str], removed: dict[str, str]
) -> Problem:
    """A problem of the edited document, pointed at the edit it comes from."""
    parts = problem.pointer.split("/")
    if len(parts) >= 3 and parts[2].isdigit():
        origin = origins.get((parts[1], int(parts[2])))
        if origin is not None:
            return Problem("/".join([origin, *parts[3:]]), problem.detail)
    for rid, where in removed.items():
        if problem.detail == f"unknown road {rid!r}":
            return Problem(where, f"{problem.pointer[1:]} names this road: {problem.detail}")
    return Problem(
        "", f"the edited document would be invalid at {problem.pointer}: {problem.detail}"
    )


# Differences -------------------------------------------------------------------------

KINDS = {"parties": "party", "incidents": "incident", "windows": "window", "profiles": "profile"}
MODELS: dict[str, type[pydantic.BaseModel]] = {
    "party": Party,
    "incident": Incident,
    "window": Window,
    "profile": Profile,
    "place": Node,
    "road": Edge,
}


def _defaults(model: type[pydantic.BaseModel]) -> dict[str, Any]:
    """Each optional field's default as a document would show it."""
    out = {}
    for name, info in model.model_fields.items():
        if not info.is_required():
            value = info.get_default(call_default_factory=True)
            out[info.alias or name] = pydantic.TypeAdapter(Any).dump_python(value, mode="json")
    return out


DEFAULTS = {kind: _defaults(model) for kind, model in MODELS.items()}


def diff(a: CompactScenario, b: CompactScenario) -> list[dict[str, Any]]:
    """What changed from ``a`` to ``b``: one entry per item added or removed, and one per
    field changed (``before``/``after`` as in the documents; a field not given is null).

    Places and roads are compared by columns, so the cost follows the size of the
    scenario once and then the number of changes.
    """
    changes: list[dict[str, Any]] = []
    ha, hb = a.header_document(), b.header_document()
    for key in sorted(set(ha) | set(hb)):
        if key in KINDS or key == "schema":
            continue
        if ha.get(key) != hb.get(key):
            changes.append(_change("scenario", None, "changed", key, ha.get(key), hb.get(key)))
    for key, kind in KINDS.items():
        changes.extend(_list_diff(kind, ha.get(key) or [], hb.get(key) or []))
    changes.extend(_rows_diff("place", a, b, "nodes"))
    changes.extend(_rows_diff("road", a, b, "edges"))
    return changes


def _change(
    kind: str, ident: str | None, change: str, name: str | None = None, before: Any = None,
    after: Any = None,
) -> dict[str, Any]:  # fmt: skip
    out: dict[str, Any] = {"kind": kind, "id": ident, "change": change}
    if change == "changed":
        out.update(field=name, before=before, after=after)
    return out


def _fields_diff(
    kind: str, ident: Any, x: dict[str, Any], y: dict[str, Any]
) -> list[dict[str, Any]]:
    x, y = {**DEFAULTS[kind], **x}, {**DEFAULTS[kind], **y}
    return [
        _change(kind, ident, "changed", f, x.get(f), y.get(f))
        for f in sorted(set(x) | set(y), key=lambda f: (list(x) + list(y)).index(f))
        if x.get(f) != y.get(f)
    ]


def _list_diff(kind: str, xs: list[Any], ys: list[Any]) -> list[dict[str, Any]]:
    before = {x.get("id"): x for x in xs if isinstance(x, dict)}
    after = {y.get("id"): y for y in ys if isinstance(y, dict)}
    out = [_change(kind, i, "removed") for i in before if i not in after]
    out += [_change(kind, i, "added") for i in after if i not in before]
    for i, x in before.items():
        if i in after:
            out.extend(_fields_diff(kind, i, x, after[i]))
    return out


def _rows_diff(kind: str, a: CompactScenario, b: CompactScenario, key: str) -> list[dict[str, Any]]:
    ca, cb = getattr(a, key), getattr(b, key)
    item_a, item_b = (a.node_item, b.node_item) if key == "nodes" else (a.edge_item, b.edge_item)
    at = ca.id.positions(cb.id)  # each of b's rows in a, -1 where added
    back = cb.id.positions(ca.id)
    out = [_change(kind, ca.id[i], "removed") for i in np.flatnonzero(back < 0).tolist()]
    out += [_change(kind, cb.id[j], "added") for j in np.flatnonzero(at < 0).tolist()]
    rows_b = np.flatnonzero(at >= 0)
    rows_a = at[rows_b]
    differs = np.zeros(len(rows_b), dtype=bool)
    for name, column in vars(ca).items():
        if name == "id":
            continue
        other = getattr(cb, name)
        if isinstance(column, Ids):
            continue
        if hasattr(column, "codes"):  # texts: compare the strings, not their codes
            x = np.array([*column.values, None], dtype=object)[np.asarray(column.codes)[rows_a]]
            y = np.array([*other.values, None], dtype=object)[np.asarray(other.codes)[rows_b]]
            differs |= x != y
        elif name in ("tail", "head"):  # the ends by id: places may have been added
            differs |= a.nodes.id.take(column[rows_a]).raw != b.nodes.id.take(other[rows_b]).raw
        else:
            x, y = column[rows_a], other[rows_b]
            same = (x == y) | (_nan(x) & _nan(y))
            differs |= ~same
    for i, j in zip(rows_a[differs].tolist(), rows_b[differs].tolist(), strict=True):
        out.extend(_fields_diff(kind, ca.id[i], item_a(i), item_b(j)))
    return out


def _nan(x: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    if x.dtype.kind == "f":
        result: npt.NDArray[np.bool_] = np.isnan(x)
        return result
    return np.zeros(len(x), dtype=bool)
