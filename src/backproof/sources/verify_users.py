"""The SQL that makes a least-privileged verify user, for an administrator to run.

Verify creates, fills and drops ``verify_…`` databases. The user it does that as needs no more:

- MariaDB/MySQL: every privilege on the databases named ``verify\\_%`` and none elsewhere; no
  FILE, SUPER or GRANT OPTION (so a dump can neither write files nor reach other databases);
  BINLOG ADMIN only as a commented choice, for a server that logs binary (``mysql_binlog``);
- PostgreSQL: LOGIN and CREATEDB, not a superuser, no CREATEROLE (which before PostgreSQL 16
  could grant itself ``pg_execute_server_program``), a member of nothing: it owns the scratch
  databases it creates and nothing else.

``verify_user_script`` is pure: it returns text; nothing is run.
"""

from __future__ import annotations

from dataclasses import dataclass

from backproof.sources.server_urls import ServerUrl

DEFAULT_USER = "backproof_verify"
PASSWORD_VARIABLE = "VERIFY_DB_PASSWORD"  # noqa: S105 - a variable name


@dataclass(frozen=True)
class VerifyUserScript:
    """What the operator runs as an administrator, and what goes into the configuration."""

    sql: str
    config: str


def verify_user_script(
    engine: str, server: ServerUrl, user: str, password: str, client_host: str
) -> VerifyUserScript:
    """Return the SQL creating ``user`` on ``server`` for ``engine``, and the config lines.

    Raises ValueError for an engine without users (SQLite).
    """
    if engine == "mysql":
        sql = _mysql_sql(user, password, client_host)
    elif engine == "postgresql":
        sql = _postgresql_sql(user, password)
    else:
        raise ValueError(f"{engine} has no users: verify needs nothing to be set up")
    url = ServerUrl(
        scheme=server.scheme,
        host=server.host,
        port=server.port,
        user=user,
        password=None,
        database=None,
    ).render()
    config = f'[verify]\nurl = "{url}"\npassword_env = "{PASSWORD_VARIABLE}"\n'
    return VerifyUserScript(sql=sql, config=config)


def _mysql_sql(user: str, password: str, client_host: str) -> str:
    account = f"'{_mysql_text(user)}'@'{_mysql_text(client_host)}'"
    return (
        f"CREATE USER {account} IDENTIFIED BY '{_mysql_text(password)}';\n"
        f"GRANT ALL PRIVILEGES ON `verify\\_%`.* TO {account};\n" + _binary_log_choice(account)
    )


def _binary_log_choice(account: str) -> str:
    """Return the commented grant that keeps verify out of a binary log: the administrator's
    choice, not a default (BINLOG ADMIN also purges the logs; docs/databases.md)."""
    return (
        "-- Only if this server logs binary (SELECT @@log_bin) and verify runs on it: to keep\n"
        "-- each verify's scratch database out of the log and off the replicas, also run\n"
        f"--   GRANT BINLOG ADMIN ON *.* TO {account};   (MySQL 8: SESSION_VARIABLES_ADMIN)\n"
        '-- or see "Binary logging" in docs/databases.md for the other choices.\n'
    )


def _postgresql_sql(user: str, password: str) -> str:
    role = '"' + user.replace('"', '""') + '"'
    literal = "'" + password.replace("'", "''") + "'"
    return (
        f"CREATE ROLE {role} LOGIN CREATEDB NOSUPERUSER NOCREATEROLE NOREPLICATION "
        f"NOBYPASSRLS PASSWORD {literal};\n"
    )


def _mysql_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "''")
