"""The life of a job run: a lock, the audit row written first and finished whatever happens,
then the after-run hooks the face registered on the context (alerts, a metrics push); and around
a run of the whole chain, the chain hooks (a dead man's switch).

A job knows nobody who listens: it returns its result, and each hook is called with the row
once it is finished (or recorded ``skipped``). A hook that raises is logged and never changes
the job's result.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

from backproof.errors import BackproofError, ConfigError, LockTimeoutError
from backproof.jobs.context import ChainHook, ChainOutcome, Context
from backproof.state.activities import Activity
from backproof.state.locks import hold_run_lock
from backproof.state.records import ActivityMeta

MetaT = TypeVar("MetaT", bound=ActivityMeta)

logger = logging.getLogger(__name__)


@dataclass
class RunRecord(Generic[MetaT]):
    """What a job tells its audit row while it works: its typed record, message and backup."""

    activity_id: int
    meta: MetaT
    message: str = ""
    backup_id: str | None = None


@contextmanager
def recorded_run(context: Context, meta: MetaT, target: str | None) -> Iterator[RunRecord[MetaT]]:
    """Run the block as the job of ``meta`` on ``target``: one at a time, recorded from start
    to end; ``meta`` is the record the block fills in (whatever it set is stored, even on a
    failure).

    A run that finds another holding the lock past ``state.lock_wait_seconds`` is recorded as
    ``skipped`` and raises LockTimeoutError. Any exception in the block finishes the row as
    ``failed`` with the error's message, then propagates; but a ConfigError (exit 2: nothing
    ran, a password variable unset, a key unreadable) removes the row, so a setup mistake
    never counts as a failed run in the history.
    """
    job = meta.job
    context.activities.mark_stale(context.stale_after)
    lock_name = target or "all"
    try:
        with hold_run_lock(
            context.settings.state.lock_dir,
            job,
            lock_name,
            context.settings.state.lock_wait_seconds,
            context.activities.engine,
        ):
            context.activities.mark_abandoned(job, target)
            record = RunRecord(context.activities.start(job, target), meta)
            with _finished_in_any_case(context, record):
                yield record
    except LockTimeoutError as exc:
        call_after_run_hooks(context, context.activities.record(job, target, "skipped", str(exc)))
        raise


@contextmanager
def _finished_in_any_case(context: Context, record: RunRecord[MetaT]) -> Iterator[None]:
    status, message = "failed", "interrupted before it finished"
    try:
        yield
        status, message = "success", record.message
    except ConfigError:
        status = "discarded"
        raise
    except BackproofError as exc:
        message = str(exc)
        raise
    except (KeyboardInterrupt, SystemExit):
        # SystemExit: a worker of the fleet whose grace period ran out (billiard's SIGTERM).
        message = "interrupted (SIGINT or SIGTERM)"
        raise
    except Exception as exc:
        message = f"internal error: {type(exc).__name__}: {exc}"
        raise
    finally:
        if status == "discarded":
            context.activities.discard(record.activity_id)
        else:
            finished = context.activities.finish(
                record.activity_id, status, message, record.meta.to_json(), record.backup_id
            )
            call_after_run_hooks(context, finished)


def call_after_run_hooks(context: Context, finished: Activity) -> None:
    """Call every after-run hook of ``context`` with the finished row, in order; never raises."""
    for hook in context.after_run:
        try:
            hook(context, finished)
        except Exception as exc:  # a side effect never changes the job's result
            logger.error(
                "after %s (activity %s): %s failed: %s: %s",
                finished.job,
                finished.id,
                getattr(hook, "__name__", repr(hook)),
                type(exc).__name__,
                exc,
            )


def call_chain_started(context: Context, target: str) -> None:
    """Tell every chain hook of ``context`` that a run of ``target`` begins; never raises."""
    for hook in context.around_chain:
        with _hook_logged(hook, target):
            hook.chain_started(context, target)


def call_chain_finished(context: Context, outcome: ChainOutcome) -> None:
    """Tell every chain hook of ``context`` how the run ended, in order; never raises."""
    for hook in context.around_chain:
        with _hook_logged(hook, outcome.target):
            hook.chain_finished(context, outcome)


@contextmanager
def _hook_logged(hook: ChainHook, target: str) -> Iterator[None]:
    try:
        yield
    except Exception as exc:  # a side effect never changes the run's result
        logger.error(
            "around the run of %s: %s failed: %s: %s",
            target,
            type(hook).__name__,
            type(exc).__name__,
            exc,
        )
