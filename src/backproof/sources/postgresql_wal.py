"""What a verify's scratch database costs a PostgreSQL server's standbys and WAL archive.

A verify creates a scratch database, restores the whole dump into it, reads it back and drops
it. On a primary all of that is written to the WAL: every physical standby replays it and a WAL
archive (``archive_mode`` on: archive_command, pgBackRest, WAL-G) stores it, about the size of
the dump each day. PostgreSQL has no session switch to keep writes out of the WAL (MariaDB's
``sql_log_bin``), so a verify can only say so (``verify_warnings``, ``doctor``): the remedy is a
verify server of its own.

The facts are read once per verify on one short connection, by any user: ``pg_stat_replication``
shows every user its rows (the columns past the user and application name are NULL without
pg_read_all_stats), and ``pg_stat_activity`` its ``datid``, NULL for a physical walsender (a
logical one decodes only its own database). ``archive_mode`` is readable by anyone. A standby
(in recovery) is read-only: it cannot hold a scratch database at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from backproof.sources.postgresql_tools import connect, translate
from backproof.sources.server_urls import ServerUrl

# Physical walsenders: the standbys streaming from this server (and a running base backup).
WAL_FACTS = """
SELECT (SELECT count(*) FROM pg_stat_replication AS r JOIN pg_stat_activity AS a USING (pid)
        WHERE a.datid IS NULL),
       current_setting('archive_mode'),
       pg_is_in_recovery()
"""
ARCHIVING_MODES = ("on", "always")
WHAT_TO_DO = "point verify.url at a PostgreSQL server of its own (no standbys, no WAL archiving)"


@dataclass(frozen=True)
class WalShipping:
    """Where a PostgreSQL server's WAL goes: how many standbys stream it, its ``archive_mode``,
    and whether the server is itself a standby."""

    standbys: int
    archive_mode: str = "off"
    in_recovery: bool = False

    @property
    def archives(self) -> bool:
        """Return True when the server archives its WAL."""
        return self.archive_mode in ARCHIVING_MODES

    def warnings(self, where: str) -> list[str]:
        """Return what a verify on the server ``where`` should tell the operator, and what to
        do: one line, or none when its WAL goes nowhere but its own disk."""
        if self.in_recovery:
            return [
                f"PostgreSQL at {where} is a standby (in recovery): it is read-only and cannot "
                f"hold a verify's scratch database, so verify fails there; {WHAT_TO_DO}"
            ]
        if not (self.standbys or self.archives):
            return []
        return [
            f"PostgreSQL at {where} {self._readers()}: each verify writes its scratch database "
            "(creation, whole restore, drop) into the WAL, about the size of the dump, "
            f"{self._costs()}, and no session can keep out of the WAL; {WHAT_TO_DO}"
        ]

    def _readers(self) -> str:
        plural = "s" if self.standbys > 1 else ""
        streams = f"streams its WAL to {self.standbys} standby{plural}"
        archives = f"archives its WAL (archive_mode = {self.archive_mode})"
        if self.standbys and self.archives:
            return f"{streams} and {archives.replace('its WAL', 'it')}"
        return streams if self.standbys else archives

    def _costs(self) -> str:
        replayed = "replayed by the standby" + ("s" if self.standbys > 1 else "")
        stored = "stored by the archive"
        if self.standbys and self.archives:
            return f"{replayed} and {stored}"
        return replayed if self.standbys else stored


def probe_wal_shipping(server: ServerUrl, password: str | None) -> WalShipping:
    """Return where ``server`` ships its WAL (read on one connection, by any user).

    Raises SourceError when the server cannot be reached or asked.
    """
    with connect(server, password) as connection:
        try:
            row = connection.execute(WAL_FACTS).fetchone()
        except psycopg.Error as exc:
            raise translate(exc, f"cannot read where {server.label} ships its WAL") from exc
    assert row is not None  # noqa: S101 - a SELECT without FROM returns one row
    standbys, archive_mode, in_recovery = row
    return WalShipping(int(standbys), str(archive_mode), bool(in_recovery))
