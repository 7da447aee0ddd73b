"""Reading a committed backup back: choose it, prove its integrity, stream its parts decoded."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import BinaryIO

from backproof.archive.authentication import authenticate_manifest
from backproof.archive.catalog import load_manifest, part_key, scan_target
from backproof.archive.encryption import ReadingKeys, open_decrypted, prove_decryptable
from backproof.archive.manifest import Manifest, Part
from backproof.archive.parts import check_part
from backproof.archive.skew import flag_skewed
from backproof.archive.streams import open_decompressor
from backproof.clock import utc_now
from backproof.config.models import Settings
from backproof.errors import IntegrityError, NotFoundError
from backproof.storage.base import Storage


@dataclass(frozen=True)
class Choice:
    """The backup verify proves, and the backups passed over because their times lie."""

    manifest: Manifest
    flagged: dict[str, str] = field(default_factory=dict)


def choose_backup(
    storage: Storage, target: str, backup_id: str | None, now: datetime | None = None
) -> Choice:
    """Return the manifest of ``backup_id``, or of the newest committed backup whose times can
    be believed at ``now`` (see ``backproof.archive.skew``; flagged ones are passed over).

    Raises NotFoundError when there is none, IntegrityError when the manifest is invalid
    (also when the newest backup's manifest is: an older backup is never chosen in its place).
    """
    if backup_id is not None:
        return Choice(load_manifest(storage, target, backup_id))
    listing = scan_target(storage, target)
    flagged = flag_skewed(listing.committed, listing.stored_at, now or utc_now())
    believed = [manifest for manifest in listing.committed if manifest.id not in flagged]
    newest_unreadable = max(listing.unreadable, default=None)
    if newest_unreadable is not None and (not believed or newest_unreadable > believed[0].id):
        # The newest backup is broken: checking an older one instead would hide it.
        raise IntegrityError(listing.unreadable[newest_unreadable])
    if not believed:
        passed_over = "".join(f"; passed over {key}: {why}" for key, why in flagged.items())
        raise NotFoundError(
            f"no committed backup of target {target!r} on {storage.name}: run `backproof "
            f"backup`{passed_over}"
        )
    return Choice(believed[0], flagged)


def find_backup(
    storage: Storage, settings: Settings, backup_id: str, target_name: str | None = None
) -> Manifest:
    """Return the manifest of ``backup_id`` in the named target, or in whichever target has it.

    Raises NotFoundError when no target has it on ``storage``.
    """
    names = [target_name] if target_name else [target.name for target in settings.targets]
    for name in names:
        try:
            return load_manifest(storage, name, backup_id)
        except NotFoundError:
            continue
    raise NotFoundError(f"no committed backup {backup_id} on {storage.name}: see `backproof list`")


def check_backup(storage: Storage, manifest: Manifest, keys: ReadingKeys | None = None) -> str:
    """Prove the backup is intact and readable, before anything is imported.

    The manifest's signature is checked against ``keys.trusted`` (an unsigned manifest is
    refused unless they allow it), every encrypted part is shown to decrypt with the identity,
    and every part must match the manifest's size and checksum. Returns what was proven of the
    signature, in words.
    Raises IntegrityError on any mismatch, RestoreError for a missing or wrong identity.
    """
    keys = keys or ReadingKeys()
    where = f"backup {manifest.target}/{manifest.id} on {storage.name}"
    authenticated = authenticate_manifest(manifest, keys.trusted, where)
    for part in manifest.parts:
        key = part_key(manifest.target, manifest.id, part.file)
        check_part(storage, key, part)
        if part.encryption is not None:
            where_part = f"part {part.file} of {where}"
            prove_decryptable(partial(storage.open_download, key), keys, where_part)
    return authenticated


@contextlib.contextmanager
def open_decoded_part(
    storage: Storage, manifest: Manifest, part: Part, keys: ReadingKeys | None = None
) -> Iterator[BinaryIO]:
    """Yield the part's original bytes: downloaded, decrypted (with ``keys``) and decompressed."""
    with contextlib.ExitStack() as stack:
        raw = stack.enter_context(
            contextlib.closing(
                storage.open_download(part_key(manifest.target, manifest.id, part.file))
            )
        )
        if part.encryption is not None:
            identities = (keys or ReadingKeys()).identities()
            where = f"part {part.file} of backup {manifest.id} on {storage.name}"
            raw = stack.enter_context(open_decrypted(raw, identities, where))
        decoded = stack.enter_context(contextlib.closing(open_decompressor(part.compression, raw)))
        yield decoded
