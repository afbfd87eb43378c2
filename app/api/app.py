"""The FastAPI application factory (SPEC §4)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlparse

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

from app import __version__
from app.api import problems
from app.api.deps import store_readers
from app.api.fast_routes import FastRoutes
from app.api.logs import configure_logging
from app.api.middleware import BodyLimit, RequestLog, SecurityHeaders
from app.api.routers import admin, compare, compute, health, maps, metrics, scenarios, site
from app.api.routers import jobs as jobs_router
from app.config import Settings, get_settings
from app.services.access import TokenCache
from app.services.catalog import Catalog
from app.services.job_news import JobNews, listen
from app.services.jobs import Dispatch, Jobs
from app.services.jobs_local import LocalJobs, worker_context
from app.services.metrics import CacheStats, ServiceMetrics
from app.services.plan_workers import PlanWorkers
from app.storage.db import make_engine, upgrade
from app.storage.jobs import JobStore
from app.storage.repository import Repository

WEB = Path(__file__).resolve().parents[1] / "web"

DESCRIPTION = """
Plans humanitarian evacuation corridors over a city graph: the safest route
between two places (survival probability = Π(1 − risk) over its roads), who must
consent, and evacuation plans within a pause window.

**Authorize** with a token (`safe-passage token create --role planner`, or the one
`safe-passage serve --demo` prints): viewer reads, planner writes and computes,
admin manages tokens and reads the audit log. Errors are RFC 9457 problem
documents (`application/problem+json`) with JSON pointers to the bad fields.
"""


def operation_id(route: APIRoute) -> str:
    """An operation's id in the OpenAPI document (and a generated client's function name):
    the ``operation_id`` its decorator gives, else the name of its function."""
    return route.name


def _cache_stats(catalog: Catalog) -> CacheStats:
    cache = catalog.networks
    return CacheStats(hits=cache.hits, misses=cache.misses, entries_held=len(cache))


def make_jobs(settings: Settings, engine: Engine, catalog: Catalog, news: JobNews) -> Jobs:
    """The job service: on the broker when one is configured, else local worker processes."""
    store = JobStore(engine)
    dispatch: Dispatch
    if settings.broker_url:
        from app.services.jobs_dramatiq import DramatiqJobs

        dispatch = DramatiqJobs(settings)
    else:
        context = worker_context(settings, jobs_router.PROBLEMS)
        context.catalog, context.store = catalog, store  # plan_workers = 0: in this process
        dispatch = LocalJobs(settings, jobs_router.PROBLEMS, context, tell=news.tell)
    return Jobs(store, catalog, dispatch)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service. The database schema is upgraded when it starts."""
    settings = settings or get_settings()
    configure_logging(settings)
    engine = make_engine(settings.resolved_database_url())
    catalog = Catalog(Repository(engine), settings)
    plan_workers = PlanWorkers(settings)  # no process until the first plan
    news = JobNews()
    jobs = make_jobs(settings, engine, catalog, news)
    service_metrics = ServiceMetrics(cache=lambda: _cache_stats(catalog))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        upgrade(engine)
        if isinstance(jobs.dispatch, LocalJobs):
            jobs.dispatch.resume(jobs.store)
        pool_size = getattr(engine.pool, "size", lambda: 5)()
        app.state.store_readers = store_readers(pool_size)
        catalog.repo.batch_audit()  # computation records: one transaction a second
        stop_news = listen(engine, news)
        yield
        stop_news()  # uvicorn has ended the requests in flight (waits included) by now
        jobs.dispatch.close()
        plan_workers.shutdown()
        catalog.repo.stop_batching_audit()  # writes what is queued
        catalog.repo.dispose()

    app = FastAPI(
        title="safe-passage",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
    )
    app.state.settings = settings
    app.state.catalog = catalog
    app.state.plan_workers = plan_workers
    app.state.jobs = jobs
    app.state.job_news = news
    app.state.tokens = TokenCache(catalog.repo.find_token)
    app.state.metrics = service_metrics
    app.state.observe_compute = service_metrics.observe_compute
    problems.install(app, components=scenarios.COMPONENTS)
    routers = (health, scenarios, compute, compare, maps, admin, jobs_router)
    for router in (r.router for r in routers):
        app.include_router(router)
    app.include_router(metrics.router)
    app.include_router(site.router)

    app.mount("/static", StaticFiles(directory=WEB), name="static")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="safe-passage API",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/vendor/swagger-ui/favicon-32x32.png",
            swagger_ui_parameters={"persistAuthorization": True},
        )

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(WEB / "index.html", media_type="text/html")

    @app.get("/problems/{slug}", include_in_schema=False)
    def problem_type_doc(slug: str) -> JSONResponse:
        if slug not in problems.PROBLEM_TYPES:
            return problems.problem(404, f"no problem type {slug!r}")
        return JSONResponse(
            {"type": f"/problems/{slug}", "description": problems.PROBLEM_TYPES[slug]}
        )

    tile_origin = ""
    if settings.tile_url:
        parsed = urlparse(settings.tile_url)
        tile_origin = f"{parsed.scheme}://{parsed.netloc}" if parsed.netloc else ""
    app.add_middleware(FastRoutes, service=app)  # innermost: the others apply to it too
    app.add_middleware(SecurityHeaders, tile_origin=tile_origin)
    app.add_middleware(
        BodyLimit, limit=settings.max_body_bytes, scenario_limit=settings.max_scenario_bytes
    )
    app.add_middleware(RequestLog, observe=service_metrics.observe_request)
    app.add_middleware(metrics.InFlight, metrics=service_metrics)
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "If-Match"],
            expose_headers=["ETag", "Location"],
        )
    return app
