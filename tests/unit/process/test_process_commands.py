"""Command validation and the masking of secrets."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import backproof.process
from backproof.errors import PipelineError
from backproof.process import Command, commands, mask, read_pipeline, with_output_buffer


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
        "Stopper",
        "mask",
        "read_pipeline",
        "run_command",
        "with_output_buffer",
        "write_pipeline",
    ]


def test_output_buffer_runs_the_tool_with_a_mebibyte_stdout_buffer() -> None:
    command = with_output_buffer(Command(name="env", argv=("env",)))

    printed = read_pipeline([command], lambda stream: stream.read())

    assert command.name == "env"
    assert Path(command.argv[0]).name == "stdbuf"
    assert command.argv[2] == shutil.which("env")
    assert b"_STDBUF_O=1048576\n" in printed
    assert b"libstdbuf" in printed


def test_output_buffer_keeps_the_tools_output_and_its_failure() -> None:
    numbers = Command(name="seq", argv=("seq", "1", "200000"))

    buffered = read_pipeline([with_output_buffer(numbers)], lambda stream: stream.read())

    assert buffered == read_pipeline([numbers], lambda stream: stream.read())
    with pytest.raises(PipelineError, match="false"):
        read_pipeline([with_output_buffer(Command("false", ("false",)))], lambda s: s.read())


def test_output_buffer_keeps_the_command_where_stdbuf_or_the_tool_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    missing = Command(name="no-such-tool", argv=("no-such-tool-backproof", "x"))
    assert with_output_buffer(missing) == missing

    present = Command(name="env", argv=("env",))
    monkeypatch.setattr(commands.shutil, "which", lambda name: None if name == "stdbuf" else name)
    assert with_output_buffer(present) == present
