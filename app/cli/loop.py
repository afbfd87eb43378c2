"""``safe-passage edit`` and ``safe-passage compare``: the negotiation loop on files (SPEC §5)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from app.cli.common import (
    AvoidOpt,
    ConsentingOpt,
    FleetOpt,
    JsonOpt,
    ProfileOpt,
    VehiclesOpt,
    app,
    out,
    parse_time,
    print_json,
    problem_document,
    reported,
    request_or_usage_error,
    settings_from_env,
)
from app.cli.negotiation import write_document
from app.domain.errors import InvalidRequestError, Problem, ScenarioError, ValidationError


@app.command()
def edit(
    scenario: Annotated[str, typer.Argument(metavar="SCENARIO", help="Scenario file to edit.")],
    edits: Annotated[
        str,
        typer.Argument(
            metavar="EDITS",
            help='Edits file: {"reason", "edits": [...]} as sent to POST /edits, or the list.',
        ),
    ],
    output: Annotated[
        str | None, typer.Option("-o", "--output", help="Write here (default: SCENARIO).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Apply edits to a scenario file, all or nothing (exit 1 with pointers when one is bad)."""
    from app.domain.scenario.document import parse_document, spliced_document
    from app.domain.scenario.edits import apply_edits, diff, touched_ids
    from app.domain.scenario.reading import validate_scenario
    from app.services.errors import under

    settings = settings_from_env()
    target = Path(output or scenario)
    with reported(as_json):
        raw = _read(Path(scenario), settings.max_body_bytes)
        edit_list, prefix = _edit_list(_read(Path(edits), settings.max_body_bytes))
        base = validate_scenario(
            parse_document(raw), max_nodes=settings.max_nodes, max_edges=settings.max_edges
        )
        try:
            edited = apply_edits(base, edit_list)
        except ValidationError as exc:
            raise under(prefix, exc) from None
        text = _json_text(raw, base)
        document = json.loads(spliced_document(text, base, edited, touched_ids(edit_list)))
        write_document(target, document)
        changes = diff(base, edited)
    if as_json:
        print_json({"output": str(target), "changes": changes})
        return
    out.print(f"[green]edited[/]: {len(changes)} change(s) written to {target}", highlight=False)
    for c in changes:
        what = f"{c['kind']} {c['id'] or ''} {c['change']}".strip()
        if c["change"] == "changed":
            what += f" {c['field']}: {c['before']!r} → {c['after']!r}"
        out.print(f"  {what}", highlight=False, markup=False)


def _read(path: Path, max_bytes: int) -> bytes:
    try:
        if path.stat().st_size > max_bytes:
            raise InvalidRequestError([Problem("", f"{path} is larger than {max_bytes} bytes")])
        return path.read_bytes()
    except FileNotFoundError:
        raise InvalidRequestError([Problem("", f"no such file: {path}")]) from None
    except IsADirectoryError:
        raise InvalidRequestError([Problem("", f"{path} is a directory, not a file")]) from None


def _edit_list(raw: bytes) -> tuple[list[Any], str]:
    """The edits of an edits file and where they are in it (``/edits`` or the top)."""
    from app.domain.scenario.document import parse_document

    data = parse_document(raw)
    if isinstance(data, list):
        return data, ""
    if isinstance(data, dict) and isinstance(data.get("edits"), list):
        unknown = sorted(k for k in data if k not in ("reason", "edits"))
        if unknown:
            raise InvalidRequestError([Problem(f"/{unknown[0]}", f"unknown field {unknown[0]!r}")])
        return data["edits"], "/edits"
    raise InvalidRequestError(
        [Problem("", 'an edits file is {"reason": ..., "edits": [...]} or a list of edits')]
    )


def _json_text(raw: bytes, scenario: Any) -> bytes:
    """The scenario as JSON text: the file itself when it is JSON, else written anew."""
    stripped = raw.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"{"):
        return stripped
    return "".join(scenario.json_chunks()).encode("utf-8")


AFleetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--a-fleet", help="Plan question: side a plans with this fleet instead (repeatable)."
    ),
]
AVehiclesOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--a-vehicles", metavar="N|FLEET=N", help="Plan question: side a's vehicles instead."
    ),
]
BFleetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--b-fleet", help="Plan question: side b plans with this fleet instead (repeatable)."
    ),
]
BVehiclesOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--b-vehicles", metavar="N|FLEET=N", help="Plan question: side b's vehicles instead."
    ),
]


