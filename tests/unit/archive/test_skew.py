"""Which backups' times cannot be believed (issue 9 item 4): a pure decision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backproof.archive.manifest import Facts, Manifest, new_backup_id
from backproof.archive.skew import clock_skew, flag_skewed

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def manifest_made_at(moment: datetime, *, created: datetime | None = None) -> Manifest:
    return Manifest(
        id=new_backup_id(moment),
        target="crm",
        created_at=created or moment,
        finished_at=(created or moment) + timedelta(seconds=3),
        tool_version="0",
        host="h",
        parts=[],
        facts=Facts(),
    )


def test_a_backup_made_now_is_believed():
    manifest = manifest_made_at(NOW - timedelta(minutes=1))

    assert clock_skew(manifest, NOW - timedelta(seconds=50), NOW) is None


def test_a_backup_dated_ahead_of_the_clock_is_flagged():
    manifest = manifest_made_at(datetime(2099, 1, 1, tzinfo=UTC))

    assert "ahead of the clock" in str(clock_skew(manifest, None, NOW))


def test_a_backup_whose_id_and_times_disagree_is_flagged():
    manifest = manifest_made_at(NOW - timedelta(days=1), created=NOW - timedelta(minutes=1))

    assert "its id says" in str(clock_skew(manifest, None, NOW))


def test_a_manifest_dated_after_the_storage_wrote_it_is_flagged():
    manifest = manifest_made_at(NOW - timedelta(minutes=1))

    reason = clock_skew(manifest, NOW - timedelta(hours=2), NOW)

    assert "after the storage wrote its manifest" in str(reason)


def test_a_copied_backup_stamped_later_by_the_storage_is_believed():
    manifest = manifest_made_at(NOW - timedelta(days=30))

    assert clock_skew(manifest, NOW, NOW) is None


def test_within_five_minutes_ahead_is_tolerated():
    manifest = manifest_made_at(NOW + timedelta(minutes=4))

    assert flag_skewed([manifest], {}, NOW) == {}
