"""The compiled reservation loop of the fast plan against its Python statement
(``tests/domain/kernel_statements.py``).

Both must place the same groups (route, departure minute, people), in the same order,
on random networks with tight capacities, safe zones that fill up (new routes are
made mid-plan) and tables that must grow (no window, long queues). The compiled loop
keeps table rows only for the arcs entered; it is also run starting from one row, so
that it makes more rows again and again (the statement has a row for every arc).
"""

from __future__ import annotations

import itertools
import random
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from app.domain.errors import PlanTooSlowError
from app.domain.network.graph import Network
from app.domain.plans import fast
from app.domain.plans.budget import Budget
from app.domain.plans.evacuation import Plan, PlanOptions, model_options
from app.domain.plans.model import FlowModel, compile_model
from app.domain.scenario.reading import validate_scenario
from tests.domain import kernel_statements
from tests.domain.evacuation_oracle import flow_document, replay

ROOT = Path(__file__).resolve().parents[2]


def model_of(doc: dict[str, Any]) -> FlowModel:
    net = Network(validate_scenario(doc))
    return compile_model(net, net.conditions(None, None), model_options(PlanOptions()))


def both(model: FlowModel, horizon: int | None) -> tuple[list[Any], list[Any]]:
    compiled = fast.fast_movements(model, horizon, max_cells=10**7)
    python = kernel_statements.fast_movements(model, horizon, max_cells=10**7)
    return compiled, python


def test_without_the_compiled_loops_the_package_says_how_to_build_them() -> None:
    blocker = textwrap.dedent(
        """
        import importlib.abc, sys

        class Unbuilt(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name == "app.domain.plans._fast_kernel":
                    raise ImportError("No module named 'app.domain.plans._fast_kernel'")
                return None

        sys.meta_path.insert(0, Unbuilt())
        import app.domain.plans.evacuation
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", blocker], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: safe-passage's compiled planner loops")
    assert "C compiler" in last and "pip install ." in last


@pytest.mark.parametrize("first_rows", [1, fast.FIRST_ROWS])
@pytest.mark.parametrize("seed", range(80))
def test_compiled_and_python_loops_place_the_same_groups(
    seed: int, first_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fast, "FIRST_ROWS", first_rows)
    rng = random.Random(7000 + seed)
    n = rng.randint(4, 30)
    doc = flow_document(rng, n, rng.randint(n, 3 * n))
    for node in doc["nodes"]:
        if node.get("population"):
            factor = rng.choice([1, 5, 20])
            node["population"] *= factor
            if "capacity" in node:
                node["capacity"] *= factor
    model = model_of(doc)
    horizon = rng.choice([None, None, rng.randint(1, 40)])
    compiled, python = both(model, horizon)
    assert compiled == python
    if compiled:
        plan = Plan(model, "fast", False, horizon, compiled).as_dict()
        replay(doc, plan, horizon if horizon is not None else plan["egress_time_min"])


def test_full_safe_zones_send_the_rest_elsewhere_in_both_loops() -> None:
    # Three safe zones receiving 30 people each, 200 people: routes are remade as they fill.
    nodes: list[dict[str, Any]] = [{"id": "home", "population": 200}]
    edges: list[dict[str, Any]] = []
    for i in range(3):
        nodes.append({"id": f"camp{i}", "kind": "safe_zone", "capacity": 30})
        edges.append(
            {
                "id": f"r{i}",
                "from": "home",
                "to": f"camp{i}",
                "travel_time_min": 1 + 2 * i,
                "capacity_per_min": 4,
            }
        )
    model = model_of({"schema": "safe-passage/scenario@1", "nodes": nodes, "edges": edges})
    compiled, python = both(model, None)
    assert compiled == python
    received: dict[int, int] = {}
    for mv in compiled:
        received[mv.nodes[-1]] = received.get(mv.nodes[-1], 0) + mv.count
    assert sorted(received.values()) == [30, 30, 30]


def test_a_long_queue_grows_the_table_in_both_loops(monkeypatch: pytest.MonkeyPatch) -> None:
    # Roads of 1 person a minute: 500 people need 500 minutes, far past the first table;
    # the compiled loop starts with one row, makes a second for the second road, and the
    # table grows in time with both.
    monkeypatch.setattr(fast, "FIRST_ROWS", 1)
    doc = {
        "schema": "safe-passage/scenario@1",
        "nodes": [
            {"id": "home", "population": 500},
            {"id": "gate"},
            {"id": "camp", "kind": "safe_zone"},
        ],
        "edges": [
            {"id": "a", "from": "home", "to": "gate", "travel_time_min": 1, "capacity_per_min": 1},
            {"id": "b", "from": "gate", "to": "camp", "travel_time_min": 1, "capacity_per_min": 1},
        ],
    }
    compiled, python = both(model_of(doc), None)
    assert compiled == python
    assert sum(m.count for m in compiled) == 500
    assert max(m.arrive or 0 for m in compiled) == 2 + 499


def test_the_time_budget_stops_the_plan() -> None:
    rng = random.Random(5)
    doc = flow_document(rng, 30, 80)
    for node in doc["nodes"]:
        if node.get("population"):
            node["population"] *= 50
            node.pop("capacity", None)
    model = model_of(doc)
    ticks = itertools.count()  # one second passes at every look at the clock
    budget = Budget.start(0.5, ticks.__next__)
    with pytest.raises(PlanTooSlowError) as err:
        fast.fast_movements(model, None, max_cells=10**7, budget=budget)
    assert "time budget of 0.5 s" in (err.value.detail or "")
    assert next(ticks) == 2  # started at 0, gave up at its first look (1 s > 0.5 s)


@pytest.mark.parametrize("seed", range(10))
def test_compiled_movement_dicts_are_the_plain_ones(seed: int) -> None:
    from app.domain.plans.evacuation import NothingToEvacuateError, plan_model

    rng = random.Random(900 + seed)
    n = rng.randint(5, 20)
    doc = flow_document(rng, n, rng.randint(n, 3 * n))
    model = model_of(doc)
    if model.total_population == 0 or not model.is_zone.any():
        return
    try:
        plan = plan_model(model, PlanOptions(horizon=rng.randint(5, 30)))
    except NothingToEvacuateError:
        return
    moves = [*plan.movements, *plan.stranded_moves]
    assert moves
    assert plan.movement_dicts(moves) == [kernel_statements.movement_dict(plan, m) for m in moves]
