"""The retention decision: examples for each rule, then properties over random histories."""

from __future__ import annotations

import random
from collections.abc import Callable, Hashable, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backproof.archive.manifest import parse_backup_time
from backproof.config.models import RetentionSettings
from backproof.retention import (
    BYTES_PER_MB,
    BackupEntry,
    RetentionPlan,
    plan_debris,
    plan_retention,
)

PRAGUE = ZoneInfo("Europe/Prague")
NOW = datetime(2026, 11, 26, 1, 30, tzinfo=UTC)
ONLY_NEWEST = RetentionSettings(
    keep_all_days=0,
    keep_daily_days=0,
    keep_weekly_weeks=0,
    keep_monthly_months=0,
    keep_yearly_years=0,
)
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)
MINUTES_PER_DAY = 24 * 60


def make_entry(
    created_at: datetime, size_mb: float = 1.0, *, verified: bool = False, suffix: str = "a1"
) -> BackupEntry:
    """Return a backup whose id encodes its UTC time, as the real ids do."""
    backup_id = f"{created_at.astimezone(UTC):%Y%m%dT%H%M%SZ}-{suffix}"
    return BackupEntry(backup_id, created_at, int(size_mb * BYTES_PER_MB), verified)


def daily_history(now: datetime, days: int) -> list[BackupEntry]:
    """Return one backup a day at 01:00 UTC, the newest on the day of ``now``."""
    newest = now.replace(hour=1, minute=0)
    return [make_entry(newest - timedelta(days=age_days)) for age_days in range(days)]


def day_of(backup_id: str, backups: Sequence[BackupEntry]) -> date:
    """Return the UTC date of the backup called ``backup_id``."""
    entry = next(entry for entry in backups if entry.id == backup_id)
    return entry.created_at.astimezone(UTC).date()


def survivors_of(backups: Sequence[BackupEntry], plan: RetentionPlan) -> list[BackupEntry]:
    """Return the backups left once ``plan`` is applied."""
    return [entry for entry in backups if entry.id in plan.keep]


def newest_id(backups: Sequence[BackupEntry], verified_only: bool = False) -> str | None:
    """Return the id of the newest backup (ties by id), or None when there is none."""
    candidates = [entry for entry in backups if entry.verified or not verified_only]
    if not candidates:
        return None
    return max(candidates, key=lambda entry: (entry.created_at, entry.id)).id


def protected_ids(backups: Sequence[BackupEntry]) -> set[str]:
    """Return the ids of the newest and newest verified backups."""
    ids = {newest_id(backups), newest_id(backups, verified_only=True)}
    return {backup_id for backup_id in ids if backup_id is not None}


# --- examples ------------------------------------------------------------------------------------


def test_plan_retention_keeps_borg_set_for_daily_backups_over_40_days() -> None:
    backups = daily_history(NOW, 40)
    plan = plan_retention(backups, NOW, RetentionSettings())
    kept_days = sorted(day_of(backup_id, backups) for backup_id in plan.keep)
    daily = [date(2026, 11, day) for day in range(11, 27)]
    sundays = [date(2026, 10, 18), date(2026, 10, 25), date(2026, 11, 1), date(2026, 11, 8)]
    end_of_october = [date(2026, 10, 31)]
    assert kept_days == sorted(daily + sundays + end_of_october)
    assert len(plan.delete) == 40 - len(kept_days)
    assert set(plan.reasons_to_delete.values()) == {"outside retention"}


def test_plan_retention_gives_every_reason_for_newest_backup() -> None:
    backups = daily_history(NOW, 40)
    plan = plan_retention(backups, NOW, RetentionSettings())
    newest = backups[0].id
    assert plan.keep[newest] == ("newest", "all 7d", "daily", "weekly", "monthly", "yearly")


def test_plan_retention_keeps_all_only_under_keep_all_days_old() -> None:
    backups = daily_history(NOW, 40)
    policy = ONLY_NEWEST.model_copy(update={"keep_all_days": 7})
    plan = plan_retention(backups, NOW, policy)
    # The seventh backup back is 6 days 30 minutes old; the eighth, 7 days 30 minutes.
    assert [day_of(backup_id, backups).day for backup_id in plan.keep] == list(range(20, 27))
    assert plan.keep[backups[6].id] == ("all 7d",)


