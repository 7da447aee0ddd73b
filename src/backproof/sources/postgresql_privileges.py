"""What the PostgreSQL user verify works as may do beyond its scratch databases (``doctor``).

Read only: the user's attributes and memberships and the other databases it may create in;
``verify_users`` prints the SQL of a user with no more than it needs.
"""

from __future__ import annotations

from backproof.sources.postgresql_tools import connect
from backproof.sources.server_urls import ServerUrl

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


def verify_user_problems(server: ServerUrl, password: str | None) -> list[str]:
    """Return what is too much for the user verify imports as on ``server`` (empty: nothing);
    a first line starting ``cannot`` says verify cannot work as that user at all."""
    with connect(server, password) as connection:
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
