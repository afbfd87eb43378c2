"""Scenarios: create, list, read, replace (If-Match), delete, versions, incidents."""

from __future__ import annotations

from typing import Annotated, Any

import pydantic
from fastapi import APIRouter, Body, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from app.api import examples
from app.api.deps import CatalogDep, PlannerDep, RawBody, UploadBody, ViewerDep
from app.api.preconditions import expected_version
from app.api.problems import IF_MATCH_REQUIRED
from app.api.schemas import CHANGES, EDITS, ETAG, LOCATION, SCENARIO_VERSION, DateTime
from app.domain.errors import InvalidRequestError, Problem, pointer
from app.domain.scenario.document import parse_document
from app.domain.scenario.model import Incident, Scenario
from app.services.catalog import Catalog
from app.services.errors import UnsupportedMediaTypeError
from app.services.incidents import ImportRequest, import_incidents
from app.services.requests import MAX_STORED_INT
from app.storage.repository import VersionInfo

router = APIRouter(prefix="/v1/scenarios", tags=["scenarios"])

YAML_TYPES = {"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"}

SCENARIO_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A scenario document (SPEC §2), as JSON or YAML.",
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/Scenario"},
                "example": examples.SCENARIO,
            },
            "application/yaml": {"schema": {"type": "string"}},
        },
    }
}


class ForkedFrom(BaseModel):
    scenario: str
    version: int


class VersionSummary(BaseModel):
    """One version of a scenario, as lists show it (no document, no edits)."""

    model_config = ConfigDict(populate_by_name=True)

    id: str
    name: str | None
    version: int
    created_at: DateTime
    created_by: str | None
    change: str
    nodes: int
    edges: int
    size_bytes: int | None = Field(
        description="Bytes of the version's JSON document (null for a version stored as "
        "edits until its document is first read)."
    )
    sha256: str | None = Field(
        description="SHA-256 of the version's JSON document (null like size_bytes)."
    )
    kind: str | None = Field(
        default=None,
        description="How the version was made: created, replaced, edited, incidents, forked "
        "(null for versions stored before kinds were recorded).",
    )
    author: str | None = Field(default=None, description="Name of the token that made it.")
    reason: str | None = Field(default=None, description="Why, as its author said.")
    stored_as: str = Field(
        default="document",
        description="document: stored whole; edits: stored as its edits on version "
        "`base_version` (reading it replays them).",
    )
    base_version: int | None = None
    forked_from: ForkedFrom | None = Field(
        default=None, description="The scenario and version this scenario was forked from."
    )


class VersionOut(VersionSummary):
    """One version of a scenario, with the edits that made it."""

    edits: Annotated[list[dict[str, Any]], EDITS] | None = Field(
        default=None,
        description="The edits that made it from the version before (edited and incidents "
        "versions).",
    )


class IncidentsAdded(VersionOut):
    """The version the reports made, and what was read."""

    added: int = Field(description="Reports added.")
    skipped: list[str] = Field(description="Rows of a file left out (skip_bad), and why.")


class ScenarioPage(BaseModel):
    items: list[VersionSummary]
    total: int
    limit: int
    offset: int
    next: str | None = Field(description="Address of the next page, if any.")


class VersionList(BaseModel):
    id: str
    versions: list[VersionOut]