def test_plan_retention_keeps_newest_of_each_day_when_several_a_day() -> None:
    day = datetime(2026, 11, 25, tzinfo=UTC)
    backups = [make_entry(day + timedelta(hours=hour)) for hour in (1, 9, 17)]
    policy = ONLY_NEWEST.model_copy(update={"keep_daily_days": 3})
    plan = plan_retention(backups, NOW, policy)
    assert list(plan.keep) == [backups[2].id]
    assert plan.delete == (backups[0].id, backups[1].id)


def test_plan_retention_breaks_time_ties_by_id() -> None:
    moment = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
    backups = [make_entry(moment, suffix="b2"), make_entry(moment, suffix="a1")]
    policy = ONLY_NEWEST.model_copy(update={"keep_daily_days": 16})
    plan = plan_retention(backups, NOW, policy)
    assert plan.keep == {backups[0].id: ("newest", "daily")}
    assert plan.delete == (backups[1].id,)


def test_plan_retention_weekly_splits_on_iso_monday() -> None:
    sunday = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
    saturday = sunday - timedelta(days=1)
    monday = sunday + timedelta(hours=2)
    backups = [make_entry(saturday), make_entry(sunday), make_entry(monday)]
    policy = ONLY_NEWEST.model_copy(update={"keep_weekly_weeks": 2})
    plan = plan_retention(backups, NOW, policy)
    assert plan.keep == {backups[1].id: ("weekly",), backups[2].id: ("newest", "weekly")}


def test_plan_retention_monthly_keeps_last_of_months_in_window() -> None:
    backups = [
        make_entry(datetime(2026, month, day, 1, 0, tzinfo=UTC))
        for month in range(6, 12)
        for day in (1, 15, 28)
        if datetime(2026, month, day, 1, 0, tzinfo=UTC) < NOW
    ]
    policy = ONLY_NEWEST.model_copy(update={"keep_monthly_months": 4})
    plan = plan_retention(backups, NOW, policy)
    kept_days = [day_of(backup_id, backups) for backup_id in plan.keep]
    assert kept_days == [
        date(2026, 8, 28),
        date(2026, 9, 28),
        date(2026, 10, 28),
        date(2026, 11, 15),
    ]


def test_plan_retention_yearly_keeps_last_of_this_and_previous_year() -> None:
    backups = [
        make_entry(datetime(year, month, 10, 1, 0, tzinfo=UTC))
        for year in (2023, 2024, 2025, 2026)
        for month in (3, 12)
        if datetime(year, month, 10, tzinfo=UTC) < NOW
    ]
    policy = ONLY_NEWEST.model_copy(update={"keep_yearly_years": 2})
    plan = plan_retention(backups, NOW, policy)
    kept_days = [day_of(backup_id, backups) for backup_id in plan.keep]
    assert kept_days == [date(2025, 12, 10), date(2026, 3, 10)]


def test_plan_retention_window_does_not_stretch_back_over_a_gap() -> None:
    old_backups = daily_history(NOW - timedelta(days=30), 5)
    newest = make_entry(NOW - timedelta(hours=1))
    policy = ONLY_NEWEST.model_copy(update={"keep_daily_days": 16})
    plan = plan_retention([*old_backups, newest], NOW, policy)
    assert plan.keep == {newest.id: ("newest", "daily")}


def test_plan_retention_cap_deletes_oldest_first() -> None:
    backups = [make_entry(NOW - timedelta(hours=hours), 1500) for hours in (1, 2, 3, 4, 5)]
    plan = plan_retention(backups, NOW, RetentionSettings())
    assert plan.delete == (backups[4].id, backups[3].id)
    assert set(plan.reasons_to_delete.values()) == {"over storage cap 5000 MB"}
    assert plan.kept_size_bytes == 4500 * BYTES_PER_MB


def with_packs(entry: BackupEntry, *packs: str) -> BackupEntry:
    """Return ``entry`` naming ``packs`` of the files store."""
    return BackupEntry(
        entry.id, entry.created_at, entry.size_bytes, entry.verified, frozenset(packs)
    )


def test_plan_retention_cap_counts_a_pack_shared_by_backups_once() -> None:
    backups = [
        with_packs(make_entry(NOW - timedelta(hours=hours), 1), "uploads") for hours in (1, 2, 3)
    ]
    plan = plan_retention(
        backups, NOW, RetentionSettings(), pack_sizes={"uploads": 4000 * BYTES_PER_MB}
    )
    assert plan.delete == ()
    assert plan.kept_size_bytes == 4003 * BYTES_PER_MB


