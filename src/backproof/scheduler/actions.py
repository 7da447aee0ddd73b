"""Runs asked for on the web ("Back up now", "Verify now"): queued to the service's scheduler.

An action runs one job in the scheduler's ``actions`` executor, beside the daily chains; the
job's own run lock keeps it from overlapping the same job of the chain (the later one waits,
then is recorded as skipped). What each action became is kept in memory for the page that
asked, so it can show the run going from queued to running to its result without a reload.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from apscheduler.schedulers.base import BaseScheduler

from backproof.errors import BackproofError
from backproof.jobs.backup import run_backup
from backproof.jobs.context import Context
from backproof.jobs.verify import run_verify
from backproof.scheduler.progress import ProgressBoard

ActionJob = Literal["backup", "verify"]
ActionState = Literal["queued", "running", "finished"]
ACTION_EXECUTOR = "actions"
ACTION_WORKERS = 2
KEPT_ACTIONS = 200

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Action:
    """One run asked for, and what became of it."""

    id: str
    job: ActionJob
    target: str
    backup_id: str | None
    queued_at: datetime
    state: ActionState = "queued"
    started_at: datetime | None = None
    activity_id: int | None = None
    error: str | None = None


class ActionQueue:
    """Queues actions on a running APScheduler and remembers the latest of them."""

    def __init__(
        self,
        context: Context,
        scheduler: BaseScheduler,
        progress: ProgressBoard,
        should_stop: Callable[[], bool],
    ) -> None:
        self.context = context
        self.scheduler = scheduler
        self.progress = progress
        self.should_stop = should_stop
        self._actions: dict[str, Action] = {}
        self._lock = threading.Lock()
        #: Notified whenever an action starts or ends (the scheduler's stop waits on it).
        self.changed = threading.Condition()

    def submit(self, job: ActionJob, target: str, backup_id: str | None = None) -> Action:
        """Queue ``job`` on ``target`` (verify: ``backup_id`` or the newest) and return it."""
        action = Action(secrets.token_hex(8), job, target, backup_id, self.context.clock())
        self._store(action)
        self.scheduler.add_job(
            self._run,
            args=[action.id],
            id=f"action-{action.id}",
            name=f"{job} of {target} asked on the web",
            executor=ACTION_EXECUTOR,
            misfire_grace_time=None,
        )
        return action

    def get(self, action_id: str) -> Action | None:
        """Return the action called ``action_id``, None when unknown (or long forgotten)."""
        with self._lock:
            return self._actions.get(action_id)

    def waiting(self) -> list[Action]:
        """Return the actions queued and not started yet, oldest first."""
        with self._lock:
            return [action for action in self._actions.values() if action.state == "queued"]

    def is_busy(self) -> bool:
        """Return True while an action runs (call with ``changed`` held, or accept a race)."""
        with self._lock:
            return any(action.state == "running" for action in self._actions.values())

    def _run(self, action_id: str) -> None:
        if self.should_stop():
            self._update(action_id, state="finished", error="the service stopped before it ran")
            return
        with self.changed:
            action = self._update(action_id, state="running", started_at=self.context.clock())
        context = replace(
            self.context, storages={}, progress=self.progress.reporter(action.job, action.target)
        )
        error: str | None = None
        try:
            _run_job(context, action)
        except BackproofError as exc:
            error = str(exc)
        except Exception as exc:  # a bug must not kill the worker thread unseen
            logger.exception("the %s of %s asked on the web failed", action.job, action.target)
            error = f"internal error: {type(exc).__name__}: {exc}"
        finally:
            self.progress.clear(action.job, action.target)
        rows = self.context.activities.find(job=action.job, target=action.target, limit=1)
        activity_id = rows[0].id if rows and rows[0].started_at >= action.queued_at else None
        with self.changed:
            self._update(action_id, state="finished", activity_id=activity_id, error=error)
            self.changed.notify_all()

    def _store(self, action: Action) -> None:
        with self._lock:
            self._actions[action.id] = action
            for stale in list(self._actions)[:-KEPT_ACTIONS]:
                del self._actions[stale]

    def _update(self, action_id: str, **changes: object) -> Action:
        with self._lock:
            action = replace(self._actions[action_id], **changes)  # type: ignore[arg-type]
            self._actions[action_id] = action
            return action


def _run_job(context: Context, action: Action) -> None:
    if context.settings.queue.broker_url is not None:
        # The fleet (issue 15): the job runs on a worker; the action follows it to its end.
        from backproof.fleet.submit import submit_and_wait  # noqa: PLC0415 - loads Celery

        submit_and_wait(context, action.job, action.target, action.backup_id)
        return
    runners: dict[str, Callable[[], object]] = {
        "backup": lambda: run_backup(context, action.target),
        "verify": lambda: run_verify(context, action.target, action.backup_id),
    }
    runners[action.job]()
