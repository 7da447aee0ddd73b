"""write_pipeline with tiny real commands: a stage dying while fed, exact bytes, capture."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, cast

import pytest

from backproof.errors import PipelineError
from backproof.process import Command, write_pipeline

CHUNK = bytes(range(256)) * 256  # 64 KiB


def shell(name: str, script: str, *arguments: str) -> Command:
    return Command(name=name, argv=("sh", "-c", script, name, *arguments))


def producing(size_bytes: int) -> Callable[[BinaryIO], None]:
    def produce(stream: BinaryIO) -> None:
        for _ in range(size_bytes // len(CHUNK)):
            stream.write(CHUNK)

    return produce


def writing(data: bytes) -> Callable[[BinaryIO], None]:
    def produce(stream: BinaryIO) -> None:
        stream.write(data)

    return produce


def test_write_pipeline_raises_pipeline_error_when_stage_dies_while_producing() -> None:
    command = shell("restore", "head -c 10 >/dev/null; echo 'syntax error' >&2; exit 4")

    with pytest.raises(PipelineError) as caught:
        write_pipeline([command], producing(10 * 1024 * 1024))

    assert str(caught.value).splitlines()[0] == "restore exited with code 4: syntax error"
    assert isinstance(caught.value.__cause__, BrokenPipeError)


def test_write_pipeline_raises_pipeline_error_when_stage_stops_reading_with_success() -> None:
    with pytest.raises(PipelineError, match="head stopped reading its input before the end"):
        write_pipeline([Command("head", ("head", "-c", "10"))], producing(10 * 1024 * 1024))


def test_write_pipeline_names_failing_stage_when_last_exits_nonzero() -> None:
    commands = [Command("decompress", ("cat",)), shell("restore", "exit 3")]

    with pytest.raises(PipelineError) as caught:
        write_pipeline(commands, producing(1024 * 1024))

    assert str(caught.value).splitlines()[0] == "restore exited with code 3"


def test_write_pipeline_fails_when_stage_fails_after_reading_everything() -> None:
    with pytest.raises(PipelineError, match="restore exited with code 6"):
        write_pipeline([shell("restore", "cat >/dev/null; exit 6")], producing(len(CHUNK)))


def test_write_pipeline_writes_exact_bytes_when_cat_redirects_to_file(tmp_path: Path) -> None:
    path = tmp_path / "restored.bin"
    data = CHUNK * 40 + b"tail"

    write_pipeline([shell("store", 'cat > "$1"', str(path))], writing(data))

    assert path.read_bytes() == data


def test_write_pipeline_returns_last_64_kib_when_output_is_captured() -> None:
    data = b"a" * 100_000 + CHUNK

    output = write_pipeline([Command("cat", ("cat",))], writing(data))

    assert output == CHUNK


def test_write_pipeline_streams_output_into_file_when_given(tmp_path: Path) -> None:
    path = tmp_path / "out.bin"

    with path.open("wb") as stdout:
        stdout.write(b"header:")
        output = write_pipeline(
            [Command("cat", ("cat",))], producing(len(CHUNK) * 4), stdout=stdout
        )

    assert output == b""
    assert path.read_bytes() == b"header:" + CHUNK * 4


def test_write_pipeline_streams_output_into_stream_without_descriptor() -> None:
    stdout = io.BytesIO()

    write_pipeline(
        [Command("cat", ("cat",)), Command("cat", ("cat",))],
        producing(len(CHUNK) * 20),
        stdout=stdout,
    )

    assert stdout.getvalue() == CHUNK * 20


def test_write_pipeline_reraises_produce_error_when_produce_raises() -> None:
    def produce(stream: BinaryIO) -> None:
        stream.write(CHUNK)
        raise RuntimeError("source read failed")

    with pytest.raises(RuntimeError, match="source read failed"):
        write_pipeline([Command("cat", ("cat",))], produce)


@pytest.mark.timeout(20)
def test_write_pipeline_names_hung_stage_when_timeout_expires() -> None:
    with pytest.raises(PipelineError) as caught:
        write_pipeline(
            [Command("hung", ("sleep", "30"))], producing(10 * 1024 * 1024), timeout_seconds=1
        )

    assert str(caught.value).splitlines()[0] == "hung timed out after 1 s"


def test_write_pipeline_gives_install_hint_when_executable_missing() -> None:
    with pytest.raises(
        PipelineError, match="psql: executable not found; install backproof-no-such-tool"
    ):
        write_pipeline([Command("psql", ("backproof-no-such-tool",))], producing(0))


class FullDisk(io.RawIOBase):
    """A writable stream without a file descriptor that fails after a few bytes."""

    def __init__(self) -> None:
        self.size_bytes = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.size_bytes += len(data)
        if self.size_bytes > len(CHUNK):
            raise OSError(28, "No space left on device")
        return len(data)


def test_write_pipeline_raises_output_error_when_writing_output_fails() -> None:
    stdout = cast(BinaryIO, FullDisk())

    with pytest.raises(OSError, match="No space left on device"):
        write_pipeline([Command("cat", ("cat",))], producing(10 * 1024 * 1024), stdout=stdout)
