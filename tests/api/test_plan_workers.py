"""Plans computed in a worker process (SAFE_PASSAGE_PLAN_WORKERS) answer as in the server.

The same PLAN documents and the same problem documents as a server computing plans
in its own process (``plan_workers = 0``), on one SQLite store; every scenario error
survives the trip between processes; a plan past the hard limit is stopped and
refused, its worker is gone and the next plan gets a new one; workers start with the
first plan and stop with the application.
"""

from __future__ import annotations

import importlib
import multiprocessing
import pickle
import pkgutil
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

import app.domain
import app.services
from app.api.app import create_app
from app.api.problems import from_error
from app.api.schemas import PlanOut
from app.config import Settings
from app.domain.errors import (
    Cut,
    CutRoad,
    Fault,
    InvalidRequestError,
    NoRouteError,
    PlanTooLargeError,
    PlanTooSlowError,
    Problem,
    QuestionError,
    RiskLimitError,
    ScenarioError,
    UnknownPartyError,
    UnknownPlaceError,
    UnknownProfileError,
    ValidationError,
)
from app.domain.network.graph import Network
from app.domain.routes.disjoint import NoDisjointPairError, disjoint_pair
from app.domain.scenario.reading import validate_scenario
from app.services.errors import PreconditionFailedError, UnavailableError
from app.services.plan_workers import PlanAnswer, PlanWorkers
from app.services.plans import PlanRequest
from tests.api import (
    ALEPPO,
    GRAPHS,
    PROBLEM_JSON,
    add_token,
    app_of,
    assert_problem,
    bearer,
    engine_of,
    load,
    store,
    store_snapshot,
)
from tests.held_plans import ANSWER, REQUEST, Gate, gates, held_plan, run_coroutine

PAUSE_3H = "pause-2016-12-15-3h"
PAUSE_48H = "pause-2016-12-15-48h"
MAX_ARCS = 400_000
"""Concessions over the 3-hour pause can all be priced; over the 48-hour pause opening some
blocked roads makes an optimal plan too large to make (left unpriced), the others are
priced."""


# --- every scenario error crosses the process boundary whole ------------------------------


def all_error_classes() -> set[type[ScenarioError]]:
    for package in (app.domain, app.services):
        for module in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            importlib.import_module(module.name)
    found: set[type[ScenarioError]] = set()
    todo: list[type[ScenarioError]] = [ScenarioError]
    while todo:
        cls = todo.pop()
        found.add(cls)
        todo.extend(cls.__subclasses__())
    return found


def no_disjoint_pair() -> NoDisjointPairError:
    """A real one: a single road joins the two places."""
    document = {
        "schema": "safe-passage/scenario@1",
        "nodes": [{"id": "a", "population": 10}, {"id": "b"}, {"id": "c", "kind": "safe_zone"}],
        "edges": [
            {"id": "a-b", "from": "a", "to": "b", "length_m": 100, "risk": 0.1},
            {"id": "b-c", "from": "b", "to": "c", "length_m": 100},
        ],
    }
    with pytest.raises(NoDisjointPairError) as info:
        disjoint_pair(Network(validate_scenario(document)), "a", "c")
    return info.value


SAMPLES: dict[type[ScenarioError], Callable[[], ScenarioError]] = {
    NoRouteError: lambda: NoRouteError(
        "no route from 'a' to 'c'",
        Cut([CutRoad("a-b", ("blocked",))], False, [CutRoad("a-b", ("blocked",))]),
    ),
    RiskLimitError: lambda: RiskLimitError("too risky", 0.25, 0.1),
    NoDisjointPairError: no_disjoint_pair,
    PreconditionFailedError: lambda: PreconditionFailedError("at version 3", 3),
    UnavailableError: lambda: UnavailableError("busy", 7),
    QuestionError: lambda: QuestionError([Fault("pareto_cap", "cap must be 1 to 50")]),
    UnknownPlaceError: lambda: UnknownPlaceError("zz", "destination"),
    UnknownPartyError: lambda: UnknownPartyError([(0, "x"), (2, "y")]),
    UnknownProfileError: lambda: UnknownProfileError("q", ["convoy", "general"]),
    PlanTooLargeError: lambda: PlanTooLargeError("horizon", "too large", "over 9 minutes"),
    PlanTooSlowError: lambda: PlanTooSlowError("method", 2.5),
}
"""Errors whose constructor is not ScenarioError's or ValidationError's."""


