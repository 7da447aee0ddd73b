"""Names of the files store's objects on a destination, and their parsing.

Everything lives under ``.filestore/`` (target names cannot start with a dot, so it never meets
a target's folder)::

    .filestore/keys/<key-id>.age                     the address key, encrypted to the recipients
    .filestore/packs/<backup-id>/<pack-id>           blobs, compressed, the pack encrypted
    .filestore/index/<backup-id>/<pack-id>           which blobs a pack holds (read by backups)
    .filestore/condemned/<stamp>/<backup-id>/<pack-id>   a pack's index while cleanup deletes it
    .filestore/refs/<target>/<backup-id>             the packs a backup references
    .filestore/locks/<backup-id>                     a backup writing now (any host)

The backup id in a pack's key says when it was written, so cleanup can tell a pack of a running
backup from an abandoned one without reading it.
"""

from __future__ import annotations

from dataclasses import dataclass

ROOT = ".filestore/"
KEYS = ROOT + "keys/"
PACKS = ROOT + "packs/"
INDEX = ROOT + "index/"
CONDEMNED = ROOT + "condemned/"
REFS = ROOT + "refs/"
LOCKS = ROOT + "locks/"


@dataclass(frozen=True, order=True)
class PackName:
    """A pack: the backup that wrote it and its id (the sha256 of its stored bytes)."""

    backup_id: str
    pack_id: str

    @property
    def pack_key(self) -> str:
        """Return the key of the pack itself."""
        return f"{PACKS}{self.backup_id}/{self.pack_id}"

    @property
    def index_key(self) -> str:
        """Return the key of the pack's index."""
        return f"{INDEX}{self.backup_id}/{self.pack_id}"

    def condemned_key(self, stamp: str) -> str:
        """Return the key of the pack's index while a cleanup started at ``stamp`` deletes it."""
        return f"{CONDEMNED}{stamp}/{self.backup_id}/{self.pack_id}"

    @property
    def text(self) -> str:
        """Return ``<backup-id>/<pack-id>``, the name used in file lists and refs."""
        return f"{self.backup_id}/{self.pack_id}"


def parse_pack_text(text: str) -> PackName:
    """Return the pack named ``<backup-id>/<pack-id>``."""
    backup_id, _, pack_id = text.partition("/")
    return PackName(backup_id, pack_id)


def pack_under(key: str, prefix: str) -> PackName | None:
    """Return the pack named by ``key`` below ``prefix`` (packs/ or index/), or None."""
    parts = key[len(prefix) :].split("/")
    return PackName(parts[0], parts[1]) if len(parts) == 2 and key.startswith(prefix) else None


def key_object(key_id: str) -> str:
    """Return the key of the stored address key ``key_id``."""
    return f"{KEYS}{key_id}.age"


def refs_key(target: str, backup_id: str) -> str:
    """Return the key of the packs a backup references."""
    return f"{REFS}{target}/{backup_id}"


def lock_key(backup_id: str) -> str:
    """Return the key of a running backup's marker."""
    return f"{LOCKS}{backup_id}"
