"""What an attacker with write access to a local destination does: rewrite a stored dump.

The part is decompressed, changed, compressed again, and the manifest's size and sha256 are
recomputed; the attacker cannot sign, so the manifest's signature is dropped. With
``[encryption] allow_unsigned = true`` only the layers beyond signatures (the import guard, the
verify user's privileges) then stand between the rewritten dump and the verify server.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import zstandard


def rewrite_db_part(backups: Path, change: Callable[[bytes], bytes]) -> None:
    """Rewrite the db part of the one backup below ``backups`` with ``change``."""
    (manifest_path,) = backups.rglob("manifest.json")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    (part,) = [part for part in manifest["parts"] if part["name"] == "db"]
    stored = manifest_path.parent / part["file"]
    raw = change(zstandard.ZstdDecompressor().stream_reader(stored.read_bytes()).read())
    compressed = zstandard.ZstdCompressor().compress(raw)
    stored.write_bytes(compressed)
    part.update(
        size_bytes=len(compressed),
        sha256=hashlib.sha256(compressed).hexdigest(),
        raw_size_bytes=len(raw),
    )
    manifest["authentication"] = None
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
