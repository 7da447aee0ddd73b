"""What the MySQL/MariaDB user verify works as may do beyond its scratch databases (``doctor``).

Read from ``SHOW GRANTS``; ``verify_users`` prints the SQL of a user with no more than it needs.
"""

from __future__ import annotations

import re

from backproof.sources.mysql_tools import connect
from backproof.sources.server_urls import ServerUrl

MYSQL_GLOBAL_TOO_MUCH = ("ALL PRIVILEGES", "SUPER", "FILE", "GRANT OPTION", "CREATE USER")
# What the verify user may hold on every database: the privilege to keep its sessions out of
# the binary log (``mysql_binlog``; MariaDB 10.5.2+, MySQL 8), granted as docs/databases.md says.
MYSQL_GLOBAL_ALLOWED = frozenset({"USAGE", "BINLOG ADMIN", "SESSION_VARIABLES_ADMIN"})
MYSQL_GRANT = re.compile(r"^GRANT (?P<privileges>.+?) ON (?P<scope>\S+) TO ", re.IGNORECASE)


def verify_user_problems(server: ServerUrl, password: str | None) -> list[str]:
    """Return what is too much in the grants of the user verify imports as on ``server``."""
    with connect(server, password) as connection, connection.cursor() as cursor:
        cursor.execute("SHOW GRANTS")
        grants = [str(row[0]) for row in cursor.fetchall()]
    return grant_problems(grants)


def grant_problems(grants: list[str]) -> list[str]:
    """Return what is too much in the lines of ``SHOW GRANTS`` (pure, for tests)."""
    problems: list[str] = []
    for grant in grants:
        match = MYSQL_GRANT.match(grant)
        if match is None:
            continue
        privileges, scope = match.group("privileges").upper(), match.group("scope")
        database = scope.split(".", 1)[0].strip("`")
        if database == "*":
            too_much = [word for word in MYSQL_GLOBAL_TOO_MUCH if word in privileges]
            if "WITH GRANT OPTION" in grant.upper() and "GRANT OPTION" not in too_much:
                too_much.append("GRANT OPTION")
            if too_much:
                problems.append(f"holds {', '.join(too_much)} on *.*")
            elif not _is_allowed_everywhere(privileges):
                problems.append(f"holds {privileges} on every database")
        elif not database.replace("\\", "").startswith("verify_"):
            problems.append(f"holds {privileges} on {database}")
    return problems


def _is_allowed_everywhere(privileges: str) -> bool:
    """Return True when the comma-separated ``privileges`` held on ``*.*`` are all allowed."""
    return {word.strip() for word in privileges.split(",")} <= MYSQL_GLOBAL_ALLOWED


def holds_super(grants: list[str]) -> bool:
    """Return True when the lines of ``SHOW GRANTS`` give SUPER (or every privilege) on
    ``*.*`` (pure, for tests)."""
    for grant in grants:
        match = MYSQL_GRANT.match(grant)
        if match is None or match.group("scope") != "*.*":
            continue
        privileges = {word.strip() for word in match.group("privileges").upper().split(",")}
        if privileges & {"SUPER", "ALL PRIVILEGES", "ALL"}:
            return True
    return False
