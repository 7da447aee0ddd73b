"""Text rendering of job results for people; ``--json`` documents are built beside the results."""

from __future__ import annotations

from backproof.clock import isoformat
from backproof.jobs.backup import BackupResult
from backproof.jobs.cleanup import CleanupResult
from backproof.jobs.health import HealthResult
from backproof.jobs.listing import ListedBackup
from backproof.jobs.run import RunResult, StepOutcome
from backproof.jobs.verify import VerifyResult, describe_proof
from backproof.state.activities import Activity

STATUS_MARKS = {"ok": "✓", "pending": "…", "warning": "!", "failing": "✗"}


def human_bytes(size_bytes: float) -> str:
    """Return ``1.5 MB`` style sizes (powers of 1000, as disks are sold)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(size_bytes) < 1000 or unit == "TB":
            return f"{size_bytes:.0f} {unit}" if unit == "B" else f"{size_bytes:.1f} {unit}"
        size_bytes /= 1000
    return f"{size_bytes:.1f} TB"


def render_backup(result: BackupResult) -> str:
    """Return the summary of a backup."""
    lines = [
        f"backup {result.backup_id} of {result.target}: {human_bytes(result.size_bytes)} "
        f"on {', '.join(result.destinations)}"
    ]
    lines += [f"  not on {name}: {error}" for name, error in result.failed_destinations.items()]
    return "\n".join(lines)


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
    return "\n".join(lines)


def render_verify(result: VerifyResult) -> str:
    """Return the summary of a passed verify."""
    return (
        f"verify passed: backup {result.backup_id} from {result.destination} restored in "
        f"{result.restore_duration_seconds:.2f} s; " + ", ".join(describe_proof(result))
    )


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
    """Return one line per backup, newest first."""
    if not backups:
        return "no committed backups"
    lines = []
    for item in backups:
        verified = f"verified {isoformat(item.verified_at)}" if item.verified_at else "not verified"
        lines.append(
            f"{item.manifest.id}  {item.manifest.target}  "
            f"{isoformat(item.manifest.created_at)}  {human_bytes(item.size_bytes):>9}  "
            f"{verified}"
        )
    return "\n".join(lines)


def render_activities(activities: list[Activity]) -> str:
    """Return one line per activity, newest first."""
    if not activities:
        return "no activities"
    return "\n".join(
        f"{activity.id:>6}  {isoformat(activity.started_at)}  {activity.job:<8} "
        f"{activity.target or '-':<10} {activity.status:<8} "
        f"{(activity.duration_ms or 0) / 1000:>8.2f}s  {activity.message or ''}"
        for activity in activities
    )


def render_step(step: StepOutcome) -> str:
    """Return one line for a job of the chain."""
    if step.skipped_because:
        return f"– {step.job}: skipped ({step.skipped_because})"
    if step.error is not None:
        return f"✗ {step.job}: {step.error}"
    if isinstance(step.result, BackupResult):
        return "✓ " + render_backup(step.result).splitlines()[0]
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
