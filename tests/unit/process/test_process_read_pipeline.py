"""read_pipeline with tiny real commands: failures at each position, SIGPIPE, consume errors."""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO, cast

import psutil
import pytest

from backproof.errors import PipelineError
from backproof.process import Command, read_pipeline


def shell(name: str, script: str, *arguments: str) -> Command:
    return Command(name=name, argv=("sh", "-c", script, name, *arguments))


def count_bytes(stream: BinaryIO) -> int:
    total = 0
    for chunk in iter(lambda: stream.read(65536), b""):
        total += len(chunk)
    return total


def read_all(stream: BinaryIO) -> bytes:
    return stream.read()


def failure_of(commands: list[Command]) -> PipelineError:
    with pytest.raises(PipelineError) as caught:
        read_pipeline(commands, count_bytes)
    return caught.value


def child_pids() -> set[int]:
    return {child.pid for child in psutil.Process().children(recursive=True)}


def children_left(before: set[int]) -> list[str]:
    """Return the processes started since ``before`` that still run (servers that other
    tests' session fixtures started earlier are not this test's business)."""
    return [
        child.name()
        for child in psutil.Process().children(recursive=True)
        if child.pid not in before
    ]


def test_read_pipeline_returns_output_when_every_stage_succeeds() -> None:
    commands = [shell("first", "printf 'hello world'"), Command("upper", ("tr", "a-z", "A-Z"))]

    assert read_pipeline(commands, read_all) == b"HELLO WORLD"


def test_read_pipeline_names_failing_stage_when_first_exits_nonzero() -> None:
    error = failure_of(
        [shell("first", "exit 3"), Command("middle", ("cat",)), Command("last", ("cat",))]
    )

    summary = str(error).splitlines()[0]
    assert summary == "first exited with code 3"
    assert len(error.stages) == 3


def test_read_pipeline_names_failing_stage_when_middle_exits_nonzero() -> None:
    error = failure_of(
        [Command("first", ("yes",)), shell("middle", "exit 3"), Command("last", ("cat",))]
    )

    summary = str(error).splitlines()[0]
    assert summary == "middle exited with code 3"
    assert "first [yes]: was killed by SIGPIPE (stopped)" in error.stages[0]


def test_read_pipeline_names_failing_stage_when_last_exits_nonzero() -> None:
    error = failure_of(
        [Command("first", ("yes",)), Command("middle", ("cat",)), shell("last", "exit 3")]
    )

    assert str(error).splitlines()[0] == "last exited with code 3"


def test_read_pipeline_fails_when_consume_succeeds_but_a_stage_failed() -> None:
    commands = [shell("dump", "printf 'partial'; exit 2"), Command("compress", ("cat",))]

    with pytest.raises(PipelineError, match="dump exited with code 2"):
        read_pipeline(commands, read_all)


def test_read_pipeline_shows_stderr_text_when_stage_fails() -> None:
    error = failure_of(
        [shell("dump", "echo 'connection refused' >&2; echo 'giving up' >&2; exit 1")]
    )

    assert str(error).splitlines()[0] == "dump exited with code 1: giving up"
    assert "    | connection refused" in str(error)


def test_read_pipeline_keeps_only_stderr_tail_when_stage_writes_much() -> None:
    error = failure_of([shell("noisy", "seq 1 100000 >&2; exit 1")])

    assert "| 100000" in str(error)
    assert "| 99980\n" not in str(error)
    assert len(str(error)) < 2000


def test_read_pipeline_reports_signal_when_stage_is_killed() -> None:
    error = failure_of([shell("crash", "kill -SEGV $$")])

    assert str(error).splitlines()[0] == "crash was killed by SIGSEGV"


def test_read_pipeline_reads_every_byte_when_head_stops_yes() -> None:
    commands = [Command("yes", ("yes",)), Command("head", ("head", "-c", "1000000"))]

    assert read_pipeline(commands, count_bytes) == 1_000_000


def test_read_pipeline_succeeds_when_consume_stops_reading_early() -> None:
    assert (
        read_pipeline([Command("yes", ("yes",))], lambda stream: stream.read(10))
        == b"y\ny\ny\ny\ny\n"
    )


def test_read_pipeline_reraises_consume_error_and_kills_stages_when_consume_raises() -> None:
    before = child_pids()

    def consume(stream: BinaryIO) -> None:
        stream.read(1000)
        raise ValueError("storage refused the part")

    with pytest.raises(ValueError, match="storage refused the part"):
        read_pipeline([Command("yes", ("yes",)), Command("compress", ("cat",))], consume)

    assert children_left(before) == []


def test_read_pipeline_raises_pipeline_error_from_consume_error_when_stage_also_failed() -> None:
    def consume(stream: BinaryIO) -> None:
        stream.read()
        raise ValueError("dump is truncated")

    commands = [shell("dump", "printf 'CREATE'; echo 'out of memory' >&2; exit 5")]
    with pytest.raises(PipelineError, match="dump exited with code 5: out of memory") as caught:
        read_pipeline(commands, consume)

    assert isinstance(caught.value.__cause__, ValueError)


