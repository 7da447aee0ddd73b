"""Whole PostgreSQL databases: whether one exists, creating, emptying and dropping one.

Shared by the source bound to a database (``restore`` creates and empties its own) and the
scratch server (which creates and drops the ``verify_…`` databases).
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from backproof.sources import postgresql_catalog as catalog
from backproof.sources.postgresql_tools import connect, translate
from backproof.sources.server_urls import ServerUrl

_APPLICATION_SCHEMAS = f"""
SELECT n.nspname FROM pg_namespace AS n WHERE {catalog.USER_SCHEMA}
AND {catalog.NOT_EXTENSION_MEMBER.format(catalog="'pg_namespace'", oid="n.oid")}
"""


def database_exists(server: ServerUrl, password: str | None, name: str) -> bool:
    """Return True when the database ``name`` exists on ``server``."""
    with connect(server.with_database(None), password, autocommit=True) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
    return bool(row and row[0])


def create_database(server: ServerUrl, password: str | None, name: str, marker: str | None) -> None:
    """Create the empty database ``name``, commented with ``marker`` when one is given."""
    identifier = sql.Identifier(name)
    with connect(server, password, autocommit=True) as connection:
        try:
            connection.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(identifier))
            if marker is not None:
                connection.execute(
                    sql.SQL("COMMENT ON DATABASE {} IS {}").format(identifier, sql.Literal(marker))
                )
        except psycopg.Error as exc:
            raise translate(exc, f"cannot create database {name!r} on {server.label}") from exc


def drop_database(server: ServerUrl, password: str | None, name: str) -> None:
    """Drop the database ``name``, closing the sessions still connected to it (13+)."""
    with connect(server, password, autocommit=True) as connection:
        force = sql.SQL(" WITH (FORCE)") if connection.info.server_version >= 130000 else None
        statement = sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name))
        try:
            connection.execute(statement + force if force else statement)
        except psycopg.Error as exc:
            raise translate(exc, f"cannot drop database {name!r} on {server.label}") from exc


def empty_database(target: ServerUrl, password: str | None) -> None:
    """Drop every schema of the application and every large object (``restore --force``).

    pg_restore's own ``--clean`` cannot drop partitioned tables' constraints, and a dump
    restored over objects it does not know would leave them behind.
    """
    with connect(target, password, autocommit=True) as connection:
        try:
            with connection.transaction():
                rows = connection.execute(_APPLICATION_SCHEMAS).fetchall()
                for (schema,) in rows:
                    connection.execute(
                        sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema))
                    )
                connection.execute("CREATE SCHEMA IF NOT EXISTS public")
                connection.execute("SELECT lo_unlink(oid) FROM pg_largeobject_metadata")
        except psycopg.Error as exc:
            raise translate(exc, f"cannot empty {target.label} to restore over it") from exc
