"""Doctor's checks of each target: its database reachable, the tools present and recent enough,
the files readable, and the privileges of the user verify imports as."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from datetime import datetime

from backproof.config.models import Settings, TargetSettings
from backproof.config.secrets import database_password, read_secret
from backproof.doctor.checks import DoctorCheck, failed, ok
from backproof.doctor.privileges import check_verify_privileges
from backproof.errors import BackproofError, SourceError
from backproof.masking import mask_url
from backproof.sources import mysql_tools, postgresql_tools
from backproof.sources.registry import engine_of
from backproof.sources.server_urls import parse_server_url
from backproof.sources.sqlite import connect as sqlite_connect
from backproof.sources.sqlite import sqlite_path


def check_targets(settings: Settings, _now: datetime) -> Iterator[DoctorCheck]:
    """Every target's database, tools, files and verify user."""
    for index, target in enumerate(settings.targets):
        name = f"target {target.name}"
        if target.database:
            try:
                yield ok(name, _check_database(target, index))
                yield _check_verify_user(settings, target, index)
            except BackproofError as exc:
                yield failed(name, " ".join(str(exc).split()))
        for path in target.files:
            if not path.exists():
                yield failed(name, f"files {path} do not exist")
            elif not os.access(path, os.R_OK | (os.X_OK if path.is_dir() else 0)):
                yield failed(name, f"files {path} are not readable by this user")
            else:
                yield ok(name, f"files {path} readable")


def _check_database(target: TargetSettings, index: int) -> str:
    url = target.database or ""
    password = database_password(target, index)
    engine = engine_of(url)
    if engine == "sqlite":
        return _check_sqlite(url)
    server = parse_server_url(url)
    if engine == "postgresql":
        with postgresql_tools.connect(server, password) as connection:
            number = connection.info.server_version
        versions = [
            f"{tool} {postgresql_tools.require_client_for(tool, number)}"
            for tool in (postgresql_tools.DUMP_TOOL, postgresql_tools.RESTORE_TOOL)
        ]
        return f"{mask_url(url)} reachable (PostgreSQL {number // 10000}); {', '.join(versions)}"
    with mysql_tools.connect(server, password) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT VERSION()")
        server_version = mysql_tools.parse_version(str(cursor.fetchone()[0]))
    tools = []
    for candidates in (mysql_tools.DUMP_TOOLS, mysql_tools.CLIENT_TOOLS):
        tool = mysql_tools.find_tool(candidates)
        notes = mysql_tools.check_client(tool, server_version)
        tools.append(
            f"{tool} {mysql_tools.tool_version(tool).text}" + "".join(f" ({n})" for n in notes)
        )
    return f"{mask_url(url)} reachable ({server_version.text}); {', '.join(tools)}"


def _check_sqlite(url: str) -> str:
    path = sqlite_path(url)
    if not path.is_file():
        raise SourceError(f"SQLite database {path} does not exist")
    try:
        with sqlite_connect(path, read_only=True) as connection:
            query = "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
            tables = connection.execute(query).fetchone()[0]
    except sqlite3.Error as exc:
        raise SourceError(f"cannot read SQLite database {path}: {exc}") from exc
    return f"SQLite {path} readable ({tables} tables)"


def _check_verify_user(settings: Settings, target: TargetSettings, index: int) -> DoctorCheck:
    url = settings.verify.url or target.database or ""
    if url == target.database:
        password = database_password(target, index)
    else:
        verify = settings.verify
        password = read_secret(verify.password_env, verify.password_file, "verify.password")
    return check_verify_privileges(
        url,
        password,
        used_by_default=settings.verify.url is None,
        name=f"target {target.name} verify user",
    )
