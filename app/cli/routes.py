"""``safe-passage validate`` and ``safe-passage route``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from app.cli.common import (
    AtOpt,
    AvoidOpt,
    ConsentingOpt,
    FromOpt,
    JsonOpt,
    ProfileOpt,
    ScenarioArg,
    ToOpt,
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


@app.command()
def validate(scenario: ScenarioArg, as_json: JsonOpt = False) -> None:
    """Check a scenario document; list every problem with its JSON pointer."""
    from app.services.scenarios import load_scenario_file

    with reported(as_json):
        s = load_scenario_file(scenario, settings_from_env())
    summary = {
        "valid": True,
        "name": s.header.name,
        "nodes": s.counts[0],
        "edges": s.counts[1],
        "parties": len(s.header.parties),
        "incidents": len(s.header.incidents),
        "windows": len(s.header.windows),
        "population": int(s.nodes.population.sum()),
    }
    if as_json:
        print_json(summary)
    else:
        out.print(
            f"[green]valid[/]: {s.header.name or scenario} — {summary['nodes']} nodes, "
            f"{summary['edges']} roads, {summary['parties']} parties, "
            f"{summary['incidents']} incidents, {summary['windows']} windows, "
            f"population {summary['population']:,}",
            highlight=False,
        )


@app.command()
def route(
    scenario: ScenarioArg,
    from_: FromOpt,
    to: ToOpt,
    profile: ProfileOpt = None,
    avoid_party: AvoidOpt = None,
    consenting_only: ConsentingOpt = False,
    max_risk: Annotated[
        float | None, typer.Option("--max-risk", min=0.0, max=1.0, help="Largest route risk.")
    ] = None,
    at: AtOpt = None,
    objective: Annotated[
        str,
        typer.Option(
            "--objective",
            help="What the route minimises: survival (harm or detention, default), harm, "
            "or detention.",
        ),
    ] = "survival",
    unknown_risk: UnknownRiskOpt = None,
    alternatives: Annotated[
        int,
        typer.Option(
            "--alternatives",
            min=1,
            max=10,
            metavar="K",
            help="Up to K genuinely different routes, safest first.",
        ),
    ] = 1,
    max_overlap: Annotated[
        float,
        typer.Option(
            "--max-overlap",
            min=0.0,
            max=1.0,
            help="With --alternatives: largest share of a route's time on a safer one's roads.",
        ),
    ] = 0.5,
    disjoint: Annotated[
        bool,
        typer.Option("--disjoint", help="Two routes sharing no road, greatest joint survival."),
    ] = False,
    pareto: Annotated[
        bool,
        typer.Option("--pareto", help="The risk–time trade-off: no route both safer and faster."),
    ] = False,
    pareto_cap: Annotated[
        int,
        typer.Option("--pareto-cap", min=1, max=50, help="With --pareto: most routes shown."),
    ] = 10,
    as_json: JsonOpt = False,
) -> None:
    """The safest route from one node to another (or alternatives, a disjoint pair, the front)."""
    from app.domain.network.graph import Network
    from app.services.requests import RouteRequest
    from app.services.routes import compute_routes
    from app.services.scenarios import load_scenario_file

    when = parse_time(at, "--at")
    request = request_or_usage_error(
        lambda: RouteRequest.model_validate(
            {
                "from": from_,
                "to": to,
                "profile": profile,
                "avoid_parties": avoid_party or [],
                "consenting_only": consenting_only,
                "max_risk": max_risk,
                "at": when,
                "objective": objective,
                "unknown_risk": unknown_risk_value(unknown_risk),
                "alternatives": alternatives,
                "max_overlap": max_overlap,
                "disjoint": disjoint,
                "pareto": pareto,
                "pareto_cap": pareto_cap,
            }
        )
    )
    with reported(as_json):
        network = Network(load_scenario_file(scenario, settings_from_env()))
        answer = compute_routes(network, request)
    if as_json:
        print_json(answer)
        return
    if "joint_survival_probability" in answer:
        out.print(
            f"Disjoint pair: joint survival probability "
            f"[bold]{answer['joint_survival_probability']:.4f}[/] (the two routes share no road)",
            highlight=False,
        )
    if answer.get("pareto"):
        print_front(answer)
        return
    if answer.get("unavoidable_roads"):
        out.print(
            f"Every route uses: {', '.join(answer['unavoidable_roads'])} (not counted as overlap)",
            highlight=False,
        )
    for k, r in enumerate(answer["routes"]):
        print_route(r, k)
        if k > 0 and "overlap_with_safer" in r:
            out.print(
                f"  shares {100 * r['overlap_with_safer']:.0f} % of its avoidable travel time with "
                "a safer route above",
                highlight=False,
            )


def print_front(answer: dict[str, Any]) -> None:
    from rich.table import Table

    shown, size = len(answer["routes"]), answer["front_size"]
    more = "" if answer["front_complete"] else " (search stopped early: faster routes may exist)"
    out.print(
        f"Risk–time trade-off: {shown} of {size} routes on the front, safest first{more}",
        highlight=False,
    )
    table = Table(show_edge=False, pad_edge=False)
    for col in ("#", "survival", "risk", "min", "via", "consent needed from"):
        table.add_column(
            col, justify="right" if col in {"#", "survival", "risk", "min"} else "left"
        )
    for k, r in enumerate(answer["routes"]):
        table.add_row(
            str(k + 1),
            f"{r['survival_probability']:.4f}",
            f"{r['risk']:.4f}",
            f"{r['travel_time_min']:.1f}",
            " → ".join(r["nodes"]),
            ", ".join(r["consents_needed"]) or "—",
        )
    out.print(table)
    gaps = answer.get("front_missing") or []
    if gaps:
        low = min(g["survival_probability"][0] for g in gaps)
        high = max(g["survival_probability"][1] for g in gaps)
        fast = min(g["travel_time_min"][0] for g in gaps)
        slow = max(g["travel_time_min"][1] for g in gaps)
        out.print(
            f"Routes not found may lie only in {len(gaps)} gaps between those found, with "
            f"survival {low:.4f}–{high:.4f} and {fast:.1f}–{slow:.1f} min; every safer one "
            "was found",
            highlight=False,
        )


OBJECTIVE_WORDS = {
    "survival": "the chance of harm or detention",
    "harm": "the chance of harm on the way",
    "detention": "the chance of detention at checkpoints",
}


def print_route(r: dict[str, Any], k: int) -> None:
    from rich.table import Table

    from app.domain.formats.figures import probability, unknown_sentence, with_range

    length = f"{r['length_m'] / 1000:.2f} km" if r["length_m"] is not None else "length unknown"
    out.print(
        f"[bold]Route {k + 1}[/]: {' → '.join(r['nodes'])}\n"
        f"  survival probability (unharmed and free) "
        f"[bold]{with_range(r['survival_probability'], r['survival_range'])}[/]\n"
        f"  harmed on the way {with_range(r['harm_probability'], r['harm_range'])}; "
        f"detained at checkpoints {probability(r['detention_probability'])}\n"
        f"  {r['travel_time_min']:.1f} min, {length}, profile {r['profile']}, "
        f"minimising {OBJECTIVE_WORDS[r['objective']]}",
        highlight=False,
    )
    unknown = unknown_sentence(r["unknown_risk"])
    if unknown:
        out.print(f"  [yellow]{unknown}[/]", highlight=False)
    print_assumptions(r["assumptions"])
    if r["parties"] or r["checkpoints"]:
        out.print(
            f"  parties: {', '.join(r['parties']) or '—'}; checkpoints: "
            f"{', '.join(r['checkpoints']) or '—'}; consent still needed from: "
            f"{', '.join(r['consents_needed']) or 'nobody'}",
            highlight=False,
        )
    if r.get("at"):
        later = r.get("incidents_after_at") or []
        left_out = f"; left out, observed later: {', '.join(later)}" if later else ""
        out.print(f"  asked at {r['at']}{left_out}", highlight=False, markup=False)
    table = Table(show_edge=False, pad_edge=False)
    columns = (
        "road",
        "from → to",
        "held by",
        "checkpoint",
        "min",
        "harm",
        "detention",
        "survival so far",
    )
    numeric = {"min", "harm", "detention", "survival so far"}
    for col in (*columns, "incidents"):
        table.add_column(col, justify="right" if col in numeric else "left")
    for step in r["steps"]:
        reports = step["risk_inputs"]["incidents"]
        table.add_row(
            step["edge"],
            f"{step['from']} → {step['to']}",
            step["controlled_by"] or "—",
            step["checkpoint"] or "—",
            f"{step['travel_time_min']:.1f}",
            "unknown" if step["risk_inputs"]["base_unknown"] else f"{step['harm']:.4f}",
            f"{step['detention']:.4f}" if step["detention"] else "—",
            f"{step['cumulative_survival']:.4f}",
            "; ".join(i["label"] for i in reports) or "—",
        )
    out.print(table)
