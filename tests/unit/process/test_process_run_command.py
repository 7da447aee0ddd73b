"""run_command: one command to completion, its stdout as text."""

from __future__ import annotations

import pytest

from backproof.errors import PipelineError
from backproof.process import Command, run_command


def test_run_command_returns_stdout_when_command_succeeds() -> None:
    assert run_command(Command("printf", ("printf", "hello\\n"))) == "hello\n"


def test_run_command_passes_input_bytes_to_stdin() -> None:
    assert run_command(Command("cat", ("cat",)), input_bytes=b"caf\xc3\xa9") == "café"


def test_run_command_replaces_undecodable_bytes() -> None:
    assert run_command(Command("printf", ("printf", "\\377ok"))) == "\ufffdok"


def test_run_command_raises_pipeline_error_with_stderr_when_command_fails() -> None:
    command = Command("psql", ("sh", "-c", "echo 'role does not exist' >&2; exit 7"))

    with pytest.raises(PipelineError, match="psql exited with code 7: role does not exist"):
        run_command(command)


def test_run_command_gives_install_hint_when_executable_missing() -> None:
    command = Command("mysqldump", ("backproof-no-such-mysqldump", "--version"))

    with pytest.raises(PipelineError) as caught:
        run_command(command)

    assert (
        str(caught.value) == "mysqldump: executable not found; install backproof-no-such-mysqldump"
    )


@pytest.mark.timeout(20)
def test_run_command_raises_pipeline_error_when_timeout_expires() -> None:
    with pytest.raises(PipelineError, match=r"sleep timed out after 0\.5 s"):
        run_command(Command("sleep", ("sleep", "30")), timeout_seconds=0.5)


def test_run_command_shows_each_stderr_line_to_progress_as_it_comes() -> None:
    seen: list[bytes] = []

    def progress(line: bytes) -> bool:
        seen.append(line)
        return line.startswith(b"step")

    script = "echo 'step 1' >&2; echo 'step 2' >&2; echo 'disk full' >&2; exit 3"
    command = Command("tool", ("sh", "-c", script), progress=progress)

    with pytest.raises(PipelineError) as error:
        run_command(command)

    assert seen == [b"step 1\n", b"step 2\n", b"disk full\n"]
    assert str(error.value).startswith("tool exited with code 3: disk full\n")
    assert "| step" not in str(error.value)
