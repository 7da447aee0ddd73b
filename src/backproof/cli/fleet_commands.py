"""``backproof worker`` and ``backproof submit``: the fleet's commands (issue 15)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import click

from backproof.cli.main import Invocation, cli, emit, pass_invocation, target_lookup
from backproof.errors import UsageError

if TYPE_CHECKING:
    from backproof.config.models import Settings
    from backproof.state.queue import QueueEntry

JOB_NAMES = ("run", "backup", "cleanup", "verify", "report", "health")


def _queue_settings(settings: Settings) -> Settings:
    if settings.queue.broker_url is None:
        raise UsageError(
            "no [queue] broker_url in the config: the fleet commands need a broker "
            "(redis://… or amqp://…); without one, run the job here (`backproof run`)"
        )
    return settings


@cli.command()
@click.option("--concurrency", type=click.IntRange(1, 256), help="Jobs at once (default: cores).")
@click.option("--queues", metavar="Q1,Q2", help="Queues to take jobs from (default: all).")
@click.option("--name", metavar="NAME", help="Worker name (default: backproof-<pid>@<host>).")
@pass_invocation
def worker(
    invocation: Invocation, concurrency: int | None, queues: str | None, name: str | None
) -> None:
    """Run a Celery worker that executes the jobs sent to the queue."""
    import socket  # noqa: PLC0415 - a light --help (issue 12)

    from backproof.fleet.app import all_queues  # noqa: PLC0415 - Celery loads only here
    from backproof.fleet.worker import run_worker  # noqa: PLC0415
    from backproof.process.temporary_root import process_temporary_root  # noqa: PLC0415

    settings = _queue_settings(invocation.settings())
    chosen = [item for item in (queues or "").split(",") if item] or all_queues(settings.queue)
    # The jobs' temporary files and the pool's own live under the worker's folder, removed when
    # it exits; a worker killed with its pool leaves it to the next start.
    with process_temporary_root("worker", lambda line: click.echo(f"backproof: {line}", err=True)):
        run_worker(
            settings,
            concurrency or os.cpu_count() or 1,
            chosen,
            name or f"backproof-{os.getpid()}@{socket.gethostname()}",
        )


@cli.command()
@click.argument("job", type=click.Choice(JOB_NAMES))
@click.option("--target", metavar="T", help="Target name.")
@click.option("--all", "all_targets", is_flag=True, help="Every target (the default).")
@click.option("--wait", is_flag=True, help="Wait for the jobs; exit like the local command.")
@click.option("--timeout", type=float, metavar="SECONDS", help="With --wait: give up after this.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@pass_invocation
def submit(
    invocation: Invocation,
    job: str,
    target: str | None,
    all_targets: bool,
    wait: bool,
    timeout: float | None,
    as_json: bool,
) -> int:
    """Send a job (or the chain `run`) of targets to the workers' queue."""
    from backproof.fleet.submit import submit as submit_jobs  # noqa: PLC0415
    from backproof.fleet.submit import wait_for  # noqa: PLC0415
    from backproof.state.queue import JobQueueLog  # noqa: PLC0415

    settings = _queue_settings(invocation.settings())
    if target and all_targets:
        raise UsageError("--target and --all exclude each other")
    target_lookup(settings, target)
    names = [target] if target else [item.name for item in settings.targets]
    if job == "report":
        names = ["all"]  # the report covers every target at once
    log = JobQueueLog(invocation.context().activities.engine)
    submitted = submit_jobs(log, settings.queue, job, names)
    if not as_json:
        for item in submitted:
            click.echo(_queued_line(item.entry, item.is_new), err=wait)
    entries = [item.entry for item in submitted]
    if wait:
        show = None if as_json else _show_finished
        entries = wait_for(log, [entry.id for entry in entries], timeout, show)
    if as_json:
        documents = [
            {**entry.to_json(), "new": item.is_new}
            for entry, item in zip(entries, submitted, strict=True)
        ]
        emit({"jobs": documents}, "", as_json=True)
    failed = [entry for entry in entries if entry.exit_code]
    return 1 if wait and failed else 0


def _queued_line(entry: QueueEntry, is_new: bool) -> str:
    if is_new:
        return f"queued {entry.job} of {entry.target} ({entry.id})"
    where = f", {entry.status} on {entry.worker}" if entry.worker else f", {entry.status}"
    return f"already queued: {entry.job} of {entry.target} ({entry.id}{where})"


def _show_finished(entry: QueueEntry) -> None:
    lines = [str(step["line"]) for step in entry.result.get("steps", [])]
    heading = f"{entry.target} ({entry.job} on {entry.worker or '?'}):"
    click.echo("\n".join([heading, *(f"  {line}" for line in lines)]))
