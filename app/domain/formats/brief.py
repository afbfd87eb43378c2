"""A proposal brief: one corridor proposal as JSON and as Markdown to take into a room.

Pure: built from routes already computed (see :mod:`app.services.briefs`).
Figures and their meaning:

* survival probability of a corridor: Π(1 − risk) over its roads (SPEC §1);
  of a pair of corridors: the product of both;
* expected number harmed: people on the corridor × its risk (an expectation,
  not a forecast);
* throughput: the corridor's narrowest road, ``capacity_per_min`` × the
  profile's ``capacity_factor`` people entering per minute; the last person
  leaves after ⌈people ÷ throughput⌉ min and arrives ⌈travel time⌉ later; in a
  window of L minutes about throughput × (L − ⌈travel time⌉) people arrive
  before it ends. This ignores waiting room at nodes and other movements:
  ``safe-passage plan`` gives the exact evacuation schedule.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from app.domain.network.graph import Network
from app.domain.routes.engine import Route
from app.domain.scenario.columns import ROAD_STATUSES
from app.domain.scenario.model import Window

CORRIDOR_NAMES = "ABCDEFGH"


@dataclass
class Fallback:
    """What is left if ``party`` refuses: the safest route avoiding it, or why there is none."""

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


def build_brief(p: Proposal) -> dict[str, Any]:
    """The brief as a JSON-ready dictionary (the Markdown is rendered from it)."""
    first = p.corridors[0]
    cond, net = first.conditions, first.network
    profile = cond.profile
    scenario = net.scenario
    src, dst = _place(net, first.nodes[0]), _place(net, first.nodes[-1])
    shares = _split(p.people, [_throughput(r) for r in p.corridors])
    window = _window(p.window)
    corridors = []
    for k, r in enumerate(p.corridors):
        cap = _throughput(r)
        people = shares[k]
        passing = math.ceil(people / cap) if people is not None and cap else None
        travel = math.ceil(r.travel_time_min)
        last = passing + travel if passing is not None else None
        fits, within = None, None
        if window is not None:
            fits = travel <= window["length_min"] and (last is None or last <= window["length_min"])
            within = people
            if cap is not None and people is not None:
                within = min(people, int(cap * max(0, window["length_min"] - travel)))
            elif travel > window["length_min"]:
                within = 0
        corridors.append(
            {
                "name": f"Corridor {CORRIDOR_NAMES[k]}",
                "route": r.as_dict(),
                "people": people,
                "throughput_per_min": cap,
                "passing_min": passing,
                "last_arrival_min": last,
                "fits_window": fits,
                "people_within_window": within,
                "expected_harmed": None if people is None else people * r.risk,
                "checkpoints": _checkpoints(r),
                "map_url": _map_url(r),
            }
        )
    needed = list(dict.fromkeys(x for r in p.corridors for x in r.consents_needed()))
    involved = list(dict.fromkeys(x for r in p.corridors for x in r.parties() + r.checkpoints()))
    agreed = set(p.window.agreed_by) if p.window else set()
    parties = []
    for pid in involved:
        party = net.parties[pid]
        parties.append(
            {
                "id": pid,
                "name": party.name,
                "consent": party.consent,
                "territory": any(pid in r.parties() for r in p.corridors),
                "checkpoints": [
                    c["edge"]
                    for c in (x for r in p.corridors for x in _checkpoints(r))
                    if c["party"] == pid
                ],
                "agreed_window": (pid in agreed) if p.window else None,
            }
        )
    joint = math.prod(r.survival_probability for r in p.corridors)
    harmed = [c["expected_harmed"] for c in corridors]
    return {
        "title": p.title
        or f"Evacuation corridor{'s' if len(p.corridors) > 1 else ''}: "
        f"{src['name'] or src['id']} to {dst['name'] or dst['id']}",
        "scenario": scenario.name,
        "as_of": scenario.as_of.isoformat() if scenario.as_of else None,
        "evaluated_at": cond.at.isoformat() if cond.at else None,
        "requested_by": p.requested_by,
        "from": src,
        "to": dst,
        "people": p.people,
        "profile": {"id": profile.id, "name": profile.name, "description": profile.description},
        "window": window,
        "corridors": corridors,
        "survival": {
            "per_corridor": [r.survival_probability for r in p.corridors],
            "joint": joint,
            "expected_harmed": None if any(h is None for h in harmed) else sum(harmed),
        },
        "consents_needed": needed,
        "window_not_yet_agreed_by": [x for x in involved if p.window and x not in agreed],
        "parties": parties,
        "inputs": _inputs(p.corridors),
        "if_a_party_refuses": [_fallback(f, p.corridors) for f in p.fallbacks],
        "notification": _notification(p, corridors, window),
    }


def _place(net: Network, node: int) -> dict[str, Any]:
    lat, lon = float(net.node_lat[node]), float(net.node_lon[node])
    return {
        "id": net.node_ids[node],
        "name": net.node_text(node, "name"),
        "lat": None if math.isnan(lat) else lat,
        "lon": None if math.isnan(lon) else lon,
    }


def _throughput(r: Route) -> float | None:
    """People per minute entering the corridor's narrowest road (None: unbounded)."""
    narrowest = float(r.network.edge_capacity[r.edges].min()) if r.edges else math.inf
    if not math.isfinite(narrowest):
        return None
    return narrowest * r.conditions.profile.capacity_factor