def sample(cls: type[ScenarioError]) -> ScenarioError:
    if cls in SAMPLES:
        return SAMPLES[cls]()
    if cls.__init__ is ScenarioError.__init__:
        return cls("something is wrong")
    if cls.__init__ is ValidationError.__init__:
        problems = [Problem("/edges/10/risk", "too high"), Problem("/edges/2", "unknown")]
        return cls(problems, detail="2 problems found")  # type: ignore[call-arg]
    raise AssertionError(f"{cls.__qualname__} takes other arguments: add it to SAMPLES")


@pytest.mark.parametrize(
    "cls", sorted(all_error_classes(), key=lambda c: c.__qualname__), ids=lambda c: c.__name__
)
def test_every_scenario_error_comes_back_from_a_worker_as_the_same_problem(
    cls: type[ScenarioError],
) -> None:
    sent = sample(cls)
    received = pickle.loads(pickle.dumps(sent))
    assert type(received) is cls
    assert (received.detail, str(received), received.args) == (sent.detail, str(sent), sent.args)
    before, after = from_error(sent, "/v1/x"), from_error(received, "/v1/x")
    assert after.status_code == before.status_code
    assert dict(after.headers) == dict(before.headers)
    assert after.body == before.body


# --- the same answers through a worker as in the server process ---------------------------


class Servers:
    """Two applications on one store: plans inline, and plans in a worker process."""

    def __init__(self, inline: TestClient, pooled: TestClient, token: str, aleppo: str) -> None:
        self.inline, self.pooled, self.token, self.aleppo = inline, pooled, token, aleppo

    def both(self, body: dict[str, Any], path: str | None = None) -> tuple[Any, Any]:
        url = path or f"/v1/scenarios/{self.aleppo}/plans"
        headers = bearer(self.token)
        return (
            self.inline.post(url, json=body, headers=headers),
            self.pooled.post(url, json=body, headers=headers),
        )


def settings(data_dir: Path, **overrides: Any) -> Settings:
    fields: dict[str, Any] = {
        "data_dir": data_dir,
        "log_json": False,
        "demo_dir": GRAPHS,
        "max_expanded_arcs": MAX_ARCS,
    }
    return Settings(**{**fields, **overrides})


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    data_dir = tmp_path_factory.mktemp("plan-workers")
    with ExitStack() as stack:
        inline = stack.enter_context(TestClient(create_app(settings(data_dir, plan_workers=0))))
        pooled = stack.enter_context(TestClient(create_app(settings(data_dir, plan_workers=1))))
        _, token = add_token(inline, "planner", "petra")
        aleppo = store(inline, bearer(token), load(ALEPPO)).id
        yield Servers(inline, pooled, token, aleppo)


PLANS = {
    "optimal in the 3-hour pause": {"window": PAUSE_3H},
    "fast in the 3-hour pause": {"window": PAUSE_3H, "method": "fast"},
    "optimal between two times, a party avoided": {
        "start": "2016-12-15T10:00:00+02:00",
        "end": "2016-12-15T12:30:00+02:00",
        "avoid_parties": ["ypg"],
    },
    "fast for everyone, no window": {"method": "fast"},
    "concessions ranked, 3-hour pause": {"window": PAUSE_3H, "rank_openings": True},
    "concessions ranked, 48-hour pause": {"window": PAUSE_48H, "rank_openings": True},
}


def test_over_48_hours_concessions_too_large_to_plan_are_left_unpriced_and_the_rest_ranked(
    servers: Servers,
) -> None:
    """Opening a blocked road into the rest of the city makes the 48-hour optimal plan need
    more than MAX_ARCS expanded arcs: that concession is counted in ``not_priced``; the
    ranking of the others is answered (it was a 422 for the whole request)."""
    answer = servers.inline.post(
        f"/v1/scenarios/{servers.aleppo}/plans",
        json={"window": PAUSE_48H, "rank_openings": True},
        headers=bearer(servers.token),
    )
    assert answer.status_code == 200, answer.text
    ranking = answer.json()["concessions"]
    kinds = {r["kind"] for r in ranking["rows"]}
    assert {"capacity", "road"} <= kinds
    assert ranking["not_priced"] > 0
    assert ranking["priced"] + ranking["skipped"] + ranking["not_priced"] == ranking["considered"]


