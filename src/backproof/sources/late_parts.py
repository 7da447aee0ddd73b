"""The second part of a dump in two, before the backup has opened it (issue 12).

``backproof backup`` starts its target's dump before it has set up its storage
(``jobs.early_dump``); the dump's first stream is held in memory meanwhile, but a second stream
(``postgresql_streams``) waits here for its part instead, so that no more of the dump is held.
Light on purpose: the command imports it before anything heavy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from backproof.errors import SourceError

if TYPE_CHECKING:
    from backproof.archive.streams import Writer
    from backproof.sources.base import DataPartSink


class StoppedError(SourceError):
    """The other stream of the dump failed: this one was stopped."""


class LateDataPart:
    """A second part that does not exist yet: the dump's second stream waits in ``write``
    until the backup ``attach``es the real one (``jobs.early_dump``), or gives up when it is
    cancelled."""

    def __init__(self) -> None:
        self._sink: DataPartSink | None = None
        self._ready = threading.Event()

    def attach(self, sink: DataPartSink) -> None:
        """Let the waiting stream write into ``sink``."""
        self._sink = sink
        self._ready.set()

    def cancel(self) -> None:
        """Make the waiting stream give up (the backup stopped before it opened its parts)."""
        self._ready.set()

    def write(self, produce: Callable[[Writer], None]) -> None:
        """Wait for the part, then store what ``produce`` writes in it."""
        self._ready.wait()
        if self._sink is None:
            raise StoppedError("the backup stopped before its second part was opened")
        self._sink.write(produce)
