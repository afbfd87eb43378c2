"""A proposal brief: one corridor proposal as data, rendered to Markdown and HTML by
:mod:`app.domain.formats.brief_render`.

Pure: built from routes already computed (see :mod:`app.services.briefs`).
Figures and their meaning:

* survival probability of a corridor: Π(1 − risk) over its roads (SPEC §1);
  of a pair of corridors: the product of both;
* expected number harmed: people on the corridor × its risk (an expectation,
  not a forecast);
* timing: the corridor schedule of :mod:`app.domain.plans.corridors` — the plans'
  whole minutes and entries per minute, everybody leaving from minute 0 of the window
  (or of the time evaluated when there is no window). It gives how many people
  arrive before the window ends, each corridor's share, and the *recommended window*:
  the least whole minutes by which everybody the destination can receive arrives, which
  is the egress time of the optimal plan over the proposed corridors;
* clock times: the window's start (else the time evaluated) plus those minutes, with its
  UTC offset.

A corridor is *proposed* only if it moves people in the window; one that could move
people but is not needed is kept on *standby*; one that nobody could travel before the
window ends is *too long*. When nothing moves anybody, the brief says so and what window
would be needed, and has no notification to send.

Figures that a reader compares are rows (``figures``: id, label, value, unit), so new
figures of routes and plans are added as rows without touching the renderers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.domain.formats.brief_fleet import fleet_section
from app.domain.formats.figures import figure, unknown_sentence
from app.domain.network.assumptions import population_assumptions, route_assumptions
from app.domain.network.graph import Network
from app.domain.plans.corridors import Schedule, Share, corridor_of, schedule
from app.domain.plans.model import whole_minutes
from app.domain.routes.engine import Route
from app.domain.scenario.columns import NODE_KINDS, ROAD_STATUSES
from app.domain.scenario.model import Window

CORRIDOR_NAMES = "ABCDEFGH"

BANNER = (
    "NOT FOR OPERATIONAL USE. This scenario's data are illustrative (historical, approximate "
    "or invented, for teaching and research): do not plan a real movement with these figures."
)


@dataclass
class Fallback:
    """What is left if ``party`` refuses: the safest route using nothing it holds (no road,
    place or checkpoint of it), or None and why there is none."""

    party: str
    route: Route | None
    detail: str | None = None


@dataclass
class Proposal:
    """Everything a brief states, already computed."""

    corridors: list[Route]
    people: int | None
    window: Window | None
    fallbacks: list[Fallback] = field(default_factory=list)
    title: str | None = None
    requested_by: str | None = None
    people_from_population: bool = False
    """Whether ``people`` is the population of the first place (its source is then listed)."""
    fleet_plan: dict[str, Any] | None = None
    """A fleet plan's answer for the same window (:mod:`.brief_fleet`): the fleet section."""


