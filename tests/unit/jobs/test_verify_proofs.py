"""Verify proves more than the facts: every table's digest, the integrity checks of the
restored copy and the application checks of the target."""

from __future__ import annotations

import pytest

from backproof.config.models import ApplicationCheck
from backproof.errors import VerificationError
from backproof.jobs.backup import run_backup
from backproof.jobs.context import Context
from backproof.jobs.verify import run_verify
from backproof.state.records import VerifyMeta


def add_checks(context: Context, *checks: dict[str, object]) -> None:
    """Give the demo's target these application checks."""
    target = context.settings.targets[0]
    target.checks = [ApplicationCheck.model_validate(check) for check in checks]


def test_verify_says_every_table_is_identical_and_the_database_was_checked(
    memory_context: Context,
) -> None:
    run_backup(memory_context)

    run_verify(memory_context)

    activity = memory_context.activities.find(job="verify")[0]
    meta = VerifyMeta.read(activity)
    assert meta.depth == "content"
    assert meta.digested_tables == 4
    assert meta.integrity_checked is not None and meta.integrity_checked > 0
    assert "all 4 tables identical (" in activity.message
    assert "tables and indexes checked" in activity.message


def test_passing_application_checks_are_counted_in_the_summary(memory_context: Context) -> None:
    add_checks(
        memory_context,
        {"name": "companies exist", "sql": "SELECT count(*) FROM companies", "at_least": 1},
        {"name": "no orphan", "sql": "SELECT count(*) FROM contacts WHERE 0", "expect": 0},
    )
    run_backup(memory_context)

    run_verify(memory_context)

    activity = memory_context.activities.find(job="verify")[0]
    assert "2 application checks passed" in activity.message
    assert [check.passed for check in VerifyMeta.read(activity).application_checks] == [True, True]


def test_failing_application_check_fails_the_verify_naming_the_check(
    memory_context: Context,
) -> None:
    add_checks(
        memory_context,
        {"name": "no company at all", "sql": "SELECT count(*) FROM companies", "expect": 0},
    )
    run_backup(memory_context)

    with pytest.raises(VerificationError, match="application check 'no company at all' failed"):
        run_verify(memory_context)

    activity = memory_context.activities.find(job="verify")[0]
    assert activity.status == "failed"
    outcome = VerifyMeta.read(activity).application_checks[0]
    assert not outcome.passed and outcome.value == "40"


def test_application_check_that_writes_fails_and_changes_nothing(memory_context: Context) -> None:
    add_checks(
        memory_context,
        {"name": "sneaky", "sql": "DELETE FROM companies RETURNING 1", "expect": 1},
    )
    run_backup(memory_context)

    with pytest.raises(VerificationError, match=r"application check 'sneaky' failed: .*readonly"):
        run_verify(memory_context)


def test_integrity_checks_can_be_turned_off_per_target(memory_context: Context) -> None:
    memory_context.settings.targets[0].integrity_checks = False
    run_backup(memory_context)

    run_verify(memory_context)

    meta = VerifyMeta.read(memory_context.activities.find(job="verify")[0])
    assert meta.integrity_checked is None


def test_content_digests_can_be_turned_off_per_target(memory_context: Context) -> None:
    memory_context.settings.targets[0].content_digests = False
    run_backup(memory_context)

    run_verify(memory_context)

    activity = memory_context.activities.find(job="verify")[0]
    meta = VerifyMeta.read(activity)
    assert (meta.depth, meta.digested_tables) == ("counts", 0)
    assert "tables identical" not in activity.message
