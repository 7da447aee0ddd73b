"""What the MySQL/MariaDB user verify works as may do beyond its scratch databases (``doctor``).

Read from ``SHOW GRANTS``; ``verify_users`` prints the SQL of a user with no more than it needs.
"""

from __future__ import annotations

import re

from backproof.sources.mysql_tools import connect
from backproof.sources.server_urls import ServerUrl

MYSQL_GLOBAL_TOO_MUCH = ("ALL PRIVILEGES", "SUPER", "FILE", "GRANT OPTION", "CREATE USER")
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
            elif privileges != "USAGE":
                problems.append(f"holds {privileges} on every database")
        elif not database.replace("\\", "").startswith("verify_"):
            problems.append(f"holds {privileges} on {database}")
    return problems
