"""How long each dashboard page takes the server with 1,000,000 rows in ``ops_activities`` and
20 targets: p50 and p99 per page, as the service answers it on loopback.

Run: ``.venv/bin/python benchmarks/bench_dashboard.py`` (``--rows 1000000 --targets 20``).
The history is the scrape benchmark's (a chain per target every 30 minutes, ending now); one
target has a real committed backup, so its backup page reads a real manifest. Each page is
asked ``--requests`` times one after the other (a person clicks; pages are not hammered).
Beside the wall time on loopback (which a loaded machine inflates), the CPU time the app spends
on each page in-process is measured. Exits 1 when a page's wall p99 is 200 ms or more.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from bench_scrape import running_service, write_config
from scrape_fill import fill_activities, target_names

from backproof.config.loading import load_settings
from backproof.jobs.backup import run_backup
from backproof.jobs.context import open_context
from backproof.web.app import create_app

P99_LIMIT_MS = 200.0


@dataclass
class PageFigures:
    """Latencies of one page, in milliseconds."""

    path: str
    requests: int
    p50_ms: float
    p99_ms: float
    size_bytes: int
    cpu_p50_ms: float = 0.0
    cpu_p99_ms: float = 0.0


def prepare(folder: Path, rows: int, targets: int) -> tuple[Path, str]:
    """Write the config, back up the first target for real, fill the history; return the
    config and the real backup's id."""
    config = write_config(folder, targets)
    first = target_names(targets)[0]
    with sqlite3.connect(folder / f"{first}.db") as database:
        # The default key tables of a target: companies and contacts.
        for table in ("companies", "contacts"):
            database.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT)")
            database.executemany(f"INSERT INTO {table} (name) VALUES (?)", [("x" * 40,)] * 500)
    context = open_context(load_settings(config, environ={}))
    backup_id = run_backup(context, first).backup_id
    context.activities.engine.dispose()
    started = time.perf_counter()
    fill_activities(folder / "state.db", rows, targets, time.time(), interval_seconds=1800)
    print(f"filled {rows:,} rows in {time.perf_counter() - started:.1f} s", flush=True)
    return config, backup_id


def page_paths(first: str, backup_id: str) -> list[str]:
    """Return the pages (and their JSON) to measure."""
    pages = [
        "/",
        f"/targets/{first}",
        f"/targets/{first}/backups/{backup_id}",
        "/activities",
        "/activities?status=failed&period=90d",
        f"/activities?target={first}&job=verify",
    ]
    return [*pages, "/api/overview", f"/api/targets/{first}", "/api/activities?status=failed"]


def measure(client: httpx.Client, url: str, path: str, requests: int) -> PageFigures:
    """Return p50 and p99 of ``requests`` sequential GETs of ``path``."""
    client.get(url + path).raise_for_status()  # warm the caches and the pool
    timings: list[float] = []
    size = 0
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url + path)
        timings.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        size = len(response.content)
    cuts = statistics.quantiles(timings, n=100)
    return PageFigures(path, requests, cuts[49], cuts[98], size)


def measure_cpu(app: Any, path: str, requests: int) -> tuple[float, float]:
    """Return p50 and p99 of the CPU time (all threads) the app spends on ``path`` in-process.

    CPU time, unlike wall time, hardly moves when other processes load the machine: it is the
    server's own work for a page, on a busy host too.
    """

    async def ask(client: httpx.AsyncClient) -> list[float]:
        timings = []
        for _ in range(requests + 1):
            started = time.process_time()
            (await client.get(path)).raise_for_status()
            timings.append((time.process_time() - started) * 1000)
        return timings[1:]

    async def run() -> list[float]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await ask(client)

    cuts = statistics.quantiles(asyncio.run(run()), n=100)
    return cuts[49], cuts[98]


def main() -> int:
    """Measure every page, print a table with the machine's load, judge p99."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--targets", type=int, default=20)
    parser.add_argument("--requests", type=int, default=50)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as name:
        config, backup_id = prepare(Path(name), options.rows, options.targets)
        first = target_names(options.targets)[0]
        with running_service(config) as url, httpx.Client(timeout=30) as client:
            results = [
                measure(client, url, path, options.requests)
                for path in page_paths(first, backup_id)
            ]
        context = open_context(load_settings(config, environ={}))
        app = create_app(context)
        for item in results:
            item.cpu_p50_ms, item.cpu_p99_ms = measure_cpu(app, item.path, options.requests)
        context.activities.engine.dispose()
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"\nrows: {options.rows:,}, targets: {options.targets}, load average: {load}")
    print("| page | requests | wall p50 ms | wall p99 ms | CPU p50 ms | CPU p99 ms | size |")
    print("|---|---|---|---|---|---|---|")
    for item in results:
        print(
            f"| `{item.path}` | {item.requests} | {item.p50_ms:.1f} | {item.p99_ms:.1f} "
            f"| {item.cpu_p50_ms:.1f} | {item.cpu_p99_ms:.1f} | {item.size_bytes / 1024:.0f} KiB |"
        )
    slow = [item for item in results if item.p99_ms >= P99_LIMIT_MS]
    for item in slow:
        print(f"{item.path}: p99 {item.p99_ms:.1f} ms >= {P99_LIMIT_MS:g} ms")
    print("" if slow else f"every page under {P99_LIMIT_MS:g} ms at p99")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
