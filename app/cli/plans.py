"""``safe-passage plan``: how many people, through which roads, within a pause."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from app.cli.common import (
    AvoidOpt,
    ConsentingOpt,
    JsonOpt,
    ProfileOpt,
    ScenarioArg,
    UnknownRiskOpt,
    app,
    out,
    parse_time,
    print_assumptions,
    print_json,
    reported,
    request_or_usage_error,
    settings_from_env,
    unknown_risk_value,
)

SHOWN = 15
"""Movements and bottlenecks listed in the human-readable output (--json lists all)."""


@app.command()
def plan(
    scenario: ScenarioArg,
    window: Annotated[
        str | None, typer.Option("--window", help="Id of a pause in the scenario's windows.")
    ] = None,
    start: Annotated[
        str | None, typer.Option("--start", help="ISO 8601 start of the pause (with --end).")
    ] = None,
    end: Annotated[str | None, typer.Option("--end", help="ISO 8601 end of the pause.")] = None,
    method: Annotated[
        str,
        typer.Option(
            "--method",
            help="optimal: true minimum egress time; fast: heuristic for large cities.",
        ),
    ] = "optimal",
    profile: ProfileOpt = None,
    avoid_party: AvoidOpt = None,
    consenting_only: ConsentingOpt = False,
    max_risk: Annotated[
        float | None,
        typer.Option("--max-risk", min=0.0, max=1.0, help="Do not use roads riskier than this."),
    ] = None,
    at: Annotated[str | None, typer.Option(help="ISO 8601 time the risks are taken at.")] = None,
    unknown_risk: UnknownRiskOpt = None,
    rank_openings: Annotated[
        bool,
        typer.Option(
            "--rank-openings",
            "--rank-concessions",
            help="What to negotiate first: price each concession (candidate crossing or "
            "blocked road opened, checkpoint lifted, party's consent, longer pause, more "
            "capacity at a bottleneck) by planning again.",
        ),
    ] = False,
    fleet: Annotated[
        list[str] | None,
        typer.Option(
            "--fleet",
            help="Plan with this fleet of the scenario (repeatable: buses and ambulances "
            "together): every trip through the checkpoints, priority groups first.",
        ),
    ] = None,
    vehicles: Annotated[
        list[str] | None,
        typer.Option(
            "--vehicles",
            metavar="N|FLEET=N",
            help="With --fleet: how many vehicles (repeatable FLEET=N for several fleets).",
        ),
    ] = None,
    sizing: Annotated[
        bool,
        typer.Option(
            "--sizing",
            help="With --fleet: gain of one more vehicle, lane or hour; shortest window; "
            "smallest fleet.",
        ),
    ] = False,
    sizing_people: Annotated[
        int | None,
        typer.Option(
            "--sizing-people",
            metavar="N",
            help="With --sizing: people the smallest fleet must move in the window "
            "(default everyone).",
        ),
    ] = None,
    max_arcs: Annotated[
        int | None,
        typer.Option(
            "--max-arcs",
            min=1,
            help="Largest time-expanded network for the optimal method "
            "(default: SAFE_PASSAGE_MAX_EXPANDED_ARCS, as the service).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """An evacuation plan: who leaves when, by which roads, and how many get out in time."""
    from app.cli.progress import progress_bar
    from app.domain.network.graph import Network
    from app.services.plans import PlanRequest, compute_plan
    from app.services.scenarios import load_scenario_file

    request = request_or_usage_error(
        lambda: PlanRequest.model_validate(
            {
                "window": window,
                "start": parse_time(start, "--start"),
                "end": parse_time(end, "--end"),
                "method": method,
                "profile": profile,
                "avoid_parties": avoid_party or [],
                "consenting_only": consenting_only,
                "max_risk": max_risk,
                "at": parse_time(at, "--at"),
                "unknown_risk": unknown_risk_value(unknown_risk),
                "rank_openings": rank_openings,
                "fleet": fleet or None,
                "vehicles": vehicle_counts(vehicles),
                "sizing": sizing,
                "sizing_people": sizing_people,
            }
        )
    )
    settings = settings_from_env()
    limit = settings.max_expanded_arcs if max_arcs is None else max_arcs
    with reported(as_json), progress_bar() as progress:
        network = Network(load_scenario_file(scenario, settings))
        answer = compute_plan(network, request, max_expanded_arcs=limit, progress=progress)
    if as_json:
        print_json(answer)
    elif "trips" in answer:
        print_fleet_plan(answer)
    else:
        print_plan(answer)


def vehicle_counts(given: list[str] | None) -> int | dict[str, int | str] | str | None:
    """``--vehicles`` as the request takes it: ``N``, or ``{fleet: N}`` from ``FLEET=N``
    (the request validates the numbers)."""
    if not given:
        return None
    if len(given) == 1 and "=" not in given[0]:
        return int(given[0]) if given[0].isdigit() else given[0]
    counts: dict[str, int | str] = {}
    for item in given:
        fleet, _, n = item.partition("=")
        counts[fleet] = int(n) if n.isdigit() else n
    return counts


def method_label(p: dict[str, Any]) -> str:
    """How a plan was found and whether it is proven optimal."""
    if not p["optimal"]:
        return f"{p['method']}, not proven optimal"
    if p["method"] in ("optimal", "exact"):
        return "optimal"
    return f"{p['method']}, optimal: meets its bounds"  # the note says why


def _people_range(point: float, low_high: list[float]) -> str:
    if abs(low_high[1] - low_high[0]) < 0.05:
        return f"{point:,.1f}"
    return f"{point:,.1f} (range {low_high[0]:,.1f}–{low_high[1]:,.1f})"


def window_span(window: dict[str, Any] | None, without: str) -> str:
    """The plan's window as a header reads it (``without`` when there is none)."""
    if not window:
        return without
    text = f"window {window['id'] or ''} {window['start']} – {window['end']}"
    return f"{text} ({window['minutes']} min)".replace("  ", " ")


