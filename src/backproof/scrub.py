"""Which parts a daily scrub reads whole (pure): a rotating subset, so that every part of every
kept backup is read within ``ceil(100 / percent)`` days, like restic's ``--read-data-subset``."""

from __future__ import annotations

import hashlib
import math
from datetime import date


def subset_buckets(percent: float) -> int:
    """Return in how many days a scrub of ``percent`` reads every part once."""
    return max(1, math.ceil(100 / percent))


def is_read_today(key: str, day: date, percent: float) -> bool:
    """Return True when the part stored at ``key`` is in the subset read on ``day``: the parts
    fall in ``subset_buckets`` buckets by a hash of their key, and each day reads the next."""
    buckets = subset_buckets(percent)
    bucket = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % buckets
    return bucket == day.toordinal() % buckets
