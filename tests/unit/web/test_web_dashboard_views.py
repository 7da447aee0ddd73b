"""Pure pieces of the dashboard's documents: the proof in words, the calendar."""

from __future__ import annotations

from web_history import NOW

from backproof.state.records import VerifyMeta
from backproof.web.views.overview import verify_depth
from backproof.web.views.target import CALENDAR_DAYS, build_calendar


def test_verify_depth_says_content_when_every_table_was_digested() -> None:
    meta = VerifyMeta(
        depth="content",
        tables=4,
        rows=3600,
        integrity_checked=6,
        integrity_what="tables and indexes",
        files=18,
    )

    assert verify_depth(meta) == (
        "content: all 4 tables identical (3,600 rows); 6 tables and indexes checked; "
        "18 files identical"
    )


def test_verify_depth_says_counts_for_a_backup_without_digests() -> None:
    meta = VerifyMeta(depth="counts", tables=4, rows=480, sampled_rows=140)

    assert verify_depth(meta) == "counts: 4 tables, 480 rows, 140 sampled"


def test_calendar_marks_a_day_with_a_failure_failed_and_a_day_without_runs_none() -> None:
    counts = {"2026-11-26": {"success": 3, "failed": 1}, "2026-11-25": {"success": 2}}

    days = build_calendar(counts, NOW)

    assert len(days) == CALENDAR_DAYS
    assert [(day.day, day.outcome) for day in days[-3:]] == [
        ("2026-11-24", "none"),
        ("2026-11-25", "passed"),
        ("2026-11-26", "failed"),
    ]
