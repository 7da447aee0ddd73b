"""Reading a dump tool's output ahead, through a wider pipe."""

from __future__ import annotations

import fcntl
import io
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import zstandard

from backproof.errors import IntegrityError
from backproof.sources import prefetch
from backproof.sources.prefetch import (
    PIPE_BYTES,
    DumpCancelledError,
    GatedWriter,
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


def read_all_in_a_thread(chunks: Iterator[bytes]) -> tuple[threading.Thread, list[object]]:
    """Consume ``chunks`` on a thread; return it and what it got (the bytes, or the error)."""
    got: list[object] = []

    def consume() -> None:
        try:
            got.append(b"".join(chunks))
        except Exception as error:
            got.append(error)

    thread = threading.Thread(target=consume)
    thread.start()
    return thread, got


def test_a_gated_stream_is_held_until_attached_then_yields_every_byte_in_order() -> None:
    data = os.urandom(300_000)
    gate = GatedWriter()

    thread, got = read_all_in_a_thread(read_ahead(io.BytesIO(data), chunk_bytes=65_536, gate=gate))
    assert gate.flowing.wait(5)
    thread.join(0.3)
    held = list(got)
    gate.attach(io.BytesIO())
    thread.join(5)

    assert held == []
    assert got == [data]


def test_a_gated_stream_past_its_spool_waits_and_loses_no_byte(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = os.urandom(300_000)
    monkeypatch.setattr(prefetch, "SPOOL_BYTES", 100_000)
    small = GatedWriter()
    small_thread, small_got = read_all_in_a_thread(
        read_ahead(io.BytesIO(data), chunk_bytes=65_536, gate=small)
    )
    assert small.flowing.wait(5)
    small_thread.join(0.3)
    held = list(small_got)
    small.attach(io.BytesIO())
    small_thread.join(5)

    assert held == []
    assert small_got == [data]


def test_a_cancelled_gate_ends_the_stream_with_dump_cancelled() -> None:
    gate = GatedWriter()

    thread, got = read_all_in_a_thread(
        read_ahead(io.BytesIO(b"rows" * 1000), chunk_bytes=1024, gate=gate)
    )
    assert gate.flowing.wait(5)
    gate.cancel()
    thread.join(5)

    assert len(got) == 1
    assert isinstance(got[0], DumpCancelledError)
    with pytest.raises(DumpCancelledError):
        gate.write(b"late")
