"""``safe-passage plan``: how many people, through which roads, within a pause."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from app.cli.common import (
    AvoidOpt,
    ConsentingOpt,
    JsonOpt,
    ProfileOpt,
    ScenarioArg,
    app,
    err,
    out,
    parse_time,
    print_json,
    reported,
    request_or_usage_error,
    settings_from_env,
)

if TYPE_CHECKING:
    from app.domain.plans.budget import Progress as ProgressCallback

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
    rank_openings: Annotated[
        bool,
        typer.Option(
            "--rank-openings",
            help="Price each blocked road and excluded non-consenting party: what opening "
            "it would gain.",
        ),
    ] = False,
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
                "rank_openings": rank_openings,
            }
        )
    )
    settings = settings_from_env()
    limit = settings.max_expanded_arcs if max_arcs is None else max_arcs
    with reported(as_json), _progress_bar() as progress:
        network = Network(load_scenario_file(scenario, settings))
        answer = compute_plan(network, request, max_expanded_arcs=limit, progress=progress)
    if as_json:
        print_json(answer)
    else:
        print_plan(answer)


@contextmanager
def _progress_bar() -> Iterator[ProgressCallback]:
    """A progress bar on stderr (never stdout); silent when stderr is not a terminal."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    task = bar.add_task("planning", total=1.0)

    def report(stage: str, fraction: float) -> None:
        bar.update(task, description=stage, completed=fraction)

    with bar:
        yield report


def print_plan(p: dict[str, Any]) -> None:
    from rich.table import Table

    window = p["window"]
    span = (
        f"window {window['id'] or ''} {window['start']} – {window['end']} "
        f"({window['minutes']} min)".replace("  ", " ")
        if window
        else "no window: as long as it takes"
    )
    if not p["optimal"]:
        kind = f"{p['method']}, not proven optimal"
    elif p["method"] == "optimal":
        kind = "optimal"
    else:  # a fast plan meeting its bounds is optimal too (its note says why)
        kind = f"{p['method']}, optimal: meets its bounds"
    out.print(
        f"[bold]Plan[/] ({kind}; profile {p['profile']}; {span})\n"
        f"  evacuated [bold]{p['evacuated']:,}[/] of {p['total_population']:,}, "
        f"stranded {p['stranded']:,}; last arrival at minute [bold]{p['egress_time_min']}[/]\n"
        f"  expected harm {p['expected_harm']:,.1f} people "
        f"(people × risk of their route)",
        highlight=False,
    )
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
    if "openings" in p:
        print_openings(p["openings"])


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


def print_openings(openings: list[dict[str, Any]]) -> None:
    from rich.table import Table

    if not openings:
        out.print(
            "No closures to price: no blocked road and no excluded non-consenting party "
            "(use --consenting-only to price each party's consent).",
            highlight=False,
        )
        return
    table = Table(title="What to negotiate first", show_edge=False)
    for col in ("opening", "more people", "minutes sooner", "expected harm"):
        table.add_column(col, justify="left" if col == "opening" else "right")
    for o in openings:
        table.add_row(
            f"{o['kind']} {o['id']}",
            f"{o['additional_evacuated']:+,}",
            f"{o['minutes_sooner']:+}",
            f"{o['expected_harm']:,.1f}",
        )
    out.print(table)
