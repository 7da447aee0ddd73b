"""A table's label in the facts read back as its schema and name."""

from __future__ import annotations

import pytest

from backproof.sources.postgresql_labels import table_label
from backproof.sources.postgresql_table import split_label


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
