"""One destination's side of a files-store backup: its blob index, its packer, what it uses."""

from __future__ import annotations

from dataclasses import dataclass, field

from backproof.filestore.blob_index import BlobIndex
from backproof.filestore.layout import PackName
from backproof.filestore.packs import BlobEntry, Packer
from backproof.storage.base import Storage


@dataclass
class Side:
    """A live destination of the backup being written."""

    storage: Storage
    index: BlobIndex
    packer: Packer
    referenced: set[str] = field(default_factory=set)
    # Packs holding blobs asked about together (a folder's unchanged files): no pack leaves the
    # destination during a backup, so what was found stays true; what was not is asked again.
    known: dict[str, str] = field(default_factory=dict)

    def learn(self, addresses: set[str]) -> None:
        """Find the packs of ``addresses`` by one look-up, for ``take`` (forgetting the last)."""
        self.known = self.index.first_packs(addresses)

    def take(self, address: str) -> bool:
        """Return True when the destination holds the blob (stored or pending), and reference
        the pack that holds it; False when it must be stored."""
        return self.take_all([address])

    def take_all(self, addresses: list[str]) -> bool:
        """Return True when the destination holds every blob of ``addresses``, taking them in
        order as ``take`` does (stopping at the first it lacks); the loop of an unchanged file."""
        holds, known = self.packer.holds, self.known
        for address in addresses:
            if holds(address):
                continue
            pack = known.get(address) or self.index.first_pack(address)
            if pack is None:
                return False
            self.referenced.add(pack)
        return True

    def holding(self, addresses: list[str]) -> set[str]:
        """Return those of ``addresses`` the destination holds (asked from the worker threads,
        one look-up of the index for all of them)."""
        held = {address for address in addresses if self.packer.holds(address)}
        asked = [address for address in addresses if address not in held]
        return held | (self.index.first_packs(asked).keys() if asked else set())

    def on_pack(self, pack: PackName, blobs: list[BlobEntry]) -> None:
        """Record a pack just uploaded: every blob in it was put there for this backup."""
        self.index.add_pack(pack, blobs)
        self.referenced.add(pack.text)
