"""The rotating subset of a daily scrub: every part is read within ceil(100 / percent) days."""

from __future__ import annotations

from datetime import date, timedelta

from backproof.scrub import is_read_today, subset_buckets

KEYS = [f"crm/20261{day:03d}T010000Z-abc/db.sql.zst" for day in range(200)]


def test_every_part_is_read_exactly_once_in_a_cycle_of_days() -> None:
    start = date(2026, 11, 30)
    reads = dict.fromkeys(KEYS, 0)
    for offset in range(subset_buckets(10)):
        for key in KEYS:
            reads[key] += is_read_today(key, start + timedelta(days=offset), 10)

    assert set(reads.values()) == {1}


def test_a_day_reads_about_the_share_asked_for() -> None:
    read = sum(is_read_today(key, date(2026, 11, 30), 25) for key in KEYS)

    assert 25 <= read <= 75
