"""Reading a dump tool's output ahead, through a wider pipe."""

from __future__ import annotations

import fcntl
import io
import os
from pathlib import Path

from backproof.sources.prefetch import PIPE_BYTES, read_ahead, widen_pipe


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
