"""Comparisons: one question, two scenarios or versions, and what differs (SPEC §5)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from app.api.deps import CatalogDep, PlannerDep, PlanWorkersDep
from app.api.problems import problem_body
from app.domain.errors import ScenarioError
from app.services.compare import CompareRequest, Side, difference, question_of, side_question
from app.services.errors import ScenarioNotFoundError
from app.services.plans import PlanRequest
from app.services.routes import compute_routes

router = APIRouter(prefix="/v1", tags=["computations"])


@router.post(
    "/compare",
    summary="One route or plan question asked of two scenarios or versions, and b − a",
    responses={404: {"description": "A side names no stored scenario or version."}},
)
async def compare(
    body: CompareRequest, catalog: CatalogDep, workers: PlanWorkersDep, principal: PlannerDep
) -> dict[str, Any]:
    kind, question = question_of(body.question)
    asked = {"a": side_question(question, body.a, "a"), "b": side_question(question, body.b, "b")}
    answers: dict[str, Any] = {}
    versions: dict[str, Any] = {}
    solved: dict[str, Any] = {}
    for name, side in (("a", body.a), ("b", body.b)):
        used, answer, answered = await _answer(catalog, workers, side, asked[name])
        versions[name] = {"scenario": side.scenario, "version": used}
        answers[name] = answer
        solved[name] = answer if answered else None
    await run_in_threadpool(
        catalog.record, principal, "compare.compute", body.a.scenario, versions["a"]["version"],
        {"kind": kind, "b": versions["b"]},
    )  # fmt: skip
    return {
        "kind": kind,
        "a": answers["a"],
        "b": answers["b"],
        "versions": versions,
        "difference": difference(kind, solved["a"], solved["b"]),
    }


async def _answer(
    catalog: CatalogDep, workers: PlanWorkersDep, side: Side, question: Any
) -> tuple[int, dict[str, Any], bool]:
    """``(version, answer, answered)`` of one side: its problem document where it has no
    answer."""
    info = await run_in_threadpool(catalog.version_info, side.scenario, side.version)
    try:
        if isinstance(question, PlanRequest):
            plan = await workers.plan(catalog, side.scenario, info.version, question)
            return info.version, json.loads(plan.body), True
        _, network = await run_in_threadpool(catalog.network, side.scenario, info.version)
        return info.version, await run_in_threadpool(compute_routes, network, question), True
    except ScenarioNotFoundError:
        raise
    except ScenarioError as exc:
        return info.version, problem_body(exc), False
