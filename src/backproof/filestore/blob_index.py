"""The local copy of a destination's pack indexes: which blobs it holds, and where.

Kept in a SQLite file (``.backproof/filestore/index-<destination>.sqlite``) so that memory
stays flat whatever the number of blobs, and so that a backup reads only the indexes written
since the last one. ``sync`` makes it match the destination: packs whose index is gone
(collected by a cleanup) are forgotten, new ones are read. A blob may sit in several packs (two
backups that stored it at once); every copy is remembered.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Collection, Iterator
from pathlib import Path

from backproof.errors import NotFoundError
from backproof.filestore.addressing import AddressKey
from backproof.filestore.layout import CONDEMNED, INDEX, PackName, pack_under
from backproof.filestore.packs import BlobEntry, decode_index
from backproof.privacy import make_private_dir, open_private_file
from backproof.storage.base import Storage

# SQLite's page cache is 2 MB by default, less than the index of 20,000 blobs: a backup's
# look-ups, in the random order of addresses, read the same pages from the file again and again
# (4,850 reads of its 750 pages). 8 MB a connection, whatever the number of blobs.
# Write-ahead log, synced at checkpoints only: a pack recorded is not an fsync (one per pack
# held the index's lock, and the backup's threads behind it, while the disk was busy with the
# packs). A crash may lose the last packs recorded, never the file: ``sync`` reads them again.
SCHEMA = """
pragma cache_size = -8192;
pragma journal_mode = wal;
pragma synchronous = normal;
create table if not exists packs (name text primary key, key_id text not null);
create table if not exists blobs (
    address text not null, pack text not null, offset integer not null,
    length integer not null, raw_length integer not null, primary key (address, pack));
create index if not exists blobs_pack on blobs (pack);
"""
LOOKUP_BATCH = 500  # addresses a query asks for at once (SQLite allows 999 parameters at least)


class BlobIndex:
    """Blob address → pack locations of one destination, for one address key."""

    def __init__(self, path: Path | None, key: AddressKey) -> None:
        if path is not None:
            make_private_dir(path.parent)
            if not path.exists():
                os.close(open_private_file(path))  # 0600 whatever the umask, before SQLite opens it
        self.key = key
        # Shared by the threads of a backup or a restore, one statement at a time.
        self.lock = threading.Lock()
        self.connection = sqlite3.connect(
            str(path) if path else ":memory:", check_same_thread=False
        )
        self.connection.executescript(SCHEMA)

    def close(self) -> None:
        """Close the file."""
        self.connection.close()

    def sync(self, storage: Storage, *, with_condemned: bool = False) -> None:
        """Make the index match the pack indexes ``storage`` holds now.

        ``with_condemned`` (for reading only, never for a backup taking blobs) also reads the
        indexes a cleanup has moved aside: a backup that was running then may name those packs
        until the next cleanup gives them their index back.
        """
        listed = {
            pack.text: (pack, pack.index_key)
            for item in storage.list_objects(INDEX)
            if (pack := pack_under(item.key, INDEX)) is not None
        }
        if with_condemned:
            for item in storage.list_objects(CONDEMNED):
                parts = item.key[len(CONDEMNED) :].split("/")
                if len(parts) == 3:
                    pack = PackName(parts[1], parts[2])
                    listed.setdefault(pack.text, (pack, item.key))
        known = {row[0] for row in self.connection.execute("select name from packs")}
        with self.connection:
            for gone in known - listed.keys():
                self.connection.execute("delete from blobs where pack = ?", (gone,))
                self.connection.execute("delete from packs where name = ?", (gone,))
        for name in sorted(listed.keys() - known):
            self._read(storage, *listed[name])

    def _read(self, storage: Storage, pack: PackName, key: str) -> None:
        try:
            data = storage.get_bytes(key)
        except NotFoundError:
            return  # collected since the listing
        index = decode_index(self.key, data, f"{storage.name}:{key}")
        if index.key_id != self.key.key_id:
            # Another host's key: its addresses are of another space, useless here.
            with self.connection:
                self.connection.execute(
                    "insert or ignore into packs values (?, ?)", (pack.text, index.key_id)
                )
            return
        self.add_pack(pack, index.blobs)

    def add_pack(self, pack: PackName, blobs: list[BlobEntry]) -> None:
        """Record a pack and its blobs."""
        with self.lock, self.connection:
            self.connection.execute(
                "insert or ignore into packs values (?, ?)", (pack.text, self.key.key_id)
            )
            self.connection.executemany(
                "insert or ignore into blobs values (?, ?, ?, ?, ?)",
                [(b.address, pack.text, b.offset, b.length, b.raw_length) for b in blobs],
            )

    def locate(self, address: str) -> Iterator[tuple[PackName, BlobEntry]]:
        """Yield every copy of a blob: its pack and its place there."""
        with self.lock:
            rows = self.connection.execute(
                "select pack, offset, length, raw_length from blobs where address = ?", (address,)
            ).fetchall()
        for pack_text, offset, length, raw_length in rows:
            backup_id, _, pack_id = pack_text.partition("/")
            yield PackName(backup_id, pack_id), BlobEntry(address, offset, length, raw_length)

    def locate_many(
        self, addresses: Collection[str]
    ) -> dict[str, list[tuple[PackName, BlobEntry]]]:
        """Return every copy of each blob of ``addresses`` found (one query per 500 of them)."""
        found: dict[str, list[tuple[PackName, BlobEntry]]] = {}
        wanted = list(set(addresses))
        for start in range(0, len(wanted), LOOKUP_BATCH):
            batch = wanted[start : start + LOOKUP_BATCH]
            query = (
                "select address, pack, offset, length, raw_length from blobs"
                f" where address in ({_marks(batch)})"
            )
            with self.lock:
                rows = self.connection.execute(query, batch).fetchall()
            for address, pack_text, offset, length, raw_length in rows:
                backup_id, _, pack_id = pack_text.partition("/")
                found.setdefault(address, []).append(
                    (PackName(backup_id, pack_id), BlobEntry(address, offset, length, raw_length))
                )
        return found

    def first_packs(self, addresses: Collection[str]) -> dict[str, str]:
        """Return the name of a pack holding each blob of ``addresses`` found (one query per
        500 of them)."""
        found: dict[str, str] = {}
        wanted = list(addresses)
        for start in range(0, len(wanted), LOOKUP_BATCH):
            batch = wanted[start : start + LOOKUP_BATCH]
            query = f"select address, pack from blobs where address in ({_marks(batch)})"
            with self.lock:
                found.update(self.connection.execute(query, batch).fetchall())
        return found

    def has(self, address: str) -> bool:
        """Return True when the destination holds the blob."""
        return self.first_pack(address) is not None

    def first_pack(self, address: str) -> str | None:
        """Return the name (``<backup-id>/<pack-id>``) of a pack holding the blob, or None."""
        with self.lock:
            row = self.connection.execute(
                "select pack from blobs where address = ? limit 1", (address,)
            ).fetchone()
        return None if row is None else str(row[0])


def _marks(values: list[str]) -> str:
    """Return the placeholders of an ``in (...)`` list of ``values``."""
    return ",".join("?" * len(values))