def test_plan_retention_cap_frees_only_the_packs_no_kept_backup_names() -> None:
    old = with_packs(make_entry(NOW - timedelta(hours=3), 1), "old-only", "shared")
    middle = with_packs(make_entry(NOW - timedelta(hours=2), 1), "shared")
    newest = with_packs(make_entry(NOW - timedelta(hours=1), 1), "shared", "new-only")
    sizes = dict.fromkeys(("old-only", "shared", "new-only"), 2000 * BYTES_PER_MB)
    plan = plan_retention([old, middle, newest], NOW, RetentionSettings(), pack_sizes=sizes)
    assert plan.delete == (old.id,)
    assert plan.reasons_to_delete == {old.id: "over storage cap 5000 MB"}
    assert plan.kept_size_bytes == 4002 * BYTES_PER_MB


def test_plan_retention_keeps_newest_and_newest_verified_when_they_alone_exceed_cap() -> None:
    newest = make_entry(NOW - timedelta(hours=1), 6000)
    verified = make_entry(NOW - timedelta(days=3), 3000, verified=True)
    others = [make_entry(NOW - timedelta(days=days), 10) for days in (1, 2, 4)]
    plan = plan_retention([*others, verified, newest], NOW, RetentionSettings())
    assert plan.keep == {
        verified.id: ("newest verified", "all 7d", "daily"),
        newest.id: ("newest", "all 7d", "daily", "weekly", "monthly", "yearly"),
    }
    assert plan.delete == tuple(entry.id for entry in reversed(others))
    assert plan.kept_size_bytes == 9000 * BYTES_PER_MB


def test_plan_retention_keeps_newest_verified_when_older_than_every_window() -> None:
    verified = make_entry(NOW - timedelta(days=1000), verified=True)
    newest = make_entry(NOW - timedelta(hours=1))
    plan = plan_retention([verified, newest], NOW, ONLY_NEWEST)
    assert plan.keep == {verified.id: ("newest verified",), newest.id: ("newest",)}


def test_plan_retention_returns_empty_plan_for_no_backups() -> None:
    plan = plan_retention([], NOW, RetentionSettings())
    assert plan == RetentionPlan(keep={}, delete=(), reasons_to_delete={}, kept_size_bytes=0)


def test_plan_retention_raises_value_error_for_naive_now() -> None:
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        plan_retention([], NOW.replace(tzinfo=None), RetentionSettings())


def test_plan_retention_raises_value_error_for_repeated_id() -> None:
    entry = make_entry(NOW - timedelta(hours=1))
    with pytest.raises(ValueError, match="more than once"):
        plan_retention([entry, entry], NOW, RetentionSettings())


def test_backup_entry_raises_value_error_for_naive_created_at() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        BackupEntry("20261126T010000Z-a1", datetime(2026, 11, 26, 1, 0), 1)  # noqa: DTZ001


# --- daylight saving: only UTC matters -----------------------------------------------------------


def test_plan_retention_same_plan_when_times_given_in_prague_or_utc() -> None:
    local_times = [
        datetime(2026, 3, day, hour, 30, tzinfo=PRAGUE)
        for day in range(24, 31)
        for hour in (0, 1, 3, 12, 23)
    ]
    prague_backups = [make_entry(moment, 700) for moment in local_times]
    utc_backups = [make_entry(moment.astimezone(UTC), 700) for moment in local_times]
    now = datetime(2026, 4, 1, 12, 0, tzinfo=PRAGUE)
    policy = RetentionSettings(keep_all_days=2, keep_daily_days=5, max_storage_mb=6000)
    assert plan_retention(prague_backups, now, policy) == plan_retention(
        utc_backups, now.astimezone(UTC), policy
    )


