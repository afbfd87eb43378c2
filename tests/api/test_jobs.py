"""Plans as jobs over HTTP with the embedded default (no broker: local worker processes).

``Prefer: respond-async`` answers 202 with the job; the job's answer equals the inline
answer of the same request; a ranking of concessions priced part by part equals the one
priced in one process; progress, cancel, the event stream, idempotency and failures; a part
whose worker is killed: priced once within ``job_attempts``, past them its job fails.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.api.routers import jobs as jobs_router
from app.api.routers.jobs import MAX_WAIT_S, PROBLEMS, preferences
from app.config import Settings
from app.services import jobs as jobs_service
from app.services.job_news import JobNews
from app.services.jobs import WorkerContext, run_job, run_part
from app.services.jobs_local import worker_context
from tests.api import PROBLEM_JSON, Stored, Tokens

ASYNC = {"Prefer": "respond-async"}
PLAN = {"window": "pause-1"}


def wait_for(
    client: TestClient, token: dict[str, str], location: str, timeout: float = 120
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(location, headers=_auth(token)).json()
        if job["state"] in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"{location} did not end within {timeout} s")


def _auth(headers: dict[str, str]) -> dict[str, str]:
    return headers


def submit(
    client: TestClient,
    token: dict[str, str],
    scenario_id: str,
    body: dict[str, Any],
    **headers: str,
) -> Any:
    return client.post(
        f"/v1/scenarios/{scenario_id}/plans",
        json=body,
        headers={**_auth(token), **ASYNC, **headers},
    )


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    """Jobs in a thread of the API process (a worker process costs seconds to start)."""
    return make_client(plan_workers=0)


@pytest.fixture(params=[0, 1], ids=["in-process", "worker-process"])
def both(request: pytest.FixtureRequest, make_client: Callable[..., TestClient]) -> TestClient:
    """Jobs in a thread of the API process, and in a local worker process."""
    return make_client(plan_workers=request.param)


def test_prefer_respond_async_answers_202_and_the_job_answers_as_inline(
    both: TestClient, tokens: Tokens, teaching: Stored
) -> None:
    client = both
    planner = tokens("planner")
    body = {**PLAN, "rank_openings": True}
    inline = client.post(f"/v1/scenarios/{teaching.id}/plans", json=body, headers=_auth(planner))
    assert inline.status_code == 200
    accepted = submit(client, planner, teaching.id, body)
    assert accepted.status_code == 202, accepted.text
    location = accepted.headers["location"]
    assert location == f"/v1/jobs/{accepted.json()['id']}"
    assert accepted.headers["preference-applied"] == "respond-async"
    assert accepted.json()["state"] in ("queued", "running", "done")
    assert accepted.json()["scenario"] == {"id": teaching.id, "version": 1}
    job = wait_for(client, tokens("viewer"), location)
    assert job["state"] == "done", job
    assert job["progress"]["fraction"] == 1.0
    assert job["attempts"] == 1
    # the same plan, and the same ranking, as the inline answer (priced part by part)
    assert job["result"] == inline.json()
    assert job["result"]["concessions"]["rows"], "the teaching scenario prices a blocked road"
    raw = client.get(location + "/result", headers=_auth(planner))
    assert raw.status_code == 200 and raw.json() == inline.json()


def test_without_prefer_a_short_plan_is_answered_inline(
    client: TestClient, tokens: Tokens, teaching: Stored
) -> None:
    response = client.post(
        f"/v1/scenarios/{teaching.id}/plans", json=PLAN, headers=_auth(tokens("planner"))
    )
    assert response.status_code == 200
    assert "evacuated" in response.json()


def test_a_plan_estimated_over_the_inline_limit_is_a_job(
    make_client: Callable[..., TestClient], tokens: Tokens, teaching: Stored
) -> None:
    client = make_client(plan_workers=0, job_inline_s=0)
    planner = tokens("planner")
    response = client.post(f"/v1/scenarios/{teaching.id}/plans", json=PLAN, headers=_auth(planner))
    assert response.status_code == 202
    assert "preference-applied" not in response.headers  # not asked for
    # Prefer: wait=N lets this request wait N seconds: answered inline
    waited = client.post(
        f"/v1/scenarios/{teaching.id}/plans",
        json=PLAN,
        headers={**_auth(planner), "Prefer": "wait=60"},
    )
    assert waited.status_code == 200 and waited.json()["evacuated"] >= 0
    job = wait_for(client, planner, response.headers["location"])
    assert job["result"] == waited.json()


def test_a_bad_request_is_refused_at_once_and_makes_no_job(
    client: TestClient, tokens: Tokens, teaching: Stored
) -> None:
    planner = tokens("planner")
    body = {"window": "no-such-window"}
    inline = client.post(f"/v1/scenarios/{teaching.id}/plans", json=body, headers=_auth(planner))
    assert inline.status_code == 422
    asked = client.post(
        f"/v1/scenarios/{teaching.id}/plans",
        json=body,
        headers={**_auth(planner), "Prefer": "respond-async"},
    )
    assert asked.status_code == 422 and "location" not in asked.headers
    assert asked.json() == inline.json()


def test_a_plan_that_fails_fails_its_job_with_the_inline_problem(
    client: TestClient, tokens: Tokens, teaching: Stored
) -> None:
    planner = tokens("planner")
    body = {"window": "pause-1", "max_risk": 0.0001}  # nobody can leave within that risk
    inline = client.post(f"/v1/scenarios/{teaching.id}/plans", json=body, headers=_auth(planner))
    assert inline.status_code == 422
    assert inline.json()["type"] == "/problems/nothing-to-evacuate"
    accepted = submit(client, planner, teaching.id, body)
    job = wait_for(client, planner, accepted.headers["location"])
    assert job["state"] == "failed"
    assert job["attempts"] == 1  # a question without an answer is not tried again
    location = accepted.headers["location"]
    assert job["problem"] == {**inline.json(), "instance": location}
    result = client.get(accepted.headers["location"] + "/result", headers=_auth(planner))
    assert result.status_code == 422
    assert result.headers["content-type"] == PROBLEM_JSON
    assert result.json() == {**inline.json(), "instance": location}


def test_idempotency_key_returns_the_same_job(
    make_client: Callable[..., TestClient], tokens: Tokens, teaching: Stored
) -> None:
    client = make_client(plan_workers=0)
    planner = tokens("planner")
    first = submit(client, planner, teaching.id, PLAN, **{"Idempotency-Key": "k-1"})
    again = submit(client, planner, teaching.id, PLAN, **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 202
    assert again.headers["location"] == first.headers["location"]
    # without Prefer, the key still finds the job
    plain = client.post(
        f"/v1/scenarios/{teaching.id}/plans",
        json=PLAN,
        headers={**_auth(planner), "Idempotency-Key": "k-1"},
    )
    assert plain.status_code == 202 and plain.headers["location"] == first.headers["location"]
    other = submit(client, planner, teaching.id, {"window": "pause-1", "method": "fast"},
                   **{"Idempotency-Key": "k-1"})  # fmt: skip
    assert other.status_code == 422
    assert "another request" in other.json()["detail"]
    fresh = submit(client, planner, teaching.id, PLAN, **{"Idempotency-Key": "k-2"})
    assert fresh.headers["location"] != first.headers["location"]
    entries = client.get("/v1/audit", headers=_auth(tokens("admin"))).json()["items"]
    jobs = [e for e in entries if e["action"] == "plan.job"]
    assert len(jobs) == 2  # k-1 once, k-2 once


def test_cancel_a_queued_job_and_it_never_runs(
    make_client: Callable[..., TestClient], tokens: Tokens, teaching: Stored
) -> None:
    client = make_client(plan_workers=0)
    planner = tokens("planner")
    jobs = client.app.state.jobs  # type: ignore[attr-defined]
    held: list[str] = []
    enqueue = jobs.dispatch.enqueue
    jobs.dispatch.enqueue = held.append  # the queue holds it: not started yet
    try:
        accepted = submit(client, planner, teaching.id, PLAN)
    finally:
        jobs.dispatch.enqueue = enqueue
    location = accepted.headers["location"]
    assert client.get(location, headers=_auth(planner)).json()["state"] == "queued"
    viewer_cancel = client.delete(location, headers=_auth(tokens("viewer")))
    assert viewer_cancel.status_code == 403
    cancelled = client.delete(location, headers=_auth(planner))
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    enqueue(held[0])  # delivered after all: the worker finds it cancelled
    time.sleep(0.5)
    job = client.get(location, headers=_auth(planner)).json()
    assert job["state"] == "cancelled" and job["attempts"] == 0 and "result" not in job
    assert client.get(location + "/result", headers=_auth(planner)).status_code == 409


def test_events_stream_progress_then_the_end(
    make_client: Callable[..., TestClient], tokens: Tokens, teaching: Stored
) -> None:
    client = make_client(plan_workers=0)
    planner = tokens("planner")
    accepted = submit(client, planner, teaching.id, {**PLAN, "rank_openings": True})
    events: list[tuple[str, dict[str, Any]]] = []
    with client.stream(
        "GET", accepted.headers["location"] + "/events", headers=_auth(planner)
    ) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        name = ""
        for line in stream.iter_lines():
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                events.append((name, json.loads(line[len("data: ") :])))
    assert events[-1][0] == "done" and events[-1][1]["state"] == "done"
    assert all(name == "progress" for name, _ in events[:-1])
    assert "result" not in events[-1][1]


def test_unknown_job_is_404_and_reading_needs_a_token(client: TestClient, tokens: Tokens) -> None:
    missing = client.get("/v1/jobs/job_nope", headers=_auth(tokens("viewer")))
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM_JSON
    assert client.get("/v1/jobs/job_nope").status_code == 401
    # the event stream too: a problem before any stream starts, not a broken stream
    events = client.get("/v1/jobs/job_nope/events", headers=_auth(tokens("viewer")))
    assert events.status_code == 404 and events.headers["content-type"] == PROBLEM_JSON
    assert events.json()["detail"] == "no job 'job_nope'"
    assert client.get("/v1/jobs/job_nope/events").status_code == 401  # the token first


def test_a_job_left_by_a_stopped_api_process_is_resumed(
    make_client: Callable[..., TestClient], tokens: Tokens, teaching: Stored
) -> None:
    first = make_client(plan_workers=0)
    planner = tokens("planner")
    jobs = first.app.state.jobs  # type: ignore[attr-defined]
    jobs.dispatch.enqueue = lambda job_id: None  # the process stops before a worker took it
    location = submit(first, planner, teaching.id, PLAN).headers["location"]
    assert first.get(location, headers=_auth(planner)).json()["state"] == "queued"
    second = make_client(plan_workers=0)  # a new API process on the same database
    job = wait_for(second, planner, location)
    assert job["state"] == "done" and job["result"]["evacuated"] > 0


@contextmanager
def held_jobs(client: TestClient) -> Iterator[list[str]]:
    """Jobs submitted inside the block wait in the queue (not started) until released."""
    jobs = client.app.state.jobs  # type: ignore[attr-defined]
    held: list[str] = []
    enqueue = jobs.dispatch.enqueue
    jobs.dispatch.enqueue = held.append
    try:
        yield held
    finally:
        jobs.dispatch.enqueue = enqueue


def when_waiting(client: TestClient, then: Callable[[], Any]) -> threading.Thread:
    """Call ``then`` in a thread once a request of ``client`` waits on a job."""
    news = client.app.state.job_news  # type: ignore[attr-defined]

    def run() -> None:
        deadline = time.monotonic() + 60
        while news.waiting() == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        then()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_prefer_wait_answers_when_the_job_ends(
    make_client: Callable[..., TestClient],
    tokens: Tokens,
    teaching: Stored,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One request instead of polling: the job's end is news that ends the wait. Without
    news the request would read the job again only at the end of its 20 s (QUIET_S is a
    minute here): an answer in less than half of that came from the news."""
    monkeypatch.setattr(jobs_router, "QUIET_S", 60.0)
    client = make_client(plan_workers=0)
    planner = tokens("planner")
    inline = client.post(f"/v1/scenarios/{teaching.id}/plans", json=PLAN, headers=planner)
    with held_jobs(client) as held:
        location = submit(client, planner, teaching.id, PLAN).headers["location"]
        result = submit(client, planner, teaching.id, PLAN).headers["location"] + "/result"
    enqueue = client.app.state.jobs.dispatch.enqueue  # type: ignore[attr-defined]
    releasing = when_waiting(client, lambda: enqueue(held[0]))
    started = time.monotonic()
    waited = client.get(location, headers={**planner, "Prefer": "wait=20"})
    assert time.monotonic() - started < 10
    releasing.join()
    assert waited.status_code == 200
    assert waited.headers["preference-applied"] == "wait=20"
    assert waited.json()["state"] == "done" and waited.json()["result"] == inline.json()
    # the answer alone, waited for the same way
    releasing = when_waiting(client, lambda: enqueue(held[1]))
    started = time.monotonic()
    answer = client.get(result, headers={**planner, "Prefer": "wait=20"})
    assert time.monotonic() - started < 10
    releasing.join()
    assert answer.status_code == 200 and answer.json() == inline.json()


