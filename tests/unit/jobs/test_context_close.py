"""A command's context closes the state database's connections itself: SQLite folds its
write-ahead log into ``state.db`` then, and the CLI skips the interpreter's last collections."""

from __future__ import annotations

from pathlib import Path

from backproof.config.models import Settings
from backproof.jobs.context import open_context


def state_file(settings: Settings) -> Path:
    return Path(settings.state.url.removeprefix("sqlite:///"))


def test_closing_the_context_leaves_the_state_database_whole(settings: Settings) -> None:
    context = open_context(settings)
    context.activities.record("backup", "crm", "success", "a row to commit")
    wal = state_file(settings).with_name(state_file(settings).name + "-wal")
    assert wal.exists()

    context.close()

    assert not wal.exists()
    reopened = open_context(settings)
    try:
        assert [row.message for row in reopened.activities.find(job="backup")] == [
            "a row to commit"
        ]
    finally:
        reopened.close()


def test_closing_a_context_that_never_opened_the_state_does_nothing(settings: Settings) -> None:
    context = open_context(settings, open_state_now=False)

    context.close()

    assert "activities" not in vars(context)