def test_plan_retention_daily_uses_utc_day_not_prague_day_across_spring_change() -> None:
    # Prague moves from CET (+01:00) to CEST (+02:00) at 02:00 on Sunday 2026-03-29.
    saturday_late = make_entry(datetime(2026, 3, 28, 23, 30, tzinfo=PRAGUE))  # 22:30Z on the 28th
    sunday_early = make_entry(datetime(2026, 3, 29, 0, 30, tzinfo=PRAGUE))  # 23:30Z on the 28th
    sunday_night = make_entry(datetime(2026, 3, 29, 1, 30, tzinfo=PRAGUE))  # 00:30Z on the 29th
    sunday_late = make_entry(datetime(2026, 3, 29, 23, 30, tzinfo=PRAGUE))  # 21:30Z on the 29th
    backups = [saturday_late, sunday_early, sunday_night, sunday_late]
    policy = ONLY_NEWEST.model_copy(update={"keep_daily_days": 10})
    plan = plan_retention(backups, datetime(2026, 4, 5, 12, 0, tzinfo=UTC), policy)
    assert plan.keep == {sunday_early.id: ("daily",), sunday_late.id: ("newest", "daily")}
    assert plan.delete == (saturday_late.id, sunday_night.id)


def test_plan_retention_keep_all_counts_elapsed_utc_time_across_spring_change() -> None:
    now = datetime(2026, 4, 2, 12, 0, tzinfo=PRAGUE)  # 10:00Z
    same_wall_clock = make_entry(datetime(2026, 3, 26, 12, 0, tzinfo=PRAGUE))  # 6 d 23 h before
    earlier = make_entry(datetime(2026, 3, 26, 10, 30, tzinfo=PRAGUE))  # 7 d 0 h 30 min before
    newest = make_entry(datetime(2026, 4, 2, 11, 0, tzinfo=PRAGUE))
    policy = ONLY_NEWEST.model_copy(update={"keep_all_days": 7})
    plan = plan_retention([earlier, same_wall_clock, newest], now, policy)
    assert plan.keep == {same_wall_clock.id: ("all 7d",), newest.id: ("newest", "all 7d")}
    assert plan.delete == (earlier.id,)


def test_plan_retention_orders_by_utc_within_repeated_hour_of_autumn_change() -> None:
    # On 2026-10-25 Prague's clocks go back from 03:00 CEST to 02:00 CET: 02:xx happens twice.
    first_pass = datetime(2026, 10, 25, 2, 30, tzinfo=PRAGUE)  # 00:30Z
    second_pass = datetime(2026, 10, 25, 2, 10, fold=1, tzinfo=PRAGUE)  # 01:10Z, later
    earlier, later = make_entry(first_pass, suffix="z9"), make_entry(second_pass, suffix="a1")
    policy = ONLY_NEWEST.model_copy(update={"keep_daily_days": 5})
    plan = plan_retention([later, earlier], datetime(2026, 10, 26, tzinfo=PRAGUE), policy)
    assert plan.keep == {later.id: ("newest", "daily")}
    assert plan.delete == (earlier.id,)


def test_backup_entry_stores_created_at_in_utc() -> None:
    entry = make_entry(datetime(2026, 3, 29, 3, 30, tzinfo=PRAGUE))
    assert entry.created_at == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert entry.created_at.tzinfo is UTC


# --- debris --------------------------------------------------------------------------------------


def test_plan_debris_returns_old_enough_ids_oldest_first() -> None:
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    ids = ["20261126T100000Z-ab12", "20261126T113000Z-cd34", "20261120T010000Z-ef56"]
    debris = plan_debris(ids, now, 1.0, parse_backup_time)
    assert debris == ("20261120T010000Z-ef56", "20261126T100000Z-ab12")


def test_plan_debris_deletes_id_exactly_min_age_old() -> None:
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    assert plan_debris(["20261126T110000Z-ab12"], now, 1.0, parse_backup_time) == (
        "20261126T110000Z-ab12",
    )


def test_plan_debris_never_returns_ids_that_do_not_parse() -> None:
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    ids = ["not-a-backup", "lost+found", "2019-01-01", ""]
    assert plan_debris(ids, now, 0.0, parse_backup_time) == ()


def test_plan_debris_raises_value_error_for_naive_now() -> None:
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        plan_debris([], datetime(2026, 11, 26), 1.0, parse_backup_time)  # noqa: DTZ001


# --- properties ----------------------------------------------------------------------------------

THREE_YEARS_MINUTES = 3 * 366 * MINUTES_PER_DAY
policies = st.builds(
    RetentionSettings,
    keep_all_days=st.integers(0, 30),
    keep_daily_days=st.integers(0, 60),
    keep_weekly_weeks=st.integers(0, 26),
    keep_monthly_months=st.integers(0, 36),
    keep_yearly_years=st.integers(0, 5),
    max_storage_mb=st.floats(1.0, 40_000.0),
)
ages_minutes = st.one_of(
    st.integers(0, THREE_YEARS_MINUTES),
    st.integers(0, 40 * MINUTES_PER_DAY),
    st.sampled_from([0, 60, MINUTES_PER_DAY, 7 * MINUTES_PER_DAY]),  # equal times, on boundaries
)


