"""The document of ``GET /api/status``: per target the health with its checks, the newest
backup and the last verify. The pydantic models are the OpenAPI schema of the endpoint."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pydantic import BaseModel, Field

from backproof.assessment import HealthResult
from backproof.clock import isoformat
from backproof.health import Check, TargetHealth
from backproof.state.activities import Activity
from backproof.state.records import BackupMeta, VerifyMeta
from backproof.status import TargetFigures

TIME = "ISO 8601 in UTC with an offset"


class CheckStatus(BaseModel):
    """One judged figure, as in ``health --json``."""

    name: str = Field(description="rpo, backup_success_rate, verify_success_rate, …")
    status: str = Field(description="ok, pending, warning or failing")
    value: float | None = None
    threshold: float | None = None
    message: str


class BackupStatus(BaseModel):
    """The newest valid backup of a target."""

    id: str | None = Field(description="backup id, sortable by time")
    finished_at: str | None = Field(description=TIME)
    age_hours: float | None = Field(description="the RPO figure")
    size_bytes: int | None = Field(description="stored size of all parts")
    destinations: list[str] = Field(description="destinations that hold it")
    missing_destinations: list[str] = Field(description="destinations it did not reach")


class VerifyStatus(BaseModel):
    """The last finished verify of a target."""

    status: str = Field(description="success or failed")
    backup_id: str | None
    finished_at: str | None = Field(description=TIME)
    restore_duration_seconds: float | None
    message: str | None


class TargetStatus(BaseModel):
    """Everything an operator asks first about one target."""

    target: str
    status: str = Field(description="ok, pending, warning or failing: the worst check")
    checks: list[CheckStatus]
    newest_backup: BackupStatus | None
    last_verify: VerifyStatus | None
    next_run_at: str | None = Field(description=f"next scheduled run of the chain, {TIME}")


class StatusDocument(BaseModel):
    """The status of every target."""

    status: str = Field(description="the worst status of the targets")
    generated_at: str = Field(description=TIME)
    targets: list[TargetStatus]


def build_status_document(
    health: HealthResult, now: datetime, next_runs: Mapping[str, datetime | None]
) -> StatusDocument:
    """Return the status document of a health assessment and the scheduler's next runs."""
    targets = [
        _target_status(verdict, figures, next_runs.get(verdict.target))
        for verdict, figures in zip(health.targets, health.figures, strict=True)
    ]
    return StatusDocument(status=health.status, generated_at=isoformat(now) or "", targets=targets)


def _target_status(
    verdict: TargetHealth, figures: TargetFigures, next_run_at: datetime | None
) -> TargetStatus:
    return TargetStatus(
        target=verdict.target,
        status=verdict.status,
        checks=[check_status(check) for check in verdict.checks],
        newest_backup=backup_status(figures),
        last_verify=_verify_status(figures.last_verify),
        next_run_at=isoformat(next_run_at),
    )


def check_status(check: Check) -> CheckStatus:
    """Return one check as the API shows it."""
    return CheckStatus(
        name=check.name,
        status=check.status,
        value=check.value,
        threshold=check.threshold,
        message=check.message,
    )


def backup_status(figures: TargetFigures) -> BackupStatus | None:
    """Return the newest valid backup of a target's figures, None without one."""
    backup = figures.newest_backup
    if backup is None:
        return None
    return BackupStatus(
        id=backup.backup_id,
        finished_at=isoformat(backup.finished_at),
        age_hours=figures.newest_backup_age_hours,
        size_bytes=figures.newest_backup_size_bytes,
        destinations=BackupMeta.read(backup).destinations,
        missing_destinations=figures.newest_backup_missing_destinations,
    )


def _verify_status(verify: Activity | None) -> VerifyStatus | None:
    if verify is None:
        return None
    return VerifyStatus(
        status=verify.status,
        backup_id=verify.backup_id,
        finished_at=isoformat(verify.finished_at),
        restore_duration_seconds=VerifyMeta.read(verify).restore_duration_seconds,
        message=verify.message,
    )
