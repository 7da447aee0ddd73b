"""The document behind ``/targets/<name>``: backups, a 90-day calendar, trends, checks, log."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from backproof.clock import isoformat
from backproof.state.activities import Activity, ActivityLog
from backproof.state.records import BackupMeta, VerifyMeta
from backproof.state.trail_queries import daily_outcomes, latest_of_backups, page_activities
from backproof.web.views.activities import ActivityRow, activity_row
from backproof.web.views.overview import TargetCard, verify_depth
from backproof.web.views.running import TIME

CALENDAR_DAYS = 90
BACKUP_ROWS = 30
LOG_ROWS = 25


class BackupRow(BaseModel):
    """One backup of the target, as its backup run recorded it."""

    id: str
    finished_at: str | None = Field(description=TIME)
    size_bytes: int | None
    destinations: list[str]
    verified_at: str | None = Field(description=f"when a verify last passed, {TIME}")
    verified_depth: str | None
    partial: bool = Field(description="it missed a destination")
    unsigned: bool = Field(description="its manifest carries no signature")
    encrypted: bool


class CalendarDay(BaseModel):
    """One day (UTC) of the calendar heatmap."""

    day: str = Field(description="YYYY-MM-DD, UTC")
    outcome: str = Field(description="passed, failed or none")
    passed: int
    failed: int


class TrendPoint(BaseModel):
    """One point of a trend chart."""

    at: str = Field(description=TIME)
    value: float


class TargetPage(BaseModel):
    """Everything about one target."""

    card: TargetCard
    backups: list[BackupRow]
    calendar: list[CalendarDay] = Field(description=f"{CALENDAR_DAYS} days, oldest first")
    restore_trend: list[TrendPoint] = Field(description="restore durations in seconds")
    size_trend: list[TrendPoint] = Field(description="stored backup sizes in bytes")
    activities: list[ActivityRow]


def build_target_page(
    log: ActivityLog,
    card: TargetCard,
    restore_trend: tuple[tuple[datetime, float], ...],
    now: datetime,
) -> TargetPage:
    """Return the page of the target of ``card``."""
    target = card.target
    backups = log.find(job="backup", target=target, statuses=["success"], limit=BACKUP_ROWS)
    backup_ids = [row.backup_id for row in backups if row.backup_id]
    verifies = latest_of_backups(log, "verify", target, ["success"], backup_ids)
    return TargetPage(
        card=card,
        backups=[_backup_row(row, verifies.get(row.backup_id or "")) for row in backups],
        calendar=build_calendar(
            daily_outcomes(log, target, ("backup", "verify"), _first_day(now)), now
        ),
        restore_trend=[TrendPoint(at=isoformat(at) or "", value=v) for at, v in restore_trend],
        size_trend=[
            TrendPoint(at=isoformat(row.started_at) or "", value=float(size))
            for row in reversed(backups)
            if (size := BackupMeta.read(row).size_bytes) is not None
        ],
        activities=[
            activity_row(row) for row in page_activities(log, target=target, limit=LOG_ROWS)
        ],
    )


def build_calendar(counts: Mapping[str, Mapping[str, int]], now: datetime) -> list[CalendarDay]:
    """Return the last ``CALENDAR_DAYS`` days (UTC) with how many runs passed and failed,
    from the counts per day (``YYYY-MM-DD``) and status."""
    days = []
    for offset in range(CALENDAR_DAYS - 1, -1, -1):
        day = (now - timedelta(days=offset)).date().isoformat()
        passed = counts.get(day, {}).get("success", 0)
        failed = counts.get(day, {}).get("failed", 0)
        outcome = "failed" if failed else "passed" if passed else "none"
        days.append(CalendarDay(day=day, outcome=outcome, passed=passed, failed=failed))
    return days


def _first_day(now: datetime) -> datetime:
    start = now - timedelta(days=CALENDAR_DAYS - 1)
    return start.replace(hour=0, minute=0, second=0, microsecond=0)


def _backup_row(row: Activity, verify: Activity | None) -> BackupRow:
    meta = BackupMeta.read(row)
    return BackupRow(
        id=row.backup_id or "",
        finished_at=isoformat(row.finished_at),
        size_bytes=meta.size_bytes,
        destinations=meta.destinations,
        verified_at=isoformat(verify.finished_at) if verify else None,
        verified_depth=verify_depth(VerifyMeta.read(verify)) if verify else None,
        partial=bool(meta.failed_destinations),
        unsigned=not meta.signed,
        encrypted=meta.encrypted,
    )