@st.composite
def histories(draw: st.DrawFn) -> tuple[datetime, list[BackupEntry]]:
    """Draw a time ``now`` and a history of backups before it, in random order."""
    now = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(
        minutes=draw(st.integers(0, 2 * 366 * MINUTES_PER_DAY))
    )
    backups: list[BackupEntry] = []
    for index, age in enumerate(draw(st.lists(ages_minutes, max_size=60))):
        created_at = now - timedelta(minutes=age)
        size_bytes = draw(st.integers(0, 2_000 * BYTES_PER_MB))
        verified = draw(st.booleans())
        backup_id = f"{created_at:%Y%m%dT%H%M%SZ}-{index:04d}"
        backups.append(BackupEntry(backup_id, created_at, size_bytes, verified))
    return now, backups


@PROPERTY_SETTINGS
@given(histories(), policies)
def test_plan_retention_always_keeps_newest_and_newest_verified(
    history: tuple[datetime, list[BackupEntry]], policy: RetentionSettings
) -> None:
    now, backups = history
    plan = plan_retention(backups, now, policy)
    assert protected_ids(backups) <= set(plan.keep)


@PROPERTY_SETTINGS
@given(histories(), policies)
def test_plan_retention_keep_and_delete_partition_input(
    history: tuple[datetime, list[BackupEntry]], policy: RetentionSettings
) -> None:
    now, backups = history
    plan = plan_retention(backups, now, policy)
    all_ids = {entry.id for entry in backups}
    assert set(plan.keep) | set(plan.delete) == all_ids
    assert not set(plan.keep) & set(plan.delete)
    assert len(plan.delete) == len(set(plan.delete))
    assert set(plan.reasons_to_delete) == set(plan.delete)
    assert all(plan.keep.values())


@PROPERTY_SETTINGS
@given(histories(), policies)
def test_plan_retention_deletes_oldest_first(
    history: tuple[datetime, list[BackupEntry]], policy: RetentionSettings
) -> None:
    now, backups = history
    plan = plan_retention(backups, now, policy)
    by_id = {entry.id: entry for entry in backups}
    keys = [(by_id[backup_id].created_at, backup_id) for backup_id in plan.delete]
    assert keys == sorted(keys)


@PROPERTY_SETTINGS
@given(histories(), policies)
def test_plan_retention_keeps_recent_backups_unless_cap_forces_them_out(
    history: tuple[datetime, list[BackupEntry]], policy: RetentionSettings
) -> None:
    now, backups = history
    plan = plan_retention(backups, now, policy)
    for entry in backups:
        if now - entry.created_at < timedelta(days=policy.keep_all_days):
            assert entry.id in plan.keep or plan.reasons_to_delete[entry.id].startswith(
                "over storage cap"
            )


@PROPERTY_SETTINGS
@given(histories(), policies)
def test_plan_retention_kept_size_under_cap_unless_only_protected_remain(
    history: tuple[datetime, list[BackupEntry]], policy: RetentionSettings
) -> None:
    now, backups = history
    plan = plan_retention(backups, now, policy)
    kept = survivors_of(backups, plan)
    assert plan.kept_size_bytes == sum(entry.size_bytes for entry in kept)
    under_cap = plan.kept_size_bytes <= policy.max_storage_mb * BYTES_PER_MB
    assert under_cap or set(plan.keep) <= protected_ids(backups)


@PROPERTY_SETTINGS
@given(histories(), policies)
def test_plan_retention_deletes_nothing_more_when_planned_again_on_survivors(
    history: tuple[datetime, list[BackupEntry]], policy: RetentionSettings
) -> None:
    now, backups = history
    plan = plan_retention(backups, now, policy)
    again = plan_retention(survivors_of(backups, plan), now, policy)
    assert again.delete == ()
    assert set(again.keep) == set(plan.keep)
    assert again.kept_size_bytes == plan.kept_size_bytes