def test_prefer_wait_answers_the_job_as_it_is_after_n_seconds_at_most_the_cap(
    client: TestClient, tokens: Tokens, teaching: Stored
) -> None:
    planner = tokens("planner")
    with held_jobs(client):
        location = submit(client, planner, teaching.id, PLAN).headers["location"]
    started = time.monotonic()
    waited = client.get(location, headers={**planner, "Prefer": "wait=1"})
    assert time.monotonic() - started >= 1.0  # it did wait: the job never started
    assert waited.json()["state"] == "queued" and waited.headers["preference-applied"] == "wait=1"
    not_yet = client.get(location + "/result", headers={**planner, "Prefer": "wait=1"})
    assert not_yet.status_code == 409 and not_yet.json()["state"] == "queued"
    cancelled = client.delete(location, headers=planner).json()
    assert cancelled["state"] == "cancelled"
    # an ended job is answered at once; N above the cap is applied as the cap
    ended = client.get(location, headers={**planner, "Prefer": f"wait={MAX_WAIT_S * 50}"})
    assert ended.json()["state"] == "cancelled"
    assert ended.headers["preference-applied"] == f"wait={MAX_WAIT_S}"
    # without the preference (or with one that is not a number of seconds): no waiting
    for prefer in ({}, {"Prefer": "wait=soon"}):
        plain = client.get(location, headers={**planner, **prefer})
        assert plain.status_code == 200 and "preference-applied" not in plain.headers


