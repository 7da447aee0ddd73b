"""The commands of DESIGN's CLI contract; each calls one job and renders its result.

Each command imports its job in its body: ``--help`` and ``list`` load nothing they do not use
(start-up, issue 12).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from backproof.cli import render
from backproof.cli.durations import parse_duration
from backproof.cli.invocation_name import command_to_run
from backproof.cli.main import (
    Invocation,
    cli,
    destination_lookup,
    emit,
    pass_invocation,
    resolve_path,
    target_lookup,
)
from backproof.cli.progress import show_progress
from backproof.errors import OperationError, UsageError

if TYPE_CHECKING:
    from backproof.jobs.backup import BackupResult
    from backproof.jobs.context import Context

TARGET_OPTION = click.option(
    "--target", "target", metavar="T", help="Target name (default: every target)."
)
T = TypeVar("T")
# What `activities --job` takes: the job of every typed record (state.records, read lazily there,
# so --help loads no pydantic); a unit test keeps the two lists equal.
RECORDED_JOBS = (
    "ack",
    "alert",
    "backup",
    "check",
    "cleanup",
    "health",
    "report",
    "restore",
    "verify",
)
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")


def checked_context(
    invocation: Invocation,
    target: str | None,
    destination: str | None = None,
    *,
    open_state_now: bool = True,
) -> Context:
    """Return the context after checking the named target and destination exist."""
    settings = invocation.settings()
    target_lookup(settings, target)
    destination_lookup(settings, destination)
    return invocation.context(open_state_now=open_state_now)


def run_for_targets(
    context: Context, target: str | None, job: Callable[[str], T]
) -> list[tuple[str, T | OperationError]]:
    """Run ``job`` for the named target, or for every target; return each result or error.

    With one target an error propagates (one line, its exit code); with several, the others
    still run after one fails.
    """
    names = [target] if target else [item.name for item in context.settings.targets]
    if len(names) == 1:
        return [(names[0], job(names[0]))]
    outcomes: list[tuple[str, T | OperationError]] = []
    for name in names:
        try:
            outcomes.append((name, job(name)))
        except OperationError as exc:
            outcomes.append((name, exc))
    return outcomes


def show_outcomes(
    outcomes: list[tuple[str, T | OperationError]],
    show: Callable[[T], None],
    json_job: str | None = None,
) -> int:
    """Print each result, and each error as one line naming its target; return the exit code.

    With ``json_job`` (the command's ``--json``), one document holds every outcome instead.
    """
    from backproof.secret_values import mask_secrets  # noqa: PLC0415 - a light --help

    failed = sum(isinstance(outcome, OperationError) for _name, outcome in outcomes)
    if json_job is not None:
        from backproof.cli.json_output import outcomes_document  # noqa: PLC0415

        emit(outcomes_document(json_job, outcomes), "", as_json=True)
        return 1 if failed else 0
    for name, outcome in outcomes:
        if isinstance(outcome, OperationError):
            click.echo(f"backproof: error: {name}: {mask_secrets(str(outcome))}", err=True)
        else:
            show(outcome)
    return 1 if failed else 0


def show_backup(result: BackupResult) -> None:
    """Print the backup id on stdout and the summary on stderr."""
    click.echo(result.backup_id)
    click.echo(render.render_backup(result), err=True)


@cli.command()
@TARGET_OPTION
@JSON_OPTION
@pass_invocation
def backup(invocation: Invocation, target: str | None, as_json: bool) -> int:
    """Back up the database and files of a target; print the new backup id."""
    from backproof.jobs.early_dump import early_dump  # noqa: PLC0415 - before the heavy imports

    # The dump starts first and flows while the rest is imported and set up (issue 11).
    with early_dump(invocation.settings(), target) as early:
        from backproof.jobs.backup import run_backup  # noqa: PLC0415

        context = checked_context(invocation, target)
        with show_progress(context):
            outcomes = run_for_targets(
                context, target, lambda name: run_backup(context, name, early)
            )
    return show_outcomes(outcomes, show_backup, "backup" if as_json else None)


@cli.command()
@TARGET_OPTION
@click.option("--dry-run", is_flag=True, help="List what would be deleted; delete nothing.")
@JSON_OPTION
@pass_invocation
def cleanup(invocation: Invocation, target: str | None, dry_run: bool, as_json: bool) -> int:
    """Apply the retention policy and the storage cap; remove debris."""
    from backproof.jobs.cleanup import run_cleanup  # noqa: PLC0415

    context = checked_context(invocation, target)
    outcomes = run_for_targets(context, target, lambda name: run_cleanup(context, name, dry_run))
    return show_outcomes(
        outcomes,
        lambda result: click.echo(render.render_cleanup(result)),
        "cleanup" if as_json else None,
    )


@cli.command()
@TARGET_OPTION
@click.option("--backup", "backup_id", metavar="ID", help="Backup to verify (default: newest).")
@click.option("--from", "source", metavar="NAME", help="Destination to read (default: primary).")
@JSON_OPTION
@click.option("--all", "prove_all", is_flag=True, help="Prove every kept backup, oldest first.")
@pass_invocation
def verify(
    invocation: Invocation,
    target: str | None,
    backup_id: str | None,
    source: str | None,
    as_json: bool,
    prove_all: bool,
) -> int:
    """Restore a backup into a throw-away database and compare it with its facts."""
    from backproof.archive.reading import find_backup  # noqa: PLC0415
    from backproof.jobs.reproof import run_verify_all  # noqa: PLC0415
    from backproof.jobs.verify import run_verify  # noqa: PLC0415

    context = checked_context(invocation, target, source)
    if prove_all:
        if backup_id is not None:
            raise UsageError("--all proves every backup: leave out --backup")
        rounds = run_for_targets(
            context, target, lambda name: run_verify_all(context, name, source)
        )
        code = show_outcomes(
            rounds,
            lambda proofs: click.echo(render.render_proof_round(proofs)),
            "verify" if as_json else None,
        )
        failed = any(not isinstance(item, OperationError) and item.failed for _n, item in rounds)
        return 1 if failed else code
    if backup_id is not None and target is None:
        target = find_backup(context.storage(source), context.settings, backup_id).target
    outcomes = run_for_targets(
        context, target, lambda name: run_verify(context, name, backup_id, source)
    )
    return show_outcomes(
        outcomes,
        lambda result: click.echo(render.render_verify(result)),
        "verify" if as_json else None,
    )


@cli.command()
@TARGET_OPTION
@click.option("--output", metavar="PATH", help="Where to write the Markdown report.")
@JSON_OPTION
@pass_invocation
def report(invocation: Invocation, target: str | None, output: str | None, as_json: bool) -> None:
    """Write the Markdown report of backups, verifications and health."""
    from backproof.cli.json_output import to_json_value  # noqa: PLC0415
    from backproof.jobs.report import run_report  # noqa: PLC0415

    result = run_report(checked_context(invocation, target), target, resolve_path(output))
    emit(to_json_value(result), f"report written to {result.path}", as_json)


@cli.command()
@TARGET_OPTION
@JSON_OPTION
@pass_invocation
def run(invocation: Invocation, target: str | None, as_json: bool) -> int:
    """Backup, cleanup, verify, report and health, in that order."""
    from backproof.cli.json_output import run_document  # noqa: PLC0415
    from backproof.jobs.run import run_chain  # noqa: PLC0415

    context = checked_context(invocation, target)
    names = [target] if target else [item.name for item in context.settings.targets]
    with show_progress(context):
        results = [run_chain(context, name) for name in names]
    text = "\n".join(
        (f"{result.target}:\n" if len(names) > 1 else "") + render.render_run(result)
        for result in results
    )
    emit(run_document(results), text, as_json)
    return 0 if all(result.succeeded for result in results) else 1


@cli.command(name="list")
@TARGET_OPTION
@click.option("--from", "source", metavar="NAME", help="Destination to list (default: primary).")
@JSON_OPTION
@pass_invocation
def list_command(
    invocation: Invocation, target: str | None, source: str | None, as_json: bool
) -> None:
    """List committed backups, newest first."""
    from backproof.jobs.listing import list_backups  # noqa: PLC0415

    # The state database opens only if `list` cannot read a SQLite one at once (issue 12).
    context = checked_context(invocation, target, source, open_state_now=False)
    backups = list_backups(context, target, source)
    emit({"backups": [item.to_json() for item in backups]}, render.render_list(backups), as_json)


@cli.command()
@click.argument("backup_id", metavar="ID")
@click.option("--to", "database_url", metavar="URL", help="Database to restore into.")
@click.option("--files-to", "files_folder", metavar="DIR", help="Folder to restore the files into.")
@click.option("--force", is_flag=True, help="Restore over a database or folder that is not empty.")
@click.option(
    "--target", "target", metavar="T", help="Target the backup belongs to (default: found by ID)."
)
@click.option("--from", "source", metavar="NAME", help="Destination to read (default: primary).")
@click.option(
    "--table", "table", metavar="T", help="Restore only this table into the --to database."
)
@click.option("--replace", is_flag=True, help="With --table: replace a table of that name.")
@JSON_OPTION
@pass_invocation
def restore(
    invocation: Invocation,
    backup_id: str,
    database_url: str | None,
    files_folder: str | None,
    force: bool,
    target: str | None,
    source: str | None,
    table: str | None,
    replace: bool,
    as_json: bool,
) -> None:
    """Restore a backup (or one of its tables) into a database and/or its files into a folder."""
    from backproof.cli.json_output import to_json_value  # noqa: PLC0415
    from backproof.config.loading import resolve_url  # noqa: PLC0415
    from backproof.jobs.restore import (  # noqa: PLC0415
        TableChoice,
        describe_restore,
        run_restore,
    )

    if replace and table is None:
        raise UsageError("--replace goes with --table T")
    context = checked_context(invocation, target, source)
    if database_url:
        # A relative sqlite:///file is relative to where the user runs the command.
        database_url = resolve_url(database_url, Path.cwd())
    result = run_restore(
        context,
        backup_id,
        database_url,
        resolve_path(files_folder),
        force=force,
        target_name=target,
        destination_name=source,
        table=TableChoice(table, replace) if table is not None else None,
    )
    emit(to_json_value(result), describe_restore(result), as_json)


@cli.command()
@click.option(
    "--job",
    type=click.Choice(RECORDED_JOBS),
    metavar="J",
    help=f"Only this job ({', '.join(RECORDED_JOBS)}).",
)
@TARGET_OPTION
@click.option("--since", metavar="DURATION", help="Only the last 30m, 12h, 7d, 2w…")
@click.option("--limit", default=100, show_default=True, help="At most this many rows.")
@JSON_OPTION
@pass_invocation
def activities(
    invocation: Invocation,
    job: str | None,
    target: str | None,
    since: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Show the audit trail, newest first."""
    context = invocation.context()
    try:
        start = context.clock() - parse_duration(since) if since else None
    except ValueError as exc:
        raise UsageError(f"--since: {exc}") from exc
    rows = context.activities.find(job=job, target=target, since=start, limit=limit)
    emit({"activities": [row.to_json() for row in rows]}, render.render_activities(rows), as_json)


@cli.command()
@pass_invocation
def metrics(invocation: Invocation) -> None:
    """Print the Prometheus metrics once."""
    from backproof.metrics import render_metrics  # noqa: PLC0415

    click.echo(render_metrics(invocation.context()).decode(), nl=False)


@cli.command()
@click.option("--dir", "folder", default=".", show_default=True, help="Folder to create it in.")
@click.option("--force", is_flag=True, help="Replace an existing demo in the folder.")
@JSON_OPTION
def demo(folder: str, force: bool, as_json: bool) -> None:
    """Create a sample CRM (SQLite database + uploads folder) and a config for it."""
    from backproof.demo import create_demo  # noqa: PLC0415

    layout = create_demo(Path(folder).absolute(), overwrite=force)
    rows = ", ".join(f"{count} {table}" for table, count in layout.rows.items())
    next_command = f"cd {shlex.quote(str(layout.folder))} && {command_to_run()} run"
    text = "\n".join(
        [
            f"sample CRM in {layout.folder}: {rows}",
            f"config: {layout.config}",
            f"next: {next_command}",
        ]
    )
    document = {
        "folder": str(layout.folder),
        "config": str(layout.config),
        "rows": dict(layout.rows),
        "next": next_command,
    }
    emit(document, text, as_json)