@PROPERTY_SETTINGS
@given(histories(), policies, st.randoms(use_true_random=False))
def test_plan_retention_same_plan_whatever_input_order(
    history: tuple[datetime, list[BackupEntry]], policy: RetentionSettings, rng: random.Random
) -> None:
    now, backups = history
    shuffled = list(backups)
    rng.shuffle(shuffled)
    assert plan_retention(shuffled, now, policy) == plan_retention(backups, now, policy)


def period_checks() -> list[tuple[str, str, Callable[[date], Hashable], Callable[[date], int]]]:
    """Return (reason, policy field, period of a date, index to count periods by) per rule."""
    return [
        ("daily", "keep_daily_days", lambda day: day, lambda day: day.toordinal()),
        (
            "weekly",
            "keep_weekly_weeks",
            lambda day: day.isocalendar()[:2],
            lambda day: (day - timedelta(days=day.weekday())).toordinal() // 7,
        ),
        ("monthly", "keep_monthly_months", lambda day: (day.year, day.month), month_number),
        ("yearly", "keep_yearly_years", lambda day: day.year, lambda day: day.year),
    ]


def month_number(day: date) -> int:
    """Return the number of months from year 0 to the month of ``day``."""
    return day.year * 12 + day.month


@pytest.mark.parametrize("rule", period_checks(), ids=lambda rule: str(rule[0]))
@PROPERTY_SETTINGS
@given(histories(), policies)
def test_plan_retention_keeps_newest_of_each_period_in_window(
    rule: tuple[str, str, Callable[[date], Hashable], Callable[[date], int]],
    history: tuple[datetime, list[BackupEntry]],
    policy: RetentionSettings,
) -> None:
    reason, field, period_of, index_of = rule
    now, backups = history
    plan = plan_retention(backups, now, policy)
    count = getattr(policy, field)
    newest_by_period: dict[Hashable, BackupEntry] = {}
    for entry in sorted(backups, key=lambda entry: (entry.created_at, entry.id)):
        newest_by_period[period_of(entry.created_at.date())] = entry
    for entry in backups:
        day = entry.created_at.date()
        is_newest_of_period = newest_by_period[period_of(day)] is entry
        in_window = index_of(now.date()) - index_of(day) < count
        has_reason = reason in plan.keep.get(entry.id, ())
        assert has_reason == (is_newest_of_period and in_window and entry.id in plan.keep)
        if is_newest_of_period and in_window:
            assert entry.id in plan.keep or plan.reasons_to_delete[entry.id].startswith("over")


@PROPERTY_SETTINGS
@given(
    st.lists(
        st.one_of(
            st.datetimes(datetime(2020, 1, 1), datetime(2030, 1, 1)).map(  # noqa: DTZ001
                lambda moment: f"{moment:%Y%m%dT%H%M%SZ}-ab12"
            ),
            st.text(max_size=20),
        ),
        max_size=20,
    ),
    st.floats(0.0, 1000.0),
)
def test_plan_debris_returns_only_parsable_ids_old_enough(
    backup_ids: list[str], min_age_hours: float
) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    debris = plan_debris(backup_ids, now, min_age_hours, parse_backup_time)
    expected = {
        backup_id
        for backup_id in backup_ids
        if (started_at := parse_backup_time(backup_id)) is not None
        and now - started_at >= timedelta(hours=min_age_hours)
    }
    assert set(debris) == expected
    assert len(debris) == len(expected)


def test_plan_retention_never_takes_a_flagged_backup_as_newest_under_the_cap() -> None:
    skewed = make_entry(datetime(2099, 1, 1, tzinfo=UTC), 1500)
    real = [make_entry(NOW - timedelta(hours=hours), 1500) for hours in (1, 2, 3, 4)]

    plan = plan_retention([skewed, *real], NOW, RetentionSettings(), flagged={skewed.id})

    assert plan.keep[skewed.id] == ("clock skew: kept, never newest",)
    assert plan.keep[real[0].id][0] == "newest"
    assert plan.delete == (real[3].id, real[2].id)


def test_plan_retention_keeps_the_backup_made_last_even_when_it_looks_ancient() -> None:
    made_last = make_entry(datetime(2020, 1, 1, tzinfo=UTC), 10)
    newest = make_entry(NOW - timedelta(hours=1), 10)

    plan = plan_retention([made_last, newest], NOW, ONLY_NEWEST, made_last=made_last.id)

    assert plan.delete == ()
    assert plan.keep[made_last.id] == ("made last (audit trail)",)
