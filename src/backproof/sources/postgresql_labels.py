"""How a PostgreSQL table is named in the facts: one label per table, never two tables to one.

A table of ``public`` is named bare (``companies``), one of another schema schema-qualified
(``sales.orders``). A part that holds a dot or a double quote is double-quoted as in SQL, a
double quote doubled (``"a.b"``): so the table ``b`` of schema ``a`` (``a.b``) and the table
``a.b`` of ``public`` (``"a.b"``) stay two tables. Every other name is written as it is (mixed
case and spaces included), as in the facts of earlier backups.
"""

from __future__ import annotations

PUBLIC_SCHEMA = "public"


def quote_label_part(part: str) -> str:
    """Return ``part`` double-quoted when it holds a dot or a double quote, else as it is."""
    if "." in part or '"' in part:
        return '"' + part.replace('"', '""') + '"'
    return part


def table_label(schema: str | None, name: str) -> str:
    """Return the label of the table ``name`` of ``schema`` in the facts."""
    if schema in (None, PUBLIC_SCHEMA):
        return quote_label_part(name)
    return f"{quote_label_part(schema or '')}.{quote_label_part(name)}"
