"""The spool of a parallel PostgreSQL restore: space checked first, private, removed after."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest

from backproof.errors import RestoreError
from backproof.sources.postgresql_spool import (
    require_spool_space,
    spooled_archive,
    write_data_offsets,
)


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
