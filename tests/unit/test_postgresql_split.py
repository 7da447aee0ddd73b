"""Which tables' rows a PostgreSQL dump in two streams puts in its second stream."""

from __future__ import annotations

from backproof.sources.postgresql_streams import DATA_PART_MIN_BYTES, largest_within_half

MIB = 1024 * 1024


def test_the_largest_table_alone_goes_apart_even_when_it_is_over_half() -> None:
    sizes = {1: 600 * MIB, 2: 300 * MIB, 3: 100 * MIB}

    assert largest_within_half(sizes) == [1]


def test_the_next_largest_tables_join_it_while_the_second_stream_stays_within_half() -> None:
    # 400 + 100 = 500 of 1000: the 300 would take it past half, the 100 does not.
    sizes = {1: 400 * MIB, 2: 300 * MIB, 3: 200 * MIB, 4: 100 * MIB}

    assert largest_within_half(sizes) == [1, 4]


def test_no_table_goes_apart_below_the_threshold() -> None:
    sizes = {1: DATA_PART_MIN_BYTES - 1, 2: MIB}

    assert largest_within_half(sizes) == []


def test_tables_below_the_threshold_never_join_the_second_stream() -> None:
    sizes = {1: 400 * MIB, 2: 300 * MIB, 3: DATA_PART_MIN_BYTES - 1}

    assert largest_within_half(sizes) == [1]


def test_no_table_goes_apart_from_an_empty_database() -> None:
    assert largest_within_half({}) == []
