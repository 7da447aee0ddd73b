"""Server URLs rendered without passwords, and which scratch databases are leftovers."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

from backproof.sources.scratch import current_marker, is_leftover, is_scratch_name
from backproof.sources.server_urls import parse_server_url

HOST = socket.gethostname()
NAME = "verify_crm_20260101t010000z_a1b2c3"
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_server_url_renders_without_its_password() -> None:
    server = parse_server_url(
        "postgresql://backup:tajné%40heslo@db.internal:6432/crm?sslmode=require"
    )

    assert server.password == "tajné@heslo"
    assert server.render() == "postgresql://backup@db.internal:6432/crm?sslmode=require"
    assert server.with_database("verify_x").render().endswith("/verify_x?sslmode=require")
    assert "tajné" not in repr(server)


def test_scratch_names_are_only_the_ones_backproof_makes() -> None:
    assert is_scratch_name(NAME)
    assert not is_scratch_name("verify_x")
    assert not is_scratch_name("verify_crm_20260101t010000z_a1b2c3_copy")
    assert not is_scratch_name("crm_20260101t010000z_a1b2c3")


def test_scratch_of_this_host_is_a_leftover_once_its_process_is_gone() -> None:
    assert not is_leftover(NAME, current_marker().text(), NOW)
    assert not is_leftover(NAME, f"backproof-verify host={HOST} pid=1", NOW)
    assert is_leftover(NAME, f"backproof-verify host={HOST} pid=999999999", NOW)


def test_scratch_of_another_host_is_a_leftover_only_after_a_day() -> None:
    marker = "backproof-verify host=elsewhere pid=1"

    assert not is_leftover(NAME, marker, NOW)
    assert is_leftover(NAME, marker, datetime(2026, 1, 2, 2, 0, tzinfo=UTC))


def test_database_without_our_marker_is_never_a_leftover() -> None:
    later = datetime(2030, 1, 1, tzinfo=UTC)

    assert not is_leftover(NAME, None, later)
    assert not is_leftover(NAME, "copy kept by the DBA", later)
    assert not is_leftover("verify_x", "backproof-verify", later)
