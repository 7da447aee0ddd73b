"""Sending jobs to the workers (``backproof submit`` and the scheduler of ``serve``), and waiting.

A submission first becomes a ``queued`` row of ``ops_queue`` (whose unique pending key keeps a
target from queueing the same job twice), then a Celery message. When the broker cannot be
reached the row is taken back and one line says so: nothing half-queued remains.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from celery import Celery, chain
from kombu.exceptions import KombuError

from backproof.config.models import QueueSettings
from backproof.errors import OperationError
from backproof.fleet.app import STEP_TASK, SUBMIT_RETRY_POLICY, build_celery, queue_of
from backproof.fleet.steps import steps_of
from backproof.jobs.context import Context
from backproof.masking import mask_url
from backproof.state.queue import JobQueueLog, QueueEntry

POLL_SECONDS = 0.5
# How long the service waits before it sends a chain again when the broker was down.
RETRY_SECONDS = 30.0

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Submitted:
    """One target's submission: its queue row, and whether this call queued it (or found the
    same job of the target already queued or running)."""

    entry: QueueEntry
    is_new: bool


def submit(
    log: JobQueueLog,
    queue: QueueSettings,
    job: str,
    targets: list[str],
    app: Celery | None = None,
    backup_id: str | None = None,
) -> list[Submitted]:
    """Queue ``job`` for each of ``targets`` (a verify of ``backup_id`` when given); return the
    submissions.

    Raises OperationError (one line) when the broker cannot be reached; the targets queued
    before it stay queued, the one that failed is taken back.
    """
    app = app or build_celery(queue)
    submitted = []
    for target in targets:
        entry, is_new = log.enqueue(job, target)
        if not is_new and _is_lost(entry, queue, log):
            log.finish(entry.id, list(entry.result.get("steps", [])), 1)
            entry, is_new = log.enqueue(job, target)
        if is_new:
            _send(app, queue, entry, log, backup_id)
        submitted.append(Submitted(entry, is_new))
    return submitted


def wait_for(
    log: JobQueueLog,
    entry_ids: list[str],
    timeout_seconds: float | None = None,
    on_finished: Callable[[QueueEntry], None] | None = None,
) -> list[QueueEntry]:
    """Wait until every entry is finished (reading the shared state database, not the broker,
    which may come and go meanwhile); return them in the given order.

    Raises OperationError when ``timeout_seconds`` pass first.
    """
    deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
    pending = list(entry_ids)
    while pending:
        for entry_id in list(pending):
            entry = log.get(entry_id)
            if entry.is_finished:
                pending.remove(entry_id)
                if on_finished is not None:
                    on_finished(entry)
        if pending and deadline is not None and time.monotonic() > deadline:
            raise OperationError(
                f"{len(pending)} submitted jobs did not finish within {timeout_seconds:g} s; "
                "they stay queued (see `backproof submit --help`)"
            )
        if pending:
            time.sleep(POLL_SECONDS)
    return [log.get(entry_id) for entry_id in entry_ids]


def submit_and_wait(
    context: Context, job: str, target: str, backup_id: str | None = None
) -> QueueEntry:
    """Send one job to the workers and wait for it (the dashboard's "Back up now" / "Verify
    now"); return its entry. Raises OperationError, naming the step, when it failed."""
    log = JobQueueLog(context.activities.engine, context.clock)
    [submitted] = submit(log, context.settings.queue, job, [target], backup_id=backup_id)
    [entry] = wait_for(log, [submitted.entry.id])
    if entry.exit_code:
        lines = [str(step["line"]) for step in entry.result.get("steps", [])]
        raise OperationError("; ".join(lines) or f"{job} of {target} failed on a worker")
    return entry


def queue_daily_chain(context: Context, target: str, should_stop: Callable[[], bool]) -> None:
    """The scheduler's runner with a queue: send ``target``'s chain to the workers, and while
    the broker is down, try again every ``RETRY_SECONDS`` until it answers or the service stops.
    """
    log = JobQueueLog(context.activities.engine, context.clock)
    while not should_stop():
        try:
            submitted = submit(log, context.settings.queue, "run", [target])
        except OperationError as exc:
            logger.warning("%s; trying again in %g s", exc, RETRY_SECONDS)
            deadline = time.monotonic() + RETRY_SECONDS
            while time.monotonic() < deadline and not should_stop():
                time.sleep(POLL_SECONDS)
            continue
        entry = submitted[0].entry
        logger.info("chain of %s sent to the workers (%s)", target, entry.id)
        return


def _send(
    app: Celery,
    queue: QueueSettings,
    entry: QueueEntry,
    log: JobQueueLog,
    backup_id: str | None = None,
) -> None:
    jobs = steps_of(entry.job)
    signatures = [
        app.signature(
            STEP_TASK,
            args=([], job, entry.target, entry.id, entry.job)
            if index == 0
            else (job, entry.target, entry.id, entry.job),
            kwargs={"backup_id": backup_id} if backup_id else {},
            queue=queue_of(queue, job),
        )
        for index, job in enumerate(jobs)
    ]
    try:
        chain(*signatures).apply_async(retry=True, retry_policy=SUBMIT_RETRY_POLICY)
    except (KombuError, OSError) as exc:
        log.forget(entry.id)
        broker = mask_url(queue.broker_url.get_secret_value()) if queue.broker_url else "?"
        raise OperationError(
            f"cannot queue {entry.job} of {entry.target}: the broker {broker} is not reachable "
            f"({' '.join(str(exc).split())}); start it, or run the job here without [queue]"
        ) from exc


def _is_lost(entry: QueueEntry, queue: QueueSettings, log: JobQueueLog) -> bool:
    """A pending entry older than twice the visibility timeout will not be delivered again."""
    limit = timedelta(seconds=2 * queue.visibility_timeout_seconds)
    return log.clock() - entry.queued_at > limit
