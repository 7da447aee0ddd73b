"""The process that seals a backup's packs: ``python -m backproof.filestore.seal_worker``.

pyrage holds the GIL while it encrypts, so in the backup's own process no other thread (reading,
cutting, hashing, compressing, uploading) runs Python meanwhile; ``sealing.py`` starts one of
these and hands it the packs. This process speaks over its standard input, a
``SOCK_SEQPACKET`` socket (one message a packet; ``pack_buffers.serve_stdin``):

- first the recipients, one a line (``age1…`` or ``ssh-…``), with the descriptor of the shared
  buffer (a memfd);
- then one job a message, ``{"size": n}``: the pack's ``n`` bytes are at the start of the
  buffer (put there by the backup); they are sealed with ``encrypt_io`` (the same age format as
  in the backup's process) further on in the buffer, and the answer is ``{"offset": …,
  "size": …, "sha256": …}`` (the sealed pack's sha256 is its id) or ``{"error": "seal",
  "message": …}``.

Nothing passes through its argv or environment. It ignores SIGINT and ends when the socket
closes. Imports stay light: the config's models (a second of imports) are not needed here.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pyrage

from backproof.filestore.pack_buffers import (
    Job,
    PiecesReader,
    SharedBuffer,
    ViewWriter,
    output_offset,
    serve_stdin,
)

AGE_CHUNK_BYTES = 64 * 1024  # age's payload chunk, each followed by a 16-byte tag
HEADER_BYTES_PER_RECIPIENT = 4096  # an ssh-rsa stanza is about 700 bytes


def start(recipients_text: bytes) -> Job:
    """Return the job function sealing to the recipients of ``recipients_text``."""
    recipients = parse_recipient_lines(recipients_text.decode())
    return lambda job, buffer: seal_job(job, buffer, recipients)


def parse_recipient_lines(text: str) -> list[Any]:
    """Return pyrage recipients of ``age1…`` and ``ssh-…`` lines (the backup checked them)."""
    return [
        pyrage.x25519.Recipient.from_str(line)
        if line.startswith("age1")
        else pyrage.ssh.Recipient.from_str(line)
        for line in text.splitlines()
        if line
    ]


def sealed_bound(plain_bytes: int, recipients: int) -> int:
    """Return the most bytes a pack of ``plain_bytes`` takes once sealed."""
    tags = 16 * (plain_bytes // AGE_CHUNK_BYTES + 1)
    return plain_bytes + tags + 1024 + HEADER_BYTES_PER_RECIPIENT * recipients


def seal_job(job: dict[str, Any], buffer: SharedBuffer, recipients: list[Any]) -> dict[str, Any]:
    """Seal the pack at the start of ``buffer`` into the buffer; return the answer."""
    size_bytes: int = job["size"]
    offset = output_offset(size_bytes)
    with buffer.view(offset + sealed_bound(size_bytes, len(recipients))) as whole:
        plain, sealed = whole[:size_bytes], whole[offset:]
        sink = ViewWriter(sealed)
        try:
            pyrage.encrypt_io(PiecesReader([plain]), sink, recipients)
            sha256 = hashlib.sha256(sealed[: sink.size]).hexdigest()
        except (pyrage.EncryptError, OSError, ValueError) as exc:
            return {"error": "seal", "message": str(exc)}
        finally:
            plain.release()
            sealed.release()  # the sink's view: released once
    return {"offset": offset, "size": sink.size, "sha256": sha256}


def main() -> None:
    """Serve the socket on standard input."""
    serve_stdin(start)


if __name__ == "__main__":
    main()
