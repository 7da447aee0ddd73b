"""The health verdict: a pure function of a target's figures and the thresholds.

Statuses, worst first: ``failing``, ``warning``, ``pending`` (not enough history yet), ``ok``.
The verdict of a target is its worst check; the verdict of all targets is the worst target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from backproof.config.models import HealthSettings
from backproof.state.records import BackupMeta, VerifyMeta
from backproof.status import TargetFigures
from backproof.units import format_hours, format_seconds, format_size_bytes

Status = Literal["ok", "warning", "failing", "pending"]
SEVERITY: dict[str, int] = {"ok": 0, "pending": 1, "warning": 2, "failing": 3}
KEPT_BACKUPS_NAMED = 5
MESSAGE_CHARS = 160


@dataclass(frozen=True)
class Check:
    """One judged figure."""

    name: str
    status: Status
    value: float | None
    threshold: float | None
    message: str


@dataclass(frozen=True)
class TargetHealth:
    """The verdict for one target."""

    target: str
    status: Status
    checks: tuple[Check, ...]


def worst(statuses: list[Status]) -> Status:
    """Return the most severe status, ``pending`` when there is none."""
    if not statuses:
        return "pending"
    return max(statuses, key=lambda status: SEVERITY[status])


def evaluate_health(
    figures: TargetFigures, settings: HealthSettings, *, allow_unsigned: bool = False
) -> TargetHealth:
    """Judge a target's figures against the thresholds; return every check and the verdict.

    ``allow_unsigned`` is ``encryption.allow_unsigned``: accepting unsigned backups is a warning.
    """
    checks = (
        _check_rpo(figures, settings),
        _check_rate(
            "backup_success_rate",
            figures.backup_success_rate,
            figures.backups_total,
            settings.backup_success_rate_min_percent,
            settings,
        ),
        _check_rate(
            "verify_success_rate",
            figures.verify_success_rate,
            figures.verifies_total,
            settings.verify_success_rate_min_percent,
            settings,
        ),
        _check_verify_streak(figures),
        _check_verified_age(figures, settings),
        _check_size_drop(figures, settings),
        _check_emptied_tables(figures),
        _check_destinations(figures),
        _check_restore_duration(figures),
        _check_signing(figures, allow_unsigned),
        _check_clock(figures),
        _check_kept_backups(figures),
    )
    return TargetHealth(figures.target, worst([check.status for check in checks]), checks)


def _check_rpo(figures: TargetFigures, settings: HealthSettings) -> Check:
    age = figures.newest_backup_age_hours
    if age is None:
        return Check("rpo", "pending", None, settings.rpo_hours, "no committed backup yet")
    if age >= settings.rpo_hours:
        limit = format_hours(settings.rpo_hours)
        message = f"newest valid backup is {format_hours(age)} old (RPO {limit})"
        return Check("rpo", "failing", age, settings.rpo_hours, message)
    message = f"newest valid backup is {format_hours(age)} old"
    return Check("rpo", "ok", age, settings.rpo_hours, message)


def _check_rate(
    name: str, rate: float | None, total: int, minimum_percent: float, settings: HealthSettings
) -> Check:
    """Judge a success rate; one too low over fewer than ``min_runs`` runs is ``pending``.

    One failed setup attempt among the first runs would otherwise keep a new installation at
    ``warning`` for a whole window; a rate that meets the minimum is ``ok`` from the first run.
    """
    window_days = settings.window_days
    if rate is None:
        return Check(name, "pending", None, minimum_percent, f"no run in the last {window_days} d")
    percent = rate * 100
    message = f"{percent:.1f} % of {total} runs in {window_days} d succeeded"
    if percent < minimum_percent and total < settings.min_runs:
        message += f" (judged from {settings.min_runs} runs on)"
        return Check(name, "pending", percent, minimum_percent, message)
    if percent < minimum_percent:
        return Check(
            name, "warning", percent, minimum_percent, message + f" (< {minimum_percent:g} %)"
        )
    return Check(name, "ok", percent, minimum_percent, message)


def _check_verify_streak(figures: TargetFigures) -> Check:
    streak = figures.consecutive_verify_failures
    if streak >= 2:
        return Check("verify_streak", "failing", streak, 2, f"the last {streak} verifies failed")
    if streak == 1:
        return Check("verify_streak", "warning", streak, 2, "the last verify failed")
    return Check("verify_streak", "ok", 0, 2, "the last verify passed or none ran")


def _check_verified_age(figures: TargetFigures, settings: HealthSettings) -> Check:
    age = figures.last_verify_age_hours
    limit = settings.verify_max_age_hours
    if age is None:
        return Check("verified_age", "pending", None, limit, "no backup has been verified yet")
    message = f"last passed verify {format_hours(age)} ago"
    return Check("verified_age", "warning" if age >= limit else "ok", age, limit, message)


def _check_size_drop(figures: TargetFigures, settings: HealthSettings) -> Check:
    newest, previous = figures.newest_dump_size_bytes, figures.previous_dump_size_bytes
    limit = settings.size_drop_warning_percent
    if not newest or not previous:
        return Check("dump_size", "ok", None, limit, "not enough backups to compare sizes")
    drop_percent = max(0.0, (previous - newest) / previous * 100)
    message = (
        f"newest dump {format_size_bytes(newest)}, previous {format_size_bytes(previous)} "
        f"({drop_percent:.0f} % smaller)"
    )
    if drop_percent >= limit:
        return Check("dump_size", "warning", drop_percent, limit, message)
    return Check("dump_size", "ok", drop_percent, limit, message)


def _check_emptied_tables(figures: TargetFigures) -> Check:
    """Warn about tables that had rows in the backup before and have none in the newest.

    The dump size cannot show this for SQLite, whose file keeps its size when rows are deleted.
    """
    newest = BackupMeta.read(figures.newest_backup).table_rows if figures.newest_backup else None
    previous = (
        BackupMeta.read(figures.previous_backup).table_rows if figures.previous_backup else None
    )
    if not newest or not previous:
        return Check("emptied_tables", "ok", None, 0, "not enough backups to compare tables")
    emptied = sorted(
        table for table, rows in previous.items() if rows > 0 and newest.get(table, 0) == 0
    )
    if emptied:
        listed = ", ".join(f"{table} (had {previous[table]} rows)" for table in emptied)
        message = f"tables emptied since the backup before: {listed}"
        return Check("emptied_tables", "warning", len(emptied), 0, message)
    return Check("emptied_tables", "ok", 0, 0, "no table was emptied since the backup before")


def _check_destinations(figures: TargetFigures) -> Check:
    missing = figures.newest_backup_missing_destinations
    if missing:
        message = "newest backup is partial: missing on " + ", ".join(missing)
        return Check("destinations", "warning", len(missing), 0, message)
    return Check("destinations", "ok", 0, 0, "newest backup reached every destination")


def _check_restore_duration(figures: TargetFigures) -> Check:
    seconds = figures.restore_duration_seconds_last
    if seconds is None:
        return Check("restore_duration", "ok", None, None, "no restore measured yet")
    return Check(
        "restore_duration", "ok", seconds, None, f"last restore took {format_seconds(seconds)}"
    )


def _check_signing(figures: TargetFigures, allow_unsigned: bool) -> Check:
    """Warn while unsigned backups are accepted: a storage writer can then feed verify."""
    if allow_unsigned:
        message = (
            "encryption.allow_unsigned = true: unsigned backups are accepted, so anyone who can "
            "write the storage can make verify import what they want; remove it once every "
            "retained backup is signed"
        )
        return Check("signing", "warning", None, None, message)
    newest = BackupMeta.read(figures.newest_backup) if figures.newest_backup else None
    if newest is not None and "signed" in newest.model_fields_set and not newest.signed:
        return Check("signing", "warning", 0, None, "the newest backup is not signed")
    return Check("signing", "ok", None, None, "every manifest must be signed")


def _check_clock(figures: TargetFigures) -> Check:
    """Warn about backups whose times cannot be believed: they are never the newest."""
    last_verify = figures.last_verify
    reasons = dict(VerifyMeta.read(last_verify).clock_skew) if last_verify else {}
    for row in figures.skewed_backups:
        moment = row.started_at.isoformat(timespec="seconds")
        reasons.setdefault(str(row.backup_id), f"recorded at {moment}, ahead of the clock")
    if reasons:
        listed = "; ".join(f"backup {key}: {why}" for key, why in reasons.items())
        message = f"times cannot be believed, never taken as newest: {listed}"
        return Check("clock", "warning", len(reasons), 0, message)
    return Check("clock", "ok", 0, 0, "every backup's times agree with the clock and storage")


def _check_kept_backups(figures: TargetFigures) -> Check:
    """Warn while a kept backup's latest proof failed: it no longer restores (bit rot, a lost
    part or key), until it is proved again or retention deletes it."""
    failing = figures.failing_backups
    if not failing:
        return Check("kept_backups", "ok", 0, 0, "no kept backup failed its latest proof")
    listed = "; ".join(
        f"backup {row.backup_id} (proof of {(row.finished_at or row.started_at):%Y-%m-%d %H:%M}"
        f" failed: {_first_line(row.message)})"
        for row in failing[:KEPT_BACKUPS_NAMED]
    )
    hidden = len(failing) - KEPT_BACKUPS_NAMED
    more = f" and {hidden} more" if hidden > 0 else ""
    counted = (
        "1 kept backup no longer restores"
        if len(failing) == 1
        else (f"{len(failing)} kept backups no longer restore")
    )
    message = f"{counted}: {listed}{more}"
    return Check("kept_backups", "warning", len(failing), 0, message)


def _first_line(message: str | None) -> str:
    text = message.splitlines()[0] if message else "no message"
    return text if len(text) <= MESSAGE_CHARS else text[: MESSAGE_CHARS - 1] + "…"
