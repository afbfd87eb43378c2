"""Jobs: long computations answered ``202 Accepted`` and read back (docs/jobs.md).

``POST /v1/scenarios/{id}/plans`` with ``Prefer: respond-async`` (RFC 7240), or estimated
to take longer than ``SAFE_PASSAGE_JOB_INLINE_S`` (``Prefer: wait=N``: N seconds for this
request), or with the ``Idempotency-Key`` of an earlier job, answers ``202`` with the
job (:func:`as_job`); ``GET /v1/jobs/{id}`` reads it, ``DELETE`` cancels it,
``GET /v1/jobs/{id}/events`` streams its progress as Server-Sent Events. ``GET`` of a job
or its result with ``Prefer: wait=N`` answers when the job ends, or after N seconds (at
most :data:`MAX_WAIT_S`) with the job as it is then: one request instead of polling.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from fastapi.sse import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from app.api.deps import CatalogDep, PlannerDep, ViewerDep
from app.api.problems import PROBLEM_JSON, TITLES, problem_body
from app.api.schemas import FleetPlanOut, Job, PlanOut
from app.domain.errors import InvalidRequestError, Problem, problem_type
from app.services.access import Principal
from app.services.catalog import Catalog
from app.services.job_news import QUIET_S, JobNews
from app.services.jobs import Jobs, Submitted, estimated_seconds, job_document
from app.services.plans import PlanRequest, check_plan_request
from app.storage.jobs import FINAL, JobInfo

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

T = TypeVar("T")

MAX_KEY_LENGTH = 200
MAX_WAIT_S = 20
"""The longest ``Prefer: wait=N`` a read of a job waits for its end (longer: this long)."""


def get_jobs(request: Request) -> Jobs:
    jobs: Jobs = request.app.state.jobs
    return jobs


JobsDep = Annotated[Jobs, Depends(get_jobs)]


def existing_job(job_id: str, jobs: JobsDep) -> JobInfo:
    """The job named in the path: 404 before any answer starts (the event stream's too)."""
    return jobs.get(job_id)


NO_JOB: dict[int | str, dict[str, Any]] = {404: {"description": "No such job."}}


def internal_problem(detail: str) -> dict[str, Any]:
    """The problem document of a job that failed through no fault of its request."""
    return {
        "type": problem_type("internal-error"),
        "title": TITLES[500],
        "status": 500,
        "detail": detail,
    }


PROBLEMS = (problem_body, internal_problem)
"""How a job worker writes a failure: the same documents as an inline answer."""


# --- the seam in POST /plans -------------------------------------------------------------

_PREFERENCE = re.compile(r"\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*(?:=\s*(\"[^\"]*\"|[^;,\s]*))?")


def preferences(header: str | None) -> dict[str, str]:
    """The preferences of a ``Prefer`` header (RFC 7240 §2): name (lower case) → value
    (``""`` without one); parameters after ``;`` are ignored, the first of a name wins.

    >>> preferences('respond-async, wait=10;x=1, Wait=3')
    {'respond-async': '', 'wait': '10'}
    """
    found: dict[str, str] = {}
    for item in (header or "").split(","):
        match = _PREFERENCE.match(item.split(";", 1)[0])
        if match and match.group(1):
            found.setdefault(match.group(1).lower(), (match.group(2) or "").strip('"'))
    return found


async def as_job(
    request: Request,
    scenario_id: str,
    version: int | None,
    body: PlanRequest,
    catalog: Catalog,
    principal: Principal,
) -> Response | None:
    """``202 Accepted`` with the job for a plan request that goes async, else ``None``
    (answered inline as before)."""
    jobs: Jobs = request.app.state.jobs
    prefer = preferences(request.headers.get("prefer"))
    key = request.headers.get("idempotency-key")
    if key is not None and not 0 < len(key) <= MAX_KEY_LENGTH:
        raise InvalidRequestError(
            [Problem("", f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters")],
            detail=f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters",
        )
    asked = "respond-async" in prefer
    limit = request.app.state.settings.job_inline_s
    wait = prefer.get("wait", "")
    if wait.isdigit():
        limit = float(wait)

    def submit() -> Submitted | None:  # one trip to the thread pool: the store is read here
        info = catalog.version_info(scenario_id, version)
        if not asked:
            earlier = None if key is None else jobs.store.by_key(principal.token_id, key)
            if earlier is None and estimated_seconds(info, body) <= limit:
                return None
        # Refused at once, not queued to fail: the checks a plan makes before planning.
        check_plan_request(catalog.compiled(scenario_id, info.version), body)
        return jobs.submit(principal, scenario_id, info.version, body, key)

    submitted = await run_in_threadpool(submit)
    if submitted is None:
        return None
    headers = {"Location": f"/v1/jobs/{submitted.job.id}"}
    if asked:
        headers["Preference-Applied"] = "respond-async"
    return Response(
        orjson.dumps(job_document(submitted.job)),
        status_code=202,
        media_type="application/json",
        headers=headers,
    )


# --- /v1/jobs ----------------------------------------------------------------------------


def _job_body(jobs: Jobs, job: JobInfo) -> bytes:
    """The JOB document, with the answer of a done job spliced in as stored."""
    head = orjson.dumps(job_document(job))
    answer = jobs.answer(job)
    if answer is None:
        return head
    return head[:-1] + b',"result":' + answer + b"}"


def get_news(request: Request) -> JobNews:
    news: JobNews = request.app.state.job_news
    return news


NewsDep = Annotated[JobNews, Depends(get_news)]


def waiting(request: Request) -> int | None:
    """The seconds of a ``Prefer: wait=N`` (at most :data:`MAX_WAIT_S`), else None."""
    wait = preferences(request.headers.get("prefer")).get("wait", "")
    return min(int(wait), MAX_WAIT_S) if wait.isdigit() else None


async def until_ended(jobs: Jobs, news: JobNews, job_id: str, seconds: float) -> JobInfo:
    """The job once it has ended, or as it is after ``seconds``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    with news.watch(job_id) as watch:  # before reading: news after the read is not lost
        while True:
            job = await run_in_threadpool(jobs.get, job_id)
            left = deadline - loop.time()
            if job.state in FINAL or left <= 0:
                return job
            await watch.next(min(left, QUIET_S))


async def read_job(
    jobs: Jobs, news: JobNews, job_id: str, seconds: int | None, render: Callable[[JobInfo], T]
) -> T:
    """``render`` of the job, waited for ``seconds`` when the request said ``Prefer: wait``
    (without: read and rendered in one trip to the thread pool)."""
    if seconds is None:
        return await run_in_threadpool(lambda: render(jobs.get(job_id)))
    job = await until_ended(jobs, news, job_id, seconds)
    return await run_in_threadpool(render, job)


def applied(seconds: int | None) -> dict[str, str]:
    """The ``Preference-Applied`` header of a read that waited ``seconds``."""
    return {} if seconds is None else {"Preference-Applied": f"wait={seconds}"}


WAIT_PARAMETER = {
    "name": "Prefer",
    "in": "header",
    "required": False,
    "description": "RFC 7240 `wait=N`: answer when the job has ended, or after N seconds "
    f"(at most {MAX_WAIT_S}) with the job as it is then: one request instead of polling.",
    "schema": {"type": "string"},
}
WAIT_APPLIED = {
    "description": "`wait=N` when the request said `Prefer: wait=N` (N at most "
    f"{MAX_WAIT_S}): the job was waited for that long at most.",
    "required": False,
    "schema": {"type": "string", "pattern": "^wait=[0-9]+$"},
}


@router.get(
    "/{job_id}",
    response_model=None,
    operation_id="get_job",
    summary="A job: its state, progress, and its answer or problem",
    description="`state`: queued, running, done, failed or cancelled; `progress`: the phase "
    "and how far it is (`fraction`, 0 to 1); `result`: the answer when done (a PLAN); "
    "`problem`: the problem document when failed (as the inline answer would have been). "
    "With `Prefer: wait=N`, answers when the job ends, or after N seconds.",
    responses={
        200: {
            "model": Job,
            "description": "The job, with `result` when done.",
            "headers": {"Preference-Applied": WAIT_APPLIED},
        },
        **NO_JOB,
    },
    openapi_extra={"parameters": [WAIT_PARAMETER]},
)
async def get_job(
    job_id: str, request: Request, jobs: JobsDep, news: NewsDep, principal: ViewerDep
) -> Response:
    seconds = waiting(request)
    body = await read_job(jobs, news, job_id, seconds, lambda job: _job_body(jobs, job))
    return Response(body, media_type="application/json", headers=applied(seconds))


@router.get(
    "/{job_id}/result",
    response_model=None,
    operation_id="get_job_result",
    summary="The answer of a done job alone (the PLAN), or its problem",
    description="A done job: its answer, as the inline `POST …/plans` would have answered. "
    "A failed job: its problem document, with the status the inline answer would have had "
    "(422 for a bad request, 500 when the service failed). Not finished, or cancelled: 409. "
    "With `Prefer: wait=N`, answers when the job ends, or after N seconds.",
    responses={
        200: {
            "model": PlanOut | FleetPlanOut,
            "description": "The answer: PlanOut, or FleetPlanOut for a request with `fleet`.",
            "headers": {"Preference-Applied": WAIT_APPLIED},
        },
        **NO_JOB,
        409: {"description": "The job has not finished, or was cancelled (`state` says which)."},
        422: {"description": "The job failed on its request (its problem, as inline)."},
        500: {"description": "The job failed through no fault of its request."},
    },
    openapi_extra={"parameters": [WAIT_PARAMETER]},
)
async def get_result(
    job_id: str, request: Request, jobs: JobsDep, news: NewsDep, principal: ViewerDep
) -> Response:
    seconds = waiting(request)
    job, answer = await read_job(jobs, news, job_id, seconds, lambda job: (job, jobs.answer(job)))
    headers = applied(seconds)
    if answer is not None:
        return Response(answer, media_type="application/json", headers=headers)
    problem = job_document(job)["problem"]
    if job.state == "failed" and problem is not None:
        status = int(str(problem.get("status", 500)))
        return Response(orjson.dumps(problem), status_code=status, media_type=PROBLEM_JSON)
    return Response(
        orjson.dumps(
            {
                "type": problem_type("conflict"),
                "title": TITLES[409],
                "status": 409,
                "detail": f"job {job_id} is {job.state}: it has no answer"
                + (" yet" if job.state not in FINAL else ""),
                "state": job.state,
            }
        ),
        status_code=409,
        media_type=PROBLEM_JSON,
    )


@router.delete(
    "/{job_id}",
    response_model=None,
    operation_id="cancel_job",
    summary="Cancel a job",
    description="A queued job never starts; a running one stops at its next progress report "
    "(within a second or so, longer inside one optimal max-flow solve). A job that has ended "
    "is left as it is. Answers the job (without `result`).",
    responses={200: {"model": Job, "description": "The job after the cancel."}, **NO_JOB},
)
def cancel_job(job_id: str, jobs: JobsDep, principal: PlannerDep) -> Response:
    job = jobs.cancel(job_id)
    return Response(orjson.dumps(job_document(job)), media_type="application/json")


@router.get(
    "/{job_id}/events",
    response_class=EventSourceResponse,
    operation_id="get_job_events",
    summary="The job's progress as Server-Sent Events",
    description="An `event: progress` with the job (as `GET /v1/jobs/{id}`, without the "
    "result) whenever it changes, then one `event: done`, `failed` or `cancelled`, and the "
    "stream ends. Read the answer with `GET /v1/jobs/{id}` or `/result`.",
    responses={
        200: {
            "description": "The event stream (it ends with the job).",
            "content": {"text/event-stream": {"schema": {"$ref": "#/components/schemas/JobEvent"}}},
        },
        **NO_JOB,
    },
)
async def job_events(
    job_id: str,
    jobs: JobsDep,
    news: NewsDep,
    principal: ViewerDep,
    job: Annotated[JobInfo, Depends(existing_job)],
) -> AsyncIterator[ServerSentEvent]:
    seen: tuple[Any, ...] | None = None
    with news.watch(job_id) as watch:
        job = await run_in_threadpool(jobs.get, job_id)  # again: news since is not lost
        while True:
            now = (job.state, job.phase, job.done, job.total, job.parts_done, job.attempts)
            if now != seen:
                seen = now
                event = job.state if job.state in FINAL else "progress"
                yield ServerSentEvent(data=job_document(job), event=event)
            if job.state in FINAL:
                return
            await watch.next(QUIET_S)
            job = await run_in_threadpool(jobs.get, job_id)


__all__ = ["CatalogDep", "router"]
