"""Proposal briefs: compute the corridor(s), fallbacks and figures, render JSON and Markdown."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, Field, model_validator

from app.domain.errors import InvalidRequestError, NoAnswerError, Problem
from app.domain.formats.brief import Fallback, Proposal, build_brief
from app.domain.formats.brief_render import render_html, render_markdown
from app.domain.network.graph import Network
from app.domain.routes.consent import consent_analysis
from app.domain.routes.disjoint import disjoint_pair
from app.domain.routes.engine import Route, RouteOptions, resolve_node, safest_route
from app.domain.scenario.model import Window
from app.services.brief_formats import BriefFormat
from app.services.errors import in_request_terms
from app.services.plans import FleetIds, PlanRequest, VehicleCounts, compute_fleet_plan
from app.services.requests import Request

MEDIA_TYPES = {
    BriefFormat.json: "application/json",
    BriefFormat.markdown: "text/markdown",
    BriefFormat.html: "text/html",
}


class BriefRequest(Request):
    """Body of ``POST /v1/scenarios/{id}/briefs``; flags of ``safe-passage brief``."""

    from_: str = Field(alias="from", min_length=1, description="Node id people leave from.")
    to: str = Field(min_length=1, description="Node id they go to (usually a safe zone).")
    people: Annotated[int, Field(ge=1, le=100_000_000)] | None = Field(
        default=None,
        description="How many people move; default the population of 'from' (if any).",
    )
    profile: str | None = Field(default=None, description="Who travels (default general).")
    window: str | None = Field(default=None, description="Id of a window of the scenario.")
    start: AwareDatetime | None = Field(default=None, description="Start of the window asked for.")
    end: AwareDatetime | None = Field(default=None, description="End of the window asked for.")
    at: AwareDatetime | None = Field(
        default=None,
        description="Time risks are evaluated at; default the window's start, else as_of.",
    )
    avoid_parties: list[str] = Field(default_factory=list, description="Parties to avoid.")
    consenting_only: bool = Field(default=False, description="Only roads of consenting parties.")
    disjoint: bool = Field(
        default=False,
        description="Propose two corridors sharing no road (greatest joint survival).",
    )
    fleet: FleetIds | None = Field(
        default=None,
        description="Add a fleet section: the fleet plan of these fleets of the scenario "
        "(buses and ambulances) in the same window, as POST /plans with 'fleet' answers it, "
        "told in clock times: people carried, by group in priority order, the queue at the "
        "checkpoints, the bottleneck and the fleet's assumptions (docs/fleets.md).",
    )
    vehicles: VehicleCounts | None = Field(
        default=None,
        description="With fleet: how many vehicles (N for one fleet, or {fleet: N}); default "
        "each fleet's count.",
    )
    title: str | None = Field(default=None, max_length=300, description="Heading of the brief.")
    requested_by: str | None = Field(
        default=None, max_length=300, description="Organisation making the proposal."
    )

    @model_validator(mode="after")
    def one_window(self) -> BriefRequest:
        if self.window is not None and (self.start is not None or self.end is not None):
            raise ValueError("give 'window' or 'start'/'end', not both")
        if (self.start is None) != (self.end is None):
            raise ValueError("give both 'start' and 'end'")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("'end' must be after 'start'")
        return self


def compute_brief(network: Network, request: BriefRequest) -> dict[str, Any]:
    """The brief as JSON, with its Markdown rendering under ``markdown``."""
    with in_request_terms():
        return _brief(network, request)


def render_brief(brief: dict[str, Any], fmt: BriefFormat | str) -> str:
    """A computed brief as Markdown or HTML."""
    if fmt == BriefFormat.html:
        return render_html(brief)
    return str(brief["markdown"])


def brief_format(asked: BriefFormat | None, accept: str) -> BriefFormat:
    """The format asked for (``?format=``), else the first of the ``Accept`` header's that
    is offered (HTML, Markdown), else JSON."""
    if asked is not None:
        return asked
    for media in (m.split(";")[0].strip().lower() for m in accept.split(",")):
        for fmt, offered in MEDIA_TYPES.items():
            if media == offered:
                return fmt
    return BriefFormat.json


def _brief(network: Network, request: BriefRequest) -> dict[str, Any]:
    window = _window(network, request)
    at = request.at or (window.start if window else None)
    options = RouteOptions(
        profile=request.profile,
        at=at,
        avoid_parties=tuple(request.avoid_parties),
        consenting_only=request.consenting_only,
    )
    a, b = request.from_, request.to
    corridors: list[Route]
    if request.disjoint:
        corridors = list(disjoint_pair(network, a, b, options).routes)
    else:
        corridors = [safest_route(network, a, b, options)]
    people = request.people
    from_population = False
    if people is None:
        population = int(network.node_population[resolve_node(network, a, "origin")])
        people = population or None
        from_population = people is not None
    involved = dict.fromkeys(p for r in corridors for p in r.parties() + r.checkpoints())
    fallbacks = [
        _fallback(network, request, party, at)
        for party in involved
        if party not in request.avoid_parties
    ]
    proposal = Proposal(
        corridors=corridors,
        fleet_plan=_fleet_plan(network, request),
        people=people,
        window=window,
        fallbacks=fallbacks,
        title=request.title,
        requested_by=request.requested_by,
        people_from_population=from_population,
    )
    brief = build_brief(proposal)
    return {**brief, "markdown": render_markdown(brief)}


def _fleet_plan(network: Network, request: BriefRequest) -> dict[str, Any] | None:
    """The fleet plan the brief's fleet section tells: the /plans answer to the same window,
    time and parties with the brief's fleet (None without one)."""
    if request.fleet is None:
        if request.vehicles is not None:
            raise InvalidRequestError([Problem("/vehicles", "only with a fleet ('fleet')")])
        return None
    plan_request = PlanRequest(
        window=request.window,
        start=request.start,
        end=request.end,
        at=request.at,
        avoid_parties=request.avoid_parties,
        consenting_only=request.consenting_only,
        fleet=request.fleet,
        vehicles=request.vehicles,
    )
    return compute_fleet_plan(network, plan_request)


def _fallback(network: Network, request: BriefRequest, party: str, at: datetime | None) -> Fallback:
    """The safest route if ``party`` refuses: the consent analysis with ``party`` avoided, so
    that nothing it holds (road, place or checkpoint) is used and every other party not
    avoided is asked to agree (with ``consenting_only``, only those that have agreed)."""
    options = RouteOptions(
        profile=request.profile, at=at, avoid_parties=(*request.avoid_parties, party)
    )
    name = network.parties[party].name or party
    try:
        analysis = consent_analysis(network, request.from_, request.to, options)
    except NoAnswerError:
        analysis = None
    route = None
    if analysis is not None:
        route = analysis.today if request.consenting_only else analysis.safest
    if route is None:
        return Fallback(
            party,
            None,
            f"every route uses a road, place or checkpoint held by {name} ({party}): "
            "there is no corridor without this party's agreement",
        )
    return Fallback(party, route)


def _window(network: Network, request: BriefRequest) -> Window | None:
    if request.window is not None:
        for w in network.scenario.windows:
            if w.id == request.window:
                return w
        known = ", ".join(w.id for w in network.scenario.windows) or "none"
        raise InvalidRequestError(
            [Problem("/window", f"unknown window {request.window!r}; this scenario has: {known}")]
        )
    if request.start is not None and request.end is not None:
        return Window(id="requested", start=request.start, end=request.end)
    return None