@pytest.mark.parametrize("body", PLANS.values(), ids=PLANS.keys())
def test_a_plan_from_the_worker_is_the_plan_computed_in_the_server(
    servers: Servers, body: dict[str, Any]
) -> None:
    inline, pooled = servers.both(body)
    assert inline.status_code == 200, inline.text
    assert pooled.status_code == 200, pooled.text
    assert pooled.headers["content-type"] == "application/json"
    document = pooled.json()
    assert document == inline.json()
    assert document["evacuated"] > 0
    assert ("concessions" in document) == bool(body.get("rank_openings"))
    # Sent as the worker encoded it: still exactly the documented shape (PlanOut; the
    # concessions only when asked for).
    shaped = PlanOut.model_validate(document)
    assert shaped.model_dump(mode="json", by_alias=True, exclude_unset=True) == document


FLEET_PLANS = {
    "buses and ambulances in the 3-hour pause, with sizing": {
        "window": PAUSE_3H,
        "fleet": ["buses", "ambulances"],
        "sizing": True,
    },
    "three buses, fast": {"window": PAUSE_3H, "fleet": "buses", "vehicles": 3, "method": "fast"},
    "two buses and one ambulance between two times": {
        "start": "2016-12-15T10:00:00+02:00",
        "end": "2016-12-15T12:30:00+02:00",
        "fleet": ["buses", "ambulances"],
        "vehicles": {"buses": 2, "ambulances": 1},
    },
}


@pytest.mark.parametrize("body", FLEET_PLANS.values(), ids=FLEET_PLANS.keys())
def test_a_fleet_plan_from_the_worker_is_the_fleet_plan_computed_in_the_server(
    servers: Servers, body: dict[str, Any]
) -> None:
    inline, pooled = servers.both(body)
    assert inline.status_code == 200, inline.text
    assert pooled.status_code == 200, pooled.text
    plan = pooled.json()
    assert plan == inline.json()
    # The fleets and counts asked for (the scenario's counts where none is given).
    fleets = body["fleet"] if isinstance(body["fleet"], list) else [body["fleet"]]
    counts = {"buses": 20, "ambulances": 10}  # graphs/aleppo-2016-12.json
    asked = body.get("vehicles")
    if isinstance(asked, int):
        asked = {fleets[0]: asked}
    assert plan["vehicles"] == {f: (asked or {}).get(f, counts[f]) for f in fleets}
    assert {t["fleet"] for t in plan["trips"]} <= set(fleets)
    # Everyone counted once: the trips' people, the groups' totals and the plan's total.
    assert plan["evacuated"] > 0
    assert plan["evacuated"] == sum(t["count"] for t in plan["trips"])
    for g in plan["by_group"]:
        carried = sum(t["people"].get(g["group"], 0) for t in plan["trips"])
        assert g["evacuated"] == carried
    assert plan["evacuated"] == sum(g["evacuated"] for g in plan["by_group"])
    assert plan["egress_time_min"] == max(t["arrive_min"] for t in plan["trips"])
    assert ("sizing" in plan) == bool(body.get("sizing"))
    if body.get("sizing"):
        assert set(plan["sizing"]["one_more_vehicle"]) == set(fleets)


FLEET_REFUSED = {
    "unknown fleet": ({"window": PAUSE_3H, "fleet": "tanks"}, {"/fleet"}),
    "one count for two fleets": (
        {"window": PAUSE_3H, "fleet": ["buses", "ambulances"], "vehicles": 4},
        {"/vehicles"},
    ),
    "a count for a fleet not asked for": (
        {"window": PAUSE_3H, "fleet": "buses", "vehicles": {"tanks": 2}},
        {"/vehicles"},
    ),
    "sizing without a fleet": ({"window": PAUSE_3H, "sizing": True}, {"/sizing"}),
    "concessions ranked for a fleet": (
        {"window": PAUSE_3H, "fleet": "buses", "rank_openings": True},
        {"/rank_openings"},
    ),
    "negative count": ({"window": PAUSE_3H, "fleet": "buses", "vehicles": -1}, None),
}


