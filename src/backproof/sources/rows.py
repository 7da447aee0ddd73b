"""Canonical forms of row values, so a row hashes the same before dump and after restore."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

DIGEST_HEX_CHARS = 32


def canonical_value(value: Any) -> Any:
    """Return a JSON-able form of a database value that is stable across dump and restore."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Decimal):
        return str(value.normalize()) if value == value.to_integral() else str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return {"hex": bytes(value).hex()}
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


def row_key(values: Sequence[Any]) -> str:
    """Return the key of a row (its primary key values) as a short JSON string."""
    return json.dumps([canonical_value(value) for value in values], ensure_ascii=False)


def row_digest(columns: Sequence[str], values: Sequence[Any]) -> str:
    """Return a checksum of one row's columns and values."""
    pairs = [
        [column, canonical_value(value)] for column, value in zip(columns, values, strict=True)
    ]
    encoded = json.dumps(pairs, ensure_ascii=False, sort_keys=False).encode()
    return hashlib.sha256(encoded).hexdigest()[:DIGEST_HEX_CHARS]


def pick_sample_positions(row_count: int, sample_rows: int) -> range:
    """Return the positions (in key order) of the rows to sample: evenly spread, first included."""
    step = max(1, row_count // sample_rows) if sample_rows else row_count + 1
    return range(0, row_count, step)[:sample_rows]
