"""The role a dump is imported as on PostgreSQL: the owner of the scratch database, no more.

pg_restore runs the SQL of a dump's table of contents. A rewritten archive (or the dump of a
compromised database) may hold ``DROP DATABASE other`` or ``COPY … TO PROGRAM``; run as a
superuser, or as the application's user that owns the production database, those succeed.
So the import into a scratch database runs as a role that can do nothing beyond it:

- when the verify user is a superuser or may create roles, a temporary LOGIN role named after
  the scratch database (no superuser, no CREATEDB/CREATEROLE, member of nothing, a random
  password) is made the owner of the scratch database; pg_restore logs in as that role (not
  ``--role``: ``SET ROLE`` is undone by a ``RESET ROLE`` in the dump); afterwards its objects
  are handed to the verify user and the role is dropped;
- otherwise the verify user itself imports, and must not be a member of
  ``pg_execute_server_program``, ``pg_write_server_files`` or ``pg_read_server_files``.

Raises SourceError with what to do when neither holds.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, replace

import psycopg
from psycopg import sql

from backproof.errors import SourceError
from backproof.sources.postgresql_tools import connect, translate
from backproof.sources.server_urls import ServerUrl

SERVER_FILE_ROLES = ("pg_execute_server_program", "pg_write_server_files", "pg_read_server_files")
_RIGHTS = """
SELECT rolsuper, rolcreaterole,
       ARRAY(SELECT name FROM unnest(%s::text[]) AS name
             WHERE pg_has_role(current_user, name, 'MEMBER'))
FROM pg_roles WHERE rolname = current_user
"""
SETUP_HINT = "give verify.url a user of its own (see `backproof setup verify-user --print`)"


@dataclass(frozen=True)
class ImportLogin:
    """Who pg_restore logs in as: the server URL (with its user) and the password."""

    server: ServerUrl
    password: str | None


@contextlib.contextmanager
def import_login(server: ServerUrl, password: str | None, database: str) -> Iterator[ImportLogin]:
    """Yield the login that imports into the scratch ``database``; clean up afterwards.

    Raises SourceError when the verify user may run programs or write files on the server and
    cannot make a role that may not.
    """
    with connect(server, password, database, autocommit=True) as connection:
        try:
            row = connection.execute(_RIGHTS, (list(SERVER_FILE_ROLES),)).fetchone()
        except psycopg.Error as exc:
            raise translate(
                exc, f"cannot read the rights of the verify user on {server.label}"
            ) from exc
    is_super, may_create_roles, file_roles = row if row else (False, False, [])
    if not (is_super or may_create_roles):
        if file_roles:
            raise SourceError(
                f"the verify user {server.user or ''} on {server.label} is a member of "
                f"{', '.join(file_roles)} and cannot create a role without it: {SETUP_HINT}"
            )
        yield ImportLogin(server, password)
        return
    role_password = secrets.token_urlsafe(24)
    _create_role(server, password, database, role_password)
    try:
        yield ImportLogin(replace(server, user=database), role_password)
    finally:
        _drop_role(server, password, database)


def _create_role(server: ServerUrl, password: str | None, name: str, role_password: str) -> None:
    """Create the LOGIN role ``name`` and make it the owner of the scratch database ``name``."""
    role = sql.Identifier(name)
    with connect(server, password, name, autocommit=True) as connection:
        try:
            connection.execute(
                sql.SQL(
                    "CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
                    "NOREPLICATION NOBYPASSRLS PASSWORD {}"
                ).format(role, sql.Literal(role_password))
            )
            connection.execute(sql.SQL("GRANT {} TO current_user").format(role))
            connection.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(role, role))
        except psycopg.Error as exc:
            raise translate(
                exc, f"cannot create the import role {name!r} on {server.label}"
            ) from exc


def _drop_role(server: ServerUrl, password: str | None, name: str) -> None:
    """Hand what ``name`` owns in the scratch database to the verify user, then drop it.

    When the scratch database is gone already, its objects went with it: the role is dropped.
    """
    role = sql.Identifier(name)
    # SourceError: the scratch database no longer exists (or the hand-over failed, and then
    # DROP ROLE below says why).
    with (
        contextlib.suppress(SourceError),
        connect(server, password, name, autocommit=True) as connection,
    ):
        try:
            connection.execute(sql.SQL("REASSIGN OWNED BY {} TO current_user").format(role))
            connection.execute(sql.SQL("DROP OWNED BY {}").format(role))
        except psycopg.Error as exc:
            raise translate(exc, f"cannot drop the import role {name!r}") from exc
    with connect(server, password, autocommit=True) as connection:
        try:
            connection.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(role))
        except psycopg.Error as exc:
            raise translate(exc, f"cannot drop the import role {name!r} on {server.label}") from exc


def drop_leftover_role(server: ServerUrl, password: str | None, name: str) -> None:
    """Drop the import role of a leftover scratch database once that database is gone."""
    # Not ours to drop, or still owning something: then it stays, as the database did.
    with (
        connect(server, password, autocommit=True) as connection,
        contextlib.suppress(psycopg.Error),
    ):
        connection.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))
