"""How backproof writes quantities for people: sizes, durations, ages, times, percentages.

One voice across the CLI, the report, the alerts and the web pages: every text a person reads
formats a quantity through this module. Sizes are decimal (``kB``, ``MB``, ``GB``: powers of
1000, as disks are sold and as the storage cap ``max_storage_mb`` is counted); JSON documents
carry bytes, seconds and ISO 8601 times instead, never these texts.
"""

from __future__ import annotations

from datetime import UTC, datetime

BYTES_PER_KILOBYTE = 1000
SIZE_UNITS = ("B", "kB", "MB", "GB", "TB", "PB")
MILLISECONDS_PER_SECOND = 1000
SECONDS_PER_MINUTE = 60
SECONDS_PER_HOUR = 3600
SECONDS_PER_DAY = 86400
MISSING = "—"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S UTC"


def format_size_bytes(size_bytes: int | float | None) -> str:
    """Return a size in decimal units: ``512 B``, ``1.5 kB``, ``12.0 MB``; ``—`` when unknown."""
    if size_bytes is None:
        return MISSING
    size = float(size_bytes)
    for unit in SIZE_UNITS:
        if abs(size) < BYTES_PER_KILOBYTE or unit == SIZE_UNITS[-1]:
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= BYTES_PER_KILOBYTE
    raise AssertionError("unreachable: the last unit returns")


def format_duration_ms(duration_ms: int | float | None) -> str:
    """Return a duration for people: ``850 ms``, ``12.3 s``, ``4 min 05 s``, ``1 h 02 min``."""
    if duration_ms is None:
        return MISSING
    return format_seconds(duration_ms / MILLISECONDS_PER_SECOND)


def format_seconds(seconds: float | None) -> str:
    """Return a duration given in seconds: ``420 ms``, ``12.3 s``, ``4 min 05 s``, ``2 h 05 min``.

    Below a second the unit is the millisecond (a SQLite restore takes a few: never ``0.00 s``),
    as in the activity lists; from two days on the unit is the day (``3 d 04 h``); a zero second
    unit is left out (``30 h``, ``4 min``).
    """
    if seconds is None:
        return MISSING
    if seconds < 1:
        return f"{round(seconds * MILLISECONDS_PER_SECOND)} ms"
    if seconds < SECONDS_PER_MINUTE:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < SECONDS_PER_HOUR:
        return _two_units(whole, SECONDS_PER_MINUTE, "min", 1, "s")
    if whole < 2 * SECONDS_PER_DAY:
        return _two_units(whole, SECONDS_PER_HOUR, "h", SECONDS_PER_MINUTE, "min")
    return _two_units(whole, SECONDS_PER_DAY, "d", SECONDS_PER_HOUR, "h")


def _two_units(seconds: int, unit_seconds: int, unit: str, small_seconds: int, small: str) -> str:
    count, rest = divmod(seconds, unit_seconds)
    rest //= small_seconds
    return f"{count} {unit}" if rest == 0 else f"{count} {unit} {rest:02d} {small}"


def format_hours(hours: float | None) -> str:
    """Return an age or a limit given in hours the way durations read: ``36 s``, ``2 h 05 min``."""
    return MISSING if hours is None else format_seconds(hours * SECONDS_PER_HOUR)


def format_time(moment: datetime | None) -> str:
    """Return a moment for people, in UTC to the second: ``2026-11-26 10:56:29 UTC``."""
    return MISSING if moment is None else moment.astimezone(UTC).strftime(TIME_FORMAT)


def format_number(value: float | None) -> str:
    """Return a number with at most two decimals and no trailing zeros; ``—`` when unknown."""
    if value is None:
        return MISSING
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def format_percent(ratio: float | None) -> str:
    """Return a ratio (0..1) as a percentage with one decimal: ``99.5 %``."""
    return MISSING if ratio is None else f"{ratio * 100:.1f} %"


def format_count(count: int, noun: str) -> str:
    """Return ``count`` with thousands separators and ``noun``, plural unless it is one:
    ``1 file``, ``3,600 rows``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
