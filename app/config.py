"""Settings from environment variables prefixed ``SAFE_PASSAGE_`` (pydantic-settings).

Every setting is documented in docs/configuration.md, whose table is generated from
these fields' descriptions (``python3 scripts/config_table.py --write``; a test keeps it
current). A field whose default is computed gives the default to print in
``json_schema_extra["doc_default"]``. ``get_settings()`` is cached; tests and the CLI
build :class:`Settings` directly when they need other values.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "safe-passage"


def _default_demo_dir() -> Path:
    return Path(__file__).resolve().parents[1] / "graphs"


class Settings(BaseSettings):
    """Service configuration. Field names map to ``SAFE_PASSAGE_<NAME>`` variables."""

    model_config = SettingsConfigDict(env_prefix="SAFE_PASSAGE_", extra="ignore")

    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Directory of the embedded SQLite file; created on first run.",
        json_schema_extra={
            "doc_default": "`$XDG_DATA_HOME/safe-passage` or `~/.local/share/safe-passage`"
        },
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the store. PostgreSQL: "
        "`postgresql+psycopg://user@127.0.0.1:5432/db` (install the `postgres` extra).",
        json_schema_extra={"doc_default": "`sqlite:///<data dir>/safe-passage.sqlite3`"},
    )
    max_body_bytes: int = Field(
        default=20 * 1024 * 1024,
        gt=0,
        description="Largest request body other than a scenario upload (bytes); "
        "a larger one is answered 413.",
    )
    max_scenario_bytes: int = Field(
        default=1024 * 1024 * 1024,
        gt=0,
        description="Largest scenario document for `POST`/`PUT /v1/scenarios` (bytes); "
        "uploads are streamed to a temporary file, not held in memory.",
    )
    large_scenario_bytes: int = Field(
        default=8 * 1024 * 1024,
        gt=0,
        description="JSON scenarios at least this big are read item by item into columns "
        "and stored with compact arrays beside the document (street networks of whole "
        "cities); smaller ones (and all YAML) are read whole, up to "
        "`SAFE_PASSAGE_MAX_BODY_BYTES`, and go through the same checks into the same columns.",
    )
    max_nodes: int = Field(
        default=2_000_000, gt=0, description="Most places in a scenario accepted."
    )
    max_edges: int = Field(
        default=5_000_000, gt=0, description="Most roads in a scenario accepted."
    )
    cache_bytes: int = Field(
        default=1024 * 1024 * 1024,
        ge=0,
        description="Memory for compiled scenario versions per process, bytes (least recently "
        "used first out; the newest is always kept). A 1M-place street network takes about "
        "300 MiB; a district graph a few KiB.",
    )
    share_compiled: bool = Field(
        default=True,
        description="Write each compiled scenario version once under `<data dir>/compiled` "
        "and memory-map it in every process (`serve --workers`, plan workers), so that they "
        "share one copy; `false`: each process keeps its own.",
    )
    answer_cache_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=0,
        description="Memory for route answers kept per process, bytes: the same question on "
        "the same version is answered from memory (still audited, token and current version "
        "still checked). Least recently used first out; `0` keeps none.",
    )
    plan_time_budget_s: float = Field(
        default=20.0,
        gt=0,
        description="Seconds an optimal plan may take before the fast plan is returned "
        "instead; a fast plan that takes longer is refused (422).",
    )
    max_expanded_arcs: int = Field(
        default=30_000_000,
        gt=0,
        description="Largest time-expanded network a plan may build (arcs); a plan that "
        "would need more is refused (422) before anything is built.",
    )
    plan_workers: int = Field(
        default=1,
        ge=0,
        description="Worker processes that compute plans over HTTP (per server process), "
        "started with the first plan; each opens the store itself and keeps its own "
        "`SAFE_PASSAGE_CACHE_BYTES` of compiled versions. `0` computes plans in the server "
        "process, for debugging and tests only: a plan then holds every other request of "
        "that process for seconds.",
    )
    plan_queue: int = Field(
        default=8,
        ge=0,
        description="Plans that may wait for a busy worker; more are answered at once with "
        "503 (`/problems/unavailable`, `Retry-After`).",
    )
    plan_grace_s: float = Field(
        default=10.0,
        gt=0,
        description="Hard limit of a plan: 2 × `SAFE_PASSAGE_PLAN_TIME_BUDGET_S` + this "
        "(50 s by default); past it the worker is killed and the plan refused (422 at "
        "`/method`, the window or `/rank_openings`).",
    )
    broker_url: str | None = Field(
        default=None,
        description="Message broker of the job queue (docs/jobs.md): `amqp://user:pass@host:5672/` "
        "(RabbitMQ, recommended) or `redis://host:6379/0`; API replicas and `safe-passage "
        "worker` processes on any machine share it and the database. Unset: jobs run in worker "
        "processes of each API process (`SAFE_PASSAGE_PLAN_WORKERS` of them).",
    )
    job_queue: str = Field(
        default="safe_passage_jobs",
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="Queue name on the broker: deployments sharing one broker use one each.",
    )
    job_inline_s: float = Field(
        default=10.0,
        ge=0,
        description="A plan request estimated to take longer than this (seconds) is answered "
        "`202 Accepted` with a job, as with `Prefer: respond-async`; `Prefer: wait=N` sets "
        "it for one request.",
    )
    job_time_budget_s: float = Field(
        default=300.0,
        gt=0,
        description="Seconds an optimal plan run as a job (and each concession it re-plans) may "
        "take before the fast plan is used instead; a job's hard limit is twice this plus "
        "`SAFE_PASSAGE_PLAN_GRACE_S`.",
    )
    job_attempts: int = Field(
        default=3,
        ge=1,
        description="Times a job, and each part of a ranking (one concession priced), is "
        "started at most (a worker killed mid-job, an unexpected error); then the job fails "
        "with its problem document.",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="JSON list of origins allowed by CORS; none by default.",
        json_schema_extra={"doc_default": "none (`[]`)"},
    )
    tile_url: str | None = Field(
        default=None,
        description="Optional map tile URL template (`{z}/{x}/{y}`) for the map page, e.g. a "
        "local tile server; its origin is then allowed in the page's CSP. The map needs "
        "none: by default it draws only the service's own GeoJSON.",
    )
    demo_dir: Path = Field(
        default_factory=_default_demo_dir,
        description="Scenarios loaded by `serve --demo`.",
        json_schema_extra={"doc_default": "`<repo>/graphs`"},
    )
    log_json: bool = Field(
        default=True, description="One JSON object per log line on stderr, with the request id."
    )

    @property
    def plan_hard_limit_s(self) -> float:
        """Seconds a plan's worker may take before it is killed.

        Twice the budget: an optimal search gives up within the budget for the fast plan,
        which has the budget again; the grace covers loading the version in a new worker.
        """
        return 2 * self.plan_time_budget_s + self.plan_grace_s

    @property
    def job_hard_limit_s(self) -> float:
        """Seconds a job's attempt may take before its worker gives it up (as for plans)."""
        return 2 * self.job_time_budget_s + self.plan_grace_s

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'safe-passage.sqlite3'}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
