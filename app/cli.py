"""The ``safe-passage`` command line (SPEC §3).

Exit codes: 0 done; 1 invalid scenario (every problem listed, with pointers);
2 usage error; 3 no answer exists (no route, nothing can be evacuated).
With ``--json`` a command prints exactly one JSON document on stdout (the
answer, or the problem document on failure) and messages go to stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from app.domain.errors import (
    InvalidRequestError,
    NoAnswerError,
    ScenarioError,
    ValidationError,
    problem_type,
)
from app.domain.network import Network
from app.services.requests import RouteRequest
from app.services.routes import compute_routes
from app.services.scenarios import load_scenario_file

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_NO_ANSWER = 0, 1, 2, 3

app = typer.Typer(
    name="safe-passage",
    help="Plan humanitarian evacuation corridors: safest routes and evacuation plans.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document.")]
ScenarioArg = Annotated[str, typer.Argument(metavar="SCENARIO", help="Scenario file (JSON/YAML).")]


def print_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")


def problem_document(exc: ScenarioError) -> dict[str, Any]:
    return {"type": problem_type(exc.slug), "title": exc.title, "detail": exc.detail, **exc.extra()}


def fail(exc: ScenarioError, as_json: bool) -> NoReturn:
    """Render a domain error once: message (and JSON document) and the SPEC exit code."""
    if isinstance(exc, InvalidRequestError):
        code = EXIT_USAGE
    elif isinstance(exc, ValidationError):
        code = EXIT_INVALID
    elif isinstance(exc, NoAnswerError):
        code = EXIT_NO_ANSWER
    else:
        code = EXIT_USAGE
    if as_json:
        print_json(problem_document(exc))
    err.print(f"[bold red]error:[/] {exc.title}: {exc.detail}", highlight=False)
    if isinstance(exc, ValidationError):
        for p in exc.problems:
            err.print(f"  {p.pointer or '/'}: {p.detail}", highlight=False, markup=False)
    raise typer.Exit(code)


@contextmanager
def reported(as_json: bool) -> Iterator[None]:
    try:
        yield
    except ScenarioError as exc:
        fail(exc, as_json)


def parse_time(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO 8601 timestamp", param_hint=option
        ) from None
    if when.tzinfo is None:
        raise typer.BadParameter(
            f"{value!r} needs a UTC offset, e.g. 2016-12-15T10:00:00+02:00", param_hint=option
        )
    return when


def request_or_usage_error(factory: Callable[[], Any]) -> Any:
    """Build a request model; a pydantic error there is a usage error (exit 2)."""
    import pydantic

    try:
        return factory()
    except pydantic.ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = "/".join(str(p) for p in first["loc"])
        raise typer.BadParameter(f"{where}: {first['msg']}") from None


@app.command()
def validate(scenario: ScenarioArg, as_json: JsonOpt = False) -> None:
    """Check a scenario document; list every problem with its JSON pointer."""
    with reported(as_json):
        s = load_scenario_file(scenario)
    summary = {
        "valid": True,
        "name": s.name,
        "nodes": len(s.nodes),
        "edges": len(s.edges),
        "parties": len(s.parties),
        "incidents": len(s.incidents),
        "windows": len(s.windows),
        "population": sum(n.population for n in s.nodes),
    }
    if as_json:
        print_json(summary)
    else:
        out.print(
            f"[green]valid[/]: {s.name or scenario} — {summary['nodes']} nodes, "
            f"{summary['edges']} roads, {summary['parties']} parties, "
            f"{summary['incidents']} incidents, {summary['windows']} windows, "
            f"population {summary['population']:,}",
            highlight=False,
        )


@app.command()
def route(
    scenario: ScenarioArg,
    from_: Annotated[str, typer.Option("--from", help="Node id to leave from.")],
    to: Annotated[str, typer.Option("--to", help="Node id to reach.")],
    profile: Annotated[str | None, typer.Option(help="Who travels (default general).")] = None,
    avoid_party: Annotated[
        list[str] | None, typer.Option("--avoid-party", help="Party id to avoid (repeatable).")
    ] = None,
    consenting_only: Annotated[
        bool, typer.Option("--consenting-only", help="Only roads of consenting parties.")
    ] = False,
    max_risk: Annotated[
        float | None, typer.Option("--max-risk", min=0.0, max=1.0, help="Largest route risk.")
    ] = None,
    at: Annotated[str | None, typer.Option(help="ISO 8601 time asked about.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The safest route from one node to another."""
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
            }
        )
    )
    with reported(as_json):
        network = Network(load_scenario_file(scenario))
        answer = compute_routes(network, request)
    if as_json:
        print_json(answer)
        return
    for k, r in enumerate(answer["routes"]):
        print_route(r, k)


def print_route(r: dict[str, Any], k: int) -> None:
    length = f"{r['length_m'] / 1000:.2f} km" if r["length_m"] is not None else "length unknown"
    out.print(
        f"[bold]Route {k + 1}[/]: {' → '.join(r['nodes'])}\n"
        f"  survival probability [bold]{r['survival_probability']:.4f}[/] "
        f"(risk {r['risk']:.4f}), {r['travel_time_min']:.1f} min, {length}, "
        f"profile {r['profile']}",
        highlight=False,
    )
    if r["parties"] or r["checkpoints"]:
        out.print(
            f"  parties: {', '.join(r['parties']) or '—'}; checkpoints: "
            f"{', '.join(r['checkpoints']) or '—'}; consent still needed from: "
            f"{', '.join(r['consents_needed']) or 'nobody'}",
            highlight=False,
        )
    table = Table(show_edge=False, pad_edge=False)
    for col in ("road", "from → to", "held by", "checkpoint", "min", "risk", "survival so far"):
        table.add_column(
            col, justify="right" if col in {"min", "risk", "survival so far"} else "left"
        )
    for step in r["steps"]:
        table.add_row(
            step["edge"],
            f"{step['from']} → {step['to']}",
            step["controlled_by"] or "—",
            step["checkpoint"] or "—",
            f"{step['travel_time_min']:.1f}",
            f"{step['risk']:.4f}",
            f"{step['cumulative_survival']:.4f}",
        )
    out.print(table)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
