"""Fresh state databases on the machine's PostgreSQL and MariaDB, dropped afterwards."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import psycopg
import pymysql
import pytest

POSTGRESQL = "postgresql://postgres@127.0.0.1:5432"
MARIADB = "mysql://root@127.0.0.1:3306"


def postgresql_database() -> Iterator[str]:
    """Yield the URL of a fresh PostgreSQL database, dropped afterwards."""
    name = f"bp_test_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(f"{POSTGRESQL}/postgres", autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not running on 127.0.0.1:5432 (scripts/ensure-services.sh): {exc}"
        )
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
        try:
            yield f"{POSTGRESQL}/{name}"
        finally:  # also when the caller closes the generator instead of exhausting it
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')  # type: ignore[arg-type]


def mariadb_database() -> Iterator[str]:
    """Yield the URL of a fresh MariaDB database, dropped afterwards."""
    name = f"bp_test_{secrets.token_hex(4)}"
    try:
        admin = pymysql.connect(host="127.0.0.1", port=3306, user="root", autocommit=True)
    except pymysql.MySQLError as exc:
        pytest.fail(f"MariaDB is not running on 127.0.0.1:3306 (scripts/ensure-services.sh): {exc}")
    try:
        with admin.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        try:
            yield f"{MARIADB}/{name}"
        finally:  # also when the caller closes the generator instead of exhausting it
            with admin.cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        admin.close()
