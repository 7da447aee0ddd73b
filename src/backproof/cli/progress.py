"""A progress bar with bytes and rate on a terminal; nothing otherwise."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import TaskID

    from backproof.jobs.context import Context


@contextmanager
def show_progress(context: Context) -> Iterator[None]:
    """Draw a bar per part while the block runs, when stderr is a terminal."""
    if not sys.stderr.isatty():
        yield
        return
    # rich loads only when a bar is drawn: a command in a pipe or cron starts faster (issue 12).
    from rich.console import Console  # noqa: PLC0415
    from rich.progress import (  # noqa: PLC0415
        DownloadColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TransferSpeedColumn,
    )

    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        tasks: dict[str, TaskID] = {}

        def advance(label: str, size_bytes: int) -> None:
            if label not in tasks:
                tasks[label] = progress.add_task(label, total=None)
            progress.advance(tasks[label], size_bytes)

        previous = context.progress
        context.progress = advance
        try:
            yield
        finally:
            context.progress = previous
