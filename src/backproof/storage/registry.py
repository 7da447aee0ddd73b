"""From a destination's URL scheme to its backend: the one list of storage plug-ins."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from backproof.config.models import DestinationSettings
from backproof.errors import ConfigError
from backproof.storage.base import Storage
from backproof.storage.local import LocalStorage
from backproof.storage.memory import MemoryStorage


def _open_local(settings: DestinationSettings) -> Storage:
    return LocalStorage(settings.name, local_path(settings.url))


def _open_memory(settings: DestinationSettings) -> Storage:
    # A new, empty store each time: it lives as long as the job context that opened it, and
    # no test sees another test's backups.
    return MemoryStorage(settings.name)


def _open_s3(settings: DestinationSettings) -> Storage:
    from backproof.storage.s3 import S3Storage  # noqa: PLC0415 - boto3 is slow to import

    return S3Storage.from_settings(settings)


BACKENDS: dict[str, Callable[[DestinationSettings], Storage]] = {
    "file": _open_local,
    "memory": _open_memory,
    "s3": _open_s3,
}


def local_path(url: str) -> Path:
    """Return the folder of a ``file:`` URL (already made absolute by the config loader)."""
    return Path(unquote(urlsplit(url).path))


def open_storage(settings: DestinationSettings) -> Storage:
    """Return the backend for a destination; ConfigError when its scheme is unknown."""
    scheme = urlsplit(settings.url).scheme
    try:
        factory = BACKENDS[scheme]
    except KeyError as exc:
        raise ConfigError(
            [f"destination {settings.name}: unsupported URL scheme {scheme!r}"]
        ) from exc
    return factory(settings)
