"""A progress bar with bytes and rate on a terminal; nothing otherwise."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from backproof.jobs.context import Context


@contextmanager
def show_progress(context: Context) -> Iterator[None]:
    """Draw a bar per part while the block runs, when stderr is a terminal."""
    if not sys.stderr.isatty():
        yield
        return
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
