"""The identities of an age identity file, read from its bytes.

Kept apart from ``encryption.py`` (which brings the config's models, a second of imports): the
process that decrypts a restore's packs parses the identity file it is handed with this alone.
"""

from __future__ import annotations

from typing import Any

import pyrage


def parse_identities(data: bytes) -> list[Any]:
    """Return the identities of an age identity file's bytes (or of an OpenSSH private key);
    an empty list when it holds none. Raises pyrage.IdentityError for an invalid one."""
    if b"BEGIN OPENSSH PRIVATE KEY" in data:
        return [pyrage.ssh.Identity.from_buffer(data)]
    lines = data.decode("ascii", errors="replace").splitlines()
    return [
        pyrage.x25519.Identity.from_str(line.strip())
        for line in lines
        if line.strip().startswith("AGE-SECRET-KEY-")
    ]
