"""The fleet section of a proposal brief: a fleet plan (docs/fleets.md) told in clock times.

Pure: built from the fleet plan's answer (the PLAN document of a fleet, as
``POST /v1/scenarios/{id}/plans`` with ``fleet`` answers it), so every number of the section
is that answer's. Minutes count from the brief's clock start (the window's start, else the
time evaluated), as the plan's do. The headline reads

    20 buses and 10 ambulances, 10:00–13:00: about 1,269 people, wounded first (6 of 500)

(the vehicles of each fleet, by kind; the window in local clock time; the people evacuated,
a model's figure hence "about"; the first group in priority order when it is not the
general population, with how many of it are carried).

>>> vehicles_text({"buses": 20, "ambulances": 1}, {"buses": "bus", "ambulances": "ambulance"})
'20 buses and 1 ambulance'
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from app.domain.formats.figures import figure
from app.domain.network.graph import Network


def plural(kind: str, n: int) -> str:
    """``bus`` → ``buses`` (English plural of a vehicle kind; the kind itself for one)."""
    if n == 1:
        return kind
    if kind.endswith(("s", "x", "z", "ch", "sh")):
        return kind + "es"
    if kind.endswith("y") and kind[-2:-1] not in ("a", "e", "i", "o", "u"):
        return kind[:-1] + "ies"
    return kind + "s"


def vehicles_text(vehicles: dict[str, int], kinds: dict[str, str]) -> str:
    """``20 buses and 10 ambulances``: by kind, or by fleet id where two fleets share one."""
    by_kind = len(set(kinds.values())) == len(kinds)
    parts = [f"{n} {plural(kinds[f], n) if by_kind else f}" for f, n in vehicles.items()]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _at(start: datetime | None, minutes: int | None) -> str | None:
    if start is None or minutes is None:
        return None
    return (start + timedelta(minutes=minutes)).isoformat()


def _timed(start: datetime | None, minutes: int | None) -> dict[str, Any]:
    return {"min": minutes, "at": _at(start, minutes)}


def _hhmm(iso: str, since: str | None = None) -> str:
    """``10:00``; with the date (``15 Dec 10:00``) when it falls on another day than
    ``since``."""
    t = datetime.fromisoformat(iso)
    if since is not None and datetime.fromisoformat(since).date() != t.date():
        return f"{t.day} {t:%b %H:%M}"
    return f"{t:%H:%M}"


def _group_words(group_id: str) -> str:
    return group_id.replace("_", " ").replace("-", " ")


def headline(section: dict[str, Any], start: datetime | None) -> str:
    """The section's first sentence (see the module docstring)."""
    who = section["vehicles_text"]
    w = section["window"]
    if w is not None:
        when = f", {_hhmm(w['start'])}–{_hhmm(w['end'], w['start'])}"
    elif start is not None:
        when = f", from {_hhmm(start.isoformat())}"
    else:
        when = ""
    n = section["evacuated"]
    if n == 0:
        return f"{who}{when}: nobody can be carried to safety" + (
            " in this window" if w is not None else ""
        )
    text = f"{who}{when}: about {n:,} {'person' if n == 1 else 'people'}"
    groups = section["by_group"]
    first = groups[0] if groups else None
    if first is not None and first["group"] != "general" and first["evacuated"] > 0:
        text += (
            f", {_group_words(first['group'])} first "
            f"({first['evacuated']:,} of {first['population']:,})"
        )
    last = section["last_arrival"]["at"]
    if w is None and section["stranded"] == 0 and last:
        text += f"; everyone out by {_hhmm(last, start.isoformat() if start else None)}"
    return text


def fleet_section(plan: dict[str, Any], net: Network, start: datetime | None) -> dict[str, Any]:
    """The brief's ``fleet`` member, from a fleet plan's answer ``plan``."""
    fleets = {f.id: f for f in net.scenario.fleets}
    kinds = {f: fleets[f].kind for f in plan["vehicles"]}
    by_group = [
        {**g, "last_arrival": _timed(start, g["last_arrival_min"])} for g in plan["by_group"]
    ]
    first_arrival = min((t["arrive_min"] for t in plan["trips"]), default=None)
    checkpoints = []
    for c in plan["checkpoints"]:
        e = net.edge_index[c["edge"]]
        party = c["party"]
        checkpoints.append(
            {
                **c,
                "name": net.edge_text(e, "name"),
                "party_name": net.parties[party].name if party in net.parties else None,
                "mean_wait_min": c["waiting_min"] / c["vehicles"] if c["vehicles"] else 0.0,
            }
        )
    window = plan["window"]
    section: dict[str, Any] = {
        "fleets": [
            {
                "id": f,
                "name": fleets[f].name,
                "kind": kinds[f],
                "vehicles": n,
                "seats": fleets[f].seats,
                "stretchers": fleets[f].stretchers,
            }
            for f, n in plan["vehicles"].items()
        ],
        "vehicles": plan["vehicles"],
        "vehicles_text": vehicles_text(plan["vehicles"], kinds),
        "window": None if window is None else {"start": window["start"], "end": window["end"]},
        "method": plan["method"],
        "optimal": plan["optimal"],
        "note": plan["note"],
        "total_population": plan["total_population"],
        "evacuated": plan["evacuated"],
        "stranded": plan["stranded"],
        "upper_bound_evacuated": plan["upper_bound_evacuated"],
        "trips": len(plan["trips"]),
        "first_arrival": _timed(start, first_arrival),
        "last_arrival": _timed(start, plan["egress_time_min"] if plan["trips"] else None),
        "by_group": by_group,
        "checkpoints": checkpoints,
        "bottleneck": plan["bottleneck"],
        "fleet_utilisation": plan["fleet_utilisation"],
        "expected_harm": plan["expected_harm"],
        "consents_needed": plan["consents_needed"],
        "assumptions": plan["assumptions"],
    }
    section["headline"] = headline(section, start)
    section["figures"] = _figures(section)
    return section


def _figures(s: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        figure("vehicles", "Vehicles", sum(s["vehicles"].values()), "vehicles"),
        figure("fleet_evacuated", "People carried to safety", s["evacuated"], "people"),
        figure("fleet_population", "People in the places served", s["total_population"], "people"),
        figure("fleet_stranded", "People left behind", s["stranded"], "people"),
        figure(
            "fleet_upper_bound",
            "No plan in this model carries more than",
            s["upper_bound_evacuated"],
            "people",
        ),
        figure("fleet_trips", "Trips", s["trips"], "trips"),
        figure("fleet_first_arrival", "First arrival", s["first_arrival"]["at"], "time"),
        figure("fleet_last_arrival", "Last arrival", s["last_arrival"]["at"], "time"),
        figure("fleet_utilisation", "Vehicles busy", s["fleet_utilisation"], "share"),
        figure(
            "fleet_expected_harm",
            "Expected number harmed on the roads",
            s["expected_harm"],
            "people",
        ),
    ]