def print_plan(p: dict[str, Any]) -> None:
    from rich.table import Table

    from app.domain.formats.figures import unknown_sentence

    span = window_span(p["window"], "no window: as long as it takes")
    kind = method_label(p)
    out.print(
        f"[bold]Plan[/] ({kind}; profile {p['profile']}; {span})\n"
        f"  evacuated [bold]{p['evacuated']:,}[/] of {p['total_population']:,}, "
        f"stranded {p['stranded']:,}; last arrival at minute [bold]{p['egress_time_min']}[/]\n"
        f"  expected harm {_people_range(p['expected_harm'], p['expected_harm_range'])} "
        f"(people × chance of harm on their route); expected detained at checkpoints "
        f"{p['expected_detained']:,.1f}",
        highlight=False,
    )
    unknown = unknown_sentence(p["unknown_risk"])
    if unknown:
        out.print(f"  [yellow]{unknown}[/]", highlight=False)
    print_assumptions(p["assumptions"])
    if not p["optimal"] and p["lower_bound_min"] is not None:
        out.print(f"  lower bound on the egress time: {p['lower_bound_min']} min", highlight=False)
    if p["note"]:
        out.print(f"  note: {p['note']}", highlight=False)
    out.print(
        f"  consent still needed from: {', '.join(p['consents_needed']) or 'nobody'}",
        highlight=False,
    )
    routes = _by_route(p["movements"])
    if routes:
        table = Table(
            title=f"Routes ({len(p['movements'])} movements in all; --json lists each)",
            show_edge=False,
        )
        for col in ("people", "leaving (min)", "arriving (min)", "route"):
            table.add_column(col, justify="right" if col != "route" else "left")
        for r in routes[:SHOWN]:
            table.add_row(
                f"{r['count']:,}",
                f"{r['first_depart']} – {r['last_depart']}",
                f"{r['first_arrive']} – {r['last_arrive']}",
                " → ".join(r["nodes"]),
            )
        out.print(table)
    if p["bottlenecks"]:
        table = Table(title="Bottlenecks (roads full)", show_edge=False)
        for col in ("road", "per min", "full for (min)", "from – to"):
            table.add_column(col, justify="left" if col == "road" else "right")
        for b in p["bottlenecks"][:SHOWN]:
            table.add_row(
                b["edge"],
                str(b["capacity_per_min"]),
                str(b["saturated_minutes"]),
                f"{b['first_min']} – {b['last_min']}",
            )
        out.print(table)
    if "concessions" in p:
        print_concessions(p["concessions"])


