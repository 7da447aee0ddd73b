"""Reading ``pg_restore --jobs --verbose``'s stderr: its workers share it and write a message's
prefix and text in two calls, so under load the lines come interleaved."""

from __future__ import annotations

import pytest

from backproof.sources.postgresql_digests import finished_table_data, is_restore_info


@pytest.mark.parametrize(
    ("line", "item"),
    [
        (b"pg_restore: finished item 12 TABLE DATA public contacts postgres\n", 12),
        # two workers' prefixes on one line, then the other's text without one
        (b"pg_restore: pg_restore: finished item 12 TABLE DATA sales events_2025 bp\n", 12),
        (b"finished item 13 TABLE DATA sales events_2026 bp\n", 13),
        (b"pg_restore: finished item 14 INDEX public contacts_pkey postgres\n", None),
        (b"pg_restore: processing item 12 TABLE DATA public contacts postgres\n", None),
        # a table's name that reads like the report of another item is not one
        (b"pg_restore: processing item 7 TABLE DATA public finished item 9 TABLE DATA x\n", None),
        (b"pg_restore: error: could not execute query\n", None),
    ],
)
def test_a_finished_table_is_read_from_its_line_interleaved_or_not(
    line: bytes, item: int | None
) -> None:
    assert finished_table_data(line) == item


@pytest.mark.parametrize(
    ("line", "is_info"),
    [
        (b"pg_restore: launching item 3 TABLE DATA public contacts postgres\n", True),
        (b"pg_restore: pg_restore: processing item 4 TABLE DATA public deals postgres\n", True),
        (b"pg_restore: error: could not execute query: ERROR:  deadlock detected\n", False),
        # an error behind another worker's prefix still reaches the tail a failure shows
        (b"pg_restore: pg_restore: error: could not execute query\n", False),
        (b"pg_restore: warning: errors ignored on restore: 1\n", False),
        (b"Command was: ALTER TABLE ONLY public.deals\n", False),
    ],
)
def test_an_error_behind_two_prefixes_is_not_taken_for_information(
    line: bytes, is_info: bool
) -> None:
    assert is_restore_info(line) is is_info
