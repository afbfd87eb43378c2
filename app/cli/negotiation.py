"""``safe-passage parties``, ``safe-passage brief`` and ``safe-passage incidents import``."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from app.cli.common import (
    AtOpt,
    AvoidOpt,
    ConsentingOpt,
    FleetOpt,
    FromOpt,
    JsonOpt,
    ProfileOpt,
    ScenarioArg,
    ToOpt,
    VehiclesOpt,
    app,
    out,
    parse_time,
    print_json,
    reported,
    request_or_usage_error,
    settings_from_env,
)
from app.domain.errors import InvalidRequestError, Problem
from app.services.brief_formats import BriefFormat

incidents_app = typer.Typer(help="Incident reports.", no_args_is_help=True)
app.add_typer(incidents_app, name="incidents")


@app.command()
def parties(
    scenario: ScenarioArg,
    from_: FromOpt,
    to: ToOpt,
    profile: ProfileOpt = None,
    avoid_party: AvoidOpt = None,
    at: AtOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Whose agreement would open the safest route, and how much safer than today it is."""
    from app.domain.network.graph import Network
    from app.services.requests import PartiesRequest
    from app.services.routes import compute_parties
    from app.services.scenarios import load_scenario_file

    when = parse_time(at, "--at")
    request = request_or_usage_error(
        lambda: PartiesRequest.model_validate(
            {
                "from": from_,
                "to": to,
                "profile": profile,
                "avoid_parties": avoid_party or [],
                "at": when,
            }
        )
    )
    with reported(as_json):
        answer = compute_parties(
            Network(load_scenario_file(scenario, settings_from_env())), request
        )
    if as_json:
        print_json(answer)
        return
    print_parties(answer)


def print_parties(a: dict[str, Any]) -> None:
    from rich.table import Table

    today, safest = a["today"], a["safest"]
    out.print(f"[bold]{a['from']} → {a['to']}[/] (profile {a['profile']})", highlight=False)
    out.print(f"  consent granted by: {', '.join(a['granted']) or 'nobody'}", highlight=False)
    if today is None:
        out.print("  today: no route without a new agreement", highlight=False)
    else:
        out.print(
            f"  today: survival {today['survival_probability']:.4f}, "
            f"{today['travel_time_min']:.0f} min via {' → '.join(today['nodes'])}",
            highlight=False,
        )
    gain = a["survival_gain"]
    out.print(
        f"  safest: survival [bold]{safest['survival_probability']:.4f}[/], "
        f"{safest['travel_time_min']:.0f} min; needs agreement of "
        f"[bold]{', '.join(a['safest_needs']) or 'nobody new'}[/]"
        + (f"; {gain:+.4f} survival over today" if gain is not None else ""),
        highlight=False,
    )
    table = Table(title="Agreements and what they open", show_edge=False, pad_edge=False)
    for col in ("new agreements", "survival", "gain", "min", "route"):
        table.add_column(col, justify="left" if col in {"new agreements", "route"} else "right")
    for o in a["options"]:
        table.add_row(
            ", ".join(o["agreements"]) or "none",
            f"{o['survival_probability']:.4f}",
            "—" if o["survival_gain"] is None else f"{o['survival_gain']:+.4f}",
            f"{o['travel_time_min']:.0f}",
            " → ".join(o["nodes"]),
        )
    out.print(table)
    table = Table(title="If one party refuses", show_edge=False, pad_edge=False)
    for col in ("party", "consent", "needed for safest", "if it refuses"):
        table.add_column(col)
    for p in a["parties"]:
        table.add_row(
            p["id"],
            p["consent"],
            "yes" if p["needed_for_safest"] else "no",
            _refusal(p),
        )
    out.print(table)


def _refusal(p: dict[str, Any]) -> str:
    refused = p["if_this_party_refuses"]
    if refused is None:
        return "no route at all"
    loss = p["survival_lost_if_refuses"]
    change = "no change" if abs(loss) < 5e-5 else f"{-loss:+.4f}"
    return f"survival {refused['survival_probability']:.4f} ({change})"


