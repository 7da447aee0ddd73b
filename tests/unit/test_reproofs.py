"""Rolling re-verification: which kept backups a scheduled verify proves again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backproof.reproofs import KeptBackup, plan_reproofs

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)


def kept(day: int, proved_days_ago: float | None) -> KeptBackup:
    """A backup made ``day`` days ago, last proved ``proved_days_ago`` (None: never)."""
    proof = None if proved_days_ago is None else NOW - timedelta(days=proved_days_ago)
    return KeptBackup(f"b{day:02d}", NOW - timedelta(days=day), proof)


def test_the_backup_whose_proof_is_oldest_is_proved_again_first() -> None:
    backups = [kept(1, 1), kept(2, 9), kept(3, 4)]

    assert plan_reproofs(backups, NOW, reprove_days=30) == ["b02"]


def test_a_backup_never_proved_comes_before_any_proved_one() -> None:
    backups = [kept(1, 1), kept(5, 29), kept(9, None)]

    assert plan_reproofs(backups, NOW, reprove_days=30) == ["b09"]


def test_enough_backups_are_proved_per_day_to_cover_all_within_the_window() -> None:
    backups = [kept(day, day) for day in range(1, 21)]

    assert plan_reproofs(backups, NOW, reprove_days=7) == ["b20", "b19", "b18"]


def test_the_newest_and_recently_proved_backups_are_left_alone() -> None:
    backups = [kept(0, None), kept(1, 0.2), kept(2, 0.5)]

    assert plan_reproofs(backups, NOW, reprove_days=30, skip=["b00"]) == []


def test_a_backup_whose_last_proof_failed_is_proved_again_before_any_overdue_one() -> None:
    failed = KeptBackup("b03", NOW - timedelta(days=3), NOW - timedelta(days=1), True)
    backups = [kept(1, 1), failed, kept(5, 29), kept(9, None)]

    assert plan_reproofs(backups, NOW, reprove_days=30) == ["b03"]
