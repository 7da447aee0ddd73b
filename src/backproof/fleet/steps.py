"""One job of a submission, run by a worker the way the CLI would run it, and its record.

A submission is one job of one target, or the chain ``run`` (backup, cleanup, verify, report,
health). The chain is sent as one Celery chain of steps, each to its job's queue, so that its
order holds per target while verify and backup go to different workers; each step gets the
records of the steps before it, and judges from them whether it still runs.
"""

from __future__ import annotations

from typing import Any

from backproof.assessment import HealthResult
from backproof.cli.render import render_step
from backproof.errors import BackproofError, ConfigError, LockTimeoutError
from backproof.fleet.slots import hold_verify_slot, verify_server_of
from backproof.jobs.context import Context
from backproof.jobs.run import CHAIN_JOBS, StepOutcome, run_chain_step
from backproof.jobs.verify import run_verify

JOBS = (*CHAIN_JOBS, "run")
# A step that found a configuration error: it ran nothing, and the steps after it do not run.
REFUSED = "refused"
StepRecord = dict[str, Any]


def steps_of(job: str) -> tuple[str, ...]:
    """Return the jobs a submission of ``job`` runs, in order."""
    return CHAIN_JOBS if job == "run" else (job,)


def run_step(
    context: Context,
    job: str,
    target: str,
    previous: list[StepRecord],
    backup_id: str | None = None,
) -> StepRecord:
    """Run ``job`` for ``target`` after the ``previous`` steps of its chain; return its record.

    A verify first takes a slot of its verify server (``queue.verifies_per_server``); it proves
    ``backup_id`` when given (the dashboard's "Verify" of one backup), else the newest.
    """
    if any(step["status"] == REFUSED for step in previous):
        return to_record(StepOutcome(job, skipped_because="a configuration error stopped the run"))
    backup_failed = any(
        step["job"] == "backup" and step["status"] != "success" for step in previous
    )
    if job != "verify" or backup_failed:
        return to_record(run_chain_step(context, job, target, backup_failed))
    server = verify_server_of(context.settings, target)
    slots = context.settings.queue.verifies_per_server
    with hold_verify_slot(context.activities.engine, server, slots):
        if backup_id is None:
            return to_record(run_chain_step(context, job, target))
        try:
            return to_record(StepOutcome(job, result=run_verify(context, target, backup_id)))
        except BackproofError as exc:
            return to_record(StepOutcome(job, error=exc))


def to_record(outcome: StepOutcome) -> StepRecord:
    """Return the JSON record of one step: status, exit code and the line a person reads."""
    if outcome.skipped_because is not None:
        status, exit_code = "skipped", 0
    elif isinstance(outcome.error, ConfigError):
        status, exit_code = REFUSED, outcome.error.exit_code  # nothing ran, nothing recorded
    elif outcome.error is not None:
        skipped = isinstance(outcome.error, LockTimeoutError)
        status, exit_code = ("skipped" if skipped else "failed"), outcome.error.exit_code
    elif isinstance(outcome.result, HealthResult):
        status, exit_code = outcome.result.status, 0 if outcome.result.is_healthy else 1
    else:
        status, exit_code = "success", 0
    return {
        "job": outcome.job,
        "status": status,
        "exit_code": exit_code,
        "line": render_step(outcome),
    }


def exit_code_of(steps: list[StepRecord]) -> int:
    """Return the exit code of a submission, as the local command would: 0 when every step that
    ran succeeded (health ok or pending), else the first non-zero code."""
    return next((int(step["exit_code"]) for step in steps if step["exit_code"]), 0)
