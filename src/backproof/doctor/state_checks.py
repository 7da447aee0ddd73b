"""Doctor's checks of the state database, the safety rules, signing and the clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from backproof.archive.authentication import authenticate_manifest
from backproof.archive.catalog import scan_target
from backproof.archive.skew import flag_skewed
from backproof.clock import SKEW_TOLERANCE, isoformat
from backproof.config.models import Settings
from backproof.doctor.checks import DoctorCheck, failed, ok, warning
from backproof.doctor.safety import find_problems
from backproof.errors import IntegrityError, NotFoundError
from backproof.jobs.keyring import generated_key_path, show_key, trusted_keys
from backproof.masking import mask_url
from backproof.state.database import current_revision, to_sqlalchemy_url
from backproof.state.sqlite_reads import SCHEMA_HEAD
from backproof.storage.registry import open_storage

T = TypeVar("T")


def peek_state(settings: Settings) -> Engine | None:
    """Return an engine on the state database without creating or migrating it; None when
    a SQLite state file does not exist yet."""
    url = to_sqlalchemy_url(settings.state.url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return None
    return sa.create_engine(url)


def check_state(settings: Settings, _now: datetime) -> Iterator[DoctorCheck]:
    """The state database: reachable, at which revision."""
    where = mask_url(settings.state.url)
    engine = peek_state(settings)
    database = to_sqlalchemy_url(settings.state.url).database or ""
    blocking = next((folder for folder in Path(database).parents if folder.is_file()), None)
    if engine is None and blocking is not None:
        yield failed("state", f"at state.url: {blocking} is a file: choose a path in a folder")
        return
    if engine is None:
        yield warning("state", f"no state database yet at {where}: the first command makes it")
        return
    try:
        revision = current_revision(engine)
    except sa.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc) or exc).splitlines()[0]
        yield failed("state", f"cannot open the state database {where}: {reason}")
        return
    finally:
        engine.dispose()
    if revision != SCHEMA_HEAD:
        message = (
            f"{where} is at revision {revision}; the next command migrates it to {SCHEMA_HEAD}"
        )
        yield warning("state", message)
    else:
        yield ok("state", f"{where} at revision {revision}")


def check_safety(settings: Settings, _now: datetime) -> Iterator[DoctorCheck]:
    """The rules a configuration is refused for: destinations inside backed-up files or an
    unignored git work tree."""
    problems = find_problems(settings)
    for problem in problems:
        yield failed("git and folders", problem)
    if not problems:
        yield ok(
            "git and folders", "no destination inside backed-up files or an unignored git tree"
        )


def check_signing(settings: Settings, _now: datetime) -> Iterator[DoctorCheck]:
    """The key that signs here (or the keys verify trusts), and the newest backups' signatures."""
    if settings.encryption.allow_unsigned:
        yield warning("signing", "encryption.allow_unsigned = true: unsigned backups are accepted")
    engine = peek_state(settings)
    try:
        yield _key_check(settings, engine)
        trusted = _without_old_tables(trusted_keys, settings, engine)
    finally:
        if engine is not None:
            engine.dispose()
    storage = open_storage(settings.destination(None))
    for target in settings.targets:
        listing = scan_target(storage, target.name)
        if not listing.committed:
            continue
        newest = listing.committed[0]
        where = f"backup {target.name}/{newest.id} on {storage.name}"
        try:
            yield ok("signature", f"{where}: {authenticate_manifest(newest, trusted, where)}")
        except IntegrityError as exc:
            yield failed("signature", f"verify would refuse it: {exc}")


def _key_check(settings: Settings, engine: Engine | None) -> DoctorCheck:
    try:
        shown = _without_old_tables(show_key, settings, engine)
    except NotFoundError:
        return warning(
            "signing",
            f"no signing key yet: the first backup generates one in "
            f"{generated_key_path(settings)}; a host that only verifies needs "
            "encryption.verify_key (`backproof keys show` on the backup host)",
        )
    message = f"manifests are signed and checked with {shown.fingerprint} ({shown.source})"
    return ok("signing", message)


def _without_old_tables(
    read: Callable[[Settings, Engine | None], T], settings: Settings, engine: Engine | None
) -> T:
    """Call ``read`` with the state, or without it when the state predates ops_signing_keys."""
    try:
        return read(settings, engine)
    except sa.exc.SQLAlchemyError:
        return read(settings, None)


def check_clock(settings: Settings, now: datetime) -> Iterator[DoctorCheck]:
    """This host's clock against the newest backups on every destination."""
    for destination in settings.destinations:
        storage = open_storage(destination)
        for target in settings.targets:
            listing = scan_target(storage, target.name)
            where = f"{target.name} on {storage.name}"
            flagged = flag_skewed(listing.committed, listing.stored_at, now)
            for backup_id, reason in flagged.items():
                yield warning("clock", f"{where}: backup {backup_id} is never newest: {reason}")
            stored = max(listing.stored_at.values(), default=None)
            if stored is not None and stored > now + SKEW_TOLERANCE:
                yield warning(
                    "clock",
                    f"{where}: the storage wrote a manifest at {isoformat(stored)}, after this "
                    f"host's clock ({isoformat(now)}): this host's clock is behind",
                )
            elif not listing.committed:
                yield ok("clock", f"{where}: no backup yet")
            elif not flagged:
                yield ok("clock", f"{where}: the times of {len(listing.committed)} backups agree")
