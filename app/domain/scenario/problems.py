"""The problems of a scenario document, in words and at their JSON pointers.

The pydantic models check types, ranges and unknown fields
(:func:`item_problems` turns their errors into problems); cross-references of
the header's lists (incidents, windows, profiles, party ids) are checked on the
raw data by :func:`reference_problems`, so that a document with a wrong type in
one item still gets its unknown ids in another reported. Places and roads are
checked by columns where they are read
(:mod:`app.domain.scenario.reading`, which also holds ``validate_scenario``).
Each problem carries an RFC 6901 JSON pointer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Container, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

import pydantic

from app.domain.errors import Problem, pointer
from app.domain.scenario.model import SCHEMA_ID


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
            problems.append(Problem(pointer(*loc), _message(err, loc)))
        return None, problems


def _is_union_tag(part: Any) -> bool:
    # pydantic adds the branch name (e.g. "float", "constrained-float") for unions.
    return isinstance(part, str) and ("[" in part or part in {"float", "int", "str", "bool"})


def _message(err: Any, loc: list[Any]) -> str:
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


def reference_problems(
    data: dict[str, Any],
    known: Mapping[str, Container[str]],
    population: Callable[[str], int] | None = None,
) -> list[Problem]:
    """Every cross-reference problem of a document's header (all but places and roads).

    ``known`` gives the ids of the places and roads (``"nodes"``, ``"edges"``), read
    and checked as columns; ``population`` the people of a known place (groups may not
    count more people at a place than live there).
    """
    problems: list[Problem] = []
    ids: dict[str, Container[str]] = {}
    for key in ("parties", "incidents", "windows", "profiles", "groups", "fleets"):
        ids[key], dups = _ids(data, key)
        problems.extend(dups)
    parties, edges = ids["parties"], known["edges"]

    # A 'parties' that is not a list is reported once, not at every reference.
    parties_ok = parties if isinstance(data.get("parties", []), list) else None

    def party_ref(value: Any, where: str) -> None:
        if parties_ok is not None:
            found = party_problem(value, where, parties_ok)
            if found:
                problems.append(found)

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
    problems.extend(_fleet_problems(data, known["nodes"], population))
    return problems


def _fleet_problems(
    data: dict[str, Any], nodes: Container[str], population: Callable[[str], int] | None
) -> Iterator[Problem]:
    """Fleets start at known places and carry someone; groups count people at known places,
    no more than live there."""
    for i, fleet in _items(data, "fleets"):
        depot = fleet.get("depot")
        if isinstance(depot, str) and depot not in nodes:
            yield Problem(pointer("fleets", i, "depot"), f"unknown node {depot!r}")
        seats, stretchers = fleet.get("seats", 0), fleet.get("stretchers", 0)
        if seats == 0 and stretchers == 0:
            yield Problem(pointer("fleets", i), "a fleet needs 'seats' or 'stretchers'")
    counted: dict[str, int] = {}
    for i, group in _items(data, "groups"):
        at = group.get("at")
        if not isinstance(at, dict):
            continue
        if group.get("id") == "general" and at:
            yield Problem(
                pointer("groups", i, "at"),
                "'general' is everybody not counted in another group: it takes no 'at'",
            )
        for place, count in at.items():
            if place not in nodes:
                yield Problem(pointer("groups", i, "at", place), f"unknown node {place!r}")
            elif isinstance(count, int) and not isinstance(count, bool) and count >= 0:
                counted[place] = counted.get(place, 0) + count
                if population is not None and counted[place] > population(place):
                    yield Problem(
                        pointer("groups", i, "at", place),
                        f"groups count {counted[place]} people at {place!r}, which has "
                        f"population {population(place)}",
                    )


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
