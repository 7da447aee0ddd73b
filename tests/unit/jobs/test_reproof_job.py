"""The scheduled verify proves every kept backup again within ``verify.reprove_days``, and
``verify --all`` proves them all."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from backproof.config.models import RetentionSettings
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
