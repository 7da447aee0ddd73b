"""Parsing ``--since 7d`` style durations."""

from __future__ import annotations

import re
from datetime import timedelta

UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """Return the duration of ``30m``, ``12h``, ``7d`` or ``2w``; ValueError otherwise."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration like 30m, 12h, 7d or 2w")
    return timedelta(**{UNITS[match.group(2)]: float(match.group(1))})