@pytest.mark.timeout(20)
def test_read_pipeline_names_hung_stage_when_timeout_expires() -> None:
    before = child_pids()
    commands = [shell("first", "printf 'hello'"), Command("hung", ("sleep", "30"))]

    with pytest.raises(PipelineError) as caught:
        read_pipeline(commands, read_all, timeout_seconds=1)

    assert str(caught.value).splitlines()[0] == "hung timed out after 1 s"
    assert children_left(before) == []


def test_read_pipeline_masks_secret_when_stage_prints_it() -> None:
    command = Command(
        name="dump",
        argv=("sh", "-c", 'echo "password $1 rejected" >&2; exit 1', "dump", "hunter2"),
        secrets=("hunter2",),
    )

    error = failure_of([command])

    assert "hunter2" not in str(error)
    assert "hunter2" not in "".join(error.stages)
    assert "password *** rejected" in str(error)


def test_read_pipeline_masks_url_password_when_stage_prints_it() -> None:
    error = failure_of(
        [shell("dump", "echo 'cannot reach postgresql://app:s3cret@db/crm' >&2; exit 1")]
    )

    assert "s3cret" not in str(error)
    assert "postgresql://app:***@db/crm" in str(error)


def test_read_pipeline_masks_environment_password_when_stage_prints_it() -> None:
    command = Command(
        "dump", ("sh", "-c", 'echo "$PGPASSWORD" >&2; exit 1'), env={"PGPASSWORD": "pa55"}
    )

    error = failure_of([command])

    assert "pa55" not in str(error)


def test_read_pipeline_gives_install_hint_when_executable_missing() -> None:
    with pytest.raises(PipelineError) as caught:
        read_pipeline([Command("pg_dump", ("backproof-no-such-tool", "--version"))], read_all)

    assert str(caught.value) == "pg_dump: executable not found; install backproof-no-such-tool"


def test_read_pipeline_stops_started_stages_when_later_executable_missing() -> None:
    before = child_pids()
    commands = [Command("yes", ("yes",)), Command("missing", ("backproof-no-such-tool",))]

    with pytest.raises(PipelineError, match="missing: executable not found"):
        read_pipeline(commands, read_all)

    assert children_left(before) == []


def test_read_pipeline_names_working_directory_when_it_is_missing(tmp_path: Path) -> None:
    command = Command("list", ("ls",), cwd=str(tmp_path / "gone"))

    with pytest.raises(PipelineError, match="list: working directory not found"):
        read_pipeline([command], read_all)


def test_read_pipeline_feeds_first_stage_when_stdin_is_a_file(tmp_path: Path) -> None:
    path = tmp_path / "input.bin"
    path.write_bytes(b"from a file")

    with path.open("rb") as stdin:
        assert read_pipeline([Command("cat", ("cat",))], read_all, stdin=stdin) == b"from a file"


def test_read_pipeline_feeds_first_stage_when_stdin_has_no_descriptor() -> None:
    data = bytes(range(256)) * 2048

    output = read_pipeline([Command("cat", ("cat",))], read_all, stdin=io.BytesIO(data))

    assert output == data


def test_read_pipeline_gives_child_the_extra_environment() -> None:
    command = Command(
        "env",
        ("sh", "-c", 'printf "%s" "$BACKPROOF_TEST_VALUE"'),
        env={"BACKPROOF_TEST_VALUE": "42"},
    )

    assert read_pipeline([command], read_all) == b"42"


def test_read_pipeline_rejects_empty_command_list() -> None:
    with pytest.raises(ValueError, match="at least one command"):
        read_pipeline([], read_all)


class BrokenSource(io.RawIOBase):
    """A readable stream without a file descriptor whose read fails."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: object) -> int:
        raise OSError(5, "Input/output error")


def test_read_pipeline_raises_stdin_error_when_reading_stdin_fails() -> None:
    stdin = cast(BinaryIO, BrokenSource())

    with pytest.raises(OSError, match="Input/output error"):
        read_pipeline([Command("cat", ("cat",))], read_all, stdin=stdin)


def test_an_aborted_stage_is_asked_to_end_before_it_is_killed(tmp_path: Path) -> None:
    # A tool with workers of its own (pg_restore --jobs) stops them on SIGTERM, not on SIGKILL.
    marker = tmp_path / "asked"
    script = "trap 'echo asked > \"$1\"; exit 143' TERM; echo ready; while :; do sleep 0.05; done"

    def consume(stream: BinaryIO) -> None:
        stream.readline()
        raise ValueError("the restore was interrupted")

    with pytest.raises(ValueError, match="interrupted"):
        read_pipeline([shell("tool", script, str(marker))], consume)

    assert marker.read_text(encoding="ascii") == "asked\n"


def test_an_aborted_stage_that_will_not_end_is_killed(tmp_path: Path) -> None:
    before = child_pids()
    script = "trap '' TERM; echo ready; while :; do sleep 0.05; done"

    def consume(stream: BinaryIO) -> None:
        stream.readline()
        raise ValueError("the restore was interrupted")

    with pytest.raises(ValueError, match="interrupted"):
        read_pipeline([shell("stubborn", script)], consume)

    assert children_left(before) == []
