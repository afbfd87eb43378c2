"""What a person sees on stderr in a terminal: the CLI's progress bars, captured."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

import app.cli.common

CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Screen:
    """A terminal 100 columns wide in place of the CLI's stderr."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.written = io.StringIO()
        monkeypatch.setattr(
            app.cli.common, "err", Console(file=self.written, force_terminal=True, width=100)
        )

    def lines(self) -> list[str]:
        """Every line drawn, without colours and cursor moves, blanks dropped, in order;
        a line redrawn unchanged is listed once."""
        text = CONTROL.sub("", self.written.getvalue())
        drawn = [line.rstrip() for line in re.split(r"[\r\n]", text) if line.strip()]
        return [line for k, line in enumerate(drawn) if k == 0 or drawn[k - 1] != line]
