"""A process that writes a restore's files: ``python -m backproof.filestore.restore_worker``.

pyrage, zstd, the blobs' HMAC and the files' sha256 hold (or share) the restore's GIL; here a
few processes (``file_writers.py``) do all of a file's work each: read and decrypt the packs it
needs (a small cache of their own: batches go to the process that has their pack), cut each
blob, check it against its address, and write the file through a ``ConfinedTree`` rooted at
the restore's own root folder, whose descriptor is handed over (never its path). The restore
makes the folders, in the list's order, before handing over the files in them.

It speaks over its standard input, a stream socket, one message a frame (a 4-byte length, then
JSON):

- first ``{"identity": hex, "secret": hex or null, "digest_keyed": bool}`` with the root's
  descriptor (SCM_RIGHTS): the identity file's and the address key's bytes, never in argv or
  the environment;
- then one batch a message: ``{"packs": {pack: path}, "files": [[path, mode, mtime_ns, sha256
  or null, [[address, [[pack, offset, length, raw_length], …]], …]], …]}`` (each blob's
  copies, the preferred first);
- answered in order with ``{"written": [sha256 or [cause, pack or message], …]}`` (cause
  ``blob``: a blob that does not decode or match its address, with the message; else the pack's
  failure, ``missing``, ``checksum`` or ``corrupt``), or with ``{"fatal": kind, "message": …,
  "errno": …}`` for what ends the restore (``unsafe``: a name the tree refuses; ``write``: the
  system refused a write; ``read``: a pack's file that cannot be read, its path; ``identity``:
  no identity decrypts the pack, named).

It ignores SIGINT (the restore, which a terminal's Ctrl-C reaches too, stops it by closing the
socket) and ends when the socket closes.
"""

from __future__ import annotations

import json
import mmap
import os
import socket
import struct
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import pyrage

from backproof.archive.age_identities import parse_identities
from backproof.archive.safe_extract import ConfinedTree, UnsafeMemberError
from backproof.errors import IntegrityError
from backproof.filestore.blob_cutting import blob_address, blob_from_pack
from backproof.filestore.pack_buffers import (
    PiecesReader,
    ViewWriter,
    private_mapping,
    read_whole,
    serve_standard_input,
)

HEADER = struct.Struct(">I")
PACKS_HELD = 4  # decrypted packs kept by each process (batches of one pack go to one process)

# A file's blob: its address and its copies, each [pack, offset, length, raw_length].
Chunk = tuple[str, list[tuple[str, int, int, int]]]


def send_message(channel: socket.socket, message: dict[str, Any]) -> None:
    """Send one frame."""
    data = json.dumps(message).encode()
    channel.sendall(HEADER.pack(len(data)) + data)


def receive_message(channel: socket.socket) -> dict[str, Any] | None:
    """Return the next frame; None when the socket closed between frames."""
    header = _receive_exactly(channel, HEADER.size)
    if header is None:
        return None
    body = _receive_exactly(channel, HEADER.unpack(header)[0])
    if body is None:
        raise ConnectionResetError("the socket closed inside a message")
    message: dict[str, Any] = json.loads(body)
    return message


def _receive_exactly(channel: socket.socket, size: int) -> bytes | None:
    buffer = bytearray(size)
    view, done = memoryview(buffer), 0
    while done < size:
        count = channel.recv_into(view[done:])
        if not count:
            if done:
                raise ConnectionResetError("the socket closed inside a message")
            return None
        done += count
    return bytes(buffer)


