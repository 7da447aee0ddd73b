"""Command validation and the masking of secrets."""

from __future__ import annotations

import pytest

import backproof.process
from backproof.process import Command, mask


def test_mask_replaces_each_secret() -> None:
    assert mask("user alice password hunter2", ["hunter2", "alice"]) == "user *** password ***"


def test_mask_replaces_longer_secret_first_when_secrets_overlap() -> None:
    assert mask("token abc123", ["abc", "abc123"]) == "token ***"


def test_mask_ignores_empty_secret() -> None:
    assert mask("nothing to hide", [""]) == "nothing to hide"


def test_mask_hides_password_when_url_has_one() -> None:
    text = "dump of postgresql://backup:p%40ss@db.internal:5432/crm failed"

    assert mask(text, []) == "dump of postgresql://backup:***@db.internal:5432/crm failed"


def test_mask_keeps_url_when_it_has_no_password() -> None:
    text = "mysql://backup@db:3306/crm and https://example.com:8443/path"

    assert mask(text, []) == text


def test_mask_hides_every_url_password_when_text_has_several() -> None:
    text = "s3://key:secret@host mysql://root:toor@db"

    assert mask(text, []) == "s3://key:***@host mysql://root:***@db"


def test_command_rejects_argv_when_it_is_a_shell_string() -> None:
    with pytest.raises(TypeError, match="not a string"):
        Command("dump", "pg_dump -d crm")  # type: ignore[arg-type]


def test_command_rejects_argv_when_it_is_empty() -> None:
    with pytest.raises(ValueError, match="argv is empty"):
        Command("dump", ())


def test_command_keeps_argv_as_tuple_when_given_a_list() -> None:
    assert Command("dump", ["pg_dump", "-d", "crm"]).argv == ("pg_dump", "-d", "crm")  # type: ignore[arg-type]


def test_command_masks_secret_environment_values() -> None:
    command = Command(
        "dump", ("pg_dump",), env={"PGPASSWORD": "pw1", "PGHOST": "db", "API_KEY": "k"}
    )

    assert command.masked_values == ("pw1", "k")


def test_command_describes_argv_masked_and_quoted() -> None:
    argv = ("tool", "--password", "hunter2", "postgresql://u:pw@db/crm", "a b")
    command = Command("dump", argv, secrets=("hunter2",))

    assert command.describe_argv() == "tool --password *** postgresql://u:***@db/crm 'a b'"


def test_process_package_exports_its_public_surface() -> None:
    assert sorted(backproof.process.__all__) == [
        "Command",
        "mask",
        "read_pipeline",
        "run_command",
        "write_pipeline",
    ]
