"""Labels of PostgreSQL tables in the facts: one per table, never two tables to one."""

from __future__ import annotations

import pytest

from backproof.sources.postgresql_labels import table_label


@pytest.mark.parametrize(
    ("schema", "name", "label"),
    [
        ("public", "companies", "companies"),
        (None, "companies", "companies"),
        ("sales", "orders", "sales.orders"),
        ("public", "Order", "Order"),
        ("public", "a.b", '"a.b"'),
        ("a", "b", "a.b"),
        ("x.y", "z", '"x.y".z'),
        ("public", 'say "hi"', '"say ""hi"""'),
    ],
)
def test_table_label_quotes_only_parts_that_would_be_ambiguous(
    schema: str | None, name: str, label: str
) -> None:
    assert table_label(schema, name) == label


def test_a_dotted_table_of_public_and_a_table_of_a_schema_have_two_labels() -> None:
    assert table_label("a", "b") != table_label("public", "a.b")
