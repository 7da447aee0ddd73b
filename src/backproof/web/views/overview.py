"""The document behind ``/``: a card per target (health with its reasons, newest backup, last
proved restore, RPO light, next run, what runs now)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pydantic import BaseModel, Field

from backproof.assessment import HealthResult
from backproof.clock import isoformat
from backproof.health import Check, TargetHealth
from backproof.state.activities import Activity
from backproof.state.records import VerifyMeta
from backproof.status import TargetFigures
from backproof.web.status_document import (
    TIME,
    BackupStatus,
    CheckStatus,
    backup_status,
    check_status,
)
from backproof.web.views.running import RunningJob

RPO_LIGHTS = {"ok": "green", "warning": "amber", "failing": "red", "pending": "grey"}
# An ok RPO turns amber once the newest backup has used this share of the allowed age: the next
# backup had better come soon.
AMBER_SHARE = 0.8


class ProofStatus(BaseModel):
    """The last verify that proved a backup restores."""

    backup_id: str | None
    finished_at: str | None = Field(description=TIME)
    restore_duration_seconds: float | None
    depth: str = Field(description="what the restore was compared with")


class RpoStatus(BaseModel):
    """How old the newest backup is against the allowed age."""

    light: str = Field(
        description="green; amber from 80 % of the allowed age; red past it; grey: no backup yet"
    )
    age_hours: float | None
    threshold_hours: float | None


class TargetCard(BaseModel):
    """One target on the overview."""

    target: str
    status: str = Field(description="ok, pending, warning or failing")
    reasons: list[str] = Field(description="the messages of the checks that are not ok")
    checks: list[CheckStatus]
    newest_backup: BackupStatus | None
    last_proof: ProofStatus | None
    last_verify_failed: bool = Field(description="the newest verify failed")
    rpo: RpoStatus
    next_run_at: str | None = Field(description=TIME)
    running: list[RunningJob]


class Overview(BaseModel):
    """Every target, and what runs now."""

    status: str
    generated_at: str = Field(description=TIME)
    targets: list[TargetCard]
    running: list[RunningJob]


def build_overview(
    health: HealthResult,
    now: datetime,
    next_runs: Mapping[str, datetime | None],
    running: list[RunningJob],
) -> Overview:
    """Return the overview of a health assessment, the next runs and the running jobs."""
    cards = [
        build_card(verdict, figures, next_runs.get(verdict.target), running)
        for verdict, figures in zip(health.targets, health.figures, strict=True)
    ]
    return Overview(
        status=health.status, generated_at=isoformat(now) or "", targets=cards, running=running
    )


def build_card(
    verdict: TargetHealth,
    figures: TargetFigures,
    next_run_at: datetime | None,
    running: list[RunningJob],
) -> TargetCard:
    """Return the card of one target."""
    rpo = next((check for check in verdict.checks if check.name == "rpo"), None)
    last_verify = figures.last_verify
    return TargetCard(
        target=verdict.target,
        status=verdict.status,
        reasons=[check.message for check in verdict.checks if check.status != "ok"],
        checks=[check_status(check) for check in verdict.checks],
        newest_backup=backup_status(figures),
        last_proof=proof_status(figures.last_passed_verify),
        last_verify_failed=last_verify is not None and last_verify.status == "failed",
        rpo=rpo_status(rpo, figures.newest_backup_age_hours),
        next_run_at=isoformat(next_run_at),
        running=[job for job in running if job.target == verdict.target],
    )


def rpo_status(rpo: Check | None, age_hours: float | None) -> RpoStatus:
    """Return the RPO light: the check's verdict, amber once an ok age nears the limit."""
    light = RPO_LIGHTS[rpo.status] if rpo else "grey"
    threshold = rpo.threshold if rpo else None
    if light == "green" and age_hours is not None and threshold:
        light = "amber" if age_hours >= AMBER_SHARE * threshold else "green"
    return RpoStatus(light=light, age_hours=age_hours, threshold_hours=threshold)


def proof_status(verify: Activity | None) -> ProofStatus | None:
    """Return what a passed verify proved, None without one."""
    if verify is None:
        return None
    meta = VerifyMeta.read(verify)
    return ProofStatus(
        backup_id=verify.backup_id,
        finished_at=isoformat(verify.finished_at),
        restore_duration_seconds=meta.restore_duration_seconds,
        depth=verify_depth(meta),
    )


def verify_depth(meta: VerifyMeta) -> str:
    """Return in words how deep a verify proved the backup, from what it recorded."""
    rows = f"{meta.rows:,}" if meta.rows is not None else "?"
    phrases = []
    if meta.depth == "content":
        phrases.append(f"content: all {meta.tables} tables identical ({rows} rows)")
    elif meta.tables:
        phrases.append(f"counts: {meta.tables} tables, {rows} rows, {meta.sampled_rows} sampled")
    if meta.integrity_checked:
        phrases.append(f"{meta.integrity_checked} {meta.integrity_what or 'objects'} checked")
    if meta.files:
        phrases.append(f"{meta.files:,} files identical")
    return "; ".join(phrases) or "restored"
