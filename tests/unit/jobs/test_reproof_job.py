"""The scheduled verify proves every kept backup again within ``verify.reprove_days``, and
``verify --all`` proves them all."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from backproof.assessment import assess_health
from backproof.config.models import RetentionSettings
from backproof.health import Check
from backproof.jobs.backup import run_backup
from backproof.jobs.cleanup import run_cleanup
from backproof.jobs.context import Context
from backproof.jobs.listing import list_backups
from backproof.jobs.reproof import run_scheduled_verify, run_verify_all
from backproof.storage.memory import MemoryStorage

REPROVE_DAYS = 5


class ManualClock(Protocol):
    """The clock of the job fixtures, moved by hand."""

    now: datetime


def test_every_kept_backup_is_proved_within_the_window_over_a_month(
    memory_context: Context, manual_clock: ManualClock
) -> None:
    memory_context.settings.retention = RetentionSettings(
        keep_all_days=2, keep_daily_days=6, keep_weekly_weeks=3, keep_monthly_months=0
    )
    memory_context.settings.verify.reprove_days = REPROVE_DAYS
    oldest_proofs = []
    for _day in range(31):
        run_backup(memory_context)
        run_cleanup(memory_context)
        run_scheduled_verify(memory_context)
        listed = list_backups(memory_context)
        assert all(item.proof == "passed" for item in listed)
        oldest_proofs.append(
            max(manual_clock.now - (item.proof_at or manual_clock.now) for item in listed)
        )
        manual_clock.now += timedelta(days=1)

    assert len(listed) >= 8
    assert max(oldest_proofs) <= timedelta(days=REPROVE_DAYS)


def test_a_kept_backup_that_no_longer_restores_is_recorded_and_never_counts_as_verified(
    memory_context: Context, manual_clock: ManualClock, memory_storage: MemoryStorage
) -> None:
    first = run_backup(memory_context).backup_id
    run_scheduled_verify(memory_context)
    manual_clock.now += timedelta(days=1)
    run_backup(memory_context)
    db_key = next(key for key in memory_storage.objects if first in key and "/db." in key)
    del memory_storage.objects[db_key]

    run_scheduled_verify(memory_context)

    proofs = {item.manifest.id: item.proof for item in list_backups(memory_context)}
    assert proofs[first] == "failed"
    failed = memory_context.activities.find(job="verify", statuses=["failed"])
    assert [activity.backup_id for activity in failed] == [first]
    assert failed[0].meta["reproof"] is True


def test_verify_all_proves_every_kept_backup_and_names_those_that_fail(
    memory_context: Context, manual_clock: ManualClock, memory_storage: MemoryStorage
) -> None:
    ids = []
    for _day in range(3):
        ids.append(run_backup(memory_context).backup_id)
        manual_clock.now += timedelta(hours=6)
    db_key = next(key for key in memory_storage.objects if ids[1] in key and "/db." in key)
    memory_storage.objects[db_key] = memory_storage.objects[db_key][:-10]

    proofs = run_verify_all(memory_context)

    assert [result.backup_id for result in proofs.passed] == [ids[0], ids[2]]
    assert list(proofs.failed) == [ids[1]]


def kept_backups_check(context: Context) -> Check:
    """Return the ``kept_backups`` check of the target's health now."""
    (verdict,) = assess_health(context.settings, context.activities, context.clock()).targets
    return next(check for check in verdict.checks if check.name == "kept_backups")


def test_a_backup_that_no_longer_restores_warns_until_retention_deletes_it(
    memory_context: Context, manual_clock: ManualClock, memory_storage: MemoryStorage
) -> None:
    memory_context.settings.retention = RetentionSettings(
        keep_all_days=1, keep_daily_days=0, keep_weekly_weeks=0, keep_monthly_months=0
    )
    first = run_backup(memory_context).backup_id
    manual_clock.now += timedelta(hours=1)
    second = run_backup(memory_context).backup_id
    db_key = next(key for key in memory_storage.objects if first in key and "/db." in key)
    memory_storage.objects[db_key] = memory_storage.objects[db_key][:-10]
    run_verify_all(memory_context)
    assert first in kept_backups_check(memory_context).message

    manual_clock.now += timedelta(days=3)
    run_backup(memory_context)
    run_scheduled_verify(memory_context)
    run_cleanup(memory_context)

    kept = {item.manifest.id for item in list_backups(memory_context)}
    assert first not in kept and second not in kept
    assert kept_backups_check(memory_context).status == "ok"


def three_proved_then_the_newest_broken(
    context: Context, clock: ManualClock, storage: MemoryStorage
) -> list[str]:
    """Make three backups a day apart, prove them all, break the newest, prove them all again a
    day later; return their ids, oldest first."""
    ids = []
    for _day in range(3):
        ids.append(run_backup(context).backup_id)
        clock.now += timedelta(days=1)
    run_verify_all(context)
    db_key = next(key for key in storage.objects if ids[2] in key and "/db." in key)
    storage.objects[db_key] = storage.objects[db_key][:-10]
    clock.now += timedelta(days=1)
    run_verify_all(context)
    clock.now += timedelta(days=1)
    return ids


def test_the_scheduled_verify_proves_a_broken_backup_again_first(
    memory_context: Context, manual_clock: ManualClock, memory_storage: MemoryStorage
) -> None:
    memory_context.settings.verify.reprove_days = 30
    ids = three_proved_then_the_newest_broken(memory_context, manual_clock, memory_storage)
    newest = run_backup(memory_context).backup_id

    run_scheduled_verify(memory_context)

    proofs = memory_context.activities.find(job="verify", since=manual_clock.now)
    assert {row.backup_id for row in proofs} == {ids[2], newest}


def test_a_broken_backup_is_never_kept_as_the_newest_verified(
    memory_context: Context, manual_clock: ManualClock, memory_storage: MemoryStorage
) -> None:
    ids = three_proved_then_the_newest_broken(memory_context, manual_clock, memory_storage)
    newest = run_backup(memory_context).backup_id
    memory_context.settings.retention = RetentionSettings(
        keep_all_days=0, keep_daily_days=0, keep_weekly_weeks=0, keep_monthly_months=0
    )

    result = run_cleanup(memory_context)

    assert sorted(result.destinations[0].kept) == sorted([ids[1], newest])
    assert kept_backups_check(memory_context).status == "ok"
