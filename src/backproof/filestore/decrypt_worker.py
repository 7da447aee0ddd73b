"""The process that decrypts a restore's packs: ``python -m backproof.filestore.decrypt_worker``.

pyrage holds the GIL while it decrypts, so in the restore's own process no other thread runs
Python meanwhile; ``decrypting.py`` starts one or two of these and hands them the packs. This
process speaks over its standard input, a ``SOCK_SEQPACKET`` socket (one message a packet):

- first the identity file's bytes, with the descriptor of the shared buffer (a memfd);
- then one job a message, ``{"path": …, "size": n, "sha256": expected or null}``: the stored
  pack is at the start of the buffer (put there by the restore), or read here from ``path`` (a
  local destination's file), checked against the sha256 when one is given; its decrypted bytes
  are put further on in the buffer, and the answer is ``{"offset": …, "size": …}`` or
  ``{"error": kind, "message": …}`` (kinds: ``missing``, ``read``, ``checksum``, ``identity``,
  ``corrupt``).

Nothing secret passes through its argv or environment. It ignores SIGINT (a terminal's Ctrl-C
reaches the restore too, which stops it by closing the socket) and ends when the socket closes
(``pack_buffers.serve_stdin``).
Imports stay light: the config's models (a second of imports) are not needed here.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import pyrage

from backproof.archive.age_identities import parse_identities
from backproof.filestore.pack_buffers import (
    Job,
    PiecesReader,
    SharedBuffer,
    ViewWriter,
    output_offset,
    read_whole,
    serve_stdin,
)


def start(identity_data: bytes) -> Job:
    """Return the job function decrypting with the identities of ``identity_data``."""
    identities = parse_identities(identity_data)  # the restore parsed it before handing it over
    return lambda job, buffer: decrypt_job(job, buffer, identities)


def decrypt_job(job: dict[str, Any], buffer: SharedBuffer, identities: list[Any]) -> dict[str, Any]:
    """Decrypt one pack into ``buffer``; return the answer (what went wrong, if anything)."""
    size_bytes: int = job["size"]
    try:
        if job["path"] is not None:
            size_bytes = _read_file(os.fsencode(job["path"]), buffer)
    except FileNotFoundError:
        return {"error": "missing", "message": ""}
    except OSError as exc:
        return {"error": "read", "errno": exc.errno, "message": exc.strerror or str(exc)}
    offset = output_offset(size_bytes)
    with buffer.view(offset + size_bytes) as whole:
        stored, plain = whole[:size_bytes], whole[offset:]
        sink = ViewWriter(plain)
        try:
            if job["sha256"] and hashlib.sha256(stored).hexdigest() != job["sha256"]:
                return {"error": "checksum", "message": ""}
            pyrage.decrypt_io(PiecesReader([stored]), sink, identities)
        except pyrage.DecryptError as exc:
            return {"error": "identity", "message": str(exc)}
        except OSError as exc:  # decrypt_io's word for a chunk that does not authenticate
            return {"error": "corrupt", "message": str(exc)}
        finally:
            stored.release()
            plain.release()  # the sink's view: released once
    return {"offset": offset, "size": sink.size}


def _read_file(path: bytes, buffer: SharedBuffer) -> int:
    """Read a stored pack into the start of ``buffer``; return its size."""
    with open(path, "rb", buffering=0) as stream:  # noqa: PTH123 - bytes path, unbuffered
        size_bytes = os.fstat(stream.fileno()).st_size
        with buffer.view(output_offset(size_bytes) + size_bytes) as whole:
            read_whole(stream, whole[:size_bytes])
    return size_bytes


def main() -> None:
    """Serve the socket on standard input."""
    serve_stdin(start)


if __name__ == "__main__":
    main()