@pytest.mark.parametrize(("body", "pointers"), FLEET_REFUSED.values(), ids=FLEET_REFUSED.keys())
def test_a_refused_fleet_plan_is_the_same_problem_document(
    servers: Servers, body: dict[str, Any], pointers: set[str] | None
) -> None:
    inline, pooled = servers.both(body)
    problem = assert_problem(pooled, 422, "invalid-request")
    assert problem == inline.json()
    found = {e["pointer"] for e in problem["errors"]}
    if pointers is None:
        assert all(p.startswith("/vehicles") for p in found), found
    else:
        assert found == pointers


REFUSED = {
    "unknown window": ({"window": "no-such-pause"}, None, 422, "invalid-request", {"/window"}),
    "nobody can arrive in one minute": (
        {"start": "2016-12-15T10:00:00+02:00", "end": "2016-12-15T10:01:00+02:00"},
        None,
        422,
        "nothing-to-evacuate",
        None,
    ),
    "fast over a century is too large": (
        {
            "start": "2016-12-15T10:00:00+02:00",
            "end": "2116-12-15T10:00:00+02:00",
            "method": "fast",
        },
        None,
        422,
        "invalid-request",
        {"/end"},
    ),
    "consenting parties only: every district's holder has yet to consent": (
        {"window": PAUSE_3H, "consenting_only": True},
        None,
        422,
        "nothing-to-evacuate",
        None,
    ),
    "unknown party to avoid": (
        {"window": PAUSE_3H, "avoid_parties": ["nobody"]},
        None,
        422,
        "invalid-request",
        {"/avoid_parties/0"},
    ),
    "version not stored": ({"window": PAUSE_3H}, "?version=99", 404, "not-found", None),
    "scenario not stored": ({"window": PAUSE_3H}, "/nowhere", 404, "not-found", None),
}


@pytest.mark.parametrize(("body", "where", "status", "slug", "pointers"), REFUSED.values(),
                         ids=REFUSED.keys())  # fmt: skip
def test_a_refused_plan_is_the_same_problem_document(
    servers: Servers,
    body: dict[str, Any],
    where: str | None,
    status: int,
    slug: str,
    pointers: set[str] | None,
) -> None:
    path = f"/v1/scenarios/{servers.aleppo}/plans"
    if where == "/nowhere":
        path = "/v1/scenarios/nowhere/plans"
    elif where:
        path += where
    inline, pooled = servers.both(body, path)
    problem = assert_problem(pooled, status, slug)
    assert problem == inline.json()
    assert inline.status_code == status
    if pointers is not None:
        assert {e["pointer"] for e in problem["errors"]} == pointers


# --- the hard limit ------------------------------------------------------------------------


def children() -> set[int]:
    return {p.pid for p in multiprocessing.active_children() if p.pid is not None}


def gone(pid: int) -> bool:
    """Whether a worker process has ended (waits up to 10 s for the kill to take effect)."""
    deadline = time.monotonic() + 10
    while pid in children():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_plan_past_the_hard_limit_is_stopped_and_the_next_one_gets_a_new_worker(
    tmp_path: Path,
) -> None:
    """A plan that never answers (ranking hundreds of concessions can take minutes; the time
    budget cannot stop that, each opening being a plan with a budget of its own) is stopped
    at the hard limit, refused at the fields that make it expensive, and its worker killed."""
    limits = settings(tmp_path, plan_workers=1, plan_time_budget_s=0.2, plan_grace_s=0.1)
    assert limits.plan_hard_limit_s == 0.5
    workers = PlanWorkers(limits)

    async def plans(make: Callable[..., Gate]) -> None:
        first = make(released=True)
        answer = await workers.run(REQUEST, held_plan, *first.args())
        assert orjson.loads(answer.body) == ANSWER
        worker = first.worker_pid()

        never = make()  # never released: only the hard limit ends it
        with pytest.raises(InvalidRequestError) as refused:
            await workers.run(REQUEST, held_plan, *never.args())
        assert never.worker_pid() == worker
        problem = refused.value
        assert "did not finish within 0.5 s" in problem.detail
        assert {e.pointer for e in problem.problems} == {"/method", "/rank_openings"}
        assert gone(worker), "the stopped worker is still running"

        again = make(released=True)
        assert orjson.loads((await workers.run(REQUEST, held_plan, *again.args())).body) == ANSWER
        assert again.worker_pid() != worker

    try:
        with gates() as make:
            run_coroutine(plans(make))
    finally:
        workers.shutdown()