class EditRequest(BaseModel):
    """Body of ``POST /v1/scenarios/{id}/edits`` (SPEC §5)."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(
        default=None, max_length=10_000, description="Why: news, a field report, a proposal."
    )
    edits: list[dict[str, Any]] = Field(
        min_length=1,
        description="Named operations, applied in order, all or nothing: set_road, set_place, "
        "set_party, add_incident, remove_incident, add_road, remove_road, add_place, "
        "set_window, remove_window.",
    )


class DiffOut(BaseModel):
    id: str
    from_: int = Field(alias="from")
    to: int
    changes: Annotated[list[dict[str, Any]], CHANGES] = Field(
        description="Each difference; field, before and after for a changed field."
    )


class ForkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=10_000, description="The what-if's name.")
    version: int | None = Field(
        default=None, ge=1, le=MAX_STORED_INT, description="Default: the current version."
    )


class ForkList(BaseModel):
    id: str
    forks: list[VersionOut]


class IncidentBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    incidents: list[dict[str, Any]] = Field(
        min_length=1,
        description="Incident reports (SPEC §2 `incidents[]`).",
        json_schema_extra={"items": Incident.model_json_schema()},
    )


COMPONENTS = (IncidentBatch,)
"""Request bodies read by the routes themselves, declared by name in the OpenAPI document."""


def _summary(info: VersionInfo) -> VersionSummary:
    return VersionSummary.model_validate(_out(info).model_dump(exclude={"edits"}))


def _out(info: VersionInfo) -> VersionOut:
    return VersionOut(
        id=info.scenario_id,
        name=info.name,
        version=info.version,
        created_at=info.created_at.isoformat(),
        created_by=info.created_by,
        change=info.change,
        nodes=info.node_count,
        edges=info.edge_count,
        size_bytes=info.size_bytes,
        sha256=info.sha256,
        kind=info.kind,
        author=info.author,
        reason=info.reason,
        edits=info.edits,
        stored_as="edits" if info.base_version is not None else "document",
        base_version=info.base_version,
        forked_from=(
            ForkedFrom(scenario=info.forked_from[0], version=info.forked_from[1])
            if info.forked_from
            else None
        ),
    )


def etag(version: int) -> str:
    return f'"{version}"'


def _document(
    catalog: Catalog, scenario_id: str, version: int | None, current: bool = False
) -> Response:
    """A stored document, streamed as stored (never parsed)."""
    info, pieces = catalog.document_chunks(scenario_id, version)
    headers = {"ETag": etag(info.version), "Content-Length": str(info.size_bytes)}
    if current:
        headers["X-Scenario-Version"] = str(info.version)
    return StreamingResponse(pieces, media_type="application/json", headers=headers)


def _format(request: Request) -> str | None:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not ctype or ctype in ("application/x-www-form-urlencoded", "text/plain"):
        return None  # curl's default type: guess JSON or YAML from the content
    if ctype == "application/json" or ctype.endswith("+json"):
        return "json"
    if ctype in YAML_TYPES:
        return "yaml"
    raise UnsupportedMediaTypeError(
        [Problem("", f"send the scenario as application/json or application/yaml, not {ctype}")],
        detail=f"unsupported content type {ctype}",
    )


@router.post(
    "",
    status_code=201,
    response_model=VersionOut,
    summary="Store a scenario document",
    openapi_extra=SCENARIO_BODY,
    responses={
        201: {
            "description": "Stored as version 1.",
            "headers": {"Location": LOCATION, "ETag": ETAG},
        }
    },
)
def create_scenario(
    request: Request, body: UploadBody, catalog: CatalogDep, principal: PlannerDep
) -> JSONResponse:
    info = catalog.create_upload(body.file, body.size, principal, fmt=_format(request))
    return JSONResponse(
        _out(info).model_dump(),
        status_code=201,
        headers={"Location": f"/v1/scenarios/{info.scenario_id}", "ETag": etag(info.version)},
    )


@router.get("", response_model=ScenarioPage, summary="List scenarios (paged)")
def list_scenarios(
    catalog: CatalogDep,
    _: ViewerDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_STORED_INT)] = 0,
) -> ScenarioPage:
    items, total = catalog.list_scenarios(limit, offset)
    following = offset + limit
    nxt = f"/v1/scenarios?limit={limit}&offset={following}" if following < total else None
    return ScenarioPage(
        items=[_summary(i) for i in items], total=total, limit=limit, offset=offset, next=nxt
    )


@router.get(
    "/{scenario_id}",
    summary="Read a scenario document (current version, or ?version=N)",
    responses={
        200: {
            "model": Scenario,
            "description": "The document as stored; `ETag` is its version.",
            "headers": {"ETag": ETAG, "X-Scenario-Version": SCENARIO_VERSION},
        }
    },
)
def read_scenario(
    scenario_id: str,
    catalog: CatalogDep,
    _: ViewerDep,
    version: Annotated[int | None, Query(ge=1, le=MAX_STORED_INT)] = None,
) -> Response:
    return _document(catalog, scenario_id, version, current=True)


@router.put(
    "/{scenario_id}",
    response_model=VersionOut,
    summary="Replace a scenario (needs If-Match with the version you read)",
    openapi_extra={**SCENARIO_BODY, IF_MATCH_REQUIRED: True},
    responses={
        200: {"description": "Stored as a new version.", "headers": {"ETag": ETAG}},
        412: {"description": "The scenario changed since that version."},
        428: {"description": "If-Match is missing."},
    },
)
def replace_scenario(
    scenario_id: str,
    request: Request,
    body: UploadBody,
    catalog: CatalogDep,
    principal: PlannerDep,
    if_match: Annotated[str | None, Header(description='ETag read, e.g. "3"')] = None,
) -> JSONResponse:
    expected = expected_version(if_match, required=True)
    info = catalog.replace_upload(
        scenario_id, body.file, body.size, expected, principal, fmt=_format(request)
    )
    return JSONResponse(_out(info).model_dump(), headers={"ETag": etag(info.version)})


@router.delete(
    "/{scenario_id}",
    status_code=204,
    summary="Delete a scenario (its versions stay in the record)",
)
def delete_scenario(
    scenario_id: str,
    catalog: CatalogDep,
    principal: PlannerDep,
    if_match: Annotated[
        str | None, Header(description="Optional: delete only this version")
    ] = None,
) -> Response:
    catalog.delete(scenario_id, expected_version(if_match, required=False), principal)
    return Response(status_code=204)


@router.get(
    "/{scenario_id}/versions",
    response_model=VersionList,
    summary="Every version of a scenario, oldest first",
)
def list_versions(scenario_id: str, catalog: CatalogDep, _: ViewerDep) -> VersionList:
    return VersionList(id=scenario_id, versions=[_out(v) for v in catalog.versions(scenario_id)])


@router.get(
    "/{scenario_id}/versions/{version}",
    summary="Read one version's document",
    responses={200: {"model": Scenario, "headers": {"ETag": ETAG}}},
)
def read_version(
    scenario_id: str,
    version: Annotated[int, Path(ge=1, le=MAX_STORED_INT)],
    catalog: CatalogDep,
    _: ViewerDep,
) -> Response:
    return _document(catalog, scenario_id, version)


@router.post(
    "/{scenario_id}/edits",
    response_model=VersionOut,
    summary="Edit a scenario: named changes as a new version (If-Match required)",
    openapi_extra={IF_MATCH_REQUIRED: True},
    responses={
        200: {"description": "Stored as a new version.", "headers": {"ETag": ETAG}},
        412: {"description": "The scenario changed since the version named by If-Match."},
        422: {"description": "An edit is invalid; `errors` point into the request."},
        428: {"description": "If-Match missing."},
    },
)
def edit_scenario(
    scenario_id: str,
    body: Annotated[EditRequest, Body(openapi_examples=examples.EDIT_REQUEST)],
    catalog: CatalogDep,
    principal: PlannerDep,
    if_match: Annotated[str | None, Header(description='ETag read, e.g. "3"')] = None,
) -> JSONResponse:
    expected = expected_version(if_match, required=True)
    info = catalog.edit(scenario_id, expected, body.edits, body.reason, principal)
    return JSONResponse(_out(info).model_dump(), headers={"ETag": etag(info.version)})


@router.get(
    "/{scenario_id}/diff",
    response_model=DiffOut,
    response_model_by_alias=True,
    summary="What changed between two versions",
)
def diff_versions(
    scenario_id: str,
    catalog: CatalogDep,
    _: ViewerDep,
    from_: Annotated[int, Query(alias="from", ge=1, le=MAX_STORED_INT)],
    to: Annotated[int | None, Query(ge=1, le=MAX_STORED_INT, description="Default: current")] = (
        None
    ),
) -> DiffOut:
    after = to if to is not None else catalog.version_info(scenario_id).version
    changes = catalog.diff(scenario_id, from_, after)
    return DiffOut(id=scenario_id, **{"from": from_}, to=after, changes=changes)


@router.post(
    "/{scenario_id}/forks",
    status_code=201,
    response_model=VersionOut,
    summary="Fork a what-if: a new scenario from one version of this one",
    responses={
        201: {
            "description": "The new scenario's version 1.",
            "headers": {"Location": LOCATION, "ETag": ETAG},
        }
    },
)
def fork_scenario(
    scenario_id: str,
    body: ForkRequest,
    catalog: CatalogDep,
    principal: PlannerDep,
) -> JSONResponse:
    info = catalog.fork(scenario_id, body.version, body.name, principal)
    headers = {"Location": f"/v1/scenarios/{info.scenario_id}", "ETag": etag(info.version)}
    return JSONResponse(_out(info).model_dump(), status_code=201, headers=headers)


@router.get("/{scenario_id}/forks", response_model=ForkList, summary="A scenario's what-ifs")
def list_forks(scenario_id: str, catalog: CatalogDep, _: ViewerDep) -> ForkList:
    return ForkList(id=scenario_id, forks=[_out(v) for v in catalog.forks(scenario_id)])


INCIDENT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": 'Incident reports: JSON `{"incidents": [...]}` (SPEC §2), or a file '
        "as text/csv (ACLED columns or HXL hashtags #geo+lat, #geo+lon, #date, #event+type) "
        "or application/geo+json. Bad rows are reported by number; nothing is imported from "
        "a file with errors unless skip_bad=true.",
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/IncidentBatch"},
                "examples": examples.INCIDENTS,
            },
            "text/csv": {"schema": {"type": "string"}, "example": examples.INCIDENTS_CSV},
            "application/geo+json": {"schema": {"type": "object"}},
        },
    }
}


@router.post(
    "/{scenario_id}/incidents",
    status_code=201,
    response_model=IncidentsAdded,
    summary="Add incident reports (JSON, CSV or GeoJSON; makes a new version)",
    openapi_extra=INCIDENT_BODY,
    responses={
        201: {
            "description": "Stored as a new version.",
            "headers": {"Location": LOCATION, "ETag": ETAG},
        }
    },
)
def add_incidents(
    scenario_id: str,
    request: Request,
    body: RawBody,
    catalog: CatalogDep,
    principal: PlannerDep,
    options: Annotated[ImportRequest, Query()],
    if_match: Annotated[str | None, Header(description="Optional: only onto this version")] = None,
) -> JSONResponse:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype in ("text/csv", "application/geo+json", "application/vnd.geo+json"):
        fmt = "csv" if ctype == "text/csv" else "geojson"
        text = _text(body)
        outcome = import_incidents(
            catalog.scenario(scenario_id), text, options.model_copy(update={"format": fmt})
        )
        incidents = outcome.added
        skipped = outcome.skipped
    else:
        incidents = _incident_batch(body, catalog.settings.max_body_bytes).incidents
        skipped = []
    expected = expected_version(if_match, required=False)
    info = catalog.add_incidents(scenario_id, incidents, expected, principal)
    out = _out(info).model_dump()
    out["added"] = len(incidents)
    out["skipped"] = skipped
    return JSONResponse(
        out,
        status_code=201,
        headers={"ETag": etag(info.version), "Location": f"/v1/scenarios/{scenario_id}"},
    )


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidRequestError(
            [Problem("", f"the file is not valid UTF-8 (byte {exc.start})")],
            detail="the file is not valid UTF-8",
        ) from None


def _incident_batch(body: bytes, max_bytes: int) -> IncidentBatch:
    data = parse_document(body, max_bytes=max_bytes, fmt="json")
    try:
        return IncidentBatch.model_validate(data)
    except pydantic.ValidationError as exc:
        problems = [
            Problem(pointer(*e["loc"]), f"{e['msg']}") for e in exc.errors(include_url=False)
        ]
        raise InvalidRequestError(problems, detail=problems[0].detail) from None
