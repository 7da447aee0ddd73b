"""Fill ``ops_activities`` with a long, realistic history, fast, for the scrape benchmark.

One INSERT … SELECT over a recursive sequence writes every row inside SQLite: each target runs
the chain (backup, cleanup, verify, report, health) every ``interval_seconds``, the newest chain
ending now, with a few failed backups and verifies, and the meta the metrics read.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

JOBS = ("backup", "cleanup", "verify", "report", "health")

FILL_SQL = """
INSERT INTO ops_activities
  (job, target, status, started_at, finished_at, duration_ms, message, meta, host, pid, backup_id)
WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < :rows - 1),
shaped AS (
  SELECT i, i % 5 AS j, (i / 5) % :targets AS t, (i / 5) / :targets AS n,
         :now - ((:chains - (i / 5) / :targets) * :interval) AS chain_start
  FROM seq
)
SELECT
  CASE j WHEN 0 THEN 'backup' WHEN 1 THEN 'cleanup' WHEN 2 THEN 'verify'
         WHEN 3 THEN 'report' ELSE 'health' END,
  CASE WHEN j = 3 THEN NULL ELSE 'target' || t END,
  CASE WHEN j IN (0, 2) AND (i * 7919) % 97 = 0 THEN 'failed' ELSE 'success' END,
  strftime('%Y-%m-%d %H:%M:%S', chain_start + j * 60 + t, 'unixepoch') || '.000000',
  strftime('%Y-%m-%d %H:%M:%S', chain_start + j * 60 + t + 30, 'unixepoch') || '.000000',
  30000,
  'benchmark row ' || i,
  CASE j
    WHEN 0 THEN json_object('size_bytes', 200000 + n % 1000, 'db_raw_size_bytes', 370000,
      'parts', json_object('db', 100000, 'files', 100000 + n % 1000),
      'destinations', json_array('local', 'offsite'), 'failed_destinations', json_array(),
      'tables', 4, 'rows', 3600)
    WHEN 1 THEN json_object('dry_run', json('false'), 'deleted', json_object(),
      'debris', json_object(), 'stored', json_object(
        'local', json_object('backups', 30, 'size_bytes', 6000000),
        'offsite', json_object('backups', 30, 'size_bytes', 6000000)))
    WHEN 2 THEN json_object('destination', 'local',
      'restore_duration_seconds', 1.5 + (n % 10) / 10.0, 'tables', 4, 'rows', 3600)
    ELSE json_object()
  END,
  'bench', 1,
  CASE WHEN j IN (0, 2) THEN
    strftime('%Y%m%dT%H%M%SZ', chain_start + t, 'unixepoch') || '-' || printf('%06x', n % 16777216)
  END
FROM shaped
"""


def target_names(count: int) -> list[str]:
    """Return the names the fill gives its targets."""
    return [f"target{index}" for index in range(count)]


def fill_activities(
    database: Path, rows: int, targets: int, now_epoch: float, interval_seconds: int
) -> None:
    """Append ``rows`` rows of history ending at ``now_epoch`` to the state database."""
    chains = rows // (len(JOBS) * targets) + 1
    parameters = {
        "rows": rows,
        "targets": targets,
        "chains": chains,
        "interval": interval_seconds,
        "now": int(now_epoch) - 120,
    }
    with sqlite3.connect(database) as connection:
        connection.execute(FILL_SQL, parameters)