class HeldPlanWorkers(PlanWorkers):
    """Plan workers whose every plan is a held job that is never released."""

    def __init__(self, settings: Settings, gate: Gate) -> None:
        super().__init__(settings)
        self.gate = gate

    async def plan(
        self, catalog: Any, scenario_id: str, version: int | None, request: PlanRequest
    ) -> PlanAnswer:
        return await self.run(request, held_plan, *self.gate.args())


HELD = {
    "concessions ranked": (
        {"window": PAUSE_3H, "rank_openings": True},
        {"/method", "/rank_openings"},
    ),
    "a fleet sized": (
        {"window": PAUSE_3H, "fleet": ["buses", "ambulances"], "sizing": True},
        {"/method", "/sizing"},
    ),
    "a fleet sized, fast": (
        {"window": PAUSE_3H, "fleet": "buses", "sizing": True, "method": "fast"},
        {"/window", "/sizing"},
    ),
}


@pytest.mark.parametrize(("body", "pointers"), HELD.values(), ids=HELD.keys())
def test_a_plan_stopped_at_the_hard_limit_is_a_422_that_writes_nothing(
    tmp_path: Path, body: dict[str, Any], pointers: set[str]
) -> None:
    limits = settings(tmp_path, plan_workers=1, plan_time_budget_s=0.2, plan_grace_s=0.1)
    with gates() as make, TestClient(create_app(limits)) as client:
        _, token = add_token(client, "planner", "petra")
        aleppo = store(client, bearer(token), load(ALEPPO)).id
        held = HeldPlanWorkers(limits, make())
        app_of(client).state.plan_workers = held
        snapshot = store_snapshot(engine_of(client))
        try:
            refused = client.post(f"/v1/scenarios/{aleppo}/plans", json=body, headers=bearer(token))
        finally:
            held.shutdown()
        problem = assert_problem(refused, 422, "invalid-request")
        assert "did not finish within 0.5 s" in problem["detail"], problem
        assert {e["pointer"] for e in problem["errors"]} == pointers
        assert store_snapshot(engine_of(client)) == snapshot  # not even an audit line


# --- lifespan --------------------------------------------------------------------------------


def test_workers_start_with_the_first_plan_and_stop_with_the_application(
    tmp_path: Path,
) -> None:
    before = children()
    with TestClient(create_app(settings(tmp_path, plan_workers=1))) as client:
        _, token = add_token(client, "planner", "petra")
        aleppo = store(client, bearer(token), load(ALEPPO)).id
        route = client.post(
            f"/v1/scenarios/{aleppo}/routes",
            json={"from": "as-sukkari", "to": "khan-al-asal"},
            headers=bearer(token),
        )
        assert route.status_code == 200, route.text
        assert children() == before, "a worker started before any plan"
        plan = client.post(
            f"/v1/scenarios/{aleppo}/plans", json={"window": PAUSE_3H}, headers=bearer(token)
        )
        assert plan.status_code == 200, plan.text
        assert len(children() - before) == 1
    assert children() == before, "a worker outlived the application"


def test_the_unavailable_problem_type_is_documented(servers: Servers) -> None:
    page = servers.inline.get("/problems/unavailable")
    assert page.status_code == 200
    assert "Retry-After" in page.json()["description"]
    operation = servers.inline.get("/openapi.json").json()["paths"][
        "/v1/scenarios/{scenario_id}/plans"
    ]["post"]
    assert PROBLEM_JSON in operation["responses"]["503"]["content"]
