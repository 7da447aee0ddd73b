"""The pages ``/``, ``/targets/<name>``, ``/targets/<name>/backups/<id>`` and ``/activities``.

Each page renders the same document its ``/api/…`` twin answers.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from backproof.errors import IntegrityError, NotFoundError
from backproof.state.schema import ACTIVITY_STATUSES
from backproof.web.access import Access
from backproof.web.documents import Documents
from backproof.web.rendering import render_page
from backproof.web.session import Session
from backproof.web.views.activities import JOBS, PERIODS, ActivityFilters, check_filters


def build_pages(documents: Documents, access: Access) -> APIRouter:
    """Return the router of the HTML pages (left out of the OpenAPI document)."""
    router = APIRouter(
        include_in_schema=False, dependencies=[Depends(access.require_loopback_name)]
    )
    # A default, not Annotated: the annotation is a string that cannot name this local.
    page_session: Session = Depends(access.page_session)

    @router.get("/", response_class=HTMLResponse)
    def overview(request: Request, session: Session = page_session) -> HTMLResponse:
        return render_page(request, "overview.html", session, overview=documents.overview())

    @router.get("/targets/{name}", response_class=HTMLResponse)
    def target(request: Request, name: str, session: Session = page_session) -> HTMLResponse:
        try:
            page = documents.target(name)
        except NotFoundError as exc:
            return _problem(request, session, 404, "Unknown target", str(exc))
        return render_page(request, "target.html", session, page=page)

    @router.get("/targets/{name}/backups/{backup_id}", response_class=HTMLResponse)
    def backup(
        request: Request, name: str, backup_id: str, session: Session = page_session
    ) -> HTMLResponse:
        try:
            page = documents.backup(name, backup_id)
        except NotFoundError as exc:
            return _problem(request, session, 404, "Unknown backup", str(exc))
        except IntegrityError as exc:
            return _problem(request, session, 502, "Unreadable manifest", str(exc))
        return render_page(request, "backup.html", session, page=page)

    @router.get("/activities", response_class=HTMLResponse)
    def activities(
        request: Request,
        filters: Annotated[ActivityFilters, Query()],
        session: Session = page_session,
    ) -> HTMLResponse:
        problems = check_filters(filters, documents.target_names())
        if problems:
            return _problem(request, session, 400, "Unknown filter", "; ".join(problems))
        return render_page(
            request,
            "activities.html",
            session,
            page=documents.activities(filters),
            choices={
                "job": JOBS,
                "target": tuple(documents.target_names()),
                "status": ACTIVITY_STATUSES,
            },
            periods=tuple(PERIODS),
            query_without_before=urlencode(
                {
                    key: value
                    for key, value in filters.model_dump().items()
                    if value is not None and key != "before_id"
                }
            ),
        )

    return router


def _problem(
    request: Request, session: Session, status_code: int, title: str, detail: str
) -> HTMLResponse:
    return render_page(
        request, "problem.html", session, status_code=status_code, title=title, detail=detail
    )
