"""The HTTP app of ``backproof serve``: metrics, liveness and the status API.

``GET <metrics.path>`` (default ``/crm/ops/metrics``) answers the Prometheus text format computed
at scrape time; ``GET /healthz`` says the process (and its scheduler) is alive; ``GET
/api/status`` answers the status document described by ``GET /api/openapi.json``. With
``web.token`` set, every endpoint but ``/healthz`` requires ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Protocol

import sqlalchemy as sa
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST

from backproof import __version__
from backproof.assessment import assess_health
from backproof.jobs.context import Context
from backproof.masking import mask_url
from backproof.metrics import render_metrics
from backproof.queue_status import QueueDocument, build_queue_document
from backproof.state.queue import JobQueueLog
from backproof.web.access import Access, LoginRequiredError
from backproof.web.api import ActionSubmitter, build_api
from backproof.web.documents import Documents
from backproof.web.headers import SecurityHeaders
from backproof.web.pages.login import build_login
from backproof.web.pages.views import build_pages
from backproof.web.security import PUBLIC_PATHS, UNAUTHORIZED_RESPONSE, TokenMiddleware
from backproof.web.status_document import StatusDocument, build_status_document
from backproof.web.views.running import JobsView

logger = logging.getLogger(__name__)


class ScheduleView(Protocol):
    """What the app shows of the scheduler running beside it."""

    def next_run_times(self) -> dict[str, datetime | None]:
        """Return the next scheduled run of each target."""
        ...

    def is_running(self) -> bool:
        """Return True while the scheduler is alive."""
        ...


def create_app(
    context: Context,
    schedule: ScheduleView | None = None,
    jobs: JobsView | None = None,
    actions: ActionSubmitter | None = None,
) -> FastAPI:
    """Return the app serving ``context``'s metrics, status API and dashboard.

    ``jobs`` and ``actions`` are the service's queue (the scheduler): without them the pages
    show only what the audit trail says runs, and the actions answer 503.

    Swagger and ReDoc pages are off: they load scripts from the internet; the OpenAPI document
    itself is at ``/api/openapi.json``.
    """
    app = FastAPI(
        title="backproof",
        version=__version__,
        description="Backups proven by a real restore: metrics and status.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    access = Access(context.settings.web.token, context.clock)
    guard = [Depends(access.require_reader)]

    @app.get(
        context.settings.metrics.path,
        dependencies=guard,
        response_class=Response,
        responses={
            200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "metrics"},
            **UNAUTHORIZED_RESPONSE,
        },
        summary="Prometheus metrics, computed at scrape time",
    )
    def metrics() -> Response:
        return Response(render_metrics(context), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz", summary="Liveness: the process and its scheduler run")
    def healthz() -> JSONResponse:
        alive = schedule is None or schedule.is_running()
        return JSONResponse(
            {"status": "ok" if alive else "scheduler stopped"}, status_code=200 if alive else 503
        )

    @app.get(
        "/api/status",
        dependencies=guard,
        response_model=StatusDocument,
        responses=UNAUTHORIZED_RESPONSE,
        summary="Health, newest backup and last verify of every target",
    )
    def status() -> StatusDocument:
        next_runs = schedule.next_run_times() if schedule is not None else {}
        return build_status_document(
            assess_health(context.settings, context.activities, context.clock()),
            context.clock(),
            next_runs,
        )

    @app.get(
        "/api/queue",
        dependencies=guard,
        response_model=QueueDocument,
        responses=UNAUTHORIZED_RESPONSE,
        summary="Jobs queued and running on the fleet's workers, and the workers (issue 15)",
    )
    def queue() -> QueueDocument:
        configured = context.settings.queue.broker_url is not None
        log = JobQueueLog(context.activities.engine) if configured else None
        return build_queue_document(log)

    add_dashboard(app, Documents(context, schedule, jobs), access, actions)
    app.add_exception_handler(sa.exc.SQLAlchemyError, _state_unavailable)
    # Added last, so it runs first: nothing is answered before authentication.
    app.add_middleware(
        TokenMiddleware,
        token=context.settings.web.token,
        public_paths=PUBLIC_PATHS | {"/login", "/logout"},
        public_prefixes=("/static/",),
        admits=access.admits,
    )
    return app


def add_dashboard(
    app: FastAPI, documents: Documents, access: Access, actions: ActionSubmitter | None
) -> None:
    """Add the pages, their JSON API, login, the static files and the security headers."""
    app.include_router(build_api(documents, access, actions))
    app.include_router(build_login(access))
    app.include_router(build_pages(documents, access))
    app.mount("/static", StaticFiles(packages=[("backproof.web", "static")]), name="static")
    app.add_middleware(SecurityHeaders)

    async def to_login(_request: Request, _exc: Exception) -> Response:
        return RedirectResponse("/login", status_code=303)

    app.add_exception_handler(LoginRequiredError, to_login)


async def _state_unavailable(_request: Request, exc: Exception) -> Response:
    """Answer 503 when the state database fails, with one log line instead of a traceback."""
    logger.error("state database unavailable: %s", mask_url(str(exc).splitlines()[0]))
    return JSONResponse({"detail": "the state database is unavailable"}, status_code=503)
