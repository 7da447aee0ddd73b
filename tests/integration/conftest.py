"""Fixtures shared by the engines' integration tests: a job context on a local destination."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pg_servers import PgServer, private_cluster

from backproof.config.models import Settings
from backproof.jobs.context import Context, open_context

# Integration databases are the CRM: its key tables are compared by sampled rows.
CRM_KEY_TABLES = ["companies", "contacts"]


@pytest.fixture
def open_job_context() -> Iterator[Callable[[Settings], Context]]:
    """Open job contexts on settings; their state engines are disposed after the test."""
    contexts: list[Context] = []

    def open_one(settings: Settings) -> Context:
        context = open_context(settings)
        contexts.append(context)
        return context

    yield open_one
    for context in contexts:
        context.activities.engine.dispose()


@pytest.fixture
def make_context(
    tmp_path: Path, open_job_context: Callable[[Settings], Context]
) -> Callable[..., Context]:
    """Build a job context on a local destination for a target database URL (target
    ``bptest``; keyword arguments are more keys of the target)."""

    def make(database: str, **target: object) -> Context:
        settings = Settings.model_validate(
            {
                "state": {
                    "url": f"sqlite:///{tmp_path / 'state.db'}",
                    "lock_dir": str(tmp_path / "locks"),
                },
                "targets": [
                    {"name": "bptest", "database": database, "key_tables": CRM_KEY_TABLES, **target}
                ],
                "destinations": [{"name": "local", "url": f"file://{tmp_path / 'backups'}"}],
            }
        )
        return open_job_context(settings)

    return make


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgServer]:
    """A private PostgreSQL cluster of the session that checks passwords."""
    yield from private_cluster()
