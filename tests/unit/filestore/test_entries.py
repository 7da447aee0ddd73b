"""The file list's lines: what json.dumps writes, whatever the entry holds."""

from __future__ import annotations

import io
import json

import pytest

from backproof.filestore.entries import (
    FileEntry,
    ListHeader,
    encode_entry,
    encode_header,
    read_list,
)

ENTRIES = [
    FileEntry("uploads", "d", 0o755, 1_796_121_932_642_799_023),
    FileEntry("uploads/a.txt", "f", 0o644, 1, 12, "a" * 64, ["b" * 64]),
    FileEntry("uploads/big.bin", "f", 0o600, 2, 9_000_000, "c" * 64, ["d" * 64, "e" * 64]),
    FileEntry("uploads/empty", "f", 0o644, 3, 0, "f" * 64, []),
    FileEntry('uploads/quo"te\\back\nline\ttab\x01', "f", 0o644, 4, 1, "0" * 64, ["1" * 64]),
    FileEntry("uploads/été/日本", "d", 0o700, 5),
    FileEntry("uploads/bad-\udcff-name", "f", 0o644, 6, 1, "2" * 64, ["3" * 64]),
    FileEntry("uploads/link", "l", 0o777, 7, link='../ét"é/\udcfe'),
]


def json_line(entry: FileEntry) -> bytes:
    """Return the line json.dumps makes of ``entry`` (the format's definition)."""
    line: dict[str, object] = {"path": entry.path, "kind": entry.kind, "mode": entry.mode}
    line["mtime_ns"] = entry.mtime_ns
    if entry.kind == "f":
        line.update(size=entry.size, sha256=entry.sha256, chunks=entry.chunks)
    elif entry.kind == "l":
        line["link"] = entry.link
    return json.dumps(line, ensure_ascii=False).encode("utf-8", "surrogateescape") + b"\n"


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda entry: repr(entry.path))
def test_encode_entry_writes_the_bytes_of_json_dumps(entry: FileEntry) -> None:
    assert encode_entry(entry) == json_line(entry)


def test_read_list_reads_back_every_entry_encoded() -> None:
    stream = io.BytesIO(
        encode_header(ListHeader("sha256")) + b"".join(encode_entry(e) for e in ENTRIES)
    )

    _header, entries = read_list(stream)

    assert list(entries) == ENTRIES
