"""The figures of a target (the spec's BackupStatusService): what health, metrics and the report
are computed from. Read from the audit trail with indexed, bounded queries, so a scrape costs the
same whatever the size of ``ops_activities``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from backproof.clock import SKEW_TOLERANCE
from backproof.state.activities import Activity, ActivityLog
from backproof.state.activity_statements import Slot
from backproof.state.records import BackupMeta, VerifyMeta
from backproof.state.trail_queries import FAILING_NAMED, failing_kept_backups

FINISHED = ("success", "failed")
TREND_POINTS = 30
# How many verifies are read back for the kept backups that no longer restore: a backup whose
# latest proof failed is proved again first by each scheduled verify, so its latest proof is
# always among the recent ones.
PROOFS_READ = 100
# Every row a target's figures show, read in one statement (``ActivityLog.rows_by_slot``), the
# bounded slots split at the clock plus the skew tolerance: the last finished backup, cleanup
# and health, the last passed cleanup (the destinations' inventory), the last `health ack`, the
# last passed verify, the two newest good backups, the backups dated ahead of the clock, the
# recent verifies (the trend and the failures in a row), and the failed verify of each backup
# whose latest proof (among the recent ones) failed.
FIGURE_SLOTS = (
    Slot("backup", FINISHED),
    Slot("cleanup", FINISHED),
    Slot("cleanup", ("success",)),
    Slot("health", FINISHED),
    Slot("ack", ("success",)),
    Slot("verify", ("success",)),
    Slot("backup", ("success",), limit=2, bound="before"),
    Slot("backup", ("success",), limit=5, bound="from"),
    Slot("verify", FINISHED, limit=TREND_POINTS),
    Slot("verify", ("failed",), limit=FAILING_NAMED, among=(FINISHED, PROOFS_READ)),
)


@dataclass(frozen=True)
class TargetFigures:
    """What is known about one target's recent runs."""

    target: str
    now: datetime
    window_days: int
    backups_total: int
    backups_succeeded: int
    verifies_total: int
    verifies_succeeded: int
    newest_backup: Activity | None
    previous_backup: Activity | None
    last_backup: Activity | None
    last_verify: Activity | None
    last_passed_verify: Activity | None
    consecutive_verify_failures: int
    restore_trend: tuple[tuple[datetime, float], ...]
    acknowledged_at: datetime | None = None
    """When ``health ack`` last acknowledged this target's failures: rates count from then."""
    last_cleanup: Activity | None = None
    last_passed_cleanup: Activity | None = None
    last_health: Activity | None = None
    # Successful backups dated ahead of the clock (made while the host's clock was wrong):
    # never the newest, a warning while they are recorded.
    skewed_backups: tuple[Activity, ...] = ()
    # The failed verify of each kept backup whose latest proof failed (it no longer restores):
    # a warning while the backup is kept, until it is proved again or deleted.
    failing_backups: tuple[Activity, ...] = ()

    @property
    def backup_success_rate(self) -> float | None:
        """Return the ratio (0..1) of successful backups in the window, None without runs."""
        return self.backups_succeeded / self.backups_total if self.backups_total else None

    @property
    def verify_success_rate(self) -> float | None:
        """Return the ratio (0..1) of passed verifies in the window, None without runs."""
        return self.verifies_succeeded / self.verifies_total if self.verifies_total else None

    @property
    def newest_backup_age_hours(self) -> float | None:
        """Return the age of the newest valid backup (the RPO figure)."""
        return _age_hours(self.now, self.newest_backup)

    @property
    def last_verify_age_hours(self) -> float | None:
        """Return how long ago a verify last passed."""
        return _age_hours(self.now, self.last_passed_verify)

    @property
    def restore_duration_seconds_last(self) -> float | None:
        """Return the restore duration of the last passed verify."""
        if self.last_passed_verify is None:
            return None
        return VerifyMeta.read(self.last_passed_verify).restore_duration_seconds

    @property
    def newest_dump_size_bytes(self) -> int | None:
        """Return the raw (uncompressed) size of the newest backup's database dump."""
        return _dump_size(self.newest_backup)

    @property
    def previous_dump_size_bytes(self) -> int | None:
        """Return the raw size of the database dump of the backup before the newest."""
        return _dump_size(self.previous_backup)

    @property
    def newest_backup_size_bytes(self) -> int | None:
        """Return the stored size of the newest backup."""
        if self.newest_backup is None:
            return None
        return BackupMeta.read(self.newest_backup).size_bytes or 0

    @property
    def newest_backup_missing_destinations(self) -> list[str]:
        """Return the destinations the newest backup did not reach."""
        if self.newest_backup is None:
            return []
        return BackupMeta.read(self.newest_backup).failed_destinations