def build_brief(p: Proposal) -> dict[str, Any]:
    """The brief as a JSON-ready dictionary (the Markdown and HTML are rendered from it)."""
    first = p.corridors[0]
    cond, net = first.conditions, first.network
    scenario = net.scenario
    profile = cond.profile
    src, dst = place(net, first.nodes[0]), place(net, first.nodes[-1])
    window = _window(p.window)
    start = p.window.start if p.window else cond.at
    horizon = window["length_min"] if window else None
    reception = int(net.node_capacity[first.nodes[-1]]) or None
    plan = (
        None
        if p.people is None
        else schedule([corridor_of(r) for r in p.corridors], p.people, horizon, reception)
    )
    corridors = [
        _corridor(k, r, plan.shares[k] if plan else None, horizon, start)
        for k, r in enumerate(p.corridors)
    ]
    proposed = [c for c in corridors if c["status"] == "proposed"]
    involved = list(dict.fromkeys(x for r in p.corridors for x in r.parties() + r.checkpoints()))
    agreed = set(p.window.agreed_by) if p.window else set()
    joint = math.prod(r.survival_probability for r in p.corridors)
    harmed = [c["expected_harmed"] for c in corridors]
    detained = [c["expected_detained"] for c in corridors]
    verdict = _verdict(plan, corridors, window, start, src, dst)
    brief: dict[str, Any] = {
        "title": p.title
        or f"Evacuation corridor{'s' if len(p.corridors) > 1 else ''}: "
        f"{src['name'] or src['id']} to {dst['name'] or dst['id']}",
        "scenario": scenario.name,
        "illustrative": scenario.illustrative,
        "banner": BANNER if scenario.illustrative else None,
        "as_of": scenario.as_of.isoformat() if scenario.as_of else None,
        "evaluated_at": cond.at.isoformat() if cond.at else None,
        "requested_by": p.requested_by,
        "clock": {
            "start": start.isoformat() if start else None,
            "from": ("window start" if p.window else "time evaluated") if start else None,
            "utc_offset": _offset(start),
        },
        "from": src,
        "to": dst,
        "people": p.people,
        "profile": {"id": profile.id, "name": profile.name, "description": profile.description},
        "window": window,
        "verdict": verdict,
        "corridors": corridors,
        "survival": {
            "per_corridor": [r.survival_probability for r in p.corridors],
            "joint": joint,
            "expected_harmed": None if any(h is None for h in harmed) else sum(harmed),
            "expected_detained": None if any(d is None for d in detained) else sum(detained),
        },
        "consents_needed": list(dict.fromkeys(x for r in p.corridors for x in r.consents_needed())),
        "window_not_yet_agreed_by": [x for x in involved if p.window and x not in agreed],
        "parties": [_party(net, pid, p, corridors, agreed) for pid in involved],
        "checkpoints_and_crossings": _checkpoints_and_crossings(p.corridors),
        "inputs": _inputs(p.corridors),
        "if_a_party_refuses": [
            _fallback(f, first, p.people, horizon, reception, start) for f in p.fallbacks
        ],
        "notification": _notification(proposed, window, profile.id),
    }
    if p.fleet_plan is not None:
        brief["fleet"] = fleet_section(p.fleet_plan, net, start)
    brief["figures"] = _figures(brief, plan)
    brief["assumed_figures"] = _assumed(p)
    brief["caveats"] = _caveats(p, src)
    return brief


# --- Places, times -------------------------------------------------------------------------


def place(net: Network, node: int) -> dict[str, Any]:
    """A place as a reader knows it: names in English and Arabic, kind, coordinates, holder."""
    lat, lon = float(net.node_lat[node]), float(net.node_lon[node])
    return {
        "id": net.node_ids[node],
        "name": net.node_text(node, "name"),
        "name_ar": net.node_text(node, "name_ar"),
        "kind": _kind(net, node),
        "lat": None if math.isnan(lat) else lat,
        "lon": None if math.isnan(lon) else lon,
        "controlled_by": net.node_text(node, "controlled_by"),
    }


def _kind(net: Network, node: int) -> str:
    return NODE_KINDS[int(net.node_kind[node])]


def clock(start: datetime | None, minutes: int | None) -> str | None:
    """``start`` + ``minutes`` as ISO 8601 with its UTC offset (None without either)."""
    if start is None or minutes is None:
        return None
    return (start + timedelta(minutes=minutes)).isoformat()


def _offset(start: datetime | None) -> str | None:
    if start is None:
        return None
    text = start.isoformat()
    return "+00:00" if text.endswith("Z") else text[-6:]


def _window(w: Window | None) -> dict[str, Any] | None:
    if w is None:
        return None
    return {
        "id": w.id,
        "name": w.name,
        "start": w.start.isoformat(),
        "end": w.end.isoformat(),
        # whole minutes, as plans count a window
        "length_min": math.floor((w.end - w.start).total_seconds() / 60),
        "agreed_by": list(w.agreed_by),
    }


def _timed(minutes: int | None, start: datetime | None) -> dict[str, Any]:
    return {"min": minutes, "at": clock(start, minutes)}


# --- Corridors -----------------------------------------------------------------------------


