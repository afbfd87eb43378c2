"""Incident reports from CSV or GeoJSON text, with every bad row reported by number.

Pure: takes text, returns incident documents (the ``incidents[]`` items of the
scenario, SPEC §2) and problems; reading files is the caller's business.

Columns (CSV header or GeoJSON ``properties`` keys; case and spaces ignored):

===============  ==============================================================
field            accepted names
===============  ==============================================================
``id``           ``id``, ``event_id_cnty`` (ACLED), ``event_id``, ``#event+id``,
                 ``#event+code``; missing: ``inc-`` + a hash of the row's
                 place, time and kind (re-importing a file gives the same ids)
``lat``/``lon``  ``lat``/``lon``, ``latitude``/``longitude`` (ACLED),
                 ``#geo+lat``/``#geo+lon`` (HXL); GeoJSON: the Point geometry
``observed_at``  ``observed_at``, ``date``, ``event_date`` (ACLED), ``datetime``,
                 ``#date`` (HXL); ISO 8601 or ``13 December 2016``; without an
                 offset the import's time zone applies (the scenario's)
``kind``         ``kind``, ``type``, ``event_type`` (ACLED), ``#event+type``
                 (HXL); ACLED's ``sub_event_type``, when given, is more precise
                 and is used instead
``severity``     ``severity``; missing: by kind, see :data:`KIND_SEVERITY`
``confidence``   ``confidence``; missing: :attr:`ImportDefaults.confidence`
``radius_m``     ``radius_m``, ``radius``; missing: :attr:`ImportDefaults.radius_m`
``half_life_h``  ``half_life_h``; missing: :attr:`ImportDefaults.half_life_h`
``source``       ``source`` (ACLED), ``#meta+source``; missing: the import's source
``notes``        ``notes`` (ACLED), ``description``, ``#description``;
                 ``fatalities`` (ACLED) is added to the notes
``edges``        ``edges``, ``roads``: road ids separated by ``;`` (for
                 networks without coordinates)
===============  ==============================================================

HXL: a row of hashtags (``#geo+lat`` …) under the header row, or instead of it,
names the columns; a hashtag matches when its attributes include the ones
above (``#date+occurred`` is a ``#date``). Unknown columns are ignored.

Row numbers are spreadsheet rows: the header is row 1, so the first report of
a plain CSV is row 2 (row 3 under an HXL hashtag row). GeoJSON features are
numbered from 0, as in a JSON pointer.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from collections.abc import Container, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any, Literal

import pydantic

from app.domain.errors import Problem, pointer
from app.domain.scenario.model import Incident

Format = Literal["csv", "geojson"]

KIND_SEVERITY: tuple[tuple[tuple[str, ...], float], ...] = (
    (
        (
            "shell",
            "artillery",
            "missile",
            "air strike",
            "airstrike",
            "air/drone",
            "drone",
            "barrel bomb",
            "bomb",
            "explosi",
            "remote violence",
            "grenade",
            "mortar",
            "rocket",
        ),
        0.05,
    ),
    (("sniper", "armed clash", "battle", "clash", "fighting", "crossfire", "attack"), 0.03),
    (
        (
            "abduction",
            "disappearance",
            "detention",
            "arrest",
            "violence against civilians",
            "looting",
        ),
        0.02,
    ),
    (("protest", "riot", "strategic development", "agreement", "non-violent"), 0.0),
)
"""Default ``severity`` by kind (first keyword contained in the kind, lower case).

