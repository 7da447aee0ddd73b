"""The file list of a backup in the files store: one JSON line per entry, after a header.

It is the backup's ``files`` part (format ``filestore``), so it is compressed, encrypted and
checksummed like any part, and its sha256 is covered by the manifest's signature. An entry
holds what a restore needs: path, kind, size, mode, mtime and, for a file, its sha256 and the
addresses of its blobs in order; for a symbolic link, its target.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from typing import BinaryIO

from backproof.errors import IntegrityError

LIST_FORMAT = "backproof-filelist"
LIST_VERSION = 1
DUMP_FORMAT = "filestore"


@dataclass
class ListHeader:
    """The first line: which address key named the blobs."""

    key_id: str
    chunker: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class FileEntry:
    """One folder, file or symbolic link of the tree."""

    path: str
    kind: str  # "d", "f" or "l"
    mode: int = 0
    mtime_ns: int = 0
    size: int = 0
    sha256: str = ""
    chunks: list[str] = field(default_factory=list)
    link: str = ""

    @property
    def content(self) -> str:
        """Return what the tree digest holds of it: a file's sha256 or a link's target."""
        return self.sha256 if self.kind == "f" else self.link


def encode_header(header: ListHeader) -> bytes:
    """Return the header line."""
    line = {"format": LIST_FORMAT, "version": LIST_VERSION, "key_id": header.key_id}
    return json.dumps(line | {"chunker": header.chunker}).encode() + b"\n"


def encode_entry(entry: FileEntry) -> bytes:
    """Return an entry's line (empty fields left out): the bytes ``json.dumps`` would write with
    ``ensure_ascii=False``, in a fifth of its time (a backup writes one per file)."""
    head = f'{{"path": {encode_basestring(entry.path)}, "kind": "{entry.kind}", '
    head += f'"mode": {entry.mode}, "mtime_ns": {entry.mtime_ns}'
    if entry.kind == "f":
        # Digests and addresses are hexadecimal: nothing in them to escape.
        chunks = '", "'.join(entry.chunks)
        chunks = f'"{chunks}"' if entry.chunks else ""
        tail = f', "size": {entry.size}, "sha256": "{entry.sha256}", "chunks": [{chunks}]}}\n'
    elif entry.kind == "l":
        tail = f', "link": {encode_basestring(entry.link)}}}\n'
    else:
        tail = "}\n"
    return (head + tail).encode("utf-8", "surrogateescape")


def read_list(stream: BinaryIO) -> tuple[ListHeader, Iterator[FileEntry]]:
    """Return the header of a file list and an iterator over its entries, read as they come.

    Raises IntegrityError when it is not a file list (or a line is not an entry).
    """
    lines = io.TextIOWrapper(stream, encoding="utf-8", errors="surrogateescape")
    try:
        first = json.loads(lines.readline() or "{}")
    except json.JSONDecodeError as exc:
        raise IntegrityError("the file list's header is not JSON") from exc
    if first.get("format") != LIST_FORMAT or first.get("version") != LIST_VERSION:
        raise IntegrityError("the files part is not a backproof file list of a known version")
    header = ListHeader(str(first["key_id"]), dict(first.get("chunker", {})))
    return header, _entries(lines)


def _entries(lines: io.TextIOWrapper) -> Iterator[FileEntry]:
    for number, text in enumerate(lines, start=2):
        try:
            yield FileEntry(**json.loads(text))
        except (json.JSONDecodeError, TypeError) as exc:
            raise IntegrityError(f"line {number} of the file list is not an entry") from exc
