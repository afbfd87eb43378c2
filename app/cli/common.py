"""Shared pieces of the command line: output, error rendering, option parsing.

Exit codes (SPEC §3): 0 done; 1 invalid scenario (every problem listed, with
pointers); 2 usage error; 3 no answer exists (no route, nothing can be
evacuated). With ``--json`` a command prints exactly one JSON document on stdout
(the answer, or the problem document on failure); messages go to stderr.

Start-up: ``safe-passage --help`` and every command load this package whole, so its
modules import at the top only typer, rich and the light error classes; each command
imports the services, the domain (numpy, scipy), the settings (pydantic) and the storage
(SQLAlchemy) it uses when it runs. tests/test_cli_startup.py keeps it so.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

from app.domain.errors import (
    InvalidRequestError,
    NoAnswerError,
    QuestionError,
    ScenarioError,
    ValidationError,
    problem_type,
)
from app.services.errors import request_error

if TYPE_CHECKING:
    from app.config import Settings

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_NO_ANSWER = 0, 1, 2, 3

app = typer.Typer(
    name="safe-passage",
    help="Plan humanitarian evacuation corridors: safest routes and evacuation plans.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help and usage errors (click's): typer's rich ones import Markdown, Pygments
    # and rich's tracebacks, about 90 ms of every `--help` and usage error.
    rich_markup_mode=None,
)
# Piped output keeps whole table rows instead of wrapping at 80 columns.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document.")]
FromOpt = Annotated[str, typer.Option("--from", help="Node id to leave from.")]
ToOpt = Annotated[str, typer.Option("--to", help="Node id to reach.")]
ProfileOpt = Annotated[str | None, typer.Option(help="Who travels (default general).")]
AvoidOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--avoid-party", help="Party id to avoid: its roads, checkpoints and places (repeatable)."
    ),
]
AtOpt = Annotated[str | None, typer.Option(help="ISO 8601 time asked about.")]
ConsentingOpt = Annotated[
    bool,
    typer.Option(
        "--consenting-only",
        help="Only roads, checkpoints and places of consenting parties (or none).",
    ),
]
UnknownRiskOpt = Annotated[
    str | None,
    typer.Option(
        "--unknown-risk",
        metavar="P|highest",
        help="Risk assumed for roads without an estimate: a probability, or 'highest' "
        "(default: the scenario's unknown_risk, else highest).",
    ),
]
FleetOpt = Annotated[
    list[str] | None,
    typer.Option("--fleet", help="Plan with this fleet of the scenario (repeatable)."),
]
VehiclesOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--vehicles",
        metavar="N|FLEET=N",
        help="With --fleet: how many vehicles (repeatable FLEET=N for several fleets).",
    ),
]


def unknown_risk_value(text: str | None) -> float | str | None:
    """``--unknown-risk`` as the request takes it: a number, or the word (validated there)."""
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return text


ScenarioArg = Annotated[str, typer.Argument(metavar="SCENARIO", help="Scenario file (JSON/YAML).")]


def print_assumptions(assumptions: list[dict[str, Any]]) -> None:
    """Every assumed figure an answer rests on, one per line."""
    from app.domain.formats.figures import assumption_line

    if assumptions:
        out.print("  assumed figures:", highlight=False)
        for a in assumptions:
            out.print(f"   - {assumption_line(a)}", highlight=False, markup=False)


def print_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")


def problem_document(exc: ScenarioError) -> dict[str, Any]:
    return {"type": problem_type(exc.slug), "title": exc.title, "detail": exc.detail, **exc.extra()}


def exit_code(exc: ScenarioError) -> int:
    if isinstance(exc, InvalidRequestError):
        return EXIT_USAGE
    if isinstance(exc, ValidationError):
        return EXIT_INVALID
    if isinstance(exc, NoAnswerError):
        return EXIT_NO_ANSWER
    return EXIT_USAGE


def fail(exc: ScenarioError, as_json: bool) -> NoReturn:
    """Render a domain error once: message (and JSON document) and the SPEC exit code."""
    if isinstance(exc, QuestionError):  # asked outside a use case: the usual request fields
        exc = request_error(exc)
    if as_json:
        print_json(problem_document(exc))
    err.print(f"[bold red]error:[/] {exc.title}: {exc.detail}", highlight=False)
    if isinstance(exc, ValidationError):
        for p in exc.listed:
            err.print(f"  {p.pointer or '/'}: {p.detail}", highlight=False, markup=False)
    raise typer.Exit(exit_code(exc))


@contextmanager
def reported(as_json: bool) -> Iterator[None]:
    """Turn domain errors raised inside the block into the CLI's message and exit code."""
    try:
        yield
    except ScenarioError as exc:
        fail(exc, as_json)


def settings_from_env() -> Settings:
    """The service's settings (``SAFE_PASSAGE_*`` variables): the CLI keeps the same limits.

    A malformed variable is a usage error naming it, not a stack trace.
    """
    import pydantic

    from app.config import get_settings

    try:
        return get_settings()
    except pydantic.ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        name = "SAFE_PASSAGE_" + "_".join(str(p) for p in first["loc"]).upper()
        err.print(f"[bold red]error:[/] {name}: {first['msg']}", highlight=False, markup=False)
        raise typer.Exit(EXIT_USAGE) from None


def parse_time(value: str | None, option: str) -> datetime | None:
    """An ISO 8601 timestamp with offset, or a usage error naming the option."""
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
