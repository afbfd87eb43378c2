"""Long computations as jobs (docs/jobs.md): submitted, run by workers, read back.

A job is a plan request (``POST /v1/scenarios/{id}/plans`` body: plans, concession
rankings, fleet plans with sizing) on one scenario version, stored in the service's
database with its state, progress and answer. A queue backend (:class:`Dispatch`) carries
job ids to worker processes: Dramatiq on RabbitMQ for several machines
(:mod:`app.services.jobs_dramatiq`), or worker processes of the API process itself
(:mod:`app.services.jobs_local`, the embedded default). Everything else is here and the
same for both:

- :func:`run_job` claims a job (one more attempt), computes it with progress written to
  the database (a cancelled job stops at its next progress report), and stores the
  answer or the problem. A ranking of concessions stops after the base plan and the
  choice of concessions: it returns one part per concession to re-plan, which the
  backend runs as tasks of their own (:func:`run_part`); the part that completes the
  set gathers the ranking and finishes the job.
- A worker may run a job more than once (killed mid-job, the broker delivers it again):
  every write that ends a job or a part is conditional, so the answer is stored once.
  At most ``job_attempts`` attempts: then, or when an attempt fails on an error that is
  not a bad request, the job fails with a problem document: never a retry loop. A part
  counts its attempts too (a worker killed while pricing it): one taken up more than
  ``job_attempts`` times fails its job; a part that raises fails it at once.
- A request error (unknown window, plan too large, nothing to evacuate) fails the job at
  once with the same problem document the inline answer would have been.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import orjson

from app.config import Settings
from app.domain.errors import InvalidRequestError, NotFoundError, Problem, ScenarioError
from app.domain.network.graph import Network
from app.domain.plans.concessions import (
    BaseFigures,
    Concession,
    gather_concessions,
    price_concession,
    select_concessions,
)
from app.domain.plans.evacuation import Plan, PlanOptions
from app.domain.progress import fraction
from app.services.access import Principal
from app.services.catalog import Catalog
from app.services.errors import UnavailableError
from app.services.plans import PlanRequest, compute_plan, foot_plan_options
from app.storage.jobs import IdempotencyClash, JobInfo, JobStore
from app.storage.repository import VersionInfo

log = logging.getLogger("safe_passage.jobs")

PROGRESS_EVERY_S = 0.5
"""Least seconds between two progress writes of one job (and cancellation checks)."""

RETRY_AFTER_S = 5
"""Retry-After when the queue could not take a job."""

SECONDS_PER_ROAD = {"optimal": 1.2e-3, "fast": 8e-5}
"""Estimated seconds a plan takes per road of the scenario, by method: a labelled estimate
from benchmarks/README-plans.md (10,000-place grid, 19,800 roads: optimal 22-27 s, fast
1.2-1.6 s). Only used to decide whether a request is answered inline or as a job."""
REPLANS_ESTIMATED = 12
"""Re-plans a concession ranking is estimated to take (at most 40, see
app.domain.plans.concessions.MAX_REPLANS; a dozen is typical of the bundled scenarios)."""
SIZING_REPLANS_ESTIMATED = 8
"""Re-plans fleet sizing takes (one more vehicle, lane and hour; shortest window and
smallest fleet by bisection)."""


class JobCancelled(Exception):
    """The job was cancelled while it ran: stop computing it."""


class JobNotFoundError(NotFoundError):
    title = "Job not found"
    slug = "not-found"


class Dispatch(Protocol):
    """What a queue backend does: carry job ids to workers."""

    name: str

    def enqueue(self, job_id: str) -> None:
        """Have a worker run :func:`run_job` for ``job_id``; returns once the queue holds it."""

    def enqueue_parts(self, job_id: str, indices: list[int]) -> None:
        """Have workers run :func:`run_part` for each part, in any order and any process."""

    def close(self) -> None: ...


@dataclass
class WorkerContext:
    """What a process that runs jobs holds: the store, the catalog and its settings."""

    catalog: Catalog
    store: JobStore
    settings: Settings
    problem_of: Callable[[ScenarioError], dict[str, Any]]
    """The problem document of an error (the HTTP layer's rendering, passed in)."""
    internal_problem: Callable[[str], dict[str, Any]]
    """The problem document of a failure that is not the request's fault."""


# --- the API side ----------------------------------------------------------------------


def estimated_seconds(info: VersionInfo, request: PlanRequest) -> float:
    """A rough estimate of how long ``request`` takes on this version (see the constants)."""
    method = "fast" if request.fleet is not None else request.method
    one = SECONDS_PER_ROAD[method] * info.edge_count
    replans = 0
    if request.rank_openings:
        replans = REPLANS_ESTIMATED
    if request.fleet is not None and request.sizing:
        replans = SIZING_REPLANS_ESTIMATED
    return one * (1 + replans)


@dataclass(frozen=True)
class Submitted:
    job: JobInfo
    created: bool
    """False when an earlier submission with the same Idempotency-Key is answered."""


class Jobs:
    """Submitting, reading and cancelling jobs (the API's use cases)."""

    def __init__(self, store: JobStore, catalog: Catalog, dispatch: Dispatch) -> None:
        self.store = store
        self.catalog = catalog
        self.dispatch = dispatch

    def submit(
        self,
        principal: Principal,
        scenario_id: str,
        version: int,
        request: PlanRequest,
        idempotency_key: str | None = None,
    ) -> Submitted:
        """A new job for ``request`` on that version, queued; or, with an idempotency key
        this token used before for the same request, that job."""
        body = request.model_dump_json(by_alias=True, exclude_unset=True)
        digest = hashlib.sha256(f"{scenario_id}\n{version}\n{body}".encode()).hexdigest()
        earlier = self.store.by_key(principal.token_id, idempotency_key)
        if earlier is None:
            try:
                job = self.store.create(
                    id="job_" + secrets.token_hex(12),
                    kind="plan",
                    scenario_id=scenario_id,
                    version=version,
                    request=body,
                    request_sha256=digest,
                    token_id=principal.token_id,
                    created_by=principal.name,
                    idempotency_key=idempotency_key,
                    backend=self.dispatch.name,
                )
            except IdempotencyClash as clash:
                earlier = clash.existing
            else:
                try:
                    self.dispatch.enqueue(job.id)
                except Exception as exc:  # the broker is down or refused it: no job
                    log.error("job %s: the queue did not take it: %r", job.id, exc)
                    self.store.delete(job.id)
                    raise UnavailableError(
                        "the job queue could not take the job (broker unreachable): ask again",
                        RETRY_AFTER_S,
                    ) from None
                self.catalog.record(principal, "plan.job", scenario_id, version, {"job": job.id})
                return Submitted(job, True)
        if earlier.request_sha256 != digest:
            raise InvalidRequestError(
                [Problem("", "this Idempotency-Key was used for another request")],
                detail=f"Idempotency-Key {idempotency_key!r} was used for another request "
                f"(job {earlier.id}): use a new key for a new request",
            )
        return Submitted(earlier, False)

    def get(self, job_id: str) -> JobInfo:
        job = self.store.get(job_id)
        if job is None:
            raise JobNotFoundError(f"no job {job_id!r}")
        return job

    def cancel(self, job_id: str) -> JobInfo:
        """Cancel a queued or running job (a running one stops at its next progress
        report); a job that has ended is left as it is."""
        self.get(job_id)
        self.store.cancel(job_id)
        return self.get(job_id)

    def answer(self, job: JobInfo) -> bytes | None:
        """The answer (JSON text) of a done job."""
        return self.store.result(job.id) if job.state == "done" else None


def job_document(job: JobInfo) -> dict[str, Any]:
    """The JOB document (docs/jobs.md), without its ``result``."""
    progress: dict[str, Any] = {
        "phase": job.phase,
        "done": job.done,
        "total": job.total,
        "fraction": None if job.done is None else fraction(job.done, job.total),
    }
    if job.parts_total is not None:
        progress["parts"] = {"done": job.parts_done, "total": job.parts_total}
        if job.state == "running":
            progress.update(
                phase="pricing concessions",
                done=job.parts_done,
                total=job.parts_total,
                fraction=fraction(job.parts_done, job.parts_total),
            )
    if job.state == "done":
        progress.update(phase="done", done=1.0, total=1.0, fraction=1.0)
    link = f"/v1/jobs/{job.id}"
    return {
        "id": job.id,
        "kind": job.kind,
        "state": job.state,
        "scenario": {"id": job.scenario_id, "version": job.version},
        "request": orjson.loads(job.request),
        "progress": progress,
        "attempts": job.attempts,
        "created_by": job.created_by,
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "summary": job.summary,
        "problem": None if job.problem is None else {**job.problem, "instance": link},
        "links": {"self": link, "events": f"{link}/events", "result": f"{link}/result"},
    }


def _iso(stamp: datetime | None) -> str | None:
    return None if stamp is None else stamp.isoformat()


# --- the worker side -------------------------------------------------------------------


class _Reporter:
    """The :data:`~app.domain.progress.Progress` of a job: written at most every
    :data:`PROGRESS_EVERY_S`; raises :class:`JobCancelled` once the job is cancelled."""

    def __init__(self, store: JobStore, job_id: str) -> None:
        self.store = store
        self.job_id = job_id
        self.last = time.monotonic()  # a job done within the interval writes no progress

    def __call__(self, phase: str, done: float, total: float | None) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_EVERY_S:
            return
        self.last = now
        if self.store.progress(self.job_id, phase, done, total) != "running":
            raise JobCancelled(self.job_id)


@dataclass
class _FanOut:
    """What a ranking job keeps between its base plan and its parts."""

    selection: dict[str, Any] | None = None


def run_job(ctx: WorkerContext, job_id: str) -> list[int]:
    """Run a job (see the module docstring); returns the parts to run as tasks of their own
    (empty once the job has ended). Raises only to be tried again (a failure that is not
    the request's, with attempts left)."""
    job = ctx.store.claim(job_id)
    if job is None:
        return []  # cancelled, ended, or deleted: nothing to do
    log.info("job %s: attempt %d in process %d", job_id, job.attempts, os.getpid())
    if job.parts_total is not None:  # fanned out before this attempt: the parts go on
        return ctx.store.pending_parts(job_id)
    limit = ctx.settings.job_attempts
    if job.attempts > limit:
        log.error("job %s: started %d times, never finished", job_id, limit)
        ctx.store.fail(job_id, ctx.internal_problem(_never_finished("the job", limit)))
        return []
    reporter = _Reporter(ctx.store, job_id)
    fan_out = _FanOut()
    try:
        request = PlanRequest.model_validate_json(job.request)
        _, network = ctx.catalog.network(job.scenario_id, job.version)
        document = compute_plan(
            network,
            request,
            max_expanded_arcs=ctx.settings.max_expanded_arcs,
            time_budget_s=ctx.settings.job_time_budget_s,
            progress=reporter,
            ranking=_selecting(fan_out, reporter),
        )
    except JobCancelled:
        return []
    except ScenarioError as exc:
        ctx.store.fail(job_id, ctx.problem_of(exc))
        return []
    except Exception:
        if job.attempts >= limit:
            log.exception("job %s failed on attempt %d: not tried again", job_id, job.attempts)
            ctx.store.fail(
                job_id,
                ctx.internal_problem(
                    f"the job failed {job.attempts} times (logged by the worker); "
                    "it is not tried again"
                ),
            )
            return []
        log.exception("job %s failed on attempt %d: tried again", job_id, job.attempts)
        raise
    if fan_out.selection is not None and fan_out.selection["to_price"]:
        shared = {"base": fan_out.selection["base"], "method": fan_out.selection["method"]}
        specs = [{**spec, **shared} for spec in fan_out.selection.pop("to_price")]
        document["concessions"] = fan_out.selection
        if not ctx.store.fan_out(job_id, orjson.dumps(document), specs):
            return []
        return list(range(len(specs)))
    if fan_out.selection is not None:  # nothing to price: the ranking is already known
        document["concessions"] = _gather(fan_out.selection, [])
    _finish(ctx, job_id, document)
    return []


def _never_finished(what: str, limit: int) -> str:
    """The problem's detail when ``what`` was started ``limit`` times and never finished."""
    return (
        f"{what} was started {limit} times and never finished (its worker stopped each "
        "time: out of memory?); it is not tried again"
    )


def _finish(ctx: WorkerContext, job_id: str, document: dict[str, Any]) -> None:
    if ctx.store.finish(job_id, orjson.dumps(document), _summary(document)):
        log.info("job %s: done in process %d", job_id, os.getpid())


def _selecting(
    fan_out: _FanOut, reporter: _Reporter
) -> Callable[[Network, PlanOptions, Plan], dict[str, Any]]:
    """The ranking of a job: choose the concessions and keep them to price as parts."""

    def select(network: Network, options: PlanOptions, plan: Plan) -> dict[str, Any]:
        chosen = select_concessions(network, options, plan)
        fan_out.selection = {
            "to_price": chosen.to_price,
            "method": options.method,
            "considered": chosen.considered,
            "skipped": chosen.skipped,
            "not_priced": chosen.not_priced,
            "base": chosen.base.__dict__,
            "stuck": list(chosen.stuck),
        }
        return {}

    return select


def run_part(ctx: WorkerContext, job_id: str, index: int) -> None:
    """Price one part of a job (one more attempt; past ``job_attempts`` the job fails); the
    part that completes the set finishes the job."""
    job = ctx.store.get(job_id)
    if job is None or job.state != "running":
        return  # cancelled, failed, or done by an earlier delivery
    claimed = ctx.store.claim_part(job_id, index)
    if claimed is None:
        return
    state, spec, attempts = claimed
    limit = ctx.settings.job_attempts
    if state == "pending" and attempts > limit:
        what = _pricing(spec)
        log.error(
            "job %s: part %d (%s) started %d times, never finished", job_id, index, what, limit
        )
        ctx.store.fail(job_id, ctx.internal_problem(_never_finished(what, limit)))
        return
    if state == "pending":
        try:
            request = PlanRequest.model_validate_json(job.request)
            _, network = ctx.catalog.network(job.scenario_id, job.version)
            options = foot_plan_options(
                network,
                request,
                max_expanded_arcs=ctx.settings.max_expanded_arcs,
                time_budget_s=ctx.settings.job_time_budget_s,
            )
            options.method = spec["method"]  # the base plan's: fast if it fell back
            row = price_concession(network, options, BaseFigures(**spec["base"]), spec)
        except Exception as exc:
            log.exception("job %s: part %d failed", job_id, index)
            problem = (
                ctx.problem_of(exc)
                if isinstance(exc, ScenarioError)
                else ctx.internal_problem(f"{_pricing(spec)} failed")
            )
            ctx.store.fail(job_id, problem)
            return
        result = {"row": None if row is None else row.as_dict()}
        done, total = ctx.store.finish_part(job_id, index, result)
        log.info("job %s: part %d priced in process %d", job_id, index, os.getpid())
    else:
        done, total = ctx.store.finish_part(job_id, index, {})
    if done >= total:
        _finish_fanned_out(ctx, job_id)


def _pricing(spec: dict[str, Any]) -> str:
    """What a part does, in a problem's words: ``pricing KIND WHAT``."""
    return f"pricing {spec['kind']} {spec['what']}"


def _finish_fanned_out(ctx: WorkerContext, job_id: str) -> None:
    document = orjson.loads(ctx.store.result(job_id) or b"{}")
    rows = [r["row"] for r in ctx.store.part_results(job_id)]
    document["concessions"] = _gather(document["concessions"], rows)
    _finish(ctx, job_id, document)


def _gather(selection: dict[str, Any], rows: list[dict[str, Any] | None]) -> dict[str, Any]:
    priced = [Concession(**r) for r in rows if r is not None]
    unpriced = sum(1 for r in rows if r is None)
    stuck = selection["stuck"]
    return gather_concessions(
        priced,
        selection["considered"],
        selection["skipped"],
        selection["not_priced"] + unpriced,
        (bool(stuck[0]), str(stuck[1])),
    ).as_dict()


def _summary(document: dict[str, Any]) -> dict[str, Any]:
    return {k: document.get(k) for k in ("method", "evacuated", "egress_time_min")}
