"""The loop of ``backproof serve``: the daily chain of each target at the cron times.

One APScheduler job per target, on a cron trigger in ``schedule.timezone``; one chain per target
at a time (a chain still running when the next is due makes that one a recorded skip); a run
missed while the service was down starts at start-up. ``stop`` lets the running job finish
within a grace period, skips the rest of its chain, and records what is still running then as
interrupted, so that no row is left ``running``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from backproof.errors import ConfigError
from backproof.jobs.context import Context
from backproof.jobs.run import RunResult, run_chain
from backproof.scheduler.actions import ACTION_EXECUTOR, ACTION_WORKERS, Action, ActionQueue
from backproof.scheduler.plan import build_trigger, overdue_targets, schedule_zone
from backproof.scheduler.progress import ProgressBoard
from backproof.state.activities import Activity
from backproof.state.records import ActivityMeta

ChainRunner = Callable[[Context, str, Callable[[], bool]], Any]

logger = logging.getLogger(__name__)


def run_daily_chain(context: Context, target: str, should_stop: Callable[[], bool]) -> RunResult:
    """Run the chain of ``target`` and log how each job ended."""
    result = run_chain(context, target, should_stop)
    for step in result.steps:
        outcome = "ok" if step.succeeded else (step.skipped_because or str(step.error))
        logger.info("chain of %s: %s: %s", target, step.job, outcome)
    return result


def last_run_times(context: Context) -> dict[str, datetime | None]:
    """Return when each target's chain last started: its newest ``backup`` row, any status."""
    last: dict[str, datetime | None] = {}
    for target in context.settings.targets:
        rows = context.activities.find(job="backup", target=target.name, limit=1)
        last[target.name] = rows[0].started_at if rows else None
    return last


class ChainScheduler:
    """Runs each target's chain on the schedule, in background threads."""

    def __init__(self, context: Context, run_target: ChainRunner = run_daily_chain) -> None:
        self.context = context
        self.run_target = run_target
        self.trigger = build_trigger(context.settings.schedule)
        targets = [target.name for target in context.settings.targets]
        self.scheduler = BackgroundScheduler(
            timezone=schedule_zone(context.settings.schedule),
            executors={
                "default": ThreadPoolExecutor(max_workers=len(targets)),
                ACTION_EXECUTOR: ThreadPoolExecutor(max_workers=ACTION_WORKERS),
            },
            # Our own per-target lock decides (and records) overlaps, so allow two instances.
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 2},
        )
        self.target_locks = {name: threading.Lock() for name in targets}
        self.stopping = threading.Event()
        self._active: set[str] = set()
        self._changed = threading.Condition()
        self.progress = ProgressBoard()
        self.actions = ActionQueue(context, self.scheduler, self.progress, self.stopping.is_set)

    def start(self) -> list[str]:
        """Schedule every target and start; return the overdue targets, started at once."""
        now = self.context.clock()
        overdue = overdue_targets(self.trigger, last_run_times(self.context), now)
        for target in self.target_locks:
            options: dict[str, Any] = {"next_run_time": now} if target in overdue else {}
            self.scheduler.add_job(
                self.run_once,
                self.trigger,
                args=[target],
                id=target,
                name=f"daily chain of {target}",
                **options,
            )
        self.scheduler.start()
        return overdue

    def next_run_times(self) -> dict[str, datetime | None]:
        """Return the next scheduled start of each target's chain, in UTC."""
        return {
            job.id: job.next_run_time.astimezone(UTC) if job.next_run_time else None
            for job in self.scheduler.get_jobs()
        }

    def is_running(self) -> bool:
        """Return True while the scheduler runs (until ``stop``)."""
        return bool(self.scheduler.running) and not self.stopping.is_set()

    def active_targets(self) -> set[str]:
        """Return the targets whose chain is running now."""
        with self._changed:
            return set(self._active)

    def waiting_actions(self) -> list[Action]:
        """Return the web actions queued and not started yet."""
        return self.actions.waiting()

    def bytes_done(self, job: str, target: str) -> int | None:
        """Return the bytes a running job of this service wrote so far."""
        return self.progress.bytes_done(job, target)

    def run_once(self, target: str) -> None:
        """Run the chain of ``target`` now, unless one is running or the service is stopping."""
        if self.stopping.is_set():
            return
        lock = self.target_locks[target]
        if not lock.acquire(blocking=False):
            message = "scheduled chain skipped: the previous chain of this target is still running"
            logger.warning("%s: %s", target, message)
            self.context.activities.record("backup", target, "skipped", message)
            return
        self._set_active(target, active=True)
        try:
            # A context of its own per run: storages are opened per chain, the log is shared.
            progress = self.progress.reporter("backup", target)
            chain_context = replace(self.context, storages={}, progress=progress)
            self.run_target(chain_context, target, self.stopping.is_set)
        except ConfigError as exc:  # nothing ran and nothing is recorded: the log says why
            logger.error("the chain of %s did not run: %s", target, exc)
        except Exception:
            logger.exception("the chain of %s ended with an internal error", target)
        finally:
            self.progress.clear("backup", target)
            self._set_active(target, active=False)
            lock.release()

    def stop(self, grace_seconds: float) -> list[Activity]:
        """Stop scheduling; wait up to ``grace_seconds`` for running chains; return the rows
        of this process still running then, finished as ``failed`` (interrupted)."""
        self.stopping.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        deadline = time.monotonic() + grace_seconds
        with self._changed:
            finished = self._changed.wait_for(lambda: not self._active, timeout=grace_seconds)
        with self.actions.changed:
            remaining = max(0.0, deadline - time.monotonic())
            finished = (
                self.actions.changed.wait_for(lambda: not self.actions.is_busy(), timeout=remaining)
                and finished
            )
        if finished:
            return []
        return self.record_interrupted(grace_seconds)

    def record_interrupted(self, grace_seconds: float) -> list[Activity]:
        """Finish this process's ``running`` rows as failed, saying the service stopped."""
        log = self.context.activities
        message = (
            f"interrupted: the service stopped (SIGTERM) and the run did not finish within "
            f"the {grace_seconds:g} s grace period"
        )
        return [
            log.finish(row.id, "failed", message, ActivityMeta(interrupted=True).to_json())
            for row in log.find(statuses=["running"], limit=None)
            if row.host == log.host and row.pid == log.pid
        ]

    def _set_active(self, target: str, *, active: bool) -> None:
        with self._changed:
            if active:
                self._active.add(target)
            else:
                self._active.discard(target)
            self._changed.notify_all()