def _by_route(movements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Movements summed per route (node path), most people first."""
    routes: dict[tuple[str, ...], dict[str, Any]] = {}
    for m in movements:
        r = routes.setdefault(
            tuple(m["nodes"]),
            {
                "nodes": m["nodes"],
                "count": 0,
                "first_depart": m["depart_min"],
                "last_depart": m["depart_min"],
                "first_arrive": m["arrive_min"],
                "last_arrive": m["arrive_min"],
            },
        )
        r["count"] += m["count"]
        r["first_depart"] = min(r["first_depart"], m["depart_min"])
        r["last_depart"] = max(r["last_depart"], m["depart_min"])
        r["first_arrive"] = min(r["first_arrive"], m["arrive_min"])
        r["last_arrive"] = max(r["last_arrive"], m["arrive_min"])
    return sorted(routes.values(), key=lambda r: (-r["count"], r["nodes"]))


def print_concessions(c: dict[str, Any]) -> None:
    from rich.table import Table

    rows = c["rows"]
    if rows:
        table = Table(title=f"What to negotiate first ({c['order']})", show_edge=False)
        for col in ("concession", "people gained", "harm change", "egress change (min)"):
            table.add_column(col, justify="left" if col == "concession" else "right")
        for r in rows:
            table.add_row(
                f"{r['kind']} {r['what']}",
                f"{r['people_gained']:+,}",
                f"{r['harm_change']:+,.1f}",
                f"{r['egress_change_min']:+}",
            )
        out.print(table)
        best = rows[0]
        if best["people_gained"] > 0 or best["harm_change"] < 0 or best["egress_change_min"] < 0:
            out.print(f"  first: {best['sentence']}", highlight=False)
    out.print(
        f"  {c['priced']} concessions priced by planning again, {c['skipped']} skipped "
        f"(they cannot change who gets out or when), {c['not_priced']} not priced "
        f"(at most {c['max_replans']} plans, {c['max_candidates']} considered)",
        highlight=False,
    )
    if c["nothing_gains"]:
        out.print(
            f"  [bold]No concession gets more people out[/]: {c['nothing_gains']}", highlight=False
        )


def print_fleet_plan(p: dict[str, Any]) -> None:
    """A fleet plan as a negotiator reads it: totals, groups, checkpoints, trips, sizing."""
    from rich.table import Table

    span = window_span(p["window"], "no window: until everyone is out")
    kind = method_label(p)
    out.print(
        f"[bold]Fleet plan[/] "
        f"{', '.join(f'{n} {f}' for f, n in p['vehicles'].items())} ({kind}; {span})\n"
        f"  evacuated [bold]{p['evacuated']:,}[/] of {p['total_population']:,}, stranded "
        f"{p['stranded']:,}; last arrival at minute {p['egress_time_min']}; "
        f"{len(p['trips'])} trips; fleet busy {100 * p['fleet_utilisation']:.0f} % of the time\n"
        f"  bound: no plan in this model evacuates more than "
        f"{p['upper_bound_evacuated']:,}"
        + (
            f"; none clears everyone before minute {p['lower_bound_min']}"
            if p["lower_bound_min"] is not None
            else ""
        )
        + f"\n  bottleneck: {p['bottleneck']['kind']} — {p['bottleneck']['explanation']}\n"
        f"  expected harm on the roads {p['expected_harm']:,.1f} people; consent still needed "
        f"from: {', '.join(p['consents_needed']) or 'nobody'}",
        highlight=False,
    )
    if p["note"]:
        out.print(f"  note: {p['note']}", highlight=False)
    groups = Table(title="By group (priority order)", show_edge=False)
    for col in ("group", "people", "evacuated", "stranded", "last arrival (min)"):
        groups.add_column(col, justify="left" if col == "group" else "right")
    for g in p["by_group"]:
        groups.add_row(
            g["group"],
            f"{g['population']:,}",
            f"{g['evacuated']:,}",
            f"{g['stranded']:,}",
            "—" if g["last_arrival_min"] is None else str(g["last_arrival_min"]),
        )
    out.print(groups)
    if p["checkpoints"]:
        table = Table(title="Checkpoints", show_edge=False)
        for col in (
            "road",
            "party",
            "vehicles",
            "people",
            "screening (min)",
            "waiting (min)",
            "longest wait",
        ):
            table.add_column(col, justify="left" if col in {"road", "party"} else "right")
        for c in p["checkpoints"]:
            table.add_row(
                c["edge"], c["party"] or "—", str(c["vehicles"]), f"{c['people']:,}",
                str(c["screening_min"]), str(c["waiting_min"]), str(c["longest_wait_min"]),
            )  # fmt: skip
        out.print(table)
    trips = Table(
        title=f"Trips (first {min(SHOWN, len(p['trips']))} of {len(p['trips'])}; --json lists all)",
        show_edge=False,
    )
    for col in ("vehicle", "#", "pickup", "leaves", "screened", "arrives", "to", "people"):
        trips.add_column(
            col, justify="right" if col in {"#", "leaves", "screened", "arrives"} else "left"
        )
    for t in p["trips"][:SHOWN]:
        screened = ", ".join(f"{s['start_min']}–{s['end_min']}" for s in t["screened"]) or "—"
        people = ", ".join(f"{n} {g}" for g, n in t["people"].items())
        trips.add_row(
            t["vehicle"], str(t["trip"]), t["pickup"], str(t["loaded_min"]), screened,
            str(t["arrive_min"]), t["to"], people,
        )  # fmt: skip
    out.print(trips)
    if p.get("sizing"):
        print_sizing(p["sizing"])
    print_assumptions(p["assumptions"])


def print_sizing(s: dict[str, Any]) -> None:
    def gain(row: dict[str, Any] | None, what: str) -> str:  # one re-plan
        if row is None:
            return f"  {what}: no checkpoint on the way"
        return f"  {what}: {row['evacuated']:,} evacuated ({row['gained']:+,})"

    lane = s["one_more_lane"]
    lines = ["Sizing (fast re-plans):"]
    lines += [gain(row, f"one more of {fleet}") for fleet, row in s["one_more_vehicle"].items()]
    lines += [
        gain(lane, f"one more screening lane at {lane['checkpoint']}" if lane else "one more lane"),
    ]
    if "one_more_hour" in s:
        lines.append(gain(s["one_more_hour"], "one more hour"))
    shortest = s["shortest_window_min"]
    lines.append(
        "  shortest window to clear everyone: "
        + ("not reachable with this fleet" if shortest is None else f"{shortest} min")
        + (
            f" (no plan does it in under {s['shortest_window_lower_bound_min']} min)"
            if s["shortest_window_lower_bound_min"] is not None
            else ""
        )
    )
    for fleet, need in s["vehicles_to_clear"].items():
        lines.append(
            f"  {fleet} needed to move {need['people']:,} people in this window (others as "
            "asked): "
            + (f"{need['vehicles']}" if need["vehicles"] else f"more than {need['tried_up_to']}")
        )
    out.print("\n".join(lines), highlight=False)
