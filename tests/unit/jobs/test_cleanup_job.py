"""CleanupBackupsJob: retention on the manifests' UTC times (never file times), debris, dry run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from backproof.archive.catalog import scan_target
from backproof.config.models import Settings
from backproof.jobs.backup import run_backup
from backproof.jobs.cleanup import run_cleanup
from backproof.jobs.context import Context, open_context
from backproof.storage.memory import MemoryStorage
from backproof.storage.registry import local_path

PRAGUE = ZoneInfo("Europe/Prague")


@pytest.fixture
def local_context(settings: Settings, manual_clock: Any) -> Iterator[Context]:
    """The demo's job context on its real local destination, database only (fast)."""
    settings.targets[0].files = []
    context = open_context(settings, manual_clock)
    yield context
    context.activities.engine.dispose()


def backups_at(context: Context, clock: Any, moments: list[datetime]) -> list[str]:
    """Make one backup at each moment; return their ids."""
    ids = []
    for moment in moments:
        clock.now = moment
        ids.append(run_backup(context).backup_id)
    return ids


def committed_ids(context: Context) -> set[str]:
    """Return the ids of the committed backups on the primary destination."""
    return {manifest.id for manifest in scan_target(context.storage(), "crm").committed}


def test_old_file_times_delete_nothing(local_context: Context, manual_clock: Any) -> None:
    now = manual_clock.now
    ids = backups_at(local_context, manual_clock, [now - timedelta(minutes=m) for m in (30, 20)])
    long_ago = datetime(1990, 1, 1, tzinfo=UTC).timestamp()
    for path in local_path(local_context.settings.destinations[0].url).rglob("*"):
        os.utime(path, (long_ago, long_ago))

    result = run_cleanup(local_context)

    assert result.deleted_count == 0
    assert committed_ids(local_context) == set(ids)


def test_old_manifest_times_delete_despite_fresh_file_times(
    local_context: Context, manual_clock: Any
) -> None:
    retention = local_context.settings.retention
    retention.keep_weekly_weeks = retention.keep_monthly_months = retention.keep_yearly_years = 0
    now = manual_clock.now
    old_one, old_two, recent = backups_at(
        local_context, manual_clock, [now - timedelta(days=days) for days in (40, 39, 1)]
    )
    manual_clock.now = now

    result = run_cleanup(local_context)

    assert sorted(result.destinations[0].deleted) == [old_one, old_two]
    assert committed_ids(local_context) == {recent}


def test_daily_retention_counts_utc_days_across_a_daylight_saving_change(
    settings: Settings,
) -> None:
    settings.targets[0].files = []
    moments = [
        datetime(2026, 3, 27, 22, 30, tzinfo=UTC),  # 23:30 CET, Friday
        datetime(2026, 3, 27, 23, 30, tzinfo=UTC),  # 00:30 CET, Saturday
        datetime(2026, 3, 28, 22, 30, tzinfo=UTC),  # 23:30 CET, Saturday
        datetime(2026, 3, 28, 23, 30, tzinfo=UTC),  # 00:30 CET, Sunday; CEST from 01:00 UTC
        datetime(2026, 3, 29, 21, 30, tzinfo=UTC),  # 23:30 CEST, Sunday
        datetime(2026, 3, 29, 22, 30, tzinfo=UTC),  # 00:30 CEST, Monday
    ]
    ids: list[str] = []
    context = open_context(settings)
    try:
        for moment in moments:
            with time_machine.travel(moment.astimezone(PRAGUE), tick=False):
                ids.append(run_backup(context).backup_id)
        with time_machine.travel(datetime(2026, 4, 10, 12, 0, tzinfo=PRAGUE), tick=False):
            result = run_cleanup(context)
        kept = committed_ids(context)
    finally:
        context.activities.engine.dispose()

    assert kept == {ids[1], ids[3], ids[5]}
    assert sorted(result.destinations[0].deleted) == [ids[0], ids[2], ids[4]]


def test_backups_of_the_last_days_are_all_kept_across_the_change(settings: Settings) -> None:
    settings.targets[0].files = []
    start = datetime(2026, 10, 24, 22, 0, tzinfo=UTC)
    ids: list[str] = []
    context = open_context(settings)
    try:
        for hours in range(0, 48, 6):
            moment = (start + timedelta(hours=hours)).astimezone(PRAGUE)
            with time_machine.travel(moment, tick=False):
                ids.append(run_backup(context).backup_id)
        with time_machine.travel(datetime(2026, 10, 27, 9, 0, tzinfo=PRAGUE), tick=False):
            result = run_cleanup(context)
    finally:
        context.activities.engine.dispose()

    assert result.deleted_count == 0
    assert sorted(result.destinations[0].kept) == sorted(ids)


def test_debris_older_than_the_minimum_age_is_removed(
    memory_context: Context, memory_storage: MemoryStorage, manual_clock: Any
) -> None:
    now = manual_clock.now
    old = (now - timedelta(hours=2)).strftime("%Y%m%dT%H%M%SZ") + "-aaaaaa"
    young = (now - timedelta(minutes=10)).strftime("%Y%m%dT%H%M%SZ") + "-bbbbbb"
    memory_storage.put_bytes(f"crm/{old}/db.sqlite.zst", b"half a backup")
    memory_storage.put_bytes(f"crm/{young}/db.sqlite.zst", b"a backup being written")
    memory_storage.open_upload(f"crm/{old}/files.tar.zst").write(b"x")

    result = run_cleanup(memory_context)

    assert result.destinations[0].debris == [old]
    assert result.destinations[0].incomplete_uploads == [f"crm/{old}/files.tar.zst"]
    assert set(memory_storage.objects) == {f"crm/{young}/db.sqlite.zst"}


def test_dry_run_lists_what_it_would_delete_and_deletes_nothing(
    memory_context: Context, memory_storage: MemoryStorage, manual_clock: Any
) -> None:
    retention = memory_context.settings.retention
    retention.keep_weekly_weeks = retention.keep_monthly_months = retention.keep_yearly_years = 0
    now = manual_clock.now
    old, _recent = backups_at(memory_context, manual_clock, [now - timedelta(days=30), now])
    before = dict(memory_storage.objects)

    result = run_cleanup(memory_context, dry_run=True)

    assert list(result.destinations[0].deleted) == [old]
    assert memory_storage.objects == before
    assert memory_context.activities.find(job="cleanup")[0].meta["dry_run"] is True


def test_second_cleanup_deletes_nothing_more(memory_context: Context, manual_clock: Any) -> None:
    now = manual_clock.now
    backups_at(memory_context, manual_clock, [now - timedelta(days=d) for d in (90, 60, 20, 2, 0)])

    run_cleanup(memory_context)
    again = run_cleanup(memory_context)

    assert again.deleted_count == 0


def test_parts_of_a_backup_still_running_are_not_debris(
    memory_context: Context, memory_storage: MemoryStorage, manual_clock: Any
) -> None:
    started = manual_clock.now - timedelta(hours=3)
    backup_id = started.strftime("%Y%m%dT%H%M%SZ") + "-cccccc"
    running = memory_context.activities.start("backup", "crm")
    memory_context.activities.set_backup_id(running, backup_id)
    memory_storage.put_bytes(f"crm/{backup_id}/db.sqlite.zst", b"committed part of a long backup")
    memory_storage.open_upload(f"crm/{backup_id}/files.tar.zst").write(b"being written")

    result = run_cleanup(memory_context)

    assert result.destinations[0].debris == []
    assert result.destinations[0].incomplete_uploads == []
    assert f"crm/{backup_id}/db.sqlite.zst" in memory_storage.objects
