"""Jobs on the real thing: two API replicas and two ``safe-passage worker`` processes on
PostgreSQL and RabbitMQ, and the faults a deployment meets.

- A ranking of concessions submitted through one replica is read through the other; its
  concessions are priced by both workers; the answer equals the inline computation.
- A worker killed (``kill -9``) in the middle of a job: the job is delivered again, runs
  once more, and is finished once.
- The API restarted while a job runs: the job goes on and its answer is readable.
- A job that always fails: ``failed`` with its problem after ``job_attempts`` attempts.
- The broker restarted (a private RabbitMQ node on another port, started and stopped by
  the test: the machine's own broker is left alone): no job it had acknowledged is lost.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.deploy import (
    REPO,
    Service,
    bearer,
    create_token,
    fresh_schema,
    running,
    service_env,
    start_service,
)
from tests.external import RABBITMQ_SERVER, RABBITMQ_URL
from tests.grid_scenario import grid_scenario

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq, pytest.mark.slow]

WORKER = [sys.executable, "-m", "app.cli", "worker", "--processes", "1"]
ASYNC = {"Prefer": "respond-async"}
RANKING = {"window": "afternoon", "method": "fast", "rank_openings": True}
SLOW_PLAN = {"window": "afternoon", "method": "optimal"}
"""An optimal plan on the 64 × 64 grid (``big-grid``): about 4.6 s of computing on an idle
core of this machine kind, time to kill its worker while it runs."""


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log_path: Path

    def lines(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            with suppress(ValueError):
                out.append(json.loads(line))
        return out

    def messages(self) -> list[str]:
        return [str(line.get("message", "")) for line in self.lines()]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(40)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_worker(env: dict[str, str], log_dir: Path) -> Worker:
    log_path = log_dir / f"worker-{secrets.token_hex(3)}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(WORKER, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    return Worker(process, log_path)


def wait_ready(workers: list[Worker], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    for worker in workers:
        while not any("ready on queue" in m for m in worker.messages()):
            if worker.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("worker did not start:\n" + worker.log_path.read_text()[-3000:])
            time.sleep(0.1)


@contextmanager
def workers(env: dict[str, str], log_dir: Path, count: int) -> Iterator[list[Worker]]:
    started = [start_worker(env, log_dir) for _ in range(count)]
    try:
        wait_ready(started)
        yield started
    finally:
        for worker in started:
            worker.stop()


def jobs_env(tmp: Path, database_url: str, broker_url: str = RABBITMQ_URL) -> dict[str, str]:
    env = service_env(tmp, database_url)
    env["SAFE_PASSAGE_BROKER_URL"] = broker_url
    env["SAFE_PASSAGE_JOB_QUEUE"] = "test_jobs_" + secrets.token_hex(4)
    env["SAFE_PASSAGE_JOB_ATTEMPTS"] = "3"
    return env


def wait_job(service: Service, token: str, location: str, timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = service.client.get(location, headers=bearer(token))
        assert response.status_code == 200, response.text
        job: dict[str, Any] = response.json()
        if job["state"] in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.2)
    pytest.fail(f"{location} did not end within {timeout} s")


def wait_running(service: Service, token: str, location: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.client.get(location, headers=bearer(token)).json()["state"] != "queued":
            return
        time.sleep(0.05)
    pytest.fail(f"{location} never started")


def submit(service: Service, token: str, scenario: str, body: dict[str, Any]) -> str:
    response = service.client.post(
        f"/v1/scenarios/{scenario}/plans", json=body, headers={**bearer(token), **ASYNC}
    )
    assert response.status_code == 202, response.text
    location: str = response.headers["location"]
    return location


def store_grid(service: Service, token: str, scenario_id: str, side: int = 32) -> None:
    document = grid_scenario(side, 20_000 * (side // 32) ** 2, blocked=40)
    response = service.client.post(
        "/v1/scenarios", json={**document, "name": scenario_id}, headers=bearer(token)
    )
    assert response.status_code == 201, response.text
    assert response.json()["id"] == scenario_id


def inline_answer(env: dict[str, str], scenario: str, body: dict[str, Any]) -> dict[str, Any]:
    """The oracle: the same request computed here, as ``safe-passage plan`` would."""
    from app.config import Settings
    from app.services.catalog import Catalog
    from app.services.plans import PlanRequest, compute_plan
    from app.storage.db import make_engine
    from app.storage.repository import Repository

    settings = Settings(data_dir=Path(env["SAFE_PASSAGE_DATA_DIR"]),
                        database_url=env["SAFE_PASSAGE_DATABASE_URL"])  # fmt: skip
    engine = make_engine(settings.resolved_database_url())
    try:
        _, network = Catalog(Repository(engine), settings).network(scenario)
        return compute_plan(
            network,
            PlanRequest.model_validate(body),
            max_expanded_arcs=settings.max_expanded_arcs,
            time_budget_s=settings.job_time_budget_s,
        )
    finally:
        engine.dispose()


@dataclass
class Cluster:
    env: dict[str, str]
    a: Service
    b: Service
    workers: list[Worker]
    token: str
    scenario: str
    log_dir: Path
    big: str = "big-grid"
    """A 64 × 64 grid whose optimal plan runs long enough to kill its worker mid-job."""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    tmp = tmp_path_factory.mktemp("jobs")
    with fresh_schema() as (url, _, _):
        env = jobs_env(tmp, url)
        with running(env, tmp, count=2) as (a, b), workers(env, tmp, 2) as both:
            token = create_token(env, "planner")
            store_grid(a, token, "grid")
            store_grid(a, token, "big-grid", side=64)
            yield Cluster(env, a, b, both, token, "grid", tmp)


def test_two_replicas_two_workers_rank_concessions_as_one_service(cluster: Cluster) -> None:
    location = submit(cluster.a, cluster.token, cluster.scenario, RANKING)
    job = wait_job(cluster.b, cluster.token, location)  # read through the other replica
    assert job["state"] == "done", job
    assert job["scenario"] == {"id": "grid", "version": 1}
    expected = inline_answer(cluster.env, cluster.scenario, RANKING)
    assert job["result"] == json.loads(json.dumps(expected))
    concessions = job["result"]["concessions"]
    assert concessions["priced"] >= 4, concessions
    parts = job["progress"]["parts"]
    assert parts["done"] == parts["total"] >= concessions["priced"]
    job_id = location.rsplit("/", 1)[1]
    priced_by = [
        sum(1 for m in w.messages() if m.startswith(f"job {job_id}: part "))
        for w in cluster.workers
    ]
    assert sum(priced_by) == job["progress"]["parts"]["total"]
    assert all(n > 0 for n in priced_by), f"every worker priced some: {priced_by}"


def _pid_running(cluster: Cluster, job_id: str) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for worker in cluster.workers:
            for m in worker.messages():
                if m.startswith(f"job {job_id}: attempt 1 in process "):
                    return int(m.rsplit(" ", 1)[1])
        time.sleep(0.05)
    pytest.fail(f"no worker said it started job {job_id}")


def test_a_worker_killed_mid_job_is_retried_and_the_job_completes_once(cluster: Cluster) -> None:
    location = submit(cluster.a, cluster.token, cluster.big, SLOW_PLAN)
    job_id = location.rsplit("/", 1)[1]
    pid = _pid_running(cluster, job_id)
    time.sleep(0.5)  # in the middle of the plan
    assert cluster.a.client.get(location, headers=bearer(cluster.token)).json()["state"] == (
        "running"
    )
    os.kill(pid, signal.SIGKILL)
    job = wait_job(cluster.b, cluster.token, location)
    assert job["state"] == "done", job
    assert job["attempts"] == 2
    assert job["result"] == json.loads(
        json.dumps(inline_answer(cluster.env, cluster.big, SLOW_PLAN))
    )
    finished = [
        m for w in cluster.workers for m in w.messages() if m.startswith(f"job {job_id}: done")
    ]
    assert len(finished) == 1
    # the worker's supervisor started a new process in place of the killed one
    time.sleep(0.5)
    assert all(w.process.poll() is None for w in cluster.workers)


def test_the_api_restarted_while_a_job_runs(cluster: Cluster) -> None:
    replica = start_service(cluster.env, cluster.log_dir)
    replica.wait_ready()
    location = submit(replica, cluster.token, cluster.big, SLOW_PLAN)
    wait_running(replica, cluster.token, location)
    assert replica.stop() in (0, -signal.SIGTERM)  # a clean shutdown (uvicorn re-raises)
    again = start_service(cluster.env, cluster.log_dir)
    try:
        again.wait_ready()
        job = wait_job(again, cluster.token, location)
        assert job["state"] == "done" and job["attempts"] == 1
        assert job["result"]["evacuated"] > 0
        assert (
            cluster.b.client.get(location + "/result", headers=bearer(cluster.token)).json()
            == (job["result"])
        )
    finally:
        again.stop()


def test_a_job_that_always_fails_fails_after_bounded_attempts(cluster: Cluster) -> None:
    """A job whose stored request this version no longer reads (as a bug would): tried
    ``job_attempts`` times with Dramatiq's backoff, then ``failed`` with a problem; never a
    loop."""
    from app.config import Settings
    from app.services.jobs_dramatiq import DramatiqJobs
    from app.storage.db import make_engine
    from app.storage.jobs import JobStore

    settings = Settings(
        data_dir=Path(cluster.env["SAFE_PASSAGE_DATA_DIR"]),
        database_url=cluster.env["SAFE_PASSAGE_DATABASE_URL"],
        broker_url=cluster.env["SAFE_PASSAGE_BROKER_URL"],
        job_queue=cluster.env["SAFE_PASSAGE_JOB_QUEUE"],
    )
    engine = make_engine(settings.resolved_database_url())
    dispatch = DramatiqJobs(settings)
    try:
        job = JobStore(engine).create(
            id="job_poison_" + secrets.token_hex(4),
            kind="plan",
            scenario_id="grid",
            version=1,
            request='{"no_such_field": 1}',
            request_sha256="0" * 64,
            backend="dramatiq",
        )
        dispatch.enqueue(job.id)
    finally:
        dispatch.close()
        engine.dispose()
    location = f"/v1/jobs/{job.id}"
    ended = wait_job(cluster.a, cluster.token, location, timeout=120)
    assert ended["state"] == "failed"
    assert ended["attempts"] == 3
    assert ended["problem"]["status"] == 500
    assert "failed 3 times" in ended["problem"]["detail"]
    time.sleep(3)  # no further attempt
    assert cluster.b.client.get(location, headers=bearer(cluster.token)).json()["attempts"] == 3
    result = cluster.b.client.get(location + "/result", headers=bearer(cluster.token))
    assert result.status_code == 500 and result.json()["detail"] == ended["problem"]["detail"]


# --- the broker restarted ----------------------------------------------------------------


@dataclass
class PrivateRabbit:
    """A RabbitMQ node of the test's own, on its own port, data in a temporary directory."""

    home: Path
    port: int
    dist_port: int
    name: str

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_CONFIG_FILE": str(self.home / "rabbitmq.conf"),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.home / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.home / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.home / "plugins"),
            "RABBITMQ_PID_FILE": str(self.home / "pid"),
        }

    def start(self) -> None:
        subprocess.run([RABBITMQ_SERVER, "-detached"], env=self._env(), check=True,
                       capture_output=True, timeout=60)  # fmt: skip
        import pika

        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with suppress(Exception):
                pika.BlockingConnection(pika.URLParameters(self.url)).close()
                return
            time.sleep(0.3)
        pytest.fail(f"the private RabbitMQ node on port {self.port} did not start")

    def stop(self) -> None:
        subprocess.run(["rabbitmqctl", "-n", self.name, "stop"], env=self._env(),
                       capture_output=True, timeout=60)  # fmt: skip


