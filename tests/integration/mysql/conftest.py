"""Fixtures of the MySQL/MariaDB tests: the server, job contexts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from mariadb_server import ContextMaker, MariaServer, shared_server

from backproof.config.models import Settings
from backproof.jobs.context import Context, open_context

# Integration databases are the CRM: its key tables are compared by sampled rows.
CRM_KEY_TABLES = ["companies", "contacts"]


@pytest.fixture
def maria() -> Iterator[MariaServer]:
    """The machine's MariaDB; what a test makes on it is dropped afterwards."""
    server = shared_server()
    yield server
    server.clean_up()


@pytest.fixture
def make_context(tmp_path: Path) -> Iterator[ContextMaker]:
    """Build a job context on a local destination for a target database URL."""
    contexts: list[Context] = []

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
        context = open_context(settings)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.activities.engine.dispose()
