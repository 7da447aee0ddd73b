"""The health verdict as a pure function of figures and thresholds: each status, each check."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backproof.config.models import HealthSettings
from backproof.health import Check, evaluate_health, worst
from backproof.state.activities import Activity
from backproof.status import TargetFigures

NOW = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
SETTINGS = HealthSettings()


def activity(job: str, hours_ago: float, status: str = "success", **meta: Any) -> Activity:
    """Return a finished activity that ended ``hours_ago`` before NOW."""
    finished = NOW - timedelta(hours=hours_ago)
    return Activity(
        1, job, "crm", status, finished - timedelta(seconds=5), finished, 5000, "", meta
    )


def healthy_figures(**changes: Any) -> TargetFigures:
    """Return the figures of a target where everything is fine, with ``changes`` applied."""
    figures = TargetFigures(
        target="crm",
        now=NOW,
        window_days=7,
        backups_total=7,
        backups_succeeded=7,
        verifies_total=7,
        verifies_succeeded=7,
        newest_backup=activity("backup", 5, db_raw_size_bytes=1000, size_bytes=400),
        previous_backup=activity("backup", 29, db_raw_size_bytes=990, size_bytes=390),
        last_backup=activity("backup", 5),
        last_verify=activity("verify", 4, restore_duration_seconds=2.5),
        last_passed_verify=activity("verify", 4, restore_duration_seconds=2.5),
        consecutive_verify_failures=0,
        restore_trend=((NOW, 2.5),),
    )
    return dataclasses.replace(figures, **changes)


def check_named(name: str, figures: TargetFigures, settings: HealthSettings = SETTINGS) -> Check:
    """Return the check called ``name`` of the verdict."""
    return next(check for check in evaluate_health(figures, settings).checks if check.name == name)


def test_everything_fine_is_ok() -> None:
    verdict = evaluate_health(healthy_figures(), SETTINGS)

    assert verdict.status == "ok"
    assert {check.status for check in verdict.checks} == {"ok"}


def test_no_history_is_pending() -> None:
    figures = healthy_figures(
        backups_total=0,
        backups_succeeded=0,
        verifies_total=0,
        verifies_succeeded=0,
        newest_backup=None,
        previous_backup=None,
        last_backup=None,
        last_verify=None,
        last_passed_verify=None,
        restore_trend=(),
    )

    assert evaluate_health(figures, SETTINGS).status == "pending"


def test_backup_older_than_the_rpo_is_failing() -> None:
    figures = healthy_figures(newest_backup=activity("backup", 25))

    check = check_named("rpo", figures)

    assert check.status == "failing"
    assert check.threshold == 24
    assert "25 h old" in check.message
    assert evaluate_health(figures, SETTINGS).status == "failing"


def test_rpo_threshold_is_configurable() -> None:
    figures = healthy_figures(newest_backup=activity("backup", 5))

    assert check_named("rpo", figures, HealthSettings(rpo_hours=4)).status == "failing"


def test_backup_success_rate_below_the_minimum_is_a_warning() -> None:
    figures = healthy_figures(backups_total=10, backups_succeeded=9)

    check = check_named("backup_success_rate", figures)

    assert check.status == "warning"
    assert check.value == pytest.approx(90.0)
    assert evaluate_health(figures, SETTINGS).status == "warning"


def test_verify_success_rate_at_the_minimum_is_ok() -> None:
    figures = healthy_figures(verifies_total=100, verifies_succeeded=99)

    assert check_named("verify_success_rate", figures).status == "ok"


def test_one_failed_verify_is_a_warning() -> None:
    figures = healthy_figures(consecutive_verify_failures=1)

    assert check_named("verify_streak", figures).status == "warning"


def test_two_failed_verifies_in_a_row_are_failing() -> None:
    figures = healthy_figures(consecutive_verify_failures=2)

    assert check_named("verify_streak", figures).status == "failing"


def test_verify_too_long_ago_is_a_warning() -> None:
    figures = healthy_figures(last_passed_verify=activity("verify", 49))

    assert check_named("verified_age", figures).status == "warning"


def test_much_smaller_dump_than_the_one_before_is_a_warning() -> None:
    figures = healthy_figures(
        newest_backup=activity("backup", 5, db_raw_size_bytes=100),
        previous_backup=activity("backup", 29, db_raw_size_bytes=1000),
    )

    check = check_named("dump_size", figures)

    assert check.status == "warning"
    assert check.value == pytest.approx(90.0)


def test_slightly_smaller_dump_is_ok() -> None:
    figures = healthy_figures(
        newest_backup=activity("backup", 5, db_raw_size_bytes=900),
        previous_backup=activity("backup", 29, db_raw_size_bytes=1000),
    )

    assert check_named("dump_size", figures).status == "ok"


def test_backup_missing_on_a_destination_is_a_warning() -> None:
    figures = healthy_figures(newest_backup=activity("backup", 5, failed_destinations=["offsite"]))

    check = check_named("destinations", figures)

    assert check.status == "warning"
    assert "offsite" in check.message


def test_restore_duration_is_tracked_as_ok() -> None:
    check = check_named("restore_duration", healthy_figures())

    assert (check.status, check.value) == ("ok", 2.5)


def test_worst_orders_failing_warning_pending_ok() -> None:
    assert worst(["ok", "pending"]) == "pending"
    assert worst(["pending", "warning", "ok"]) == "warning"
    assert worst(["warning", "failing"]) == "failing"
    assert worst([]) == "pending"


def test_table_emptied_since_the_backup_before_is_a_warning_naming_it() -> None:
    figures = healthy_figures(
        newest_backup=activity("backup", 5, table_rows={"companies": 40, "notes": 0}),
        previous_backup=activity("backup", 29, table_rows={"companies": 40, "notes": 200}),
    )

    check = check_named("emptied_tables", figures)

    assert check.status == "warning"
    assert check.value == 1
    assert "notes" in check.message
    assert "200 rows" in check.message


def test_table_that_stays_empty_or_keeps_rows_is_ok() -> None:
    figures = healthy_figures(
        newest_backup=activity("backup", 5, table_rows={"companies": 39, "audit": 0}),
        previous_backup=activity("backup", 29, table_rows={"companies": 40, "audit": 0}),
    )

    assert check_named("emptied_tables", figures).status == "ok"


def test_backup_success_rate_over_fewer_runs_than_min_runs_is_pending() -> None:
    figures = healthy_figures(backups_total=2, backups_succeeded=1)

    check = check_named("backup_success_rate", figures, HealthSettings(min_runs=3))

    assert check.status == "pending"
    assert check.value == 50.0


def test_backup_success_rate_from_min_runs_on_is_judged() -> None:
    figures = healthy_figures(backups_total=3, backups_succeeded=2)

    assert check_named("backup_success_rate", figures, HealthSettings(min_runs=3)).status == (
        "warning"
    )


def test_signing_is_a_warning_while_unsigned_backups_are_accepted():
    verdict = evaluate_health(healthy_figures(), SETTINGS, allow_unsigned=True)

    signing = next(check for check in verdict.checks if check.name == "signing")
    assert signing.status == "warning"
    assert "allow_unsigned" in signing.message
    assert verdict.status == "warning"


def test_signing_is_ok_when_every_manifest_must_be_signed():
    verdict = evaluate_health(healthy_figures(), SETTINGS)

    assert next(check for check in verdict.checks if check.name == "signing").status == "ok"


def failed_proof(backup_id: str, hours_ago: float) -> Activity:
    """Return the failed re-proof of a kept backup."""
    row = activity("verify", hours_ago, "failed", reproof=True)
    return dataclasses.replace(row, backup_id=backup_id, message="part db is missing\nmore")


def test_a_kept_backup_whose_latest_proof_failed_is_a_warning_naming_it() -> None:
    figures = healthy_figures(failing_backups=(failed_proof("20261120T010000Z-aa", 2),))

    check = check_named("kept_backups", figures)

    assert check.status == "warning"
    assert check.message == (
        "1 kept backup no longer restores: backup 20261120T010000Z-aa "
        "(proof of 2026-11-26 04:00 failed: part db is missing)"
    )
    assert evaluate_health(figures, SETTINGS).status == "warning"


def test_kept_backups_that_all_pass_their_latest_proof_are_ok() -> None:
    assert check_named("kept_backups", healthy_figures()).status == "ok"
