"""Doctor's checks of each target: its database reachable, the tools present and recent enough,
the files readable, and the privileges of the user verify imports as."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime

from backproof.config.models import Settings, TargetSettings
from backproof.config.secrets import database_password
from backproof.doctor.checks import DoctorCheck, failed, ok
from backproof.doctor.privileges import check_verify_privileges, check_verify_server
from backproof.errors import BackproofError
from backproof.jobs.scratch_servers import open_scratch_server
from backproof.sources.registry import open_database


def check_targets(settings: Settings, _now: datetime) -> Iterator[DoctorCheck]:
    """Every target's database, tools, files and verify user."""
    for index, target in enumerate(settings.targets):
        name = f"target {target.name}"
        if target.database:
            try:
                yield ok(name, _check_database(target, index))
                yield from _check_verify_server(settings, target)
            except BackproofError as exc:
                yield failed(name, " ".join(str(exc).split()))
        for path in target.files:
            if not path.exists():
                yield failed(name, f"files {path} do not exist")
            elif not os.access(path, os.R_OK | (os.X_OK if path.is_dir() else 0)):
                yield failed(name, f"files {path} are not readable by this user")
            else:
                yield ok(name, f"files {path} readable")


def _check_database(target: TargetSettings, index: int) -> str:
    source = open_database(target.database or "", database_password(target, index))
    return source.describe_reachability()


def _check_verify_server(settings: Settings, target: TargetSettings) -> Iterator[DoctorCheck]:
    """The user verify imports as, and what its scratch databases leave in the server's log."""
    server = open_scratch_server(settings, target)
    yield check_verify_privileges(
        server,
        used_by_default=settings.verify.url is None,
        name=f"target {target.name} verify user",
    )
    yield from check_verify_server(server, name=f"target {target.name} verify server")
