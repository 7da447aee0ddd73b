"""The SQL of a least-privileged verify user, as ``setup verify-user`` prints it."""

from __future__ import annotations

import pytest

from backproof.sources.server_urls import parse_server_url
from backproof.sources.verify_users import verify_user_script


def test_mariadb_user_gets_every_right_on_verify_databases_only() -> None:
    server = parse_server_url("mysql://root@db.example:3306/crm")

    script = verify_user_script("mysql", server, "bp_verify", "pa'ss", "%")

    statements = [line for line in script.sql.splitlines() if not line.startswith("--")]
    assert statements == [
        "CREATE USER 'bp_verify'@'%' IDENTIFIED BY 'pa''ss';",
        "GRANT ALL PRIVILEGES ON `verify\\_%`.* TO 'bp_verify'@'%';",
    ]
    assert (
        "FILE" not in script.sql and "SUPER" not in script.sql and "GRANT OPTION" not in script.sql
    )
    assert 'url = "mysql://bp_verify@db.example:3306"' in script.config


def test_mariadb_script_offers_binlog_admin_only_as_a_commented_choice() -> None:
    server = parse_server_url("mysql://root@db.example:3306/crm")

    script = verify_user_script("mysql", server, "bp_verify", "secret", "%")

    offered = [line for line in script.sql.splitlines() if "BINLOG ADMIN" in line]
    assert offered == [
        "--   GRANT BINLOG ADMIN ON *.* TO 'bp_verify'@'%';   (MySQL 8: SESSION_VARIABLES_ADMIN)"
    ]
    # A comment, so the script pasted whole grants it not: the administrator chooses.
    assert offered[0].startswith("--")


def test_postgresql_role_may_create_databases_and_nothing_more() -> None:
    server = parse_server_url("postgresql://app@127.0.0.1:5432/crm")

    script = verify_user_script("postgresql", server, "bp_verify", "secret", "127.0.0.1")

    assert script.sql.startswith('CREATE ROLE "bp_verify" LOGIN CREATEDB NOSUPERUSER NOCREATEROLE')
    assert "PASSWORD 'secret'" in script.sql
    assert 'password_env = "VERIFY_DB_PASSWORD"' in script.config


def test_sqlite_has_no_user_to_set_up() -> None:
    with pytest.raises(ValueError, match="sqlite has no users"):
        verify_user_script("sqlite", parse_server_url("mysql://x@h/d"), "u", "p", "%")
