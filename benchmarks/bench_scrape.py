"""How long a Prometheus scrape of ``backproof serve`` takes, with 10,000 and 1,000,000 rows in
``ops_activities``: p50 and p99 on loopback, and whether the latency grows with the table.

Run: ``.venv/bin/python benchmarks/bench_scrape.py`` (``--rows 10000 1000000 --targets 1``).
The load tool is ``wrk`` (Debian package ``wrk``) with one connection, as Prometheus scrapes;
without it, or in addition, a Python client loop measures the same requests one by one.
Exits 1 when p99 at the largest size is 50 ms or more, or grows by more than half with size.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from scrape_fill import fill_activities, target_names

from backproof.config.loading import load_settings
from backproof.jobs.context import open_context, open_state
from backproof.metrics import render_metrics

P99_LIMIT_MS = 50.0
GROWTH_LIMIT = 1.5
METRICS_PATH = "/crm/ops/metrics"


@dataclass
class Figures:
    """Latencies of one configuration, in milliseconds."""

    rows: int
    tool: str
    requests: int
    p50_ms: float
    p99_ms: float


def write_config(folder: Path, targets: int) -> Path:
    """Write a config with ``targets`` SQLite targets and two destinations."""
    lines = ['[state]\nurl = "sqlite:///state.db"\nlock_dir = "locks"\n']
    for name in target_names(targets):
        lines.append(f'[[targets]]\nname = "{name}"\ndatabase = "sqlite:///{name}.db"\n')
    lines.append('[[destinations]]\nname = "local"\nurl = "file:backups"\n')
    lines.append('[[destinations]]\nname = "offsite"\nurl = "file:offsite"\n')
    lines.append('[schedule]\ncron = "0 1 * * *"\n')
    config = folder / "backproof.toml"
    config.write_text("\n".join(lines), "utf-8")
    return config


@contextmanager
def running_service(config: Path) -> Iterator[str]:
    """Start ``backproof serve`` on a free loopback port; yield its base URL; stop it."""
    command = [sys.executable, "-m", "backproof", "--config", str(config), "serve", "--port", "0"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        for line in process.stderr:
            found = re.search(r"serving on (http://127\.0\.0\.1:\d+)", line)
            if found:
                yield found.group(1)
                break
        else:
            raise RuntimeError("backproof serve ended before listening")
    finally:
        process.terminate()
        process.wait(timeout=30)


def measure_with_wrk(url: str, rows: int, seconds: int) -> Figures | None:
    """Return wrk's p50 and p99 with one connection, or None without wrk."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    command = [wrk, "-t1", "-c1", f"-d{seconds}s", "--latency", url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    percentiles = {
        level: _to_ms(float(value), unit)
        for level, value, unit in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
    }
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    return Figures(rows, "wrk -c1", requests, percentiles["50"], percentiles["99"])


def _to_ms(value: float, unit: str) -> float:
    return {"us": value / 1000, "ms": value, "s": value * 1000}[unit]


def measure_with_client(url: str, rows: int, requests: int) -> Figures:
    """Return p50 and p99 of ``requests`` sequential scrapes by a Python client."""
    timings: list[float] = []
    with httpx.Client() as client:
        for _ in range(requests):
            started = time.perf_counter()
            client.get(url).raise_for_status()
            timings.append((time.perf_counter() - started) * 1000)
    cuts = statistics.quantiles(timings, n=100)
    return Figures(rows, "python loop", requests, cuts[49], cuts[98])


def measure_cpu_per_scrape(config: Path, rows: int, requests: int) -> Figures:
    """Return p50 and p99 of the CPU time one metrics rendering takes in this thread.

    CPU time, unlike wall time, hardly moves when other processes load the machine: it shows
    whether the work of a scrape grows with the table, even on a busy host.
    """
    context = open_context(load_settings(config, environ={}))
    timings: list[float] = []
    for _ in range(requests):
        started = time.thread_time()
        render_metrics(context)
        timings.append((time.thread_time() - started) * 1000)
    context.activities.engine.dispose()
    cuts = statistics.quantiles(timings, n=100)
    return Figures(rows, "in-process CPU", requests, cuts[49], cuts[98])


def bench_size(rows: int, targets: int, seconds: int) -> list[Figures]:
    """Fill a fresh state database with ``rows`` rows and measure scrapes of it."""
    with tempfile.TemporaryDirectory(prefix="bench-scrape-") as name:
        folder = Path(name)
        config = write_config(folder, targets)
        open_state(load_settings(config, environ={})).dispose()
        started = time.perf_counter()
        fill_activities(folder / "state.db", rows, targets, time.time(), interval_seconds=1800)
        print(f"filled {rows:,} rows in {time.perf_counter() - started:.1f} s", flush=True)
        results = [measure_cpu_per_scrape(config, rows, 500)]
        with running_service(config) as base:
            url = base + METRICS_PATH
            measure_with_client(url, rows, 50)  # warm the caches and the pool
            results.append(measure_with_client(url, rows, 1000))
            measured = measure_with_wrk(url, rows, seconds)
            if measured is not None:
                results.append(measured)
        return results


def main() -> int:
    """Measure every size, print a table, judge the largest against the limits."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--targets", type=int, default=1)
    parser.add_argument("--seconds", type=int, default=10, help="duration of each wrk run")
    options = parser.parse_args()
    results = [
        item for rows in options.rows for item in bench_size(rows, options.targets, options.seconds)
    ]
    print(f"\ntargets: {options.targets}")
    print("| rows | tool | requests | p50 ms | p99 ms |\n|---|---|---|---|---|")
    for item in results:
        cells = [f"{item.rows:,}", item.tool, str(item.requests)]
        cells += [f"{item.p50_ms:.2f}", f"{item.p99_ms:.2f}"]
        print("| " + " | ".join(cells) + " |")
    return judge(results, min(options.rows), max(options.rows))


def judge(results: list[Figures], smallest: int, largest: int) -> int:
    """Return 0 when p99 is under the limit at the largest size and does not grow with it."""
    failures = []
    for tool in sorted({item.tool for item in results}):
        small = next(item for item in results if item.tool == tool and item.rows == smallest)
        large = next(item for item in results if item.tool == tool and item.rows == largest)
        if large.p99_ms >= P99_LIMIT_MS:
            failures.append(f"{tool}: p99 {large.p99_ms:.1f} ms >= {P99_LIMIT_MS:g} ms")
        if large.p99_ms > small.p99_ms * GROWTH_LIMIT + 2:
            failures.append(f"{tool}: p99 grew from {small.p99_ms:.1f} to {large.p99_ms:.1f} ms")
    print("\n".join(failures) or "p99 under the limit and flat with the table's size")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