def _corridor(
    k: int, r: Route, share: Share | None, horizon: int | None, start: datetime | None
) -> dict[str, Any]:
    c = corridor_of(r)
    throughput = None if math.isinf(c.per_minute) else c.per_minute
    people = share.people if share else None
    if share is None or share.people > 0:
        status = "proposed"
    elif horizon is not None and c.minutes > horizon:
        status = "too_long"
    else:
        status = "standby"
    route = r.as_dict()
    net = r.network
    prefix = [0, *whole_minutes(r.conditions.time[r.edges]).cumsum().tolist()]
    last_departure = share.last_departure_min if share else None
    steps = []
    for i, st in enumerate(route["steps"]):
        steps.append(
            {
                **st,
                "minutes": int(prefix[i + 1] - prefix[i]),
                "from_place": place(net, r.nodes[i]),
                "to_place": place(net, r.nodes[i + 1]),
                "first_arrival": _timed(int(prefix[i + 1]), start),
                "last_arrival": _timed(
                    None if last_departure is None else int(prefix[i + 1]) + last_departure,
                    start,
                ),
            }
        )
    route["steps"] = steps
    return {
        "name": f"Corridor {CORRIDOR_NAMES[k]}",
        "status": status,
        "route": route,
        "places": [place(net, n) for n in r.nodes],
        "people": people,
        "throughput_per_min": throughput,
        "travel_min": c.minutes,
        "first_departure": _timed(0 if people else None, start),
        "last_departure": _timed(last_departure, start),
        "first_arrival": _timed(share.first_arrival_min if share else None, start),
        "last_arrival": _timed(share.last_arrival_min if share else None, start),
        "last_arrival_min": share.last_arrival_min if share else None,
        "fits_window": None if horizon is None else (status == "proposed"),
        "expected_harmed": None if people is None else people * r.harm_probability,
        "expected_detained": None if people is None else people * r.detention_probability,
        "unknown": unknown_sentence(route["unknown_risk"]),
        "checkpoints": _checkpoints(r),
    }


def _checkpoints(r: Route) -> list[dict[str, Any]]:
    net = r.network
    out = []
    for k, e in enumerate(r.edges):
        party = net.edge_text(e, "checkpoint")
        if party is not None:
            out.append(
                {
                    "edge": net.edge_ids[e],
                    "name": net.edge_text(e, "name"),
                    "party": party,
                    "between": [place(net, r.nodes[k]), place(net, r.nodes[k + 1])],
                }
            )
    return out


def _checkpoints_and_crossings(routes: list[Route]) -> list[dict[str, Any]]:
    """Checkpoints (a road: both its ends' coordinates) and crossings (a place), in order."""
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for r in routes:
        net = r.network
        checkpoints = {c["edge"]: c for c in _checkpoints(r)}
        for k, n in enumerate(r.nodes):
            here = place(net, n)
            if here["kind"] == "crossing" and ("crossing", here["id"]) not in seen:
                seen.add(("crossing", here["id"]))
                out.append({"kind": "crossing", "place": here, "party": here["controlled_by"]})
            if k < len(r.edges):
                edge = net.edge_ids[r.edges[k]]
                if edge in checkpoints and ("checkpoint", edge) not in seen:
                    seen.add(("checkpoint", edge))
                    out.append({"kind": "checkpoint", **checkpoints[edge]})
    return out


def _party(
    net: Network, pid: str, p: Proposal, corridors: list[dict[str, Any]], agreed: set[str]
) -> dict[str, Any]:
    party = net.parties[pid]
    return {
        "id": pid,
        "name": party.name,
        "consent": party.consent,
        "territory": any(pid in r.parties() for r in p.corridors),
        "checkpoints": [
            x["edge"] for c in corridors for x in c["checkpoints"] if x["party"] == pid
        ],
        "agreed_window": (pid in agreed) if p.window else None,
    }


# --- The verdict ---------------------------------------------------------------------------


def _verdict(
    plan: Schedule | None,
    corridors: list[dict[str, Any]],
    window: dict[str, Any] | None,
    start: datetime | None,
    src: dict[str, Any],
    dst: dict[str, Any],
) -> dict[str, Any]:
    """Whether the proposal moves people, how many, and what window moves everyone."""
    if plan is None:
        return {
            "status": "no_people",
            "people_moved": None,
            "people_not_moved": None,
            "receivable": None,
            "first_arrival": _timed(None, start),
            "recommended_window_min": None,
            "recommended_window_end": None,
            "egress": _timed(None, start),
        }
    if window is None:
        status = "no_window" if plan.moved else "nothing_moves"
    elif plan.moved == 0:
        status = "nothing_fits"
    elif plan.moved < plan.deliverable:
        status = "partial"
    else:
        status = "fits"
    return {
        "status": status,
        "people_moved": plan.moved,
        "people_not_moved": plan.people - plan.moved,
        "receivable": plan.deliverable,
        "first_arrival": _timed(plan.first_arrival_min, start),
        "egress": _timed(plan.egress_min, start),
        "recommended_window_min": plan.needed_for_all_min,
        "recommended_window_end": clock(start, plan.needed_for_all_min),
        "how": "least whole minutes by which everybody the destination can receive arrives "
        "along the corridors, leaving from the start at the narrowest road's rate: the egress "
        "time of the optimal evacuation plan over these corridors",
    }


