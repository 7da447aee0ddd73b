"""The tables of an application's database with their sizes, and the key tables to propose.

The CRM's key tables when the database has them; otherwise the largest tables that hold the
application's own data (framework bookkeeping, caches, sessions, queues and logs are never
proposed: their rows change between the dump and a look at them, and they prove nothing).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from backproof.sources.base import TableSize
from backproof.sources.registry import open_database

CRM_KEY_TABLES = ("companies", "contacts")
PROPOSED_KEY_TABLES = 2
NOT_APPLICATION_DATA = re.compile(
    r"(^|_)(cache|caches|cache_locks|sessions?|jobs?|job_batches|failed_jobs|queue|migrations?"
    r"|schema_migrations|ar_internal_metadata|password_reset_tokens|password_resets"
    r"|personal_access_tokens|logs?|audit_log|activity_log|telescope_\w+|pulse_\w+"
    r"|django_\w+|auth_permission|auth_group\w*|active_storage_\w+|sqlite_\w+)$"
)


def list_table_sizes(url: str, password: str | None) -> list[TableSize]:
    """Return the tables of the database at ``url``, largest first.

    Raises SourceError when the database cannot be reached (the server's reason in the message).
    """
    return open_database(url, password).list_table_sizes()


def propose_key_tables(tables: Sequence[TableSize]) -> list[str]:
    """Return the CRM's key tables when all are there, else the largest application tables."""
    names = {table.name for table in tables}
    if set(CRM_KEY_TABLES) <= names:
        return list(CRM_KEY_TABLES)
    candidates = [table for table in tables if not NOT_APPLICATION_DATA.search(table.name)]
    return [table.name for table in candidates[:PROPOSED_KEY_TABLES] if table.rows > 0]
