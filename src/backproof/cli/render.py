"""Text rendering of job results for people; ``--json`` documents are built beside the results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from backproof.jobs.proof_summary import describe_proof
from backproof.units import format_duration_ms, format_seconds, format_size_bytes, format_time

if TYPE_CHECKING:
    # Types only: importing the jobs here would load every engine for `list` (start-up, issue 12).
    from backproof.assessment import HealthResult
    from backproof.filestore.collection import Collection
    from backproof.jobs.backup import BackupResult
    from backproof.jobs.cleanup import CleanupResult
    from backproof.jobs.listing import ListedBackup
    from backproof.jobs.reproof import ProofRound
    from backproof.jobs.run import RunResult, StepOutcome
    from backproof.jobs.verify import VerifyResult
    from backproof.state.activities import Activity

STATUS_MARKS = {"ok": "✓", "pending": "…", "warning": "!", "failing": "✗"}


def render_table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    """Return rows under a header row, columns padded to their widest cell; the last one free."""
    widths = [max(len(row[index]) for row in [header, *rows]) for index in range(len(header) - 1)]
    return "\n".join(
        "  ".join(
            [*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]]
        ).rstrip()
        for row in [header, *rows]
    )


def render_backup(result: BackupResult) -> str:
    """Return the summary of a backup."""
    lines = [
        f"backup {result.backup_id} of {result.target}: {format_size_bytes(result.size_bytes)} "
        f"on {', '.join(result.destinations)}"
    ]
    lines += [f"  not on {name}: {error}" for name, error in result.failed_destinations.items()]
    if result.created_signing_key is not None:
        lines.append(render_created_key(result))
    return "\n".join(lines)


def render_created_key(result: BackupResult) -> str:
    """Return the one-time notice of a generated signing key pair."""
    return (
        f"  signing: created the key pair {result.created_signing_key} (0600); its public key "
        "is recorded in the state database and every manifest is signed with it; "
        "`backproof keys show` prints it for a host that only verifies"
    )


def render_cleanup(result: CleanupResult) -> str:
    """Return what cleanup deleted (or would delete), per destination."""
    verb = "would delete" if result.dry_run else "deleted"
    lines = []
    for item in result.destinations:
        lines.append(
            f"{item.destination}: kept {len(item.kept)}, {verb} {len(item.deleted)} "
            f"backups and {len(item.debris)} debris"
        )
        lines += [f"  {verb} {backup_id} ({reason})" for backup_id, reason in item.deleted.items()]
        lines += [f"  {verb} debris {backup_id} (no manifest)" for backup_id in item.debris]
        lines += [f"  removed incomplete upload {key}" for key in item.incomplete_uploads]
        if item.collection is not None and item.collection.packs:
            lines.append("  " + describe_collection(item.collection, result.dry_run))
        lines += [
            f"  ! kept {backup_id}, never newest: {reason}"
            for backup_id, reason in item.flagged.items()
        ]
    return "\n".join(lines)


def describe_collection(collection: Collection, dry_run: bool) -> str:
    """Return one line on the files store's packs: what was (or would be) freed, what waits."""
    verb = "would free" if dry_run else "freed"
    deleted = len(collection.deleted) + len(collection.orphans)
    line = (
        f"files store: {collection.packs} packs ({collection.pack_bytes:,} bytes); {verb} "
        f"{collection.freed_bytes:,} bytes in {deleted} packs no backup names"
    )
    if collection.deferred:
        line += (
            f"; {len(collection.deferred)} packs wait until no backup is running "
            f"({', '.join(collection.running)})"
        )
    return line


def render_verify(result: VerifyResult) -> str:
    """Return the summary of a passed verify."""
    text = (
        f"verify passed: backup {result.backup_id} from {result.destination} restored in "
        f"{format_seconds(result.restore_duration_seconds)}; " + ", ".join(describe_proof(result))
    )
    if result.authentication:
        text += f"; {result.authentication}"
    for backup_id, reason in result.passed_over.items():
        text += f"\n  ! passed over backup {backup_id}: {reason}"
    for warning in result.warnings:
        text += f"\n  ! {warning}"
    return text


