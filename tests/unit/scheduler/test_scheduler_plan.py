"""What is due: cron in the configured time zone, missed runs, invalid schedules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backproof.config.models import ScheduleSettings
from backproof.errors import ConfigError
from backproof.scheduler.plan import build_trigger, is_overdue, next_run_after, overdue_targets

PRAGUE = ScheduleSettings(cron="0 1 * * *", timezone="Europe/Prague")


def utc(year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def test_next_run_is_at_one_in_the_morning_of_the_configured_zone_in_winter() -> None:
    assert next_run_after(build_trigger(PRAGUE), utc(2026, 11, 26, 6)) == utc(2026, 11, 27, 0)


def test_next_run_follows_summer_time_in_the_configured_zone() -> None:
    assert next_run_after(build_trigger(PRAGUE), utc(2026, 7, 1, 6)) == utc(2026, 7, 1, 23)


def test_next_run_is_strictly_after_a_run_that_started_on_the_second() -> None:
    trigger = build_trigger(ScheduleSettings())

    assert next_run_after(trigger, utc(2026, 11, 26, 1)) == utc(2026, 11, 27, 1)


def test_is_overdue_when_a_scheduled_time_passed_since_the_last_run() -> None:
    trigger = build_trigger(ScheduleSettings())

    assert is_overdue(trigger, utc(2026, 11, 25, 1, 0, 2), utc(2026, 11, 26, 1, 0, 1))


def test_is_not_overdue_before_the_next_scheduled_time() -> None:
    trigger = build_trigger(ScheduleSettings())

    assert not is_overdue(trigger, utc(2026, 11, 25, 1, 0, 2), utc(2026, 11, 26, 0, 59, 59))


def test_is_not_overdue_when_the_last_run_came_after_the_scheduled_time() -> None:
    trigger = build_trigger(ScheduleSettings())

    assert not is_overdue(trigger, utc(2026, 11, 26, 9), utc(2026, 11, 26, 23))


def test_is_not_overdue_when_the_target_never_ran() -> None:
    assert not is_overdue(build_trigger(ScheduleSettings()), None, utc(2026, 11, 26, 9))


def test_overdue_targets_lists_only_the_missed_ones() -> None:
    trigger = build_trigger(ScheduleSettings())
    last_runs = {
        "crm": utc(2026, 11, 24, 1),
        "shop": utc(2026, 11, 26, 1, 0, 3),
        "blog": None,
    }

    assert overdue_targets(trigger, last_runs, utc(2026, 11, 26, 8)) == ["crm"]


def test_build_trigger_names_the_cron_key_when_the_expression_is_invalid() -> None:
    with pytest.raises(ConfigError, match=r"at schedule\.cron: '61 1 \* \* \*'"):
        build_trigger(ScheduleSettings(cron="61 1 * * *"))


def test_build_trigger_names_the_timezone_key_when_the_zone_is_unknown() -> None:
    with pytest.raises(ConfigError, match=r"at schedule\.timezone: unknown time zone"):
        build_trigger(ScheduleSettings(timezone="Mars/Olympus"))