@app.command()
def compare(
    a: Annotated[str, typer.Argument(metavar="A", help="Scenario file, side a.")],
    b: Annotated[str, typer.Argument(metavar="B", help="Scenario file, side b.")],
    from_: Annotated[str | None, typer.Option("--from", help="Route question: leave from.")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Route question: reach.")] = None,
    window: Annotated[str | None, typer.Option(help="Plan question: window id.")] = None,
    start: Annotated[str | None, typer.Option(help="Plan question: start.")] = None,
    end: Annotated[str | None, typer.Option(help="Plan question: end.")] = None,
    method: Annotated[str, typer.Option(help="Plan method: optimal or fast.")] = "optimal",
    fleet: FleetOpt = None,
    vehicles: VehiclesOpt = None,
    a_fleet: AFleetOpt = None,
    a_vehicles: AVehiclesOpt = None,
    b_fleet: BFleetOpt = None,
    b_vehicles: BVehiclesOpt = None,
    profile: ProfileOpt = None,
    avoid_party: AvoidOpt = None,
    consenting_only: ConsentingOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Ask one route (--from/--to) or plan (--window or --start/--end) question of two
    scenario files and show b − a. Fleet plans: --fleet for both sides, or --a-fleet and
    --b-fleet (the same file twice compares two fleets)."""
    from app.cli.plans import vehicle_counts
    from app.domain.network.graph import Network
    from app.services.compare import FleetChoice, difference, question_of, side_question
    from app.services.plans import PlanRequest, compute_plan
    from app.services.routes import compute_routes
    from app.services.scenarios import load_scenario_file

    travel = {"profile": profile, "avoid_parties": avoid_party or [],
              "consenting_only": consenting_only}  # fmt: skip
    if from_ or to:
        raw: dict[str, Any] = {"kind": "route", "from": from_, "to": to, **travel}
    else:
        raw = {"kind": "plan", "window": window, "start": parse_time(start, "--start"),
               "end": parse_time(end, "--end"), "method": method, **travel}  # fmt: skip
    if fleet or vehicles:
        raw.update(fleet=fleet or None, vehicles=vehicle_counts(vehicles))

    def choice(fleet: list[str] | None, vehicles: list[str] | None) -> FleetChoice:
        raw = {"fleet": fleet or None, "vehicles": vehicle_counts(vehicles)}
        chosen: FleetChoice = request_or_usage_error(lambda: FleetChoice.model_validate(raw))
        return chosen

    choices = {"a": choice(a_fleet, a_vehicles), "b": choice(b_fleet, b_vehicles)}
    settings = settings_from_env()
    with reported(as_json):
        kind, question = question_of(raw)
        asked = {side: side_question(question, choices[side], side) for side in ("a", "b")}
        answers: dict[str, Any] = {}
        solved: dict[str, Any] = {}
        for name, path in (("a", a), ("b", b)):
            network = Network(load_scenario_file(path, settings))
            try:
                side = asked[name]
                if isinstance(side, PlanRequest):
                    answer = compute_plan(
                        network, side, max_expanded_arcs=settings.max_expanded_arcs
                    )
                else:
                    answer = compute_routes(network, side)
                solved[name] = answer
            except ScenarioError as exc:
                answer, solved[name] = problem_document(exc), None
            answers[name] = answer
    result = {"kind": kind, **answers, "difference": difference(kind, solved["a"], solved["b"])}
    if as_json:
        print_json(result)
        return
    _print_comparison(result, solved)


def _print_comparison(result: dict[str, Any], solved: dict[str, Any]) -> None:
    from rich.table import Table

    d = result["difference"]
    table = Table(title=f"{result['kind']}: b − a")
    for column in ("", "a", "b", "b − a"):
        table.add_column(column)

    def cell(side: str, key: str) -> str:
        answer = solved[side]
        if answer is None:
            return str(result[side].get("title", "no answer"))
        if result["kind"] == "route":
            answer = answer["routes"][0]
        value = answer.get(key)
        return "—" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)

    from app.services.compare import PLAN_FIGURES, ROUTE_FIGURES, group_evacuated, plan_groups

    def signed(change: Any) -> str:
        return "—" if change is None else f"{change:+.4g}"

    keys = ROUTE_FIGURES if result["kind"] == "route" else PLAN_FIGURES
    for key in keys:
        table.add_row(key, cell("a", key), cell("b", key), signed(d.get(key)))
    for group in plan_groups(solved["a"], solved["b"]) if "evacuated_by_group" in d else []:

        def people(side: str, group: str = group) -> str:
            if solved[side] is None:
                return str(result[side].get("title", "no answer"))
            n = group_evacuated(solved[side], group)
            return "—" if n is None else str(n)

        change = d["evacuated_by_group"][group]
        table.add_row(f"evacuated: {group}", people("a"), people("b"), signed(change))
    out.print(table)
    if "vehicles" in d:
        for side in ("a", "b"):
            fleet = d["vehicles"][side]
            text = ", ".join(f"{n} {f}" for f, n in fleet.items()) if fleet else "no plan"
            out.print(f"vehicles ({side}): {text}", markup=False)
    if result["kind"] == "route":
        out.print(f"roads only in a: {', '.join(d['roads_only_in_a']) or 'none'}", markup=False)
        out.print(f"roads only in b: {', '.join(d['roads_only_in_b']) or 'none'}", markup=False)
        for side in ("a", "b"):
            needed = d["consents_needed"][side]
            shown = "no route" if needed is None else ", ".join(needed) or "nobody"
            out.print(f"consent still needed ({side}): {shown}", markup=False)
