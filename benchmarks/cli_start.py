"""How fast the command line starts: `--help`, `validate` and a route, from the shell.

Run:  python3 benchmarks/cli_start.py [--runs 20] [--before /path/to/older/checkout]

Each command runs as a new process (interpreter start included), ``--runs`` times, the
commands taking turns so that a change in the machine's load falls on all of them alike;
``python -c pass`` is measured in the same turns. Printed per command: the median wall
clock, the median CPU time (user + system, of the process; on a shared machine the steadier
of the two) and the wall clock above ``python -c pass``.

The commands run as ``python -m app.cli`` with ``PYTHONPATH`` set to the checkout measured,
which is what the installed console script ``safe-passage`` runs too (it imports
``app.cli`` and calls ``main``), without the launcher a version manager such as pyenv
may put in front of it. ``--before DIR`` measures another checkout in the same turns,
e.g. a worktree of the commit before a change.

Each checkout's modules are compiled to bytecode first (``compileall``), as installing
does: with ``PYTHONDONTWRITEBYTECODE=1`` in the environment (set on some machines) an
editable checkout would otherwise compile the project's own modules from source at every
start, about 90 ms of the route's time on the machine of 7 Dec 2026.

Then, in this process, what the route costs once the modules are loaded: reading and
compiling the scenario, and one route query.

``--import-check`` only prints which heavy packages each command imports (none for
``--help``), the check tests/test_cli_startup.py makes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = "graphs/aleppo-2016-12.json"
COMMANDS: dict[str, list[str]] = {
    "--help": ["--help"],
    "validate aleppo": ["validate", SCENARIO],
    "route aleppo": ["route", SCENARIO, "--from", "as-sukkari", "--to", "al-rashideen"],
}
HEAVY = ("sqlalchemy", "fastapi", "starlette", "uvicorn", "scipy", "numpy", "pydantic")


@dataclass
class Timed:
    """One command's runs: wall clock and CPU time, in seconds."""

    label: str
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def run(self) -> None:
        start = time.perf_counter()
        proc = subprocess.Popen(
            self.argv, cwd=self.cwd, env=self.env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _, status, usage = os.wait4(proc.pid, 0)
        self.wall.append(time.perf_counter() - start)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(f"{self.label} exited {proc.returncode}: {' '.join(self.argv)}")
        self.cpu.append(usage.ru_utime + usage.ru_stime)


def checkout_env(checkout: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(checkout)}


def timings(checkouts: dict[str, Path], runs: int, warmup: int) -> list[Timed]:
    for checkout in checkouts.values():  # as installed: the bytecode is there
        subprocess.run([sys.executable, "-m", "compileall", "-q", "app"], cwd=checkout, check=True)
    bare = Timed("python -c pass", [sys.executable, "-c", "pass"], ROOT, dict(os.environ))
    timed = [bare]
    for name, checkout in checkouts.items():
        for label, args in COMMANDS.items():
            timed.append(
                Timed(
                    f"{name}: safe-passage {label}",
                    [sys.executable, "-m", "app.cli", *args],
                    checkout,
                    checkout_env(checkout),
                )
            )
    for _ in range(warmup):
        for t in timed:
            t.run()
    for t in timed:
        t.wall.clear()
        t.cpu.clear()
    for _ in range(runs):
        for t in timed:
            t.run()
    return timed


def heavy_imports(checkout: Path, args: list[str]) -> list[str]:
    """The heavy top-level packages loaded by ``python -m app.cli ARGS``."""
    probe = (
        "import runpy, sys\n"
        f"sys.argv = ['safe-passage', *{args!r}]\n"
        "try:\n    runpy.run_module('app.cli', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        f"print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r})))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=checkout,
        env=checkout_env(checkout),
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.split("\n")[-2].split()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--before", type=Path, help="another checkout, measured in the same turns")
    parser.add_argument("--import-check", action="store_true")
    options = parser.parse_args()
    checkouts = {"after": ROOT} if options.before else {"this": ROOT}
    if options.before:
        checkouts = {"before": options.before.resolve(), **checkouts}
    if options.import_check:
        for name, checkout in checkouts.items():
            for label, args in COMMANDS.items():
                print(f"{name}: {label}: {' '.join(heavy_imports(checkout, args)) or 'none'}")
        return
    print(
        f"python {sys.version.split()[0]}, {options.runs} runs each (taking turns), "
        f"load average {os.getloadavg()[0]:.1f}\n"
    )
    timed = timings(checkouts, options.runs, options.warmup)
    bare = statistics.median(timed[0].wall)
    print("| command | wall (median) | CPU (median) | wall above `python -c pass` |")
    print("|---|---|---|---|")
    for t in timed:
        wall, cpu = statistics.median(t.wall), statistics.median(t.cpu)
        above = "—" if t is timed[0] else f"{(wall - bare) * 1000:.0f} ms"
        print(f"| `{t.label}` | {wall * 1000:.0f} ms | {cpu * 1000:.0f} ms | {above} |")
    in_process(options.runs)


def in_process(runs: int) -> None:
    """Median wall clock of loading + compiling the scenario, and of one route query."""
    sys.path.insert(0, str(ROOT))
    from app.config import Settings
    from app.domain.network.graph import Network
    from app.domain.routes.engine import safest_route
    from app.services.scenarios import load_scenario_file

    compile_times, query_times = [], []
    for _ in range(runs):
        start = time.perf_counter()
        net = Network(load_scenario_file(ROOT / SCENARIO, Settings()))
        net.conditions()
        compile_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        safest_route(net, "as-sukkari", "al-rashideen")
        query_times.append(time.perf_counter() - start)
    print(
        f"\nin-process: load + validate + compile {statistics.median(compile_times) * 1000:.0f} ms,"
    )
    print(f"one route query on the compiled network {statistics.median(query_times) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
