"""A verify's scratch databases kept out of the MySQL/MariaDB binary log.

A verify imports a whole dump into a throw-away database and drops it. On a server that logs
binary (``@@log_bin``: a primary with replicas, MySQL 8 by default), those writes would go into
the binary log, every replica would create, fill and drop the scratch database too, and the
logs would grow by the size of the dump each day. So every session that writes a scratch
database turns binary logging off for itself (``SET SESSION sql_log_bin = 0``, as myloader does
for its restores); ``restore --to`` is not changed: a real restore replicates as any write.

Only a user with the privilege may: MariaDB 10.5.2+ BINLOG ADMIN (SUPER before), MySQL 8
SESSION_VARIABLES_ADMIN (or SYSTEM_VARIABLES_ADMIN, SUPER). Whether this user may is learnt by
trying it on a connection of its own, which ends at once: privileges have other names on each
server and version, and a role or a global grant gives them too. Where it may not, the verify
still runs, logged, and says so (``verify_warnings``); ``doctor`` says it beforehand.

A server that logs binary refuses a user without SUPER the creation of a trigger or a stored
function (error 1419, whatever the session's ``sql_log_bin``: MariaDB checks the server's log)
unless it trusts function creators (``log_bin_trust_function_creators``): a backup holding
either then fails its verify. That is said too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pymysql

from backproof.errors import SourceError
from backproof.sources.mysql_privileges import holds_super
from backproof.sources.mysql_tools import UNLOGGED_SESSION, connect, reason
from backproof.sources.server_urls import ServerUrl

# The server's answer to a SET the user lacks the privilege for.
ER_SPECIFIC_ACCESS_DENIED_ERROR = 1227

WHAT_TO_DO = (
    "point verify.url at a server without binary logging, grant the verify user BINLOG ADMIN "
    "(MariaDB 10.5.2+; MySQL 8: SESSION_VARIABLES_ADMIN), or have the replicas ignore "
    "the scratch databases (replicate_wild_ignore_table = verify\\_%.%)"
)


@dataclass(frozen=True)
class BinaryLogging:
    """Whether a server logs binary, whether the user verify writes as may turn it off, and
    whether the server lets that user create triggers and stored functions."""

    enabled: bool
    may_turn_off: bool = False
    may_create_functions: bool = True

    @property
    def unlogged(self) -> bool:
        """Return True when the sessions writing a scratch database turn binary logging off."""
        return self.enabled and self.may_turn_off

    def warnings(self, where: str) -> list[str]:
        """Return what a verify on the server ``where`` should tell the operator, and what to
        do: its writes go into the binary log; triggers and functions are refused."""
        found = []
        if self.enabled and not self.may_turn_off:
            found.append(
                f"binary logging is on at {where} and the verify user may not turn it off for "
                "its sessions: each verify writes its scratch database (creation, import, drop) "
                f"into the binary log, and replicas repeat it; {WHAT_TO_DO}"
            )
        if self.enabled and not self.may_create_functions:
            found.append(
                f"binary logging is on at {where} and log_bin_trust_function_creators is off: "
                "the server refuses the verify user (without SUPER) the triggers and stored "
                "functions of a dump, so a backup with any fails its verify; set "
                "log_bin_trust_function_creators = ON there, or point verify.url at a server "
                "without binary logging"
            )
        return found


def probe_binary_logging(server: ServerUrl, password: str | None) -> BinaryLogging:
    """Return whether ``server`` logs binary, whether this user may turn it off and whether
    the server lets it create triggers and stored functions.

    Raises SourceError when the server cannot be reached or asked.
    """
    with connect(server.with_database(None), password) as connection:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT @@log_bin, @@log_bin_trust_function_creators")
                enabled, trusting = (bool(int(value)) for value in cursor.fetchone())
                if not enabled:
                    return BinaryLogging(enabled=False)
                cursor.execute("SHOW GRANTS")
                creates = trusting or holds_super([str(row[0]) for row in cursor.fetchall()])
                may_turn_off = _may_turn_off(cursor)
        except pymysql.MySQLError as exc:
            raise SourceError(f"cannot read {server.label}: {reason(exc)}") from exc
    return BinaryLogging(True, may_turn_off=may_turn_off, may_create_functions=creates)


def _may_turn_off(cursor: Any) -> bool:
    """Return True when this session may turn binary logging off (it then has)."""
    try:
        cursor.execute(UNLOGGED_SESSION)
    except pymysql.MySQLError as exc:
        if exc.args[0] == ER_SPECIFIC_ACCESS_DENIED_ERROR:
            return False
        raise
    return True