def render_proof_round(proofs: ProofRound) -> str:
    """Return one line per backup that ``verify --all`` proved or failed to prove."""
    lines = [render_verify(result) for result in proofs.passed]
    lines += [
        f"verify FAILED: backup {backup_id} of {proofs.target}: {error}"
        for backup_id, error in proofs.failed.items()
    ]
    total = len(proofs.passed) + len(proofs.failed)
    lines.append(f"{proofs.target}: {len(proofs.passed)} of {total} kept backups proved")
    return "\n".join(lines)


def render_health(result: HealthResult) -> str:
    """Return the verdict and every check."""
    lines = [f"health: {result.status}"]
    for verdict in result.targets:
        lines.append(f"  {verdict.target}: {verdict.status}")
        lines += [
            f"    {STATUS_MARKS[check.status]} {check.name}: {check.message}"
            for check in verdict.checks
        ]
    return "\n".join(lines)


def render_list(backups: list[ListedBackup]) -> str:
    """Return a table of the backups, newest first, each with its latest proof."""
    if not backups:
        return "no committed backups"
    rows = [
        (
            item.manifest.id,
            item.manifest.target,
            format_time(item.manifest.created_at),
            format_size_bytes(item.size_bytes),
            _proof_text(item),
        )
        for item in backups
    ]
    table = render_table(("ID", "TARGET", "CREATED", "SIZE", "LATEST PROOF"), rows)
    warnings = [
        f"! {item.manifest.id} is never taken as newest, its times cannot be believed: "
        f"{item.clock_warning}"
        for item in backups
        if item.clock_warning
    ]
    return "\n".join([table, *warnings])


def _proof_text(item: ListedBackup) -> str:
    if item.proof == "never":
        return "never verified"
    passed_depth = item.depth if item.proof == "passed" else None
    depth = f" ({DEPTH_WORDS.get(passed_depth, passed_depth)})" if passed_depth else ""
    return f"{item.proof} {format_time(item.proof_at)}{depth}"


# What each depth of a passed verify proved, in the words of ``list``.
DEPTH_WORDS = {
    "content": "every row",
    "counts": "row counts and samples",
    "files": "files",
}


def render_activities(activities: list[Activity]) -> str:
    """Return a table of the activities, newest first."""
    if not activities:
        return "no activities"
    rows = [
        (
            str(activity.id),
            format_time(activity.started_at),
            activity.job,
            activity.target or "-",
            activity.status,
            format_duration_ms(activity.duration_ms),
            " ".join((activity.message or "").split()),
        )
        for activity in activities
    ]
    header = ("ID", "STARTED", "JOB", "TARGET", "STATUS", "DURATION", "MESSAGE")
    return render_table(header, rows)


def render_step(step: StepOutcome) -> str:
    """Return one line for a job of the chain."""
    from backproof.jobs.backup import BackupResult  # noqa: PLC0415
    from backproof.jobs.cleanup import CleanupResult  # noqa: PLC0415
    from backproof.jobs.verify import VerifyResult  # noqa: PLC0415

    if step.skipped_because:
        return f"– {step.job}: skipped ({step.skipped_because})"
    if step.error is not None:
        return f"✗ {step.job}: {step.error}"
    if isinstance(step.result, BackupResult):
        line = "✓ " + render_backup(step.result).splitlines()[0]
        if step.result.created_signing_key is not None:
            line += "\n" + render_created_key(step.result)
        return line
    if isinstance(step.result, CleanupResult):
        return "✓ cleanup: " + render_cleanup(step.result).splitlines()[0]
    if isinstance(step.result, VerifyResult):
        return "✓ " + render_verify(step.result)
    if step.job == "report":
        return f"✓ report: written to {step.result.path}"
    return f"{STATUS_MARKS[step.result.status]} health: {step.result.status}"


def render_run(result: RunResult) -> str:
    """Return the chain, one line a job, and the health checks that are not ok."""
    lines = [render_step(step) for step in result.steps]
    health = result.health
    if health is not None:
        lines += [
            f"    {STATUS_MARKS[check.status]} {check.name}: {check.message}"
            for verdict in health.targets
            for check in verdict.checks
            if check.status != "ok"
        ]
    return "\n".join(lines)
