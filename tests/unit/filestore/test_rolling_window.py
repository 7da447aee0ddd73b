"""The rolling window of verify.files_percent: a share a day, every file within the period."""

from __future__ import annotations

import math

import pytest

from backproof.filestore.entries import FileEntry
from backproof.filestore.proving import rolling_window

ENTRIES = [FileEntry(f"uploads/{index:05d}.jpg", "f") for index in range(2000)]


@pytest.mark.parametrize("percent", [5.0, 10.0, 33.0])
def test_window_covers_every_file_within_100_over_percent_days(percent: float) -> None:
    seen: set[str] = set()
    for day in range(math.ceil(100 / percent)):
        chosen = rolling_window(percent, 740_000 + day)
        seen.update(entry.path for entry in ENTRIES if chosen(entry))

    assert len(seen) == len(ENTRIES)


def test_window_reads_about_its_share_a_day() -> None:
    chosen = rolling_window(10.0, 740_123)

    share = sum(chosen(entry) for entry in ENTRIES) / len(ENTRIES)

    assert 0.07 < share < 0.13


def test_window_of_100_percent_reads_every_file() -> None:
    chosen = rolling_window(100.0, 1)

    assert all(chosen(entry) for entry in ENTRIES)
