"""A table's label in the facts read back as its schema and name; the archive entries that come
with a table."""

from __future__ import annotations

import pytest

from backproof.sources.postgresql_archive import TocEntry
from backproof.sources.postgresql_labels import table_label
from backproof.sources.postgresql_table import pick_entries, split_label


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("companies", ("public", "companies")),
        ("Order", ("public", "Order")),
        ("sales.deals", ("sales", "deals")),
        ('"a.b"', ("public", "a.b")),
        ('sales."line.items"', ("sales", "line.items")),
        ('"x.y"."say ""hi"""', ("x.y", 'say "hi"')),
    ],
)
def test_split_label_returns_the_schema_and_name_of_a_label(
    label: str, expected: tuple[str, str]
) -> None:
    assert split_label(label) == expected
    assert table_label(*expected) == label


def test_pick_entries_takes_the_table_its_rows_and_what_depends_on_it_alone() -> None:
    entries = [
        TocEntry(6, "SCHEMA", None, "sales", ()),
        TocEntry(10, "TABLE", "sales", "orders", (6,)),
        TocEntry(11, "SEQUENCE", "sales", "orders_id_seq", (10,)),
        TocEntry(12, "SEQUENCE OWNED BY", "sales", "orders_id_seq", (11,)),
        TocEntry(20, "TABLE", "public", "orders", ()),
        TocEntry(21, "FUNCTION", "public", "audit()", ()),
        TocEntry(13, "DEFAULT", "sales", "orders id", (10, 11)),
        TocEntry(30, "TABLE DATA", "sales", "orders", (10,)),
        TocEntry(31, "TABLE DATA", "public", "orders", (20,)),
        TocEntry(14, "SEQUENCE SET", "sales", "orders_id_seq", (11,)),
        TocEntry(15, "CONSTRAINT", "sales", "orders orders_pkey", (10,)),
        TocEntry(16, "INDEX", "sales", "orders_total", (10,)),
        TocEntry(17, "FK CONSTRAINT", "sales", "orders orders_customer_fkey", (10, 20)),
        TocEntry(18, "TRIGGER", "sales", "orders audit", (10, 21)),
        TocEntry(19, "POLICY", "sales", "orders mine", (10,)),
        TocEntry(22, "COMMENT", "sales", "INDEX orders_total", (16,)),
    ]

    assert pick_entries(entries, "sales", "orders") == [10, 11, 12, 13, 30, 14, 15, 16, 22]
