"""The progress bar of long commands (plans, imports), on stderr.

Apart from :mod:`app.cli.common` so that only the commands that show one load
``rich.progress`` (the command line's start, docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, ProgressColumn, Task, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as ProgressBar
from rich.text import Text

from app.cli import common
from app.domain.progress import Progress, fraction


class _HowFar(ProgressColumn):
    """``12,345`` while the total is not known, ``45%`` of a fraction, ``2,000/4,400`` of a
    count (see :mod:`app.domain.progress`)."""

    def render(self, task: Task) -> Text:
        share = fraction(task.completed, task.total)
        if share is None:
            return Text(f"{task.completed:,.0f}")
        if task.total == 1:
            return Text(f"{share:.0%}")
        return Text(f"{task.completed:,.0f}/{task.total:,.0f}")


@contextmanager
def progress_bar() -> Iterator[Progress]:
    """A progress bar on stderr (never stdout) showing the phase a computation reports
    and how far it is; silent when stderr is not a terminal, gone when the block ends.

    Each phase gets a bar of its own, shown at once in place of the one before.
    """
    bar = ProgressBar(
        TextColumn("{task.description:<15}"),
        BarColumn(),
        _HowFar(),
        TimeElapsedColumn(),
        console=common.err,  # looked up now: tests put a screen in its place
        transient=True,
        disable=not common.err.is_terminal,
    )
    phases: dict[str, TaskID] = {}
    shown: list[TaskID] = []

    def report(phase: str, done: float, total: float | None) -> None:
        task = phases.get(phase)
        if task is None:  # a new phase
            task = phases[phase] = bar.add_task(phase, total=total, visible=False)
        bar.update(task, completed=done, total=total)
        if shown != [task]:
            for old in shown:
                bar.update(old, visible=False)
            bar.update(task, visible=True)
            shown[:] = [task]
            bar.refresh()

    with bar:
        yield report
