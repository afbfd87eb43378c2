"""The plan use case: what it switches for the process around the planner, and restores."""

from __future__ import annotations

import gc
import json
from pathlib import Path

from app.config import Settings
from app.domain.network.graph import Network
from app.domain.scenario.reading import validate_scenario
from app.services.plans import PlanRequest, compute_plan

TEACHING = Path(__file__).resolve().parents[2] / "graphs" / "teaching.json"


LIMIT = Settings().max_expanded_arcs


def test_the_cycle_collector_is_paused_while_planning_and_restored_after() -> None:
    network = Network(validate_scenario(json.loads(TEACHING.read_text())))
    during: list[bool] = []
    request = PlanRequest.model_validate({"rank_openings": True})
    assert gc.isenabled()
    plan = compute_plan(
        network,
        request,
        max_expanded_arcs=LIMIT,
        progress=lambda _phase, _done, _total: during.append(gc.isenabled()),
    )
    assert plan["evacuated"] == 1800 and "openings" in plan
    assert during and not any(during)
    assert gc.isenabled()
    gc.disable()
    try:  # a caller that had paused it finds it paused still
        compute_plan(network, request, max_expanded_arcs=LIMIT)
        assert not gc.isenabled()
    finally:
        gc.enable()
