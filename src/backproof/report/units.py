"""How the report writes quantities: sizes, durations, ages, percentages, plain numbers."""

from __future__ import annotations

BYTES_PER_KIB = 1024
SIZE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
MILLISECONDS_PER_SECOND = 1000
SECONDS_PER_MINUTE = 60
SECONDS_PER_HOUR = 3600
MISSING = "—"


def format_size_bytes(size_bytes: int | float | None) -> str:
    """Return a size in binary units: ``512 B``, ``1.5 KiB``, ``12.0 MiB``; ``—`` when unknown."""
    if size_bytes is None:
        return MISSING
    size = float(size_bytes)
    for unit in SIZE_UNITS:
        if abs(size) < BYTES_PER_KIB or unit == SIZE_UNITS[-1]:
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= BYTES_PER_KIB
    raise AssertionError("unreachable: the last unit returns")


def format_duration_ms(duration_ms: int | float | None) -> str:
    """Return a duration for people: ``850 ms``, ``12.3 s``, ``4 min 05 s``, ``1 h 02 min``."""
    if duration_ms is None:
        return MISSING
    if duration_ms < MILLISECONDS_PER_SECOND:
        return f"{round(duration_ms)} ms"
    return format_seconds(duration_ms / MILLISECONDS_PER_SECOND)


def format_seconds(seconds: float | None) -> str:
    """Return a duration given in seconds: ``12.3 s``, ``4 min 05 s``, ``1 h 02 min``."""
    if seconds is None:
        return MISSING
    if seconds < SECONDS_PER_MINUTE:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < SECONDS_PER_HOUR:
        minutes, rest = divmod(whole, SECONDS_PER_MINUTE)
        return f"{minutes} min {rest:02d} s"
    hours, rest = divmod(whole, SECONDS_PER_HOUR)
    return f"{hours} h {rest // SECONDS_PER_MINUTE:02d} min"


def format_number(value: float | None) -> str:
    """Return a number with at most two decimals and no trailing zeros; ``—`` when unknown."""
    if value is None:
        return MISSING
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def format_percent(ratio: float | None) -> str:
    """Return a ratio (0..1) as a percentage with one decimal: ``99.5 %``."""
    return MISSING if ratio is None else f"{ratio * 100:.1f} %"