# --- Inputs, fallbacks, notification -------------------------------------------------------


def _inputs(routes: list[Route]) -> dict[str, Any]:
    """Roads and incidents behind the survival figures."""
    roads: dict[str, dict[str, Any]] = {}
    incidents: dict[str, dict[str, Any]] = {}
    scenario_incidents = {i.id: i for i in routes[0].network.scenario.incidents}
    for r in routes:
        cond, net = r.conditions, r.network
        for e in r.edges:
            edge_id = net.edge_ids[e]
            roads[edge_id] = {
                "edge": edge_id,
                "name": net.edge_text(e, "name"),
                "status": ROAD_STATUSES[int(net.edge_status[e])],
                "base_risk": None if net.edge_unknown[e] else float(net.edge_base_risk[e]),
                "base_source": net.edge_text(e, "risk_source"),
                "checkpoint_risk": float(cond.detention[e]),
                "risk": float(cond.risk[e]),
            }
            for eff in cond.incident_risk.get(e, []):
                inc = scenario_incidents[eff.incident]
                entry = incidents.setdefault(
                    inc.id,
                    {
                        "id": inc.id,
                        "kind": inc.kind,
                        "observed_at": inc.observed_at.isoformat(),
                        "age_h": round(eff.age_h, 1),
                        "source": inc.source,
                        "confidence": inc.confidence,
                        "added_risk": eff.probability,
                        "roads": [],
                    },
                )
                if edge_id not in entry["roads"]:
                    entry["roads"].append(edge_id)
    return {"roads": list(roads.values()), "incidents": list(incidents.values())}


def _fallback(
    f: Fallback,
    best: Route,
    people: int | None,
    horizon: int | None,
    reception: int | None,
    start: datetime | None,
) -> dict[str, Any]:
    net = best.network
    party = net.parties[f.party]
    out: dict[str, Any] = {"party": f.party, "party_name": party.name, "detail": f.detail}
    r = f.route
    if r is None:
        return {**out, "fallback": None}
    plan = None if people is None else schedule([corridor_of(r)], people, horizon, reception)
    return {
        **out,
        "fallback": {
            "nodes": r.node_ids,
            "edges": r.edge_ids,
            "places": [place(net, n) for n in r.nodes],
            "survival_probability": r.survival_probability,
            "travel_time_min": r.travel_time_min,
            "consents_needed": r.consents_needed(),
            "people_moved": None if plan is None else plan.moved,
            "last_arrival": _timed(None if plan is None else plan.egress_min, start),
            "window_needed_min": None if plan is None else plan.needed_for_all_min,
        },
        "survival_change": r.survival_probability - best.survival_probability,
    }


def _notification(
    proposed: list[dict[str, Any]], window: dict[str, Any] | None, profile: str
) -> list[dict[str, Any]]:
    """One row per proposed corridor: movement, route, timing, numbers (humanitarian
    notification). Nothing to notify when no corridor moves anybody."""
    rows = []
    for c in proposed:
        rows.append(
            {
                "movement": f"{c['name']}: evacuation of civilians ({profile})",
                "from": c["places"][0],
                "to": c["places"][-1],
                "route": c["places"],
                "checkpoints": c["checkpoints"],
                "window": None if window is None else [window["start"], window["end"]],
                "first_departure": c["first_departure"]["at"],
                "last_departure": c["last_departure"]["at"],
                "first_arrival": c["first_arrival"]["at"],
                "last_arrival": c["last_arrival"]["at"],
                "people": c["people"],
            }
        )
    return rows


# --- Figures, assumptions, caveats ---------------------------------------------------------


def _figures(b: dict[str, Any], plan: Schedule | None) -> list[dict[str, Any]]:
    """The proposal's figures as rows; each corridor's rows are under its ``figures``."""
    v, survival = b["verdict"], b["survival"]
    rows = [figure("people", "People asked to move", b["people"], "people")]
    if plan is not None:
        if b["window"] is not None:
            label = "People arriving within the window"
            rows.append(figure("people_moved", label, v["people_moved"], "people"))
        if plan.deliverable < plan.people:
            label = "People the destination can receive"
            rows.append(figure("receivable", label, v["receivable"], "people"))
        rows += [
            figure("first_arrival", "First arrival", v["first_arrival"]["at"], "time"),
            figure("last_arrival", "Last arrival", v["egress"]["at"], "time"),
            figure(
                "recommended_window_min",
                "Recommended window length",
                v["recommended_window_min"],
                "min",
            ),
        ]
    for c in b["corridors"]:
        c["figures"] = _corridor_figures(c)
    if len(b["corridors"]) > 1:
        label = "Survival, both corridors"
        rows.append(figure("joint_survival", label, survival["joint"], "probability"))
    label = "Expected number harmed on the way"
    rows.append(figure("expected_harmed", label, survival["expected_harmed"], "people"))
    label = "Expected number detained at checkpoints"
    rows.append(figure("expected_detained", label, survival["expected_detained"], "people"))
    return rows


