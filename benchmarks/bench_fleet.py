"""How the fleet scales on this machine: the daily chain (backup, cleanup, verify, report,
health) of N small targets sent with ``backproof submit run --all --wait`` to 1, 2 and 3
``backproof worker`` processes (concurrency 1 each), on a Redis broker of its own and a
PostgreSQL state database. Prints the wall time, chains per minute and the speed-up per
worker count, and where it saturates.

Run: ``.venv/bin/python benchmarks/bench_fleet.py --targets 100 --workers 1 2 3``.
Needs the machine's PostgreSQL on 127.0.0.1:5432 and ``redis-server`` (Debian package).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "integration" / "fleet"))
from fleet_processes import RedisBroker, StateDatabase, Workers, make_sqlite_target, write_config

from cli_process import run_backproof


def measure(targets: int, workers: int, rows: int) -> float:
    """Return the seconds ``submit run --all --wait`` took for ``targets`` with ``workers``."""
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as folder_name:
        folder = Path(folder_name)
        (folder / "dbs").mkdir()
        blocks = [
            make_sqlite_target(folder / "dbs", f"t{index:03d}", rows) for index in range(targets)
        ]
        state, broker = StateDatabase(), RedisBroker(folder / "redis")
        state.create()
        broker.start()
        config = write_config(folder, state.url, broker.url, blocks)
        started = Workers(config)
        try:
            for number in range(workers):
                started.start(f"w{number + 1}", "--concurrency", "1")
            started.wait_ready(state, workers)
            began = time.perf_counter()
            done = run_backproof(
                "--config",
                str(config),
                "submit",
                "run",
                "--all",
                "--wait",
                "--json",
                cwd=folder,
                timeout=3600,
            )
            seconds = time.perf_counter() - began
            if done.returncode != 0:
                raise SystemExit(f"submit failed: {done.stderr.strip()}")
            return seconds
        finally:
            started.stop_all()
            broker.stop()
            state.drop()


def main() -> None:
    """Measure every worker count and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=100)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--rows", type=int, default=2000, help="rows per table of each target")
    arguments = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"{arguments.targets} targets, {os.cpu_count()} cores, load {load:.1f} at start")
    print("workers  seconds  chains/min  speed-up")
    first: float | None = None
    for count in arguments.workers:
        seconds = measure(arguments.targets, count, arguments.rows)
        first = first or seconds
        rate = arguments.targets / seconds * 60
        print(f"{count:>7}  {seconds:>7.1f}  {rate:>10.1f}  {first / seconds:>7.2f}x")
    print(f"load {os.getloadavg()[0]:.1f} at the end")
    subprocess.run(["uptime"], check=False)


if __name__ == "__main__":
    main()