@pytest.fixture
def private_rabbit(tmp_path: Path) -> Iterator[PrivateRabbit]:
    from tests.deploy import free_port

    if not os.path.exists(RABBITMQ_SERVER) or shutil.which("rabbitmqctl") is None:
        pytest.skip(f"rabbitmq-server not found at {RABBITMQ_SERVER}: the broker test runs its own")
    home = Path(f"/tmp/sp-rabbit-{secrets.token_hex(4)}")
    home.mkdir()
    port = free_port()
    (home / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{port}\n")
    (home / "plugins").write_text("[].\n")
    with suppress(KeyError, PermissionError):
        shutil.chown(home, "rabbitmq", "rabbitmq")  # the server drops root for this user
        for child in home.iterdir():
            shutil.chown(child, "rabbitmq", "rabbitmq")
    rabbit = PrivateRabbit(home, port, free_port(), f"sp{secrets.token_hex(3)}@localhost")
    rabbit.start()
    try:
        yield rabbit
    finally:
        rabbit.stop()
        shutil.rmtree(home, ignore_errors=True)


def test_the_broker_restarted_loses_no_acknowledged_job(
    private_rabbit: PrivateRabbit, tmp_path: Path
) -> None:
    with fresh_schema() as (url, _, _):
        env = jobs_env(tmp_path, url, private_rabbit.url)
        with running(env, tmp_path, count=1) as (api,):
            token = create_token(env, "planner")
            store_grid(api, token, "grid")
            # no worker yet: every job waits in the broker, acknowledged (202)
            body = {"window": "afternoon", "method": "fast"}
            before = [submit(api, token, "grid", {**body, "max_risk": 0.5 + i / 10})
                      for i in range(3)]  # fmt: skip
            private_rabbit.stop()
            with pytest.raises(httpx.HTTPStatusError):  # the broker is down: no 202
                api.client.post("/v1/scenarios/grid/plans", json=body,
                                headers={**bearer(token), **ASYNC}).raise_for_status()  # fmt: skip
            private_rabbit.start()
            after = submit(api, token, "grid", body)  # the API reconnects by itself
            with workers(env, tmp_path, 1):
                for location in [*before, after]:
                    job = wait_job(api, token, location)
                    assert job["state"] == "done", job
                    assert job["result"]["evacuated"] > 0
