"""Validate a parsed document into a :class:`Scenario`, reporting every problem.

Two passes, both always run: the pydantic models check types, ranges and
unknown fields; then cross-references are checked on the raw data, so that a
document with a wrong type in one edge still gets its unknown node ids in
another edge reported. Each problem carries an RFC 6901 JSON pointer.
"""

from __future__ import annotations

import math
from collections.abc import Container, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

import pydantic

from app.domain.errors import Problem, ValidationError, pointer
from app.domain.scenario import SCHEMA_ID, Scenario


def validate_scenario(
    data: Any, *, max_nodes: int | None = None, max_edges: int | None = None
) -> Scenario:
    """Return the scenario in ``data`` or raise :class:`ValidationError` listing every problem.

    ``max_nodes``/``max_edges``: most places and roads accepted (``None``: no limit).
    The service and the CLI pass the limits of :class:`app.config.Settings`.

    >>> s = validate_scenario({"schema": "safe-passage/scenario@1",
    ...     "nodes": [{"id": "a"}, {"id": "b"}],
    ...     "edges": [{"id": "a-b", "from": "a", "to": "b", "length_m": 640}]})
    >>> s.edges[0].from_, s.edges[0].length_m
    ('a', 640.0)
    """
    if not isinstance(data, dict):
        raise ValidationError([Problem("", "a scenario document must be a JSON object")])
    problems: list[Problem] = []
    problems.extend(_size_problems(data, max_nodes, max_edges))
    if problems:
        raise ValidationError(problems)
    scenario: Scenario | None = None
    try:
        scenario = Scenario.model_validate(data)
    except pydantic.ValidationError as exc:
        problems.extend(_from_pydantic(exc, data))
    problems.extend(_reference_problems(data))
    if problems:
        raise ValidationError(_unique(problems))
    assert scenario is not None
    return scenario


def _size_problems(
    data: dict[str, Any], max_nodes: int | None, max_edges: int | None
) -> Iterator[Problem]:
    for key, limit in (("nodes", max_nodes), ("edges", max_edges)):
        items = data.get(key)
        if limit is not None and isinstance(items, list) and len(items) > limit:
            yield Problem(pointer(key), f"{len(items)} {key}; the limit is {limit}")


def item_problems(
    model: type[pydantic.BaseModel], item: Any, prefix: tuple[str | int, ...]
) -> tuple[Any, list[Problem]]:
    """Validate one list item on its own: ``(model or None, problems at their pointers)``.

    Gives the same problems as validating the whole document would for that item.
    """
    try:
        return model.model_validate(item), []
    except pydantic.ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            loc = [*prefix, *(p for p in err["loc"] if not _is_union_tag(p))]
            problems.append(Problem(pointer(*loc), _message(err, loc, {})))
        return None, problems


def _from_pydantic(exc: pydantic.ValidationError, data: dict[str, Any]) -> Iterator[Problem]:
    for err in exc.errors(include_url=False):
        loc = [p for p in err["loc"] if not _is_union_tag(p)]
        where = pointer(*loc)
        yield Problem(where, _message(err, loc, data))


def _is_union_tag(part: Any) -> bool:
    # pydantic adds the branch name (e.g. "float", "constrained-float") for unions.
    return isinstance(part, str) and ("[" in part or part in {"float", "int", "str", "bool"})


def _message(err: Any, loc: list[Any], data: dict[str, Any]) -> str:
    kind = err["type"]
    field = str(loc[-1]) if loc else "document"
    value = err.get("input")
    if kind == "extra_forbidden":
        return f"unknown field {field!r}"
    if kind == "missing":
        return f"{field!r} is required"
    if kind == "finite_number" or (isinstance(value, float) and not math.isfinite(value)):
        return f"{field!r} must be a finite number, not {value!r}"
    if kind == "literal_error" and field == "schema":
        return f"'schema' must be {SCHEMA_ID!r}"
    ctx = err.get("ctx") or {}
    if kind == "greater_than_equal":
        return f"{field!r} must be at least {ctx.get('ge')}, got {value!r}"
    if kind == "greater_than":
        return f"{field!r} must be greater than {ctx.get('gt')}, got {value!r}"
    if kind == "less_than":
        return f"{field!r} must be less than {ctx.get('lt')}, got {value!r}"
    if kind == "less_than_equal":
        return f"{field!r} must be at most {ctx.get('le')}, got {value!r}"
    if kind == "timezone_aware":
        return f"{field!r} must be an ISO 8601 timestamp with a UTC offset, got {value!r}"
    msg = str(err["msg"])
    return f"{field!r}: {msg[0].lower() + msg[1:] if msg else kind}"


def _items(data: dict[str, Any], key: str) -> Iterator[tuple[int, dict[str, Any]]]:
    items = data.get(key)
    if isinstance(items, list):
        for i, item in enumerate(items):
            if isinstance(item, dict):
                yield i, item


def _ids(data: dict[str, Any], key: str) -> tuple[set[str], list[Problem]]:
    seen: dict[str, int] = {}
    problems: list[Problem] = []
    for i, item in _items(data, key):
        ident = item.get("id")
        if not isinstance(ident, str):
            continue
        if ident in seen:
            problems.append(
                Problem(
                    pointer(key, i, "id"),
                    f"duplicate id {ident!r} (first used at {pointer(key, seen[ident])})",
                )
            )
        else:
            seen[ident] = i
    return set(seen), problems


def party_problem(value: Any, where: str, parties: Container[str]) -> Problem | None:
    """An unknown party reference (only strings are checked; types are the model's job)."""
    if isinstance(value, str) and value not in parties:
        return Problem(where, f"unknown party {value!r}; declare it in 'parties'")
    return None