def collect_figures(
    log: ActivityLog, target: str, now: datetime, window_days: int
) -> TargetFigures:
    """Return a target's figures as of ``now``, read with a few indexed queries; runs before
    the last ``health ack`` don't count."""
    ahead = now + SKEW_TOLERANCE
    (
        last_runs_backup,
        last_runs_cleanup,
        last_runs_passed_cleanup,
        last_runs_health,
        acknowledgements,
        last_passes,
        good_backups,
        ahead_backups,
        recent_verifies,
        failing,
    ) = log.rows_by_slot(target, FIGURE_SLOTS, ahead)
    acknowledgement = _first(acknowledgements)
    since = now - timedelta(days=window_days)
    acknowledged_at = acknowledgement.started_at if acknowledgement else None
    if acknowledged_at is not None:
        since = max(since, acknowledged_at)
    counts = log.count_by_job_and_status(("backup", "verify"), target, since)
    # Rows dated ahead of the clock stay ahead for years: `health ack` (a row written after
    # them) settles them once the backup is dealt with.
    skewed = [
        row for row in ahead_backups if acknowledgement is None or row.id > acknowledgement.id
    ]
    passed = [activity for activity in recent_verifies if activity.status == "success"]
    # A re-proof of an older backup that fails is judged as that backup's lasting warning
    # (failing_backups), not as a failure of the newest backup's verify.
    ordinary = [row for row in recent_verifies if not VerifyMeta.read(row).reproof]
    return TargetFigures(
        target=target,
        now=now,
        window_days=window_days,
        backups_total=sum(counts.get(("backup", status), 0) for status in FINISHED),
        backups_succeeded=counts.get(("backup", "success"), 0),
        verifies_total=sum(counts.get(("verify", status), 0) for status in FINISHED),
        verifies_succeeded=counts.get(("verify", "success"), 0),
        newest_backup=good_backups[0] if good_backups else None,
        previous_backup=good_backups[1] if len(good_backups) > 1 else None,
        last_backup=_first(last_runs_backup),
        last_verify=ordinary[0] if ordinary else None,
        last_passed_verify=_first(last_passes),
        consecutive_verify_failures=_leading_failures(ordinary, acknowledged_at),
        restore_trend=_restore_trend(passed),
        acknowledged_at=acknowledged_at,
        last_cleanup=_first(last_runs_cleanup),
        last_passed_cleanup=_first(last_runs_passed_cleanup),
        last_health=_first(last_runs_health),
        skewed_backups=tuple(skewed),
        failing_backups=tuple(failing_kept_backups(log, target, failing, acknowledged_at)),
    )


def _first(rows: list[Activity]) -> Activity | None:
    return rows[0] if rows else None


def _leading_failures(activities: list[Activity], acknowledged_at: datetime | None) -> int:
    count = 0
    for activity in activities:
        if activity.status != "failed":
            break
        if acknowledged_at is not None and activity.started_at <= acknowledged_at:
            break
        count += 1
    return count


def _restore_trend(passed: list[Activity]) -> tuple[tuple[datetime, float], ...]:
    points = [
        (activity.started_at, seconds)
        for activity in passed
        if (seconds := VerifyMeta.read(activity).restore_duration_seconds) is not None
    ]
    return tuple(reversed(points))


def _age_hours(now: datetime, activity: Activity | None) -> float | None:
    if activity is None:
        return None
    moment = activity.finished_at or activity.started_at
    return max(0.0, (now - moment).total_seconds() / 3600)


def _dump_size(activity: Activity | None) -> int | None:
    if activity is None:
        return None
    return BackupMeta.read(activity).db_raw_size_bytes
