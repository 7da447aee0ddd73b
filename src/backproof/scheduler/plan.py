"""What the scheduler has due: pure functions of the schedule, the last runs and the time.

The daily chain of a target is due at each time of ``schedule.cron`` in ``schedule.timezone``.
A run is *overdue* when a scheduled time passed since the target's last run started (the
service was down then): the service starts it at start-up instead of waiting a day.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from backproof.config.models import ScheduleSettings
from backproof.errors import ConfigError

# A run starts at or just after its scheduled time: look for the next one strictly after it.
_AFTER = timedelta(microseconds=1)


def schedule_zone(schedule: ScheduleSettings) -> ZoneInfo:
    """Return the schedule's time zone; ConfigError naming ``schedule.timezone`` if unknown."""
    try:
        return ZoneInfo(schedule.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            [f"at schedule.timezone: unknown time zone {schedule.timezone!r} (e.g. Europe/Prague)"]
        ) from exc


def build_trigger(schedule: ScheduleSettings) -> CronTrigger:
    """Return the cron trigger of the chain.

    Raises ConfigError naming ``schedule.cron`` or ``schedule.timezone`` when invalid.
    """
    zone = schedule_zone(schedule)
    try:
        return CronTrigger.from_crontab(schedule.cron, timezone=zone)
    except ValueError as exc:
        raise ConfigError(
            [
                f"at schedule.cron: {schedule.cron!r} is not a cron expression "
                f"(minute hour day month weekday): {exc}"
            ]
        ) from exc


def next_run_after(trigger: CronTrigger, moment: datetime) -> datetime | None:
    """Return the first scheduled time strictly after ``moment``, in UTC."""
    following: datetime | None = trigger.get_next_fire_time(None, moment + _AFTER)
    return None if following is None else following.astimezone(UTC)


def is_overdue(trigger: CronTrigger, last_run_at: datetime | None, now: datetime) -> bool:
    """Return True when a scheduled time passed between the last run and ``now``.

    A target that never ran is not overdue: nothing was missed, and its first run waits for
    the schedule (``backproof run`` starts one by hand).
    """
    if last_run_at is None:
        return False
    following = next_run_after(trigger, last_run_at)
    return following is not None and following <= now


def overdue_targets(
    trigger: CronTrigger, last_runs: Mapping[str, datetime | None], now: datetime
) -> list[str]:
    """Return the targets whose run was missed, in the order given."""
    return [target for target, last in last_runs.items() if is_overdue(trigger, last, now)]