def test_a_replica_waiting_on_a_job_hears_of_a_change_made_by_another(
    make_client: Callable[..., TestClient],
    tokens: Tokens,
    teaching: Stored,
    backend: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PostgreSQL tells every replica of every change of a job (a trigger and LISTEN): a
    wait ends on that news, well before its 20 s (without news it would read the job again
    only then: QUIET_S is a minute here). SQLite has none: a waiting replica reads the job
    again after QUIET_S (made short here)."""
    monkeypatch.setattr(jobs_router, "QUIET_S", 60.0 if backend == "postgres" else 0.05)
    waiting_replica = make_client(plan_workers=0)
    other = make_client(plan_workers=0)
    planner = tokens("planner")
    with held_jobs(waiting_replica):
        location = submit(waiting_replica, planner, teaching.id, PLAN).headers["location"]
    cancelling = when_waiting(waiting_replica, lambda: other.delete(location, headers=planner))
    started = time.monotonic()
    waited = waiting_replica.get(location, headers={**planner, "Prefer": "wait=20"})
    assert time.monotonic() - started < 10
    cancelling.join()
    assert waited.json()["state"] == "cancelled"


def test_news_wakes_only_the_watches_of_its_job_and_watches_end_with_their_block() -> None:
    news = JobNews()

    async def scenario() -> tuple[bool, bool, int, int]:
        with news.watch("job_a") as a, news.watch("job_b") as b:
            assert news.waiting() == 2
            news.tell("job_a")
            heard_a = await a.next(5.0)
            heard_b = await b.next(0.05)
        return heard_a, heard_b, news.waiting(), len(news._watches)

    assert asyncio.run(scenario()) == (True, False, 0, 0)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("respond-async", {"respond-async": ""}),
        ("respond-async, wait=100", {"respond-async": "", "wait": "100"}),
        ('wait="5"; foo=bar, return=minimal', {"wait": "5", "return": "minimal"}),
        ("", {}),
    ],
)
def test_prefer_header(header: str, expected: dict[str, str]) -> None:
    assert preferences(header) == expected


class WorkerKilled(BaseException):
    """The worker dies while it prices a part (SIGKILL, out of memory): nothing after runs."""


@dataclass
class FannedOut:
    """A ranking job whose parts the queue holds: the test delivers them itself."""

    location: str
    job_id: str
    indices: list[int]
    ctx: WorkerContext
    """A worker of its own (its own engine and catalog) on the test's database."""


@pytest.fixture
def fanned_out(
    make_client: Callable[..., TestClient],
    make_settings: Callable[..., Settings],
    tokens: Tokens,
    teaching: Stored,
) -> Iterator[tuple[TestClient, FannedOut]]:
    client = make_client(plan_workers=0)
    held: list[tuple[str, int]] = []
    dispatch = client.app.state.jobs.dispatch  # type: ignore[attr-defined]
    dispatch.enqueue_parts = lambda job_id, indices: held.extend((job_id, i) for i in indices)
    accepted = submit(client, tokens("planner"), teaching.id, {**PLAN, "rank_openings": True})
    deadline = time.monotonic() + 120
    while not held:
        assert time.monotonic() < deadline, "the ranking did not fan out"
        time.sleep(0.05)
    ctx = worker_context(make_settings(plan_workers=0), PROBLEMS)
    try:
        yield client, FannedOut(accepted.headers["location"], held[0][0], [i for _, i in held], ctx)
    finally:
        ctx.store.engine.dispose()


def test_a_part_whose_worker_is_killed_every_time_fails_its_job_after_the_attempts(
    fanned_out: tuple[TestClient, FannedOut],
    tokens: Tokens,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client, job = fanned_out
    planner = tokens("planner")
    limit = job.ctx.settings.job_attempts
    taken_up: list[dict[str, Any]] = []

    def killed(*args: Any) -> None:
        taken_up.append(args[-1])
        raise WorkerKilled

    monkeypatch.setattr(jobs_service, "price_concession", killed)
    index = job.indices[0]
    for _ in range(limit):  # delivered again and again, unacknowledged
        with pytest.raises(WorkerKilled):
            run_part(job.ctx, job.job_id, index)
    assert client.get(job.location, headers=planner).json()["state"] == "running"
    jobs_logger = logging.getLogger("safe_passage.jobs")
    jobs_logger.addHandler(caplog.handler)
    try:
        run_part(job.ctx, job.job_id, index)  # one delivery too many: not priced
    finally:
        jobs_logger.removeHandler(caplog.handler)
    assert len(taken_up) == limit
    spec = taken_up[0]
    failed = client.get(job.location, headers=planner).json()
    assert failed["state"] == "failed"
    assert failed["problem"]["status"] == 500
    assert failed["problem"]["type"].endswith("/internal-error")
    assert failed["problem"]["detail"].startswith(
        f"pricing {spec['kind']} {spec['what']} was started {limit} times and never finished"
    )
    assert "never finished" in caplog.text and f"part {index}" in caplog.text
    # further deliveries, of this part, the others and the job itself, change nothing
    for other in job.indices:
        run_part(job.ctx, job.job_id, other)
    assert run_job(job.ctx, job.job_id) == []
    assert len(taken_up) == limit
    assert client.get(job.location, headers=planner).json() == failed
    result = client.get(job.location + "/result", headers=planner)
    assert result.status_code == 500 and result.json()["detail"] == failed["problem"]["detail"]


def test_a_part_killed_within_its_attempts_is_priced_once_and_ranks_as_inline(
    fanned_out: tuple[TestClient, FannedOut],
    tokens: Tokens,
    teaching: Stored,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, job = fanned_out
    planner = tokens("planner")
    limit = job.ctx.settings.job_attempts
    priced: list[str] = []
    price = jobs_service.price_concession

    def killed_until_its_last_attempt(*args: Any) -> Any:
        priced.append(args[-1]["what"])
        if len(priced) < limit:
            raise WorkerKilled
        return price(*args)

    index, *others = job.indices
    monkeypatch.setattr(jobs_service, "price_concession", killed_until_its_last_attempt)
    for _ in range(limit - 1):
        with pytest.raises(WorkerKilled):
            run_part(job.ctx, job.job_id, index)
    run_part(job.ctx, job.job_id, index)  # its last attempt: priced
    run_part(job.ctx, job.job_id, index)  # delivered once more: counted once, not priced
    monkeypatch.setattr(jobs_service, "price_concession", price)
    for other in others:
        run_part(job.ctx, job.job_id, other)
    assert len(priced) == limit and len(set(priced)) == 1
    done = client.get(job.location, headers=planner).json()
    assert done["state"] == "done", done
    assert done["attempts"] == 1
    parts = len(job.indices)
    assert done["progress"]["parts"] == {"done": parts, "total": parts}
    inline = client.post(
        f"/v1/scenarios/{teaching.id}/plans", json={**PLAN, "rank_openings": True}, headers=planner
    )
    assert inline.status_code == 200
    assert done["result"] == inline.json()