class Fatal(Exception):  # noqa: N818 - the answer's word
    """What ends the restore: its kind and, for the system's refusals, the errno."""

    def __init__(self, kind: str, message: str, errno: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.errno = errno


class Unreadable(Exception):  # noqa: N818 - the answer's word
    """A file's blob cannot be read: ``cause`` (``blob`` or the pack's failure) and ``detail``
    (the message, or the pack)."""

    def __init__(self, cause: str, detail: str) -> None:
        super().__init__(detail)
        self.cause = cause
        self.detail = detail


class HeldPacks:
    """The packs this process decrypted last, or why they could not be read. Their buffers
    are kept and used again (pages faulted in once, not twice a pack)."""

    def __init__(self, identities: list[Any]) -> None:
        self.identities = identities
        self.held: OrderedDict[str, tuple[memoryview, mmap.mmap | None] | Unreadable] = (
            OrderedDict()
        )
        self.stored: mmap.mmap | None = None  # the last pack as stored
        self.spare: list[mmap.mmap] = []  # the buffers of packs let go

    def plain(self, pack: str, path: str) -> memoryview:
        """Return a pack's decrypted bytes; Unreadable when it is damaged, Fatal when it
        cannot be read or no identity decrypts it."""
        value = self.held.get(pack)
        if value is None:
            value = self.held[pack] = self._load(pack, path)
            while len(self.held) > PACKS_HELD:
                _name, oldest = self.held.popitem(last=False)
                if not isinstance(oldest, Unreadable) and oldest[1] is not None:
                    self.spare.append(oldest[1])  # nothing reads it any more: one at a time
        self.held.move_to_end(pack)
        if isinstance(value, Unreadable):
            raise value
        return value[0]

    def _load(self, pack: str, path: str) -> tuple[memoryview, mmap.mmap | None] | Unreadable:
        try:
            with open(path, "rb", buffering=0) as stream:  # noqa: PTH123 - unbuffered
                size_bytes = os.fstat(stream.fileno()).st_size
                stored = self._stored(size_bytes)
                read_whole(stream, stored)
        except FileNotFoundError:
            return Unreadable("missing", pack)
        except OSError as exc:
            raise Fatal("read", path, exc.errno) from exc
        buffer = self._plain_buffer(size_bytes)
        sink = ViewWriter(memoryview(buffer)[:size_bytes])
        try:
            pyrage.decrypt_io(PiecesReader([stored]), sink, self.identities)
        except pyrage.DecryptError as exc:
            raise Fatal("identity", pack) from exc
        except OSError:  # decrypt_io's word for a chunk that does not authenticate
            self.spare.append(buffer)
            return Unreadable("corrupt", pack)
        finally:
            stored.release()
        return sink.result(), buffer

    def _stored(self, size_bytes: int) -> memoryview:
        if self.stored is None or len(self.stored) < size_bytes:
            if self.stored is not None:
                self.stored.close()
            self.stored = _mapping(size_bytes)
        return memoryview(self.stored)[:size_bytes]

    def _plain_buffer(self, size_bytes: int) -> mmap.mmap:
        for number, buffer in enumerate(self.spare):
            if len(buffer) >= size_bytes:
                return self.spare.pop(number)
        return _mapping(size_bytes)


def _mapping(size_bytes: int) -> mmap.mmap:
    """Return a private mapping of at least ``size_bytes`` (a MiB more, so that packs of about
    one size share their buffers), in huge pages where the system has them."""
    return private_mapping(size_bytes + 1024 * 1024)


class Writer:
    """Writes the batches of one restore."""

    def __init__(self, tree: ConfinedTree, settings: dict[str, Any]) -> None:
        self.tree = tree
        self.packs = HeldPacks(parse_identities(bytes.fromhex(settings["identity"])))
        secret = settings["secret"]
        self.secret = bytes.fromhex(secret) if secret is not None else None
        self.is_digest_keyed: bool = settings["digest_keyed"]

    def batch(self, job: dict[str, Any]) -> dict[str, Any]:
        """Write a batch's files; return the answer."""
        paths: dict[str, str] = job["packs"]
        written: list[str | list[str]] = []
        try:
            for name, mode, mtime_ns, sha256, chunks in job["files"]:
                pieces = self._pieces(chunks, paths)
                try:
                    written.append(
                        self.tree.write_file(name, pieces, mode, mtime_ns / 1e9, sha256=sha256)
                    )
                except Unreadable as exc:
                    written.append([exc.cause, exc.detail])
        except Fatal as exc:
            return {"fatal": exc.kind, "message": str(exc), "errno": exc.errno}
        except UnsafeMemberError as exc:
            return {"fatal": "unsafe", "message": str(exc), "errno": None}
        except OSError as exc:
            message = f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc)
            return {"fatal": "write", "message": message, "errno": exc.errno}
        return {"written": written}

    def _pieces(self, chunks: list[Chunk], paths: dict[str, str]) -> Iterator[bytes]:
        for address, copies in chunks:
            yield self._blob(address, copies, paths)

    def _blob(
        self, address: str, copies: list[tuple[str, int, int, int]], paths: dict[str, str]
    ) -> bytes:
        """Return a blob read from the first copy that reads and matches its address."""
        error: Unreadable | None = None
        for pack, offset, length, raw_length in copies:
            where = f"pack {pack}"
            try:
                plain = self.packs.plain(pack, paths[pack])
                data = blob_from_pack(plain, _Place(address, offset, length, raw_length), where)
            except Unreadable as exc:
                error = exc
                continue
            except IntegrityError as exc:
                error = Unreadable("blob", str(exc))
                continue
            if blob_address(self.secret, data, is_digest_keyed=self.is_digest_keyed) != address:
                error = Unreadable("blob", f"{where} holds a blob that does not match its address")
                continue
            return data
        assert error is not None  # noqa: S101 - the restore sends at least one copy
        raise error


class _Place:
    """Where a blob sits in its pack, as ``blob_from_pack`` reads it."""

    __slots__ = ("address", "length", "offset", "raw_length")

    def __init__(self, address: str, offset: int, length: int, raw_length: int) -> None:
        self.address = address
        self.offset = offset
        self.length = length
        self.raw_length = raw_length


def serve(channel: socket.socket) -> None:
    """Write the batches sent on ``channel`` until it closes."""
    header, descriptors, _flags, _address = socket.recv_fds(channel, HEADER.size, 1)
    if not descriptors:
        return  # the restore closed the socket before the first message
    body = _receive_exactly(channel, HEADER.unpack(header)[0])
    if body is None:
        return
    with ConfinedTree(descriptors[0]) as tree:
        writer = Writer(tree, json.loads(body))
        del body
        while (job := receive_message(channel)) is not None:
            send_message(channel, writer.batch(job))


def main() -> None:
    """Serve the socket on standard input."""
    serve_standard_input(serve)


if __name__ == "__main__":
    main()
