"""One process of the alert storm: after "go" on stdin, ``count`` failures, each alerted.

    python storm_worker.py CONFIG WEBHOOK_URL COUNT MODE

MODE ``jobs`` runs real backups of a missing database (each failing, each alerted by the
after-run hook a face registers); MODE ``dispatch`` records failed backups and calls the
dispatch directly, without the run lock, so the two processes race on the alert state itself.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from backproof.after_run import after_run_hooks
from backproof.alert_dispatch import alert_after_job
from backproof.config.loading import load_settings
from backproof.errors import SourceError
from backproof.jobs.backup import run_backup
from backproof.jobs.context import open_context

MISSING_DATABASE = "sqlite:////nonexistent/backproof-storm/crm.db"


def main(config: str, webhook_url: str, count: int, mode: str) -> None:
    settings = load_settings(Path(config), environ={"ALERT_SLACK_WEBHOOK": webhook_url})
    settings.targets[0].database = MISSING_DATABASE
    context = open_context(settings, after_run=after_run_hooks(settings))
    print("ready", flush=True)
    sys.stdin.readline()
    for _ in range(count):
        if mode == "jobs":
            with contextlib.suppress(SourceError):
                run_backup(context)
        else:
            activity = context.activities.record("backup", "crm", "failed", "disk full")
            alert_after_job(context, activity)
    context.activities.engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])
