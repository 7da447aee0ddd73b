"""A files restore written beside its destination and put in place only once it all passed.

``staged_folder`` yields a new folder next to the destination (same file system, so a rename
is atomic; inside the destination when only the destination may be written). The restore
writes there through ``ConfinedTree`` and checks what it wrote; only when the block ends
without an error does the staged tree take the destination's place: a destination that is
missing or empty is replaced by one rename (an empty folder keeps its mode); a destination
that is not empty (``restore --force``) receives the staged entries one by one, each renamed
over what held its name, after a first pass has found nothing in the way. When the block
raises, the staged folder is removed and the destination is as it was.

The merge walks the destination as ``ConfinedTree`` does: from descriptors, following no link.
A folder of the backup where the destination has a file or a link, or a file where it has a
folder, is refused before anything moves.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

from backproof.archive.safe_extract import UnsafeMemberError
from backproof.errors import RestoreError

_OPEN_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
STAGING_MARK = ".backproof-restore-"


@contextlib.contextmanager
def staged_folder(destination: Path) -> Iterator[Path]:
    """Yield a new folder beside ``destination``; put its tree in place when the block ends
    without an error, remove it when the block raises.

    Raises UnsafeMemberError when the staged tree cannot merge into a destination that is
    not empty (nothing then moved), RestoreError when nothing may be written there.
    """
    destination = Path(os.path.realpath(destination))
    staging = _make_staging(destination)
    try:
        yield staging
        _publish(staging, destination)
    finally:
        if os.path.lexists(staging):
            shutil.rmtree(staging)


def _make_staging(destination: Path) -> Path:
    """Make the staged folder beside ``destination``; inside it when the folder that holds it
    may not be written (``/srv/app`` of root, ``uploads`` of the application's user).

    Raises RestoreError when neither may be written.
    """
    name = f"{STAGING_MARK}{secrets.token_hex(4)}"
    staging = destination.parent / f".{destination.name}{name}"
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        staging.mkdir(0o777)  # as a folder the restore would have made (the umask applies)
    except PermissionError as exc:
        if not destination.is_dir():
            raise RestoreError(f"cannot create {destination}: {exc.strerror}") from exc
        staging = destination / name
        try:
            staging.mkdir(0o777)
        except PermissionError as inner:
            raise RestoreError(f"cannot write in {destination}: {inner.strerror}") from inner
    return staging


def _publish(staging: Path, destination: Path) -> None:
    try:
        existing = destination.lstat()
    except FileNotFoundError:
        staging.rename(destination)
        return
    if stat.S_ISDIR(existing.st_mode) and _is_empty(destination):
        staging.replace(destination)  # rename(2) replaces an empty folder
        destination.chmod(stat.S_IMODE(existing.st_mode))
        return
    source_fd = os.open(staging, _OPEN_FOLDER)
    try:
        target_fd = _open_folder(None, str(destination), str(destination))
        try:
            _merge(source_fd, target_fd, "", apply=False)
            _merge(source_fd, target_fd, "", apply=True)
        finally:
            os.close(target_fd)
    finally:
        os.close(source_fd)


def _is_empty(folder: Path) -> bool:
    with os.scandir(folder) as entries:
        return not any(entries)


def _merge(source_fd: int, target_fd: int, prefix: str, *, apply: bool) -> None:
    """Check (``apply`` False) or move (True) the entries of ``source_fd`` into ``target_fd``."""
    for name in sorted(os.listdir(source_fd)):
        shown = f"{prefix}{name}"
        entry = os.stat(name, dir_fd=source_fd, follow_symlinks=False)
        try:
            held = os.stat(name, dir_fd=target_fd, follow_symlinks=False)
        except FileNotFoundError:
            if apply:
                os.rename(name, name, src_dir_fd=source_fd, dst_dir_fd=target_fd)
            continue
        if stat.S_ISDIR(entry.st_mode) and stat.S_ISDIR(held.st_mode):
            inner_source = _open_folder(source_fd, name, shown)
            try:
                inner_target = _open_folder(target_fd, name, shown)
                try:
                    _merge(inner_source, inner_target, f"{shown}/", apply=apply)
                finally:
                    os.close(inner_target)
            finally:
                os.close(inner_source)
        elif stat.S_ISDIR(held.st_mode):
            raise UnsafeMemberError(f"{shown!r}: a folder of that name is in the way")
        elif stat.S_ISDIR(entry.st_mode):
            kind = "a symbolic link" if stat.S_ISLNK(held.st_mode) else "not a folder"
            raise UnsafeMemberError(f"{shown!r}: {shown!r} in the destination is {kind}")
        elif apply:
            os.replace(name, name, src_dir_fd=source_fd, dst_dir_fd=target_fd)


def _open_folder(parent_fd: int | None, name: str, shown: str) -> int:
    """Return a descriptor of the folder ``name`` (in ``parent_fd``), following no link."""
    try:
        return os.open(name, _OPEN_FOLDER, dir_fd=parent_fd)
    except OSError as exc:
        raise UnsafeMemberError(f"{shown!r}: not a folder (or a symbolic link)") from exc
