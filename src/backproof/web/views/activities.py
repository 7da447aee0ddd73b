"""The document behind ``/activities``: the audit trail, filtered and paged, running jobs first."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field, field_validator

from backproof.clock import isoformat
from backproof.state.activities import Activity, ActivityLog
from backproof.state.schema import ACTIVITY_STATUSES
from backproof.state.trail_queries import page_activities
from backproof.web.views.running import TIME, RunningJob

JOBS = ("backup", "cleanup", "verify", "report", "health", "restore")
PERIODS: dict[str, timedelta | None] = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
    "all": None,
}
PAGE_SIZE = 50


class ActivityRow(BaseModel):
    """One row of the audit trail."""

    id: int
    job: str
    target: str | None
    status: str = Field(description="running, success, failed or skipped")
    started_at: str = Field(description=TIME)
    finished_at: str | None = Field(description=TIME)
    duration_ms: int | None
    message: str | None
    backup_id: str | None
    host: str | None


class ActivityFilters(BaseModel):
    """What the trail is narrowed to; None means any."""

    job: str | None = None
    target: str | None = None
    status: str | None = None
    period: str = "all"
    before_id: int | None = None

    @field_validator("job", "target", "status", mode="before")
    @classmethod
    def _empty_is_any(cls, value: object) -> object:
        """Read an empty choice (the filter form's "any") as no filter."""
        return None if value == "" else value


class ActivityPage(BaseModel):
    """One page of the audit trail."""

    filters: ActivityFilters
    running: list[RunningJob] = Field(description="jobs running now, shown above the trail")
    rows: list[ActivityRow]
    older_before_id: int | None = Field(description="pass as before_id for the next page")


def activity_row(activity: Activity) -> ActivityRow:
    """Return one audit row as the API shows it."""
    return ActivityRow(
        id=activity.id,
        job=activity.job,
        target=activity.target,
        status=activity.status,
        started_at=isoformat(activity.started_at) or "",
        finished_at=isoformat(activity.finished_at),
        duration_ms=activity.duration_ms,
        message=activity.message,
        backup_id=activity.backup_id,
        host=activity.host,
    )


def build_activity_page(
    log: ActivityLog, filters: ActivityFilters, now: datetime, running: list[RunningJob]
) -> ActivityPage:
    """Return the page of the trail that ``filters`` ask for."""
    span = PERIODS.get(filters.period)
    rows = page_activities(
        log,
        job=filters.job,
        target=filters.target,
        statuses=[filters.status] if filters.status else None,
        since=None if span is None else now - span,
        before_id=filters.before_id,
        limit=PAGE_SIZE + 1,
    )
    shown = rows[:PAGE_SIZE]
    wanted = [job for job in running if filters.target in (None, job.target)]
    return ActivityPage(
        filters=filters,
        running=[job for job in wanted if filters.job in (None, job.job)],
        rows=[activity_row(row) for row in shown],
        older_before_id=shown[-1].id if len(rows) > PAGE_SIZE else None,
    )


def check_filters(filters: ActivityFilters, targets: list[str]) -> list[str]:
    """Return what is wrong with ``filters`` (unknown job, target, status or period)."""
    problems: list[str] = []
    known: dict[str, tuple[Any, tuple[str, ...]]] = {
        "job": (filters.job, JOBS),
        "target": (filters.target, tuple(targets)),
        "status": (filters.status, ACTIVITY_STATUSES),
        "period": (filters.period, tuple(PERIODS)),
    }
    for name, (value, choices) in known.items():
        if value is not None and value not in choices:
            problems.append(f"unknown {name} {value!r}: one of {', '.join(choices)}")
    return problems
