"""The one formatter of quantities: sizes, durations, ages and times as people read them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from backproof.units import (
    MISSING,
    format_count,
    format_duration_ms,
    format_hours,
    format_seconds,
    format_size_bytes,
    format_time,
)


@pytest.mark.parametrize(
    ("size_bytes", "text"),
    [
        (0, "0 B"),
        (999, "999 B"),
        (201_621, "201.6 kB"),
        (2_597_560, "2.6 MB"),
        (5 * 10**9, "5.0 GB"),
    ],
)
def test_format_size_bytes_uses_decimal_units(size_bytes: int, text: str) -> None:
    assert format_size_bytes(size_bytes) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0, "0 ms"),
        (0.004, "4 ms"),
        (0.42, "420 ms"),
        (12.34, "12.3 s"),
        (60, "1 min"),
        (245, "4 min 05 s"),
        (3600, "1 h"),
        (3725, "1 h 02 min"),
        (30 * 3600, "30 h"),
        (3 * 86400 + 4 * 3600, "3 d 04 h"),
    ],
)
def test_format_seconds_picks_the_unit_a_person_reads(seconds: float, text: str) -> None:
    assert format_seconds(seconds) == text


def test_format_hours_writes_a_small_age_in_seconds_not_as_zero_hours() -> None:
    assert format_hours(0.01) == "36.0 s"


def test_format_duration_ms_keeps_milliseconds_below_a_second() -> None:
    assert format_duration_ms(850) == "850 ms"
    assert format_duration_ms(1500) == "1.5 s"
    assert format_duration_ms(850) == format_seconds(0.85)  # one voice for both


def test_format_time_writes_utc_to_the_second_whatever_the_offset() -> None:
    moment = datetime(2026, 11, 26, 11, 56, 29, 123, tzinfo=timezone(timedelta(hours=1)))

    assert format_time(moment) == "2026-11-26 10:56:29 UTC"
    assert format_time(moment.astimezone(UTC)) == "2026-11-26 10:56:29 UTC"


def test_unknown_quantities_print_a_dash() -> None:
    assert {format_size_bytes(None), format_seconds(None), format_time(None)} == {MISSING}


@pytest.mark.parametrize(
    ("count", "text"), [(0, "0 files"), (1, "1 file"), (2, "2 files"), (3600, "3,600 files")]
)
def test_format_count_says_one_in_the_singular(count: int, text: str) -> None:
    assert format_count(count, "file") == text
