"""What is running now: the ``running`` rows of the audit trail (any process on any host) and
the actions queued in this service, with how far each has come.

The one place the dashboard asks "what runs"; a scheduler of another kind (workers) answers
through the same ``RunningJob`` model.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from pydantic import BaseModel, Field

from backproof.clock import isoformat
from backproof.scheduler.actions import Action
from backproof.state.activities import Activity, ActivityLog
from backproof.state.queue import JobQueueLog

TIME = "ISO 8601 in UTC with an offset"


class JobsView(Protocol):
    """What the dashboard reads of the service's own queue and progress."""

    def waiting_actions(self) -> list[Action]:
        """Return the actions queued and not started yet."""
        ...

    def bytes_done(self, job: str, target: str) -> int | None:
        """Return the bytes a running job of this process wrote so far."""
        ...


class RunningJob(BaseModel):
    """A job queued or running now."""

    job: str
    target: str | None
    state: str = Field(description="queued or running")
    started_at: str | None = Field(description=TIME)
    elapsed_seconds: float | None
    expected_seconds: float | None = Field(description="how long the last successful run took")
    progress_ratio: float | None = Field(description="0..1, estimated from the last run")
    bytes_done: int | None = Field(description="bytes written so far (backups of this service)")
    activity_id: int | None
    backup_id: str | None
    host: str | None
    action_id: str | None = Field(description="the web action that queued it")


def running_jobs(
    log: ActivityLog, jobs: JobsView | None, target: str | None = None
) -> list[RunningJob]:
    """Return the queued and running jobs (of ``target`` or all), running first, oldest first."""
    now = log.clock()
    rows = log.find(target=target, statuses=["running"], limit=100)
    running = [_running(log, row, jobs, (now - row.started_at).total_seconds()) for row in rows]
    waiting = [] if jobs is None else jobs.waiting_actions()
    queued = [_queued(action) for action in waiting if target in (None, action.target)]
    return [*reversed(running), *queued]


def _running(log: ActivityLog, row: Activity, jobs: JobsView | None, elapsed: float) -> RunningJob:
    last = log.latest(row.job, row.target, ["success"])
    expected = None if last is None or last.duration_ms is None else last.duration_ms / 1000
    ratio = None if not expected else min(0.99, max(0.0, elapsed / expected))
    done = None if jobs is None or row.target is None else jobs.bytes_done(row.job, row.target)
    return RunningJob(
        job=row.job,
        target=row.target,
        state="running",
        started_at=isoformat(row.started_at),
        elapsed_seconds=round(max(0.0, elapsed), 1),
        expected_seconds=expected,
        progress_ratio=ratio,
        bytes_done=done,
        activity_id=row.id,
        backup_id=row.backup_id,
        host=row.host,
        action_id=None,
    )


def _queued(action: Action) -> RunningJob:
    return _waiting(action.job, action.target, action.backup_id, action.id)


def fleet_queued(log: JobQueueLog, target: str | None = None) -> list[RunningJob]:
    """Return the submissions waiting for a worker of the fleet (issue 15), oldest first; those
    a worker runs are ``running`` rows of the audit trail already."""
    return [
        _waiting(entry.job, entry.target)
        for entry in log.unfinished()
        if entry.status == "queued" and target in (None, entry.target)
    ]


def _waiting(
    job: str, target: str | None, backup_id: str | None = None, action_id: str | None = None
) -> RunningJob:
    """A job that waits for its turn: nothing of it is known yet but what was asked."""
    return RunningJob(
        job=job,
        target=target,
        state="queued",
        started_at=None,
        elapsed_seconds=None,
        expected_seconds=None,
        progress_ratio=None,
        bytes_done=None,
        activity_id=None,
        backup_id=backup_id,
        host=None,
        action_id=action_id,
    )


def targets_running(jobs: Iterable[RunningJob]) -> set[str]:
    """Return the targets that have a job queued or running."""
    return {job.target for job in jobs if job.target is not None}