def _corridor_figures(c: dict[str, Any]) -> list[dict[str, Any]]:
    r = c["route"]
    rows = [
        ("people", "People on this corridor", c["people"], "people"),
        (
            "survival_probability",
            "Survival probability (unharmed and free)",
            r["survival_probability"],
            "probability",
        ),
        ("survival_range", "Survival: range", r["survival_range"], "probability range"),
        ("harm_probability", "Chance of harm on the way", r["harm_probability"], "probability"),
        ("harm_range", "Harm: range", r["harm_range"], "probability range"),
        (
            "detention_probability",
            "Chance of detention at checkpoints",
            r["detention_probability"],
            "probability",
        ),
        ("expected_harmed", "Expected number harmed", c["expected_harmed"], "people"),
        ("expected_detained", "Expected number detained", c["expected_detained"], "people"),
        ("travel_min", "Travel time (whole minutes)", c["travel_min"], "min"),
        ("length_m", "Length", r["length_m"], "m"),
        (
            "throughput_per_min",
            "Throughput (narrowest road)",
            c["throughput_per_min"],
            "people/min",
        ),
        ("first_departure", "First departure", c["first_departure"]["at"], "time"),
        ("last_departure", "Last departure", c["last_departure"]["at"], "time"),
        ("first_arrival", "First arrival", c["first_arrival"]["at"], "time"),
        ("last_arrival", "Last arrival", c["last_arrival"]["at"], "time"),
    ]
    return [figure(*row) for row in rows]


def _assumed(p: Proposal) -> list[dict[str, Any]]:
    """Every assumed or estimated figure the brief uses, with its source
    (:mod:`app.domain.network.assumptions`): over the roads of the corridors and fallbacks,
    and the population of the first place when it is the number of people."""
    first = p.corridors[0]
    cond = first.conditions
    routes = [*p.corridors, *(f.route for f in p.fallbacks if f.route is not None)]
    rows = route_assumptions(cond, [e for r in routes for e in r.edges])
    if p.people_from_population:
        rows += population_assumptions(cond, [first.nodes[0]])
    return [a.as_dict() for a in rows]


def _caveats(p: Proposal, src: dict[str, Any]) -> list[str]:
    first = p.corridors[0]
    cond = first.conditions
    as_of = first.network.scenario.as_of
    out = [
        "Risk figures measure exposure as the scenario's sources define it — where the "
        "source is an estimate, a proxy such as damage density — not a casualty rate. "
        "Survival probability and expected number harmed follow from them: planning "
        "estimates, not forecasts.",
        "Times follow the evacuation plans' model: each road's time rounded up to whole "
        f"minutes at the profile's speed ({cond.profile.speed_m_per_min:g} m/min), people "
        f"leaving {src['name'] or src['id']} from the start at the narrowest road's rate "
        "and waiting there until then, no other traffic. Loading, searches and queues at "
        "checkpoints beyond that are not modelled.",
        "Consent values and windows agreed are the scenario's"
        + (f", as of {as_of:%Y-%m-%d %H:%M} UTC{_offset(as_of)}" if as_of else "")
        + ": confirm them before relying on this brief.",
        "Every number marked as an estimate or without a source is listed under Assumed "
        "figures with the label the scenario gives it.",
    ]
    if p.fleet_plan is not None:
        out.append(
            "The fleet plan follows the fleet model (docs/fleets.md): vehicles drive the "
            "quickest roads their fleet may use, load priority groups first, queue and are "
            "screened at checkpoints, and people count as evacuated when their vehicle reaches "
            "a safe zone within the window. Its vehicles, loading and screening times are the "
            "scenario's figures, listed with their sources in the fleet section."
        )
    if cond.incidents_after_at:
        out.append(
            f"{len(cond.incidents_after_at)} incident report(s) observed after the time "
            "evaluated are left out: " + ", ".join(cond.incidents_after_at) + "."
        )
    return out
