"""The daily chain: backup, cleanup, verify, report, health, in that order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from backproof.assessment import HealthResult
from backproof.errors import BackproofError, ConfigError
from backproof.jobs.backup import run_backup
from backproof.jobs.cleanup import run_cleanup
from backproof.jobs.context import ChainOutcome, Context
from backproof.jobs.health import run_health
from backproof.jobs.lifecycle import call_chain_finished, call_chain_started
from backproof.jobs.report import run_report
from backproof.jobs.reproof import run_scheduled_verify
from backproof.masking import describe_error


@dataclass
class StepOutcome:
    """One job of the chain: its result, or the error that ended it, or why it was skipped."""

    job: str
    result: Any = None
    error: BackproofError | None = None
    skipped_because: str | None = None

    @property
    def succeeded(self) -> bool:
        """Return True when the job ran and succeeded."""
        return self.error is None and self.skipped_because is None


@dataclass
class RunResult:
    """The whole chain for one target."""

    target: str
    steps: list[StepOutcome] = field(default_factory=list)

    @property
    def health(self) -> HealthResult | None:
        """Return the health verdict the chain ended with."""
        step = next((step for step in self.steps if step.job == "health"), None)
        return step.result if step and isinstance(step.result, HealthResult) else None

    @property
    def succeeded(self) -> bool:
        """Return True when every job succeeded and health is ok or pending."""
        health = self.health
        return all(step.succeeded for step in self.steps) and bool(health and health.is_healthy)


def run_chain(
    context: Context,
    target_name: str | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> RunResult:
    """Run the chain for one target; after a failed backup only report and health run.

    Raises ConfigError when a job finds a configuration error: the chain stops there (the jobs
    before it stay recorded; that job records nothing) and the dead man's switch hears /fail.

    ``should_stop`` (the service's shutdown) is asked before each job; once it answers True the
    remaining jobs are skipped, so a stopping service only waits for the job already running.
    """
    target = context.settings.target(target_name).name
    call_chain_started(context, target)
    result = RunResult(target)
    try:
        _run_steps(context, target, result, should_stop)
    except BaseException:
        # An interrupt or a bug still tells the chain hooks that this run failed.
        call_chain_finished(context, ChainOutcome(target, False, summarize_steps(result)))
        raise
    verdict = result.health.status if result.health else None
    jobs_succeeded = all(step.succeeded for step in result.steps)
    summary = summarize_steps(result, verdict)
    call_chain_finished(context, ChainOutcome(target, jobs_succeeded, summary))
    return result


def summarize_steps(result: RunResult, verdict: str | None = None) -> str:
    """Return one line per step of a run and the health verdict (a dead man's switch's body)."""
    lines = [f"backproof run of {result.target}"]
    for step in result.steps:
        if step.skipped_because is not None:
            lines.append(f"{step.job}: skipped ({step.skipped_because})")
        elif step.error is not None:
            lines.append(f"{step.job}: failed: {describe_error(step.error)}")
        else:
            lines.append(f"{step.job}: ok")
    if verdict is not None:
        lines.append(f"health verdict: {verdict}")
    return "\n".join(lines)


# The chain, in order: each job's call, and whether it still runs after a failed backup. The
# report covers every target, so that one target's run never drops the others.
CHAIN: tuple[tuple[str, Callable[[Context, str], Any], bool], ...] = (
    ("backup", run_backup, False),
    ("cleanup", run_cleanup, False),
    ("verify", run_scheduled_verify, False),
    ("report", lambda context, _target: run_report(context), True),
    ("health", run_health, True),
)
CHAIN_JOBS = tuple(job for job, _call, _after in CHAIN)


def run_chain_step(
    context: Context, job: str, target: str, backup_failed: bool = False
) -> StepOutcome:
    """Run one job of the chain for ``target`` (skipped when it must not run after a failed
    backup); a worker of the fleet runs the chain one step at a time through this."""
    _job, call, runs_after_failed_backup = next(step for step in CHAIN if step[0] == job)
    if backup_failed and not runs_after_failed_backup:
        return StepOutcome(job, skipped_because="the backup failed")
    try:
        return StepOutcome(job, result=call(context, target))
    except BackproofError as exc:
        return StepOutcome(job, error=exc)


def _run_steps(
    context: Context, target: str, result: RunResult, should_stop: Callable[[], bool] | None
) -> None:
    backup_failed = False
    for job in CHAIN_JOBS:
        if should_stop is not None and should_stop():
            result.steps.append(StepOutcome(job, skipped_because="the service is stopping"))
            continue
        outcome = run_chain_step(context, job, target, backup_failed)
        result.steps.append(outcome)
        if isinstance(outcome.error, ConfigError):
            # Nothing ran (the job discarded its row): the chain stops with exit 2, and no
            # report or health records a run that a setup mistake prevented.
            raise outcome.error
        backup_failed = backup_failed or (job == "backup" and not outcome.succeeded)
