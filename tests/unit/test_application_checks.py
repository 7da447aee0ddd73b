"""The verdict of an application check on the value its query returned."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from backproof.application_checks import judge, prepare_sql
from backproof.config.models import ApplicationCheck


def check(**fields: object) -> ApplicationCheck:
    """An application check with these expectations."""
    return ApplicationCheck.model_validate({"name": "c", "sql": "SELECT 1", **fields})


def test_expected_number_matches_the_same_number_of_any_type() -> None:
    assert judge(check(expect=0), 0) is None
    assert judge(check(expect=0), Decimal("0.00")) is None
    assert judge(check(expect=2.5), "2.5") is None


def test_expected_number_fails_on_another_value_saying_both() -> None:
    assert judge(check(expect=0), 3) == "the value is 3, expected 0"


def test_expected_text_compares_the_text() -> None:
    assert judge(check(expect="ok"), "ok") is None
    assert judge(check(expect="ok"), "bad") == "the value is 'bad', expected 'ok'"


def test_bounds_accept_values_within_and_name_the_bound_crossed() -> None:
    bounded = check(at_least=1, at_most=2)
    assert judge(bounded, 1) is None
    assert judge(bounded, Decimal("2")) is None
    assert judge(bounded, 0) == "the value is 0, expected at least 1.0"
    assert judge(bounded, 3) == "the value is 3, expected at most 2.0"


def test_no_row_or_null_fails_a_bound() -> None:
    assert judge(check(at_most=2), None) == "the value is NULL (no row, or NULL), not a number"


def test_check_needs_one_kind_of_expectation() -> None:
    with pytest.raises(ValidationError, match="needs `expect`"):
        check()
    with pytest.raises(ValidationError, match="not both"):
        check(expect=1, at_most=2)


def test_backup_time_placeholder_becomes_a_quoted_utc_literal() -> None:
    prepared = prepare_sql(
        check(sql="SELECT max(created_at) > {backup_time} FROM invoices", expect=0),
        datetime(2026, 11, 30, 10, 5, 7, tzinfo=UTC),
    )

    assert prepared == "SELECT max(created_at) > '2026-11-30 10:05:07' FROM invoices"