@app.command()
def brief(
    scenario: ScenarioArg,
    from_: FromOpt,
    to: ToOpt,
    people: Annotated[
        int | None, typer.Option(min=1, help="People moving (default: population of --from).")
    ] = None,
    profile: ProfileOpt = None,
    window: Annotated[str | None, typer.Option(help="Window id of the scenario.")] = None,
    start: Annotated[str | None, typer.Option(help="Start of the window asked for.")] = None,
    end: Annotated[str | None, typer.Option(help="End of the window asked for.")] = None,
    at: AtOpt = None,
    avoid_party: AvoidOpt = None,
    consenting_only: ConsentingOpt = False,
    disjoint: Annotated[
        bool, typer.Option("--disjoint", help="Two corridors sharing no road.")
    ] = False,
    fleet: FleetOpt = None,
    vehicles: VehiclesOpt = None,
    title: Annotated[str | None, typer.Option(help="Heading of the brief.")] = None,
    requested_by: Annotated[
        str | None, typer.Option("--requested-by", help="Organisation proposing.")
    ] = None,
    as_json: JsonOpt = False,
    fmt: Annotated[
        BriefFormat | None,
        typer.Option(
            "--format",
            help="markdown (default), html (a printable self-contained page) or json (as --json).",
        ),
    ] = None,
) -> None:
    """A proposal brief in Markdown, HTML or JSON: the answer (what fits the window and what
    window is needed), corridors with clock times, checkpoints and crossings, parties,
    fallbacks if a party refuses, figures with their sources and limits. With --fleet, also
    the fleet plan of that window: people carried by group, the checkpoint queue, the
    bottleneck."""
    from app.cli.plans import vehicle_counts
    from app.domain.network.graph import Network
    from app.services.briefs import BriefRequest, compute_brief, render_brief
    from app.services.scenarios import load_scenario_file

    if as_json and fmt not in (None, BriefFormat.json):
        raise typer.BadParameter(
            "--json prints JSON: do not combine it with --format html/markdown"
        )
    as_json = as_json or fmt == BriefFormat.json
    times = {name: parse_time(v, f"--{name}") for name, v in (("start", start), ("end", end))}
    when = parse_time(at, "--at")
    request = request_or_usage_error(
        lambda: BriefRequest.model_validate(
            {
                "from": from_,
                "to": to,
                "people": people,
                "profile": profile,
                "window": window,
                **times,
                "at": when,
                "avoid_parties": avoid_party or [],
                "consenting_only": consenting_only,
                "disjoint": disjoint,
                "fleet": fleet or None,
                "vehicles": vehicle_counts(vehicles),
                "title": title,
                "requested_by": requested_by,
            }
        )
    )
    with reported(as_json):
        answer = compute_brief(Network(load_scenario_file(scenario, settings_from_env())), request)
    if as_json:
        print_json(answer)
    elif fmt == BriefFormat.html:
        typer.echo(render_brief(answer, "html"), nl=False)
    else:
        typer.echo(answer["markdown"], nl=False)


@incidents_app.command("import")
def import_(
    scenario: ScenarioArg,
    reports: Annotated[
        str, typer.Argument(metavar="FILE", help="Incident reports: CSV (ACLED/HXL) or GeoJSON.")
    ],
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv or geojson (default: guessed).")
    ] = None,
    skip_bad: Annotated[
        bool, typer.Option("--skip-bad", help="Import the good rows of a file with bad ones.")
    ] = False,
    severity: Annotated[
        float | None, typer.Option(help="Severity for reports without one (default: by kind).")
    ] = None,
    radius_m: Annotated[
        float, typer.Option("--radius-m", help="Radius (m) for reports without one.")
    ] = 250.0,
    confidence: Annotated[float, typer.Option(help="Confidence for reports without one.")] = 0.5,
    half_life_h: Annotated[
        float, typer.Option("--half-life-h", help="Half-life (h) for reports without one.")
    ] = 24.0,
    source: Annotated[
        str | None, typer.Option(help="Source for reports without one (default: FILE's name).")
    ] = None,
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", help="Write the scenario here (default: in place)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add incident reports from a file to a scenario; every bad row is reported by number."""
    from app.domain.scenario.document import parse_document
    from app.services.incidents import ImportRequest, import_incidents
    from app.services.scenarios import load_scenario_file

    request = request_or_usage_error(
        lambda: ImportRequest.model_validate(
            {
                "format": fmt,
                "skip_bad": skip_bad,
                "severity": severity,
                "radius_m": radius_m,
                "confidence": confidence,
                "half_life_h": half_life_h,
                "source": source or Path(reports).name,
            }
        )
    )
    target = Path(output or scenario)
    settings = settings_from_env()
    with reported(as_json):
        current = load_scenario_file(scenario, settings)
        text = _read_text(Path(reports), settings.max_body_bytes)
        outcome = import_incidents(current, text, request)
        document = parse_document(
            Path(scenario).read_bytes(), max_bytes=settings.max_scenario_bytes
        )
        document["incidents"] = [*(document.get("incidents") or []), *outcome.added]
        write_document(target, document)
    report = {**outcome.report(), "output": str(target)}
    if as_json:
        print_json(report)
        return
    out.print(
        f"[green]imported[/] {report['imported']} of {report['read']} reports into {target} "
        f"({report['incidents']} incidents in all)",
        highlight=False,
    )
    if report["bad"]:
        out.print(f"skipped: {', '.join(report['bad'])}", highlight=False)
        for e in report["errors"]:
            out.print(f"  {e['pointer']}: {e['detail']}", highlight=False, markup=False)


def _read_text(path: Path, max_bytes: int) -> str:
    """A reports file as text; at most ``max_bytes``, as the service takes in one request."""
    try:
        if path.stat().st_size > max_bytes:
            raise InvalidRequestError([Problem("", f"{path} is larger than {max_bytes} bytes")])
        return path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise InvalidRequestError([Problem("", f"no such file: {path}")]) from None
    except IsADirectoryError:
        raise InvalidRequestError([Problem("", f"{path} is a directory, not a file")]) from None
    except UnicodeDecodeError as exc:
        raise InvalidRequestError(
            [Problem("", f"{path} is not UTF-8 text (byte {exc.start})")]
        ) from None


def write_document(path: Path, document: dict[str, Any]) -> None:
    """Write the scenario atomically: JSON for ``.json``, YAML otherwise."""
    import json

    import yaml

    if path.suffix.lower() == ".json":
        text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    else:
        text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    directory = path.resolve().parent
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