def node_reference_problems(
    i: int, node: dict[str, Any], parties: Container[str] | None
) -> list[Problem]:
    """Cross-field problems of one node (``parties`` None: the party list itself is broken)."""
    problems = []
    if parties is not None:
        found = party_problem(
            node.get("controlled_by"), pointer("nodes", i, "controlled_by"), parties
        )
        if found:
            problems.append(found)
    pop, cap = node.get("population"), node.get("capacity")
    if isinstance(pop, int) and isinstance(cap, int) and 0 < cap < pop:
        problems.append(
            Problem(
                pointer("nodes", i, "population"),
                f"population {pop} exceeds the node's capacity {cap}",
            )
        )
    if (node.get("lat") is None) != (node.get("lon") is None):
        missing = "lon" if node.get("lon") is None else "lat"
        problems.append(
            Problem(pointer("nodes", i, missing), "give both 'lat' and 'lon', or neither")
        )
    return problems


def edge_reference_problems(
    i: int,
    edge: dict[str, Any],
    nodes: Container[str] | None,
    parties: Container[str] | None,
) -> list[Problem]:
    """Cross-field problems of one road (``nodes`` None: the node list itself is broken)."""
    problems = []
    for side in ("from", "to"):
        value = edge.get(side)
        if isinstance(value, str) and nodes is not None and value not in nodes:
            problems.append(Problem(pointer("edges", i, side), f"unknown node {value!r}"))
    if isinstance(edge.get("from"), str) and edge.get("from") == edge.get("to"):
        problems.append(Problem(pointer("edges", i, "to"), "a road must join two different nodes"))
    if edge.get("length_m") is None and edge.get("travel_time_min") is None:
        problems.append(
            Problem(pointer("edges", i), "give 'length_m' or 'travel_time_min' (or both)")
        )
    if parties is not None:
        for key in ("controlled_by", "checkpoint"):
            found = party_problem(edge.get(key), pointer("edges", i, key), parties)
            if found:
                problems.append(found)
    return problems


def reference_problems(
    data: dict[str, Any], known: Mapping[str, Container[str]] | None = None
) -> list[Problem]:
    """Every cross-reference problem of a document.

    ``known`` gives the ids of lists checked elsewhere (the columnar path for large
    documents passes its node and road ids and leaves those lists out of ``data``).
    """
    return _reference_problems(data, known)


def _reference_problems(
    data: dict[str, Any], known: Mapping[str, Container[str]] | None = None
) -> list[Problem]:
    problems: list[Problem] = []
    ids: dict[str, Container[str]] = {}
    for key in ("parties", "nodes", "edges", "incidents", "windows", "profiles"):
        if known is not None and key in known:
            ids[key] = known[key]
            continue
        ids[key], dups = _ids(data, key)
        problems.extend(dups)
    nodes, parties, edges = ids["nodes"], ids["parties"], ids["edges"]

    if isinstance(data.get("nodes"), list) and not data["nodes"]:
        problems.append(Problem("/nodes", "a scenario needs at least one node"))

    # A 'parties' that is not a list is reported once, not at every reference.
    parties_ok = parties if isinstance(data.get("parties", []), list) else None

    def party_ref(value: Any, where: str) -> None:
        if parties_ok is not None:
            found = party_problem(value, where, parties_ok)
            if found:
                problems.append(found)

    for i, node in _items(data, "nodes"):
        problems.extend(node_reference_problems(i, node, parties_ok))

    nodes_ok = nodes if isinstance(data.get("nodes"), list) else None
    for i, edge in _items(data, "edges"):
        problems.extend(edge_reference_problems(i, edge, nodes_ok, parties_ok))

    for i, incident in _items(data, "incidents"):
        has_point = incident.get("lat") is not None or incident.get("lon") is not None
        named = incident.get("edges")
        if has_point:
            for coord in ("lat", "lon", "radius_m"):
                if incident.get(coord) is None:
                    problems.append(
                        Problem(
                            pointer("incidents", i, coord),
                            f"an incident with a location needs {coord!r}",
                        )
                    )
        elif not named:
            problems.append(
                Problem(
                    pointer("incidents", i),
                    "an incident needs a location ('lat', 'lon', 'radius_m') or 'edges'",
                )
            )
        if isinstance(named, list):
            for j, ref in enumerate(named):
                if isinstance(ref, str) and ref not in edges:
                    problems.append(
                        Problem(pointer("incidents", i, "edges", j), f"unknown road {ref!r}")
                    )

    for i, window in _items(data, "windows"):
        agreed = window.get("agreed_by")
        if isinstance(agreed, list):
            for j, ref in enumerate(agreed):
                party_ref(ref, pointer("windows", i, "agreed_by", j))
        start, end = window.get("start"), window.get("end")
        if isinstance(start, str | datetime) and isinstance(end, str | datetime):
            problems.extend(_window_order(i, start, end))

    for i, profile in _items(data, "profiles"):
        risks = profile.get("checkpoint_risk")
        if isinstance(risks, dict):
            for ref in risks:
                party_ref(ref, pointer("profiles", i, "checkpoint_risk", ref))
    return problems


def _window_order(i: int, start: str | datetime, end: str | datetime) -> Iterable[Problem]:
    # YAML gives unquoted timestamps as datetime objects; JSON gives strings.
    try:
        s, e = (v if isinstance(v, datetime) else datetime.fromisoformat(v) for v in (start, end))
        if s.tzinfo is None or e.tzinfo is None:
            return []
        if e <= s:
            return [Problem(pointer("windows", i, "end"), "'end' must be after 'start'")]
    except ValueError:
        return []  # reported by the model pass
    return []


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[str, str]] = set()
    out = []
    for p in problems:
        if (p.pointer, p.detail) not in seen:
            seen.add((p.pointer, p.detail))
            out.append(p)
    return out
