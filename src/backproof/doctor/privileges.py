"""What the user verify imports as may reach beyond its scratch database (issue 9 items 2, 10).

A dump is data from the source; even an authentic one can hold anything its database could
(a compromised application writes its own dump). The import should run as a user that owns
the scratch database and nothing else. These checks read the user's privileges and say what
is too much; they never change them (``backproof setup verify-user --print`` prints the SQL).
"""

from __future__ import annotations

import re

from backproof.doctor.checks import DoctorCheck, failed, ok, warning
from backproof.sources import mysql_tools, postgresql_tools
from backproof.sources.registry import engine_of
from backproof.sources.server_urls import parse_server_url

NAME = "verify user"
ADVICE = (
    "a dump could reach beyond its scratch database; set verify.url to a least-privilege user "
    "(`backproof setup verify-user --print` prints the SQL)"
)
POSTGRESQL_ROLE = """
SELECT current_user, rolsuper, rolcreatedb, rolcreaterole,
       pg_has_role(current_user, 'pg_execute_server_program', 'MEMBER'),
       pg_has_role(current_user, 'pg_write_server_files', 'MEMBER'),
       pg_has_role(current_user, 'pg_read_server_files', 'MEMBER')
FROM pg_roles WHERE rolname = current_user
"""
POSTGRESQL_OTHER_DATABASES = r"""
SELECT datname FROM pg_database
WHERE NOT datistemplate AND datname NOT LIKE 'verify\_%' AND datname <> 'postgres'
  AND (pg_get_userbyid(datdba) = current_user OR has_database_privilege(datname, 'CREATE'))
ORDER BY datname
"""
MYSQL_GLOBAL_TOO_MUCH = ("ALL PRIVILEGES", "SUPER", "FILE", "GRANT OPTION", "CREATE USER")
MYSQL_GRANT = re.compile(r"^GRANT (?P<privileges>.+?) ON (?P<scope>\S+) TO ", re.IGNORECASE)


def check_verify_privileges(
    url: str, password: str | None, *, used_by_default: bool, name: str = NAME
) -> DoctorCheck:
    """Return the verdict, as the check ``name``, on the user verify imports as at ``url``."""
    engine = engine_of(url)
    if engine == "sqlite":
        return ok(name, "verify restores into SQLite files: no server user can be abused")
    problems = (
        _postgresql_problems(url, password)
        if engine == "postgresql"
        else _mysql_problems(url, password)
    )
    if problems and problems[0].startswith("cannot"):
        return failed(name, problems[0])
    where = "the target's own user (verify.url is not set)" if used_by_default else "verify.url"
    if problems:
        return warning(name, f"verify imports as {where}, which {'; '.join(problems)}: {ADVICE}")
    return ok(name, f"verify imports as {where}, limited to its scratch databases")


def _postgresql_problems(url: str, password: str | None) -> list[str]:
    server = parse_server_url(url)
    with postgresql_tools.connect(server, password) as connection:
        role = connection.execute(POSTGRESQL_ROLE).fetchone()
        others = [row[0] for row in connection.execute(POSTGRESQL_OTHER_DATABASES).fetchall()]
    assert role is not None  # noqa: S101 - current_user is always a role
    user, superuser, createdb, createrole, program, write_files, read_files = role
    if not (createdb or superuser):
        return [f"cannot create the scratch databases: {user} lacks CREATEDB"]
    # The import itself then runs as a temporary role owning only the scratch database
    # (sources/postgresql_roles.py); everything else verify does runs as this user.
    problems = [f"is {user}, a superuser"] if superuser else []
    if createrole and not superuser:
        problems.append(
            f"is {user}, with CREATEROLE (before PostgreSQL 16 it can grant itself more)"
        )
    members = [
        name
        for name, member in (
            ("pg_execute_server_program", program),
            ("pg_write_server_files", write_files),
            ("pg_read_server_files", read_files),
        )
        if member and not superuser
    ]
    if members:
        problems.append(f"is a member of {', '.join(members)}")
    if others:
        problems.append(f"owns or may create in other databases ({', '.join(others)})")
    return problems


def _mysql_problems(url: str, password: str | None) -> list[str]:
    server = parse_server_url(url)
    with mysql_tools.connect(server, password) as connection, connection.cursor() as cursor:
        cursor.execute("SHOW GRANTS")
        grants = [str(row[0]) for row in cursor.fetchall()]
    return mysql_grant_problems(grants)


def mysql_grant_problems(grants: list[str]) -> list[str]:
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
