"""``safe-passage serve``, ``token create`` and ``db upgrade``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app.cli.common import EXIT_USAGE, JsonOpt, app, err, out, print_json, settings_from_env

if TYPE_CHECKING:
    from app.config import Settings
    from app.services.catalog import Catalog

# Storage and web imports are deferred into the commands (see app.cli.common).

token_app = typer.Typer(help="Manage access tokens.", no_args_is_help=True)
db_app = typer.Typer(help="Manage the database schema.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(db_app, name="db")


def open_catalog(settings: Settings) -> Catalog:
    from app.services.catalog import Catalog
    from app.storage.db import make_engine, upgrade
    from app.storage.repository import Repository

    engine = make_engine(settings.resolved_database_url())
    upgrade(engine)
    return Catalog(Repository(engine), settings)


def load_demo(catalog: Catalog, directory: Path) -> list[str]:
    """Store every scenario file of ``directory`` under its file name (once)."""
    from app.domain.errors import ScenarioError
    from app.services.access import SYSTEM
    from app.services.errors import ConflictError

    loaded = []
    for path in sorted(directory.glob("*.json")):
        scenario_id = path.stem
        if catalog.repo.scenario_exists(scenario_id):
            loaded.append(scenario_id)
            continue
        try:
            catalog.create(path.read_bytes(), SYSTEM, fmt="json", scenario_id=scenario_id)
        except ConflictError:
            pass  # another replica stored it first
        except ScenarioError as exc:
            err.print(f"skipped {path.name}: {exc.detail}", highlight=False)
            continue
        loaded.append(scenario_id)
    return loaded


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    demo: Annotated[
        bool, typer.Option("--demo", help="Load the bundled scenarios and print a planner token.")
    ] = False,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Run the HTTP service (OpenAPI docs at /docs, map at /)."""
    import uvicorn

    from app.api.logs import uvicorn_log_config
    from app.services.access import create_token

    settings = settings_from_env()
    catalog = open_catalog(settings)
    shown = "localhost" if host in ("0.0.0.0", "::") else host
    if demo:
        names = load_demo(catalog, settings.demo_dir)
        _, secret = create_token(catalog.repo, "planner", "demo")
        out.print(f"Scenarios: {', '.join(names) or 'none found in ' + str(settings.demo_dir)}")
        out.print(f"Docs: http://{shown}:{port}/docs  (Authorize with the token below)")
        out.print(f"Token: {secret}", highlight=False)
        out.print(f"Map: http://{shown}:{port}/#token={secret}", highlight=False)
    catalog.repo.engine.dispose()
    sys.stdout.flush()
    uvicorn.run(
        "app.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=uvicorn_log_config(settings),
        access_log=False,  # the service writes its own access line (request id, route)
        timeout_graceful_shutdown=30,
    )


@token_app.command("create")
def token_create(
    role: Annotated[str, typer.Option(help="viewer, planner or admin.")],
    name: Annotated[str | None, typer.Option(help="Who or what the token is for.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a token and print it once (only its hash is stored)."""
    if role not in ("viewer", "planner", "admin"):
        err.print(f"error: --role must be viewer, planner or admin, not {role!r}")
        raise typer.Exit(EXIT_USAGE)
    from app.services.access import create_token

    catalog = open_catalog(settings_from_env())
    info, secret = create_token(catalog.repo, role, name)  # type: ignore[arg-type]
    catalog.repo.engine.dispose()
    if as_json:
        print_json({"id": info.id, "role": info.role, "token": secret})
    else:
        sys.stdout.write(secret + "\n")


@db_app.command("upgrade")
def db_upgrade(as_json: JsonOpt = False) -> None:
    """Create or upgrade the schema (safe to run from every replica at start)."""
    from app.storage.db import current_revision, make_engine, upgrade

    settings = settings_from_env()
    engine = make_engine(settings.resolved_database_url())
    before = current_revision(engine)
    upgrade(engine)
    after = current_revision(engine)
    url = engine.url.render_as_string(hide_password=True)
    if as_json:
        print_json({"database": url, "from": before, "to": after})
    else:
        out.print(f"{url}: schema {before or 'empty'} → {after}", highlight=False)