def _split(people: int | None, caps: list[float | None]) -> list[int | None]:
    """People per corridor, in proportion to throughput (evenly when any is unbounded)."""
    if people is None:
        return [None] * len(caps)
    known = [c for c in caps if c is not None]
    weights = caps if len(known) == len(caps) else [1.0] * len(caps)
    total = sum(w or 0.0 for w in weights)
    shares = [int(people * (w or 0.0) // total) for w in weights]
    shares[0] += people - sum(shares)
    return list(shares)


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
                    "between": [net.node_ids[r.nodes[k]], net.node_ids[r.nodes[k + 1]]],
                }
            )
    return out


def _map_url(r: Route) -> str | None:
    """A geojson.io address showing the corridor (None without coordinates)."""
    geometry = r.geometry()
    if geometry is None:
        return None
    feature = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "geometry": geometry, "properties": {}}],
    }
    data = json.dumps(feature, separators=(",", ":"))
    return "https://geojson.io/#data=data:application/json," + quote(data, safe="")


def _window(w: Window | None) -> dict[str, Any] | None:
    if w is None:
        return None
    return {
        "id": w.id,
        "name": w.name,
        "start": w.start.isoformat(),
        "end": w.end.isoformat(),
        "length_min": int((w.end - w.start).total_seconds() // 60),
        "agreed_by": list(w.agreed_by),
    }


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
                "base_risk": float(net.edge_base_risk[e]),
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


def _fallback(f: Fallback, corridors: list[Route]) -> dict[str, Any]:
    best = corridors[0]
    if f.route is None:
        return {"party": f.party, "fallback": None, "detail": f.detail}
    r = f.route
    return {
        "party": f.party,
        "fallback": {
            "nodes": r.node_ids,
            "edges": r.edge_ids,
            "survival_probability": r.survival_probability,
            "travel_time_min": r.travel_time_min,
            "consents_needed": r.consents_needed(),
        },
        "survival_change": r.survival_probability - best.survival_probability,
        "detail": f.detail,
    }


def _notification(
    p: Proposal, corridors: list[dict[str, Any]], window: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """One row per corridor: movement, route, timing, numbers (humanitarian notification)."""
    rows = []
    for c in corridors:
        r = c["route"]
        start = datetime.fromisoformat(window["start"]) if window else None
        if start is not None and c["last_arrival_min"] is not None:
            last = start + timedelta(minutes=c["last_arrival_min"])
            timing = f"{_hm(start)} first departure; {_hm(last)} last arrival (estimate)"
        elif start is not None:
            timing = f"from {_hm(start)}; travel {math.ceil(r['travel_time_min'])} min"
        else:
            timing = f"window to be agreed; travel {math.ceil(r['travel_time_min'])} min"
        rows.append(
            {
                "movement": f"{c['name']}: evacuation of civilians ({r['profile']})",
                "from": r["nodes"][0],
                "to": r["nodes"][-1],
                "route": r["nodes"],
                "checkpoints": [f"{x['edge']} ({x['party']})" for x in c["checkpoints"]],
                "window": None if window is None else [window["start"], window["end"]],
                "timing": timing,
                "people": c["people"],
            }
        )
    return rows


def _hm(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M %z")


def _pct(x: float) -> str:
    return f"{100 * x:.2f} %"


def _num(x: float | int | None, unit: str = "") -> str:
    if x is None:
        return "—"
    text = f"{x:,.0f}" if isinstance(x, int) or abs(x) >= 100 else f"{x:,.1f}"
    return text + unit


def _cell(text: Any) -> str:
    return str(text if text is not None else "—").replace("|", "\\|").replace("\n", " ")


def render_markdown(b: dict[str, Any]) -> str:
    """The brief as Markdown (tables in GitHub style)."""
    lines: list[str] = [f"# {b['title']}", ""]
    meta = [f"Scenario: {b['scenario'] or 'unnamed'}"]
    if b["as_of"]:
        meta.append(f"as of {b['as_of']}")
    if b["evaluated_at"]:
        meta.append(f"risks evaluated at {b['evaluated_at']}")
    if b["requested_by"]:
        meta.append(f"requested by {b['requested_by']}")
    lines += ["; ".join(meta) + ".", "", "## The request", ""]
    w = b["window"]
    when = (
        f"{w['start']} to {w['end']} ({w['length_min']} min, window `{w['id']}`)"
        if w
        else "to be agreed"
    )
    prof = b["profile"]
    lines += [
        f"- **From** {b['from']['name'] or b['from']['id']} **to** "
        f"{b['to']['name'] or b['to']['id']}",
        f"- **Window:** {when}",
        f"- **People:** {_num(b['people'])} — {prof['name'] or prof['id']} "
        f"(profile `{prof['id']}`)",
        f"- **Corridors:** {len(b['corridors'])}"
        + (" sharing no road" if len(b["corridors"]) > 1 else ""),
        f"- **Consent still needed from:** {', '.join(b['consents_needed']) or 'nobody'}",
    ]
    if w:
        missing = ", ".join(b["window_not_yet_agreed_by"]) or "nobody"
        lines.append(f"- **Window not yet agreed by:** {missing}")
    s = b["survival"]
    lines += ["", "## Survival estimate", ""]
    for c, sp in zip(b["corridors"], s["per_corridor"], strict=True):
        lines.append(
            f"- {c['name']}: survival probability **{sp:.4f}** (risk {_pct(1 - sp)}); "
            f"expected number harmed {_num(c['expected_harmed'])} of {_num(c['people'])}"
        )
    if len(b["corridors"]) > 1:
        lines.append(f"- Both corridors together (product): {s['joint']:.4f}")
    lines.append(
        "- Survival is the product of (1 − risk) over the roads; risk combines each road's "
        "base risk, incidents (decayed to the time evaluated) and checkpoint risk for this "
        "profile. Expected harmed = people × risk."
    )
    for c in b["corridors"]:
        lines += _corridor_md(c)
    lines += ["", "## Parties that must agree", ""]
    lines += [
        "| party | consent | territory crossed | checkpoints | window agreed |",
        "|---|---|---|---|---|",
    ]
    for p in b["parties"]:
        agreed = "—" if p["agreed_window"] is None else ("yes" if p["agreed_window"] else "no")
        lines.append(
            f"| {_cell(p['name'] or p['id'])} (`{p['id']}`) | {p['consent']} | "
            f"{'yes' if p['territory'] else 'no'} | {_cell(', '.join(p['checkpoints']) or '—')} "
            f"| {agreed} |"
        )
    lines += _inputs_md(b["inputs"])
    lines += ["", "## If a party refuses", ""]
    if not b["if_a_party_refuses"]:
        lines.append("No party's territory or checkpoint is crossed.")
    else:
        lines += [
            "| party refuses | fallback route | survival | change | travel min | consent needed |",
            "|---|---|---|---|---|---|",
        ]
        for f in b["if_a_party_refuses"]:
            fb = f["fallback"]
            if fb is None:
                lines.append(f"| `{f['party']}` | no route: {_cell(f['detail'])} | — | — | — | — |")
            else:
                lines.append(
                    f"| `{f['party']}` | {_cell(' → '.join(fb['nodes']))} | "
                    f"{fb['survival_probability']:.4f} | {f['survival_change']:+.4f} | "
                    f"{fb['travel_time_min']:.0f} | "
                    f"{_cell(', '.join(fb['consents_needed']) or '—')} |"
                )
    lines += ["", "## Humanitarian notification", ""]
    lines += [
        "| movement | from | to | route | checkpoints | timing | people |",
        "|---|---|---|---|---|---|---|",
    ]
    for n in b["notification"]:
        lines.append(
            f"| {_cell(n['movement'])} | {_cell(n['from'])} | {_cell(n['to'])} | "
            f"{_cell(' → '.join(n['route']))} | {_cell(', '.join(n['checkpoints']) or '—')} | "
            f"{_cell(n['timing'])} | {_num(n['people'])} |"
        )
    lines += [
        "",
        "Figures are planning estimates from the scenario's data, not guarantees; check the "
        "sources listed above before relying on them.",
        "",
    ]
    return "\n".join(lines)


def _corridor_md(c: dict[str, Any]) -> list[str]:
    r = c["route"]
    length = f", {r['length_m'] / 1000:.1f} km" if r["length_m"] is not None else ""
    cap = c["throughput_per_min"]
    throughput = _num(cap, " people/min") if cap else "unbounded"
    out = [
        "",
        f"## {c['name']}: {' → '.join(r['nodes'])}",
        "",
        f"Travel time {r['travel_time_min']:.0f} min{length}; throughput {throughput}"
        + (
            f"; all {_num(c['people'])} people through in about {c['passing_min']} min, "
            f"last arrival after {c['last_arrival_min']} min"
            if c["passing_min"] is not None
            else ""
        )
        + "."
        + (f" [Map]({c['map_url']})" if c["map_url"] else ""),
        *(
            [
                "",
                f"**Does not fit the window:** about {_num(c['people_within_window'])} of "
                f"{_num(c['people'])} people can arrive before it ends.",
            ]
            if c["fits_window"] is False
            else []
        ),
        "",
        "| # | road | from → to | held by | checkpoint | min | risk | survival so far |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for i, st in enumerate(r["steps"], start=1):
        out.append(
            f"| {i} | {_cell(st['name'] or st['edge'])} | {_cell(st['from'])} → "
            f"{_cell(st['to'])} | {_cell(st['controlled_by'])} | {_cell(st['checkpoint'])} | "
            f"{st['travel_time_min']:.0f} | {st['risk']:.4f} | {st['cumulative_survival']:.4f} |"
        )
    return out


def _inputs_md(inputs: dict[str, Any]) -> list[str]:
    out = ["", "## What the estimate rests on", "", "Roads:", ""]
    out += ["| road | status | base risk | source | checkpoint risk | risk used |"]
    out += ["|---|---|---|---|---|---|"]
    for r in inputs["roads"]:
        out.append(
            f"| {_cell(r['name'] or r['edge'])} | {r['status']} | {r['base_risk']:.4f} | "
            f"{_cell(r['base_source'] or 'not given')} | {r['checkpoint_risk']:.4f} | "
            f"{r['risk']:.4f} |"
        )
    out += ["", "Incidents:", ""]
    if not inputs["incidents"]:
        out.append("None affecting these corridors at the time evaluated.")
        return out
    out += ["| incident | kind | observed | age h | source | confidence | added risk | roads |"]
    out += ["|---|---|---|---|---|---|---|---|"]
    for i in inputs["incidents"]:
        out.append(
            f"| `{i['id']}` | {_cell(i['kind'])} | {i['observed_at']} | {i['age_h']} | "
            f"{_cell(i['source'] or 'not given')} | {i['confidence']} | {i['added_risk']:.4f} | "
            f"{_cell(', '.join(i['roads']))} |"
        )
    return out
