"""The JSON behind the pages, under ``/api/…``: what the pages show and what scripts read.

Actions (``POST …/backup``, ``POST …/verify``) queue a job on the service's scheduler and
answer 202 with the action to poll at ``/api/actions/<id>``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, Protocol, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from backproof.errors import IntegrityError, NotFoundError
from backproof.scheduler.actions import Action, ActionJob
from backproof.state.activities import Activity
from backproof.web.access import Access
from backproof.web.documents import Documents
from backproof.web.security import UNAUTHORIZED_RESPONSE
from backproof.web.views.activities import ActivityFilters, ActivityPage, check_filters
from backproof.web.views.backup import BackupPage
from backproof.web.views.overview import Overview
from backproof.web.views.running import TIME, RunningJob
from backproof.web.views.target import TargetPage

T = TypeVar("T")


class ActionSubmitter(Protocol):
    """What the API needs of the service's action queue (``ActionQueue`` has it)."""

    def submit(self, job: ActionJob, target: str, backup_id: str | None = None) -> Action:
        """Queue a job and return the action."""
        ...

    def get(self, action_id: str) -> Action | None:
        """Return an action by id."""
        ...


class ActionStatus(BaseModel):
    """A web action: queued, running, then finished with the audit row it wrote."""

    id: str
    job: str
    target: str
    backup_id: str | None
    state: Literal["queued", "running", "finished"]
    queued_at: str = Field(description=TIME)
    activity_id: int | None = Field(description="the audit row of the run, once finished")
    activity_status: str | None = Field(description="success, failed or skipped, once finished")
    message: str | None
    progress: RunningJob | None = Field(description="how far it is, while running")


def build_api(documents: Documents, access: Access, actions: ActionSubmitter | None) -> APIRouter:
    """Return the router of ``/api/…`` (reading needs a reader, acting an actor)."""
    reader = [Depends(access.require_reader), Depends(access.require_loopback_name)]
    router = APIRouter(
        prefix="/api", dependencies=reader, tags=["dashboard"], responses=UNAUTHORIZED_RESPONSE
    )

    @router.get("/overview", response_model=Overview, summary="Every target as a card")
    def overview() -> Overview:
        return documents.overview()

    @router.get("/running", response_model=list[RunningJob], summary="Jobs queued or running")
    def running(target: str | None = None) -> list[RunningJob]:
        return documents.running(target)

    @router.get("/targets/{name}", response_model=TargetPage, summary="One target")
    def target(name: str) -> TargetPage:
        return _or_404(lambda: documents.target(name))

    @router.get(
        "/targets/{name}/backups/{backup_id}", response_model=BackupPage, summary="One backup"
    )
    def backup(name: str, backup_id: str) -> BackupPage:
        return _or_404(lambda: documents.backup(name, backup_id))

    @router.get("/activities", response_model=ActivityPage, summary="The audit trail, paged")
    def activities(filters: Annotated[ActivityFilters, Query()]) -> ActivityPage:
        problems = check_filters(filters, documents.target_names())
        if problems:
            raise HTTPException(422, "; ".join(problems))
        return documents.activities(filters)

    add_action_routes(router, documents, access, actions)
    return router


def add_action_routes(
    router: APIRouter, documents: Documents, access: Access, actions: ActionSubmitter | None
) -> None:
    """Add the POST routes that queue jobs, and the GET that follows an action."""
    actor = [Depends(access.require_actor)]
    accepted: dict[int | str, dict[str, Any]] = {
        202: {"description": "queued"},
        403: {"description": "no CSRF token"},
    }

    def queue(request: Request, job: ActionJob, name: str, backup_id: str | None) -> Response:
        if actions is None:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "no scheduler runs here")
        _or_404(lambda: documents.check_target(name))
        action = actions.submit(job, name, backup_id)
        if request.headers.get("content-type", "").startswith("application/x-www-form"):
            return RedirectResponse(f"/targets/{name}", status_code=status.HTTP_303_SEE_OTHER)
        body = action_status(action, None).model_dump_json()
        return Response(body, status_code=202, media_type="application/json")

    @router.post(
        "/targets/{name}/backup",
        dependencies=actor,
        responses=accepted,
        response_model=ActionStatus,
        status_code=202,
        summary="Back up now",
    )
    def back_up_now(request: Request, name: str) -> Response:
        return queue(request, "backup", name, None)

    @router.post(
        "/targets/{name}/verify",
        dependencies=actor,
        responses=accepted,
        response_model=ActionStatus,
        status_code=202,
        summary="Verify now",
    )
    def verify_now(request: Request, name: str, backup_id: str | None = None) -> Response:
        return queue(request, "verify", name, backup_id)

    @router.get("/actions/{action_id}", response_model=ActionStatus, summary="One web action")
    def follow(action_id: str) -> ActionStatus:
        action = actions.get(action_id) if actions is not None else None
        if action is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no action {action_id!r}")
        row = None
        if action.activity_id is not None:
            row = documents.context.activities.get(action.activity_id)
        progress = None
        if action.state == "running":
            running = documents.running(action.target)
            progress = next((job for job in running if job.job == action.job), None)
        return action_status(action, row, progress)


def action_status(
    action: Action, activity: Activity | None, progress: RunningJob | None = None
) -> ActionStatus:
    """Return an action as the API shows it, with its audit row once it has one."""
    return ActionStatus(
        id=action.id,
        job=action.job,
        target=action.target,
        backup_id=action.backup_id,
        state=action.state,
        queued_at=action.queued_at.isoformat(timespec="seconds"),
        activity_id=action.activity_id,
        activity_status=activity.status if activity else ("failed" if action.error else None),
        message=activity.message if activity else action.error,
        progress=progress,
    )


def _or_404(build: Callable[[], T]) -> T:
    try:
        return build()
    except NotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except IntegrityError as exc:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, str(exc)) from exc
