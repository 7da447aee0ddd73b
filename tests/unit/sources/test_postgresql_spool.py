"""The spool of a parallel PostgreSQL restore: space checked first, private, removed after."""

from __future__ import annotations

import io
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from backproof.errors import RestoreError
from backproof.sources.postgresql_spool import (
    WALK_DEPTH_CHUNKS,
    require_spool_space,
    spooled_archive,
    write_data_offsets,
    write_walking,
)

# How long the walker of the ordering test waits for the next write before it records that the
# walk and the write did not overlap (the old spool wrote the next chunk only after the walk).
WAIT_SECONDS = 5.0


def test_spool_is_refused_naming_the_folder_when_it_lacks_the_space(tmp_path: Path) -> None:
    with pytest.raises(RestoreError, match=f"free in {tmp_path} for its spool") as error:
        require_spool_space(tmp_path, 10**18)

    assert "verify.spool_dir" in str(error.value)
    assert "verify.jobs = 1" in str(error.value)


def test_spool_is_accepted_when_the_folder_has_the_space(tmp_path: Path) -> None:
    require_spool_space(tmp_path, 1)


def test_spool_is_refused_before_reading_the_dump(tmp_path: Path) -> None:
    dump = io.BytesIO(b"PGDMP")

    with pytest.raises(RestoreError), spooled_archive(dump, tmp_path, 10**18):
        pass

    assert dump.tell() == 0
    assert list(tmp_path.iterdir()) == []


def test_spool_file_is_private_holds_the_dump_and_is_removed_after(tmp_path: Path) -> None:
    with spooled_archive(io.BytesIO(b"not an archive"), tmp_path, 14) as spool:
        path = spool.path
        assert spool.block_bytes == {}
        assert path.read_bytes() == b"not an archive"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700

    assert list(tmp_path.iterdir()) == []


def test_archive_it_cannot_read_keeps_its_bytes_and_gets_no_offsets(tmp_path: Path) -> None:
    path = tmp_path / "dump.pgdump"
    path.write_bytes(b"PGDMP\x01\x0e\x00garbage")

    assert write_data_offsets(path) == 0
    assert path.read_bytes() == b"PGDMP\x01\x0e\x00garbage"


def test_empty_spool_gets_no_offsets(tmp_path: Path) -> None:
    path = tmp_path / "dump.pgdump"
    path.write_bytes(b"")

    assert write_data_offsets(path) == 0


class _OrderedFile(io.BytesIO):
    """A spool file that records when each write starts."""

    def __init__(self) -> None:
        super().__init__()
        self.writes_started = 0
        self.second_write_started = threading.Event()

    def write(self, chunk: Any) -> int:
        self.writes_started += 1
        if self.writes_started == 2:
            self.second_write_started.set()
        return super().write(chunk)


class _WaitingWalker:
    """Walks the first chunk only once the spool's next write has started (or gives up)."""

    def __init__(self, file: _OrderedFile) -> None:
        self.file = file
        self.walked: list[bytes] = []
        self.overlapped = False

    def feed(self, chunk: bytes) -> None:
        if not self.walked:
            self.overlapped = self.file.second_write_started.wait(WAIT_SECONDS)
        self.walked.append(chunk)


class _FailingWalker:
    def feed(self, chunk: bytes) -> None:
        raise ValueError("walk failed")


def test_spool_walks_a_written_chunk_while_the_next_is_written() -> None:
    file = _OrderedFile()
    walker = _WaitingWalker(file)

    write_walking([b"first ", b"second ", b"third"], file, walker)

    assert walker.overlapped
    assert walker.walked == [b"first ", b"second ", b"third"]
    assert file.getvalue() == b"first second third"


def test_spool_raises_what_its_walk_raised_after_writing_every_chunk() -> None:
    file = io.BytesIO()
    chunks = [b"x" * 10] * (WALK_DEPTH_CHUNKS * 3)

    with pytest.raises(ValueError, match="walk failed"):
        write_walking(chunks, file, _FailingWalker())

    assert len(file.getvalue()) == 10 * len(chunks)


class _FullFile(io.BytesIO):
    """A spool file on a disk that fills up at its second write."""

    def write(self, chunk: Any) -> int:
        if self.tell():
            raise OSError(28, "No space left on device")
        return super().write(chunk)


class _RecordingWalker:
    def __init__(self) -> None:
        self.walked: list[bytes] = []

    def feed(self, chunk: bytes) -> None:
        self.walked.append(chunk)


def test_spool_raises_the_write_error_and_walks_only_what_was_written() -> None:
    walker = _RecordingWalker()

    with pytest.raises(OSError, match="No space left"):
        write_walking([b"first", b"second", b"third"], _FullFile(), walker)

    assert walker.walked == [b"first"]
