"""Reading a dump tool's output ahead, through a wider pipe."""

from __future__ import annotations

import fcntl
import io
import os
import threading
from pathlib import Path

import pytest
import zstandard

from backproof.errors import IntegrityError
from backproof.sources import prefetch
from backproof.sources.prefetch import (
    PIPE_BYTES,
    DumpCancelledError,
    HeldWriter,
    read_ahead,
    widen_pipe,
)


def test_widen_pipe_enlarges_the_buffer_when_the_stream_is_a_pipe() -> None:
    reader, writer = os.pipe()
    with os.fdopen(reader, "rb") as stream:
        try:
            widen_pipe(stream)
            assert fcntl.fcntl(reader, fcntl.F_GETPIPE_SZ) == PIPE_BYTES
        finally:
            os.close(writer)


def test_widen_pipe_leaves_a_file_alone_when_the_stream_is_not_a_pipe(tmp_path: Path) -> None:
    path = tmp_path / "dump"
    path.write_bytes(b"data")
    with path.open("rb") as stream:
        widen_pipe(stream)
        assert stream.read() == b"data"


def test_read_ahead_yields_every_byte_in_order_when_the_stream_ends() -> None:
    data = os.urandom(300_000)

    chunks = list(read_ahead(io.BytesIO(data), chunk_bytes=65_536))

    assert b"".join(chunks) == data


class FailingPart(io.RawIOBase):
    """A decoding stream that yields one chunk, then finds that the part fails its checksum."""

    def __init__(self) -> None:
        self.reads = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.reads += 1
        if self.reads > 1:
            raise IntegrityError("part db: sha256 differs from the manifest")
        return b"x" * max(size, 1)


def test_read_ahead_raises_a_decoding_error_of_the_stream_in_the_caller() -> None:
    chunks = []

    with pytest.raises(IntegrityError, match="sha256 differs"):
        chunks.extend(read_ahead(FailingPart(), chunk_bytes=1024))  # type: ignore[arg-type]

    assert chunks == [b"x" * 1024]


def test_a_stream_without_a_descriptor_is_read_ahead() -> None:
    decoded = zstandard.ZstdDecompressor().stream_reader(
        io.BytesIO(zstandard.ZstdCompressor().compress(b"rows" * 1000))
    )

    assert b"".join(read_ahead(decoded, chunk_bytes=1024)) == b"rows" * 1000  # type: ignore[arg-type]


def write_all_in_a_thread(
    writer: HeldWriter, chunks: list[bytes]
) -> tuple[threading.Thread, list[BaseException]]:
    """Write ``chunks`` into ``writer`` on a thread; return it and the error it met, if any."""
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for chunk in chunks:
                writer.write(chunk)
        except DumpCancelledError as error:
            errors.append(error)

    thread = threading.Thread(target=write)
    thread.start()
    return thread, errors


def test_held_bytes_reach_the_writer_attached_later_then_every_byte_in_order() -> None:
    chunks = [os.urandom(65_536) for _ in range(5)]
    held = HeldWriter()
    thread, errors = write_all_in_a_thread(held, chunks)
    thread.join(5)  # everything fits in memory: the writer never waits
    target = io.BytesIO()

    held.attach(target)
    held.write(b"after")

    assert not thread.is_alive() and errors == []
    assert target.getvalue() == b"".join(chunks) + b"after"


def test_a_writer_past_the_memory_waits_for_the_attach_and_loses_no_byte(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(prefetch, "SPOOL_BYTES", 100_000)
    chunks = [os.urandom(65_536) for _ in range(5)]
    held = HeldWriter()
    thread, errors = write_all_in_a_thread(held, chunks)
    thread.join(0.3)
    was_waiting = thread.is_alive()
    target = io.BytesIO()

    held.attach(target)
    thread.join(5)

    assert was_waiting
    assert errors == []
    assert target.getvalue() == b"".join(chunks)


def test_a_cancelled_writer_drops_what_it_held_and_refuses_every_write(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(prefetch, "SPOOL_BYTES", 100_000)
    held = HeldWriter()
    thread, errors = write_all_in_a_thread(held, [os.urandom(65_536) for _ in range(5)])
    thread.join(0.3)

    held.cancel()
    thread.join(5)

    assert not thread.is_alive()
    assert len(errors) == 1
    with pytest.raises(DumpCancelledError):
        held.write(b"late")
