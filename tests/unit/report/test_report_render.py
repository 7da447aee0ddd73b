"""The Markdown report: what it shows for hand-made data, and that nothing sensitive leaks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from backproof.config.models import HealthSettings
from backproof.health import evaluate_health
from backproof.report.model import ReportData, TargetReport
from backproof.report.render import escape_markdown_cell, render_report
from backproof.state.activities import Activity
from backproof.status import TargetFigures

NOW = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def make_activity(
    activity_id: int,
    job: str,
    status: str,
    started_at: datetime,
    *,
    message: str = "",
    meta: dict[str, Any] | None = None,
    backup_id: str | None = None,
    duration_ms: int = 1500,
) -> Activity:
    """Return a finished audit row."""
    return Activity(
        id=activity_id,
        job=job,
        target="crm",
        status=status,
        started_at=started_at,
        finished_at=started_at + timedelta(milliseconds=duration_ms),
        duration_ms=duration_ms,
        message=message,
        meta=meta or {},
        backup_id=backup_id,
    )


def make_figures(
    backups: list[Activity], verifies: list[Activity], *, window_days: int = 7
) -> TargetFigures:
    """Return figures computed from the given rows (newest first), as collect_figures would."""
    good = [activity for activity in backups if activity.status == "success"]
    passed = [activity for activity in verifies if activity.status == "success"]
    trend = tuple(
        (activity.started_at, float(activity.meta["restore_duration_seconds"]))
        for activity in reversed(passed)
    )
    return TargetFigures(
        target="crm",
        now=NOW,
        window_days=window_days,
        backups_total=len(backups),
        backups_succeeded=len(good),
        verifies_total=len(verifies),
        verifies_succeeded=len(passed),
        newest_backup=good[0] if good else None,
        previous_backup=good[1] if len(good) > 1 else None,
        last_backup=backups[0] if backups else None,
        last_verify=verifies[0] if verifies else None,
        last_passed_verify=passed[0] if passed else None,
        consecutive_verify_failures=0,
        restore_trend=trend,
    )


def make_report(backups: list[Activity], verifies: list[Activity]) -> ReportData:
    """Return report data for one target `crm`."""
    figures = make_figures(backups, verifies)
    target = TargetReport(
        name="crm",
        health=evaluate_health(figures, HealthSettings()),
        figures=figures,
        backups=tuple(backups),
        verifies=tuple(verifies),
        trend_file="backup-report-crm-restore-trend.svg",
    )
    return ReportData(NOW, "9.9.9", (target,))


def sample_report() -> ReportData:
    """Return a week of history: three backups (one failed) and two verifications."""
    backups = [
        make_activity(
            5,
            "backup",
            "success",
            NOW - timedelta(hours=4),
            message="backup 20261126T020000Z-a1: 1572864 bytes",
            meta={"size_bytes": 1_572_864},
            backup_id="20261126T020000Z-a1",
            duration_ms=83_000,
        ),
        make_activity(
            3,
            "backup",
            "failed",
            NOW - timedelta(days=1),
            message="pg_dump failed for postgresql://backup:***@db/crm\n"
            "contact jan.novak@example.com",
        ),
        make_activity(
            1,
            "backup",
            "success",
            NOW - timedelta(days=2),
            meta={"size_bytes": 2048},
            backup_id="20261124T060000Z-b2",
        ),
    ]
    verifies = [
        make_activity(
            6,
            "verify",
            "success",
            NOW - timedelta(hours=3),
            message=f"db part sha256 {SHA256} matches; token=abc123 | pipe",
            meta={"restore_duration_seconds": 12.345},
            backup_id="20261126T020000Z-a1",
        ),
        make_activity(
            2,
            "verify",
            "success",
            NOW - timedelta(days=2),
            meta={"restore_duration_seconds": 10.0},
            backup_id="20261124T060000Z-b2",
        ),
    ]
    return make_report(backups, verifies)


def test_render_report_names_time_and_version_in_the_header() -> None:
    text = render_report(sample_report())
    assert "Generated 2026-11-26 06:00:00 UTC by backproof 9.9.9." in text


def test_render_report_shows_success_rates_over_the_window() -> None:
    text = render_report(sample_report())
    assert "Backup success rate (7 d): 66.7 % (2 of 3 runs)" in text
    assert "Verify success rate (7 d): 100.0 % (2 of 2 runs)" in text


def test_render_report_shows_rpo_in_hours_with_its_limit() -> None:
    text = render_report(sample_report())
    assert "RPO (age of the newest valid backup): 3 h 58 min (limit 24 h)" in text


def test_render_report_lists_every_health_check_with_value_and_threshold() -> None:
    text = render_report(sample_report())
    assert "| rpo | ok | 3 h 58 min | 24 h | newest valid backup is 3 h 58 min old |" in text
    assert "| backup_success_rate | warning | 66.67 % | 99 % |" in text
    for name in ("verify_success_rate", "verify_streak", "verified_age", "destinations"):
        assert f"| {name} |" in text


def test_render_report_lists_backups_with_human_sizes_and_durations() -> None:
    text = render_report(sample_report())
    expected = "| 20261126T020000Z-a1 | 2026-11-26 02:00:00 UTC | 1.6 MB | 1 min 23 s | success |"
    assert expected in text
    assert "| 20261124T060000Z-b2 | 2026-11-24 06:00:00 UTC | 2.0 kB | 1.5 s | success |" in text


def test_render_report_lists_verifications_with_restore_durations() -> None:
    text = render_report(sample_report())
    assert "| 20261126T020000Z-a1 | 2026-11-26 03:00:00 UTC | 12.3 s | success |" in text
    assert "| 20261124T060000Z-b2 | 2026-11-24 06:00:00 UTC | 10.0 s | success |" in text


def test_render_report_masks_secrets_emails_and_hashes_in_messages() -> None:
    text = render_report(sample_report())
    assert "jan.novak" not in text
    assert r"j\*\*\*@e\*\*\*.com" in text
    assert "abc123" not in text
    assert "token=\\*\\*\\*" in text
    assert SHA256 not in text
    assert "9f86d081884c…" in text


def test_render_report_keeps_each_row_on_one_line_when_a_message_has_pipes_and_newlines() -> None:
    text = render_report(sample_report())
    failed_rows = [line for line in text.splitlines() if "| failed |" in line]
    assert len(failed_rows) == 1
    assert failed_rows[0].count("<br>") == 1
    assert r"\| pipe" in text


def test_render_report_links_the_trend_picture() -> None:
    text = render_report(sample_report())
    assert "![Restore duration trend](backup-report-crm-restore-trend.svg)" in text


def test_render_report_says_so_when_a_target_has_no_history() -> None:
    text = render_report(make_report([], []))
    assert "No backup has run yet." in text
    assert "No verification has run yet." in text
    assert "Backup success rate (7 d): no runs in the last 7 d" in text
    assert "RPO (age of the newest valid backup): no valid backup yet (limit 24 h)" in text
    assert "Overall status: **pending**" in text


def test_render_report_clips_a_long_message_after_masking_it() -> None:
    long_message = "password=hunter2 " + "x" * 1000
    backup = make_activity(1, "backup", "failed", NOW, message=long_message)
    text = render_report(make_report([backup], []))
    row = next(line for line in text.splitlines() if "| failed |" in line)
    assert "hunter2" not in row
    assert "xxxxx…" in row
    assert len(row) < 500


def test_escape_markdown_cell_escapes_markup_and_breaks_lines() -> None:
    assert escape_markdown_cell("a|b*c\n<d>`e`") == r"a\|b\*c<br>\<d\>\`e\`"


def test_render_report_shows_the_notes_of_the_newest_backup_when_its_dump_had_some() -> None:
    note = "object counts are read from the catalog just before the dump"
    backup = make_activity(
        1,
        "backup",
        "success",
        NOW - timedelta(hours=1),
        meta={"size_bytes": 10, "notes": [note]},
        backup_id="20261126T000000Z-000aaa",
    )

    text = render_report(make_report([backup], []))

    assert "Notes of the newest backup:" in text
    assert f"- {note}" in text


def test_render_report_has_no_notes_section_when_the_newest_backup_has_none() -> None:
    backup = make_activity(
        1,
        "backup",
        "success",
        NOW - timedelta(hours=1),
        meta={"size_bytes": 10},
        backup_id="20261126T000000Z-000aaa",
    )

    assert "Notes of the newest backup" not in render_report(make_report([backup], []))
