"""How far the running jobs of this process are: bytes written per part, for the dashboard."""

from __future__ import annotations

import threading
from collections.abc import Callable


class ProgressBoard:
    """The bytes each running (job, target) reported so far, per part (``db``, ``files``).

    Jobs report increments (as to the CLI's progress bar); the board adds them up.
    """

    def __init__(self) -> None:
        self._parts: dict[tuple[str, str], dict[str, int]] = {}
        self._lock = threading.Lock()

    def reporter(self, job: str, target: str) -> Callable[[str, int], None]:
        """Return a job context's progress callback that writes onto this board."""
        self.clear(job, target)

        def report(label: str, size_bytes: int) -> None:
            with self._lock:
                parts = self._parts.setdefault((job, target), {})
                parts[label] = parts.get(label, 0) + size_bytes

        return report

    def bytes_done(self, job: str, target: str) -> int | None:
        """Return the bytes the run of ``job`` on ``target`` reported, None when none."""
        with self._lock:
            parts = self._parts.get((job, target))
            return sum(parts.values()) if parts else None

    def clear(self, job: str, target: str) -> None:
        """Forget the run of ``job`` on ``target`` (it ended)."""
        with self._lock:
            self._parts.pop((job, target), None)