Planning assumptions for illustration, not measured rates: the added
probability that one person passing near the incident is harmed. Kinds that
match nothing get :attr:`ImportDefaults.severity`. Give a ``severity`` column
(or ``--severity``) to use your own figures."""


@dataclass(frozen=True)
class ImportDefaults:
    """Values for fields a report does not give."""

    severity: float | None = None
    """``None``: by kind (:data:`KIND_SEVERITY`), else :attr:`unknown_kind_severity`."""
    unknown_kind_severity: float = 0.02
    radius_m: float = 250.0
    """Metres around the reported point; a street block either way, since press and ACLED
    locations are rarely more precise than that."""
    confidence: float = 0.5
    """An unverified report counts half."""
    half_life_h: float | None = 24.0
    """The effect halves each day: shelling of a road yesterday says less about today."""
    source: str | None = None
    """Source recorded for reports without one (e.g. the file name)."""
    tz: tzinfo = UTC
    """Time zone of dates and times given without an offset."""


@dataclass
class ParsedIncidents:
    """Incident documents ready to add to a scenario, where each came from, and problems."""

    incidents: list[dict[str, Any]] = field(default_factory=list)
    origins: list[str] = field(default_factory=list)
    """For each incident: ``row N`` or ``feature N``."""
    pointers: list[str] = field(default_factory=list)
    """For each incident: ``/rows/N`` or ``/features/N``."""
    problems: list[Problem] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)
    """Rows or features left out because of a problem."""
    fatal: bool = False
    """The text as a whole is unreadable (no header, no date column, not GeoJSON)."""

    @property
    def read(self) -> int:
        """Reports read (rows or features, good and bad)."""
        return len(self.incidents) + len(self.bad)

    def report(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "valid": len(self.incidents),
            "bad": self.bad,
            "errors": [p.as_dict() for p in self.problems],
        }


ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "incident_id", "event_id_cnty", "event_id", "#event+id", "#event+code"),
    "sub_kind": ("sub_event_type",),
    "kind": ("kind", "type", "event_type", "#event+type"),
    "lat": ("lat", "latitude", "#geo+lat"),
    "lon": ("lon", "lng", "long", "longitude", "#geo+lon"),
    "observed_at": ("observed_at", "date", "event_date", "datetime", "date_time", "#date"),
    "radius_m": ("radius_m", "radius"),
    "severity": ("severity",),
    "confidence": ("confidence",),
    "half_life_h": ("half_life_h", "half_life"),
    "source": ("source", "#meta+source"),
    "notes": ("notes", "description", "#description", "#meta+notes"),
    "edges": ("edges", "roads"),
    "fatalities": ("fatalities", "#affected+killed"),
}

DATE_FORMATS = ("%d %B %Y", "%d-%B-%Y", "%d %b %Y", "%d-%b-%Y", "%Y/%m/%d")


def parse_incidents(
    text: str,
    fmt: Format | None = None,
    defaults: ImportDefaults | None = None,
    known_edges: Container[str] | None = None,
) -> ParsedIncidents:
    """Incidents in ``text`` (CSV or GeoJSON; guessed when ``fmt`` is None).

    Every problem is reported (pointer ``/rows/N/column`` or
    ``/features/N/...``); rows with problems are left out of ``incidents``.
    ``known_edges`` (the scenario's road ids) lets unknown roads be reported
    per row.
    """
    d = defaults or ImportDefaults()
    text = text.removeprefix("\ufeff")
    if fmt is None:
        fmt = "geojson" if text.lstrip()[:1] in ("{", "[") else "csv"
    result = ParsedIncidents()
    records = _geojson_records(text, result) if fmt == "geojson" else _csv_records(text, result)
    seen: dict[str, str] = {}
    for where, label, values in records:
        before = len(result.problems)
        doc = _incident(values, where, label, d, known_edges, result.problems)
        if doc is not None and doc["id"] in seen:
            result.problems.append(
                Problem(
                    where + _column(values, "id"),
                    f"{label}: id {doc['id']!r} already used in {seen[doc['id']]}",
                )
            )
        if len(result.problems) > before or doc is None:
            result.bad.append(label)
            continue
        seen[doc["id"]] = label
        result.incidents.append(doc)
        result.origins.append(label)
        result.pointers.append(where)
    return result


# A record: (pointer prefix, human label, {field: (column name, pointer suffix, raw value)}).
Values = dict[str, tuple[str, str, Any]]
Record = tuple[str, str, Values]


def _canonical(names: list[str]) -> dict[int, str]:
    """Column position → canonical field, first matching column wins."""
    taken: dict[str, int] = {}
    for i, raw in enumerate(names):
        name = _normal(raw)
        for fld, aliases in ALIASES.items():
            if fld in taken:
                continue
            if any(_matches(name, alias) for alias in aliases):
                taken[fld] = i
                break
    return {i: fld for fld, i in taken.items()}


def _normal(name: str) -> str:
    name = name.strip().lower()
    if name.startswith("#"):
        return "".join(name.split())
    return "_".join(name.replace("-", " ").split())


def _matches(name: str, alias: str) -> bool:
    if not alias.startswith("#"):
        return name == alias
    if not name.startswith("#"):
        return False
    tag, *attrs = name.split("+")
    want_tag, *want = alias.split("+")
    return tag == want_tag and set(want) <= set(attrs)


def _is_hashtag_row(row: list[str]) -> bool:
    cells = [c.strip() for c in row if c.strip()]
    return bool(cells) and all(c.startswith("#") for c in cells)


def _csv_records(text: str, result: ParsedIncidents) -> Iterator[Record]:
    sample = text[:8192]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(io.StringIO(text), dialect))
    if not rows:
        result.problems.append(Problem("/rows", "the file has no header row"))
        result.fatal = True
        return
    header, start = rows[0], 1
    if _is_hashtag_row(header):
        names = header
    elif len(rows) > 1 and _is_hashtag_row(rows[1]):
        names = [tag if tag.strip() else head for head, tag in _zip_pad(header, rows[1])]
        start = 2
    else:
        names = header
    columns = _canonical(names)
    if not {"observed_at"} <= set(columns.values()):
        result.problems.append(
            Problem("/rows/1", "no date column (observed_at, date, event_date or #date)")
        )
        result.fatal = True
        return
    for number, row in enumerate(rows[start:], start=start + 1):
        if not any(cell.strip() for cell in row):
            continue
        values = {
            fld: (names[i].strip(), pointer(names[i].strip()), row[i].strip())
            for i, fld in columns.items()
            if i < len(row)
        }
        yield f"/rows/{number}", f"row {number}", values


def _zip_pad(a: list[str], b: list[str]) -> list[tuple[str, str]]:
    n = max(len(a), len(b))
    return list(zip(a + [""] * (n - len(a)), b + [""] * (n - len(b)), strict=True))


def _geojson_records(text: str, result: ParsedIncidents) -> Iterator[Record]:
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        result.problems.append(Problem("", f"not valid JSON: {exc}"))
        result.fatal = True
        return
    if isinstance(data, dict) and data.get("type") == "Feature":
        features: Any = [data]
    elif isinstance(data, dict) and data.get("type") == "FeatureCollection":
        features = data.get("features")
    else:
        result.problems.append(
            Problem("/type", "expected a GeoJSON FeatureCollection or Feature of Points")
        )
        result.fatal = True
        return
    if not isinstance(features, list):
        result.problems.append(Problem("/features", "'features' must be a list"))
        result.fatal = True
        return
    for i, feature in enumerate(features):
        where, label = f"/features/{i}", f"feature {i}"
        if not isinstance(feature, dict):
            result.problems.append(Problem(where, f"{label}: not a GeoJSON Feature"))
            result.bad.append(label)
            continue
        props = feature.get("properties") or {}
        if not isinstance(props, dict):
            result.problems.append(Problem(where + "/properties", f"{label}: not an object"))
            result.bad.append(label)
            continue
        keys = list(props)
        values: Values = {
            fld: (keys[i], pointer("properties", keys[i]), props[keys[i]])
            for i, fld in _canonical(keys).items()
        }
        geometry = feature.get("geometry")
        if geometry is not None:
            coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
            if (
                not isinstance(geometry, dict)
                or geometry.get("type") != "Point"
                or not isinstance(coords, list)
                or len(coords) < 2
            ):
                result.problems.append(
                    Problem(where + "/geometry", f"{label}: only Point geometries are accepted")
                )
                result.bad.append(label)
                continue
            values["lon"] = ("longitude", "/geometry/coordinates/0", coords[0])
            values["lat"] = ("latitude", "/geometry/coordinates/1", coords[1])
        yield where, label, values


def _column(values: Values, fld: str) -> str:
    return values[fld][1] if fld in values else ""


def _incident(
    values: Values,
    where: str,
    label: str,
    d: ImportDefaults,
    known_edges: Container[str] | None,
    problems: list[Problem],
) -> dict[str, Any] | None:
    start = len(problems)

    def raw(fld: str) -> Any:
        value = values.get(fld, ("", "", None))[2]
        return None if isinstance(value, str) and not value.strip() else value

    def bad(fld: str, detail: str) -> None:
        column = values[fld][0] if fld in values else fld
        problems.append(Problem(where + _column(values, fld), f"{label}, {column}: {detail}"))

    def number(fld: str) -> float | None:
        value = raw(fld)
        if value is None:
            return None
        if isinstance(value, bool):
            bad(fld, f"not a number: {value!r}")
            return None
        try:
            x = float(value)
        except (TypeError, ValueError):
            bad(fld, f"not a number: {value!r}")
            return None
        if not math.isfinite(x):
            bad(fld, f"not a finite number: {value!r}")
            return None
        return x

    doc: dict[str, Any] = {}
    kind = raw("sub_kind") or raw("kind")
    doc["kind"] = str(kind).strip() if kind is not None else "unspecified"
    when = _when(raw("observed_at"), d.tz)
    if isinstance(when, str):
        bad("observed_at", when)
    else:
        doc["observed_at"] = when.isoformat()
    lat, lon = number("lat"), number("lon")
    edges_raw = raw("edges")
    edges: list[str] = []
    if edges_raw is not None:
        parts = edges_raw if isinstance(edges_raw, list) else str(edges_raw).replace("|", ";")
        edges = [str(p).strip() for p in (parts if isinstance(parts, list) else parts.split(";"))]
        edges = [e for e in edges if e]
        if known_edges is not None:
            for e in edges:
                if e not in known_edges:
                    bad("edges", f"unknown road {e!r}")
        doc["edges"] = edges
    if lat is not None and lon is not None:
        doc["lat"], doc["lon"] = lat, lon
        radius = number("radius_m")
        doc["radius_m"] = radius if radius is not None else d.radius_m
    elif (lat is None) != (lon is None) and len(problems) == start:
        bad("lat" if lat is None else "lon", "give both latitude and longitude, or neither")
    elif not edges and len(problems) == start:
        problems.append(
            Problem(where, f"{label}: no location: give latitude and longitude, or road ids")
        )
    severity = number("severity")
    doc["severity"] = severity if severity is not None else _severity(doc["kind"], d)
    confidence = number("confidence")
    doc["confidence"] = confidence if confidence is not None else d.confidence
    half_life = number("half_life_h")
    doc["half_life_h"] = half_life if half_life is not None else d.half_life_h
    source = raw("source")
    doc["source"] = str(source).strip() if source is not None else d.source
    notes = [str(raw("notes")).strip()] if raw("notes") is not None else []
    if raw("fatalities") is not None:
        notes.append(f"fatalities reported: {raw('fatalities')}")
    if notes:
        doc["notes"] = "; ".join(notes)
    ident = raw("id")
    doc["id"] = str(ident).strip() if ident is not None else _generated_id(doc)
    if len(problems) > start:
        return None
    try:
        Incident.model_validate(doc)
    except pydantic.ValidationError as exc:
        for err in exc.errors(include_url=False):
            fld = str(err["loc"][0]) if err["loc"] else ""
            bad(fld, f"{err['msg'][0].lower()}{err['msg'][1:]}, got {err.get('input')!r}")
        return None
    return doc


def _severity(kind: str, d: ImportDefaults) -> float:
    if d.severity is not None:
        return d.severity
    text = kind.lower()
    for keywords, severity in KIND_SEVERITY:
        if any(k in text for k in keywords):
            return severity
    return d.unknown_kind_severity


def _when(value: Any, tz: tzinfo) -> datetime | str:
    """A timezone-aware time, or the sentence saying what is wrong."""
    if value is None:
        return "a date is required"
    text = str(value).strip()
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        for fmt in DATE_FORMATS:
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        return f"not a date: {text!r} (use ISO 8601, e.g. 2016-12-13 or 2016-12-13T09:00+02:00)"
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed


def _generated_id(doc: dict[str, Any]) -> str:
    basis = json.dumps(
        [doc.get(k) for k in ("observed_at", "lat", "lon", "edges", "kind")], sort_keys=True
    )
    return "inc-" + hashlib.sha1(basis.encode()).hexdigest()[:12]
