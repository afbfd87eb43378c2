"""The ``safe-passage`` command line (SPEC §3). One module per group of commands."""

from __future__ import annotations

from app.cli import loop as loop
from app.cli import negotiation as negotiation
from app.cli import osm as osm
from app.cli import plans as plans
from app.cli import routes as routes
from app.cli import service as service
from app.cli import worker as worker
from app.cli.common import app


def main() -> None:
    """Console-script entry point."""
    app()


__all__ = ["app", "main"]
