"""Whether a process still exists: how stale audit rows and leftover scratch databases of
crashed runs are told from those of live ones on this host."""

from __future__ import annotations

import os


def is_process_alive(pid: int) -> bool:
    """Return True when a process with ``pid`` exists (even one we may not signal)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
