"""Time ``backproof backup`` and ``backproof verify`` against the raw pipes, in the same run.

    python benchmarks/generate_crm.py --engine postgresql --size-mb 1000 --database bench_crm
    python benchmarks/generate_crm.py --engine mariadb --size-mb 1000 --database bench_crm
    python benchmarks/bench_dump.py --database bench_crm

For each engine: the backup against ``pg_dump | zstd -T0 > file`` (and the same with ``-Fc -Z0``,
the format backproof stores, and the naive ``| gzip``), or ``mariadb-dump --single-transaction
| zstd -T0 > file`` (and ``| gzip``); the verify against the raw import of that file into a fresh
database plus the drop (``zstd -dc | psql``, ``| pg_restore``, and ``pg_restore -j2`` of a
directory dump; ``zstd -dc | mariadb`` and ``myloader -t 2`` of a ``mydumper -t 2`` directory).
Each verify runs with every check and without the checks after the restore. backproof runs as
a user runs it (``python -m backproof``, a local destination); its peak memory is the largest
resident set of the process and the tools it waited for, its CPU seconds the user and system
time of both (the database server's own work is not in them). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PG = "-h 127.0.0.1 -p 5432 -U postgres"
MARIA = "-h 127.0.0.1 -P 3306 -u root --protocol=TCP"
MYDUMPER = "-h 127.0.0.1 -P 3306 -u root"
CONFIG = """\
[state]
url = "sqlite:///state/state.db"

[[targets]]
name = "bench"
database = "{url}"
key_tables = ["companies", "contacts"]
{checks}
[[destinations]]
name = "local"
url = "file:backups"
"""


@dataclass
class Measure:
    """One timed command."""

    engine: str
    what: str
    seconds: float
    peak_mb: float = 0.0
    size_mb: float = 0.0
    cpu_seconds: float = 0.0


def timed(command: list[str], cwd: Path | None = None) -> tuple[float, float, float]:
    """Run ``command``; return its wall time, peak resident set in MB and CPU seconds (user and
    system, with the processes it waited for). Exit on failure."""
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(process.pid, 0)
    elapsed = time.monotonic() - started
    output = (process.stdout.read() if process.stdout else b"").decode()
    errors = (process.stderr.read() if process.stderr else b"").decode()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(command)}\n{output}\n{errors}")
    return elapsed, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def shell(pipeline: str) -> float:
    """Run a shell pipeline with pipefail; return its wall time."""
    return shell_measured(pipeline)[0]


def shell_measured(pipeline: str) -> tuple[float, float]:
    """Run a shell pipeline with pipefail; return its wall time and CPU seconds."""
    seconds, _peak, cpu = timed(["bash", "-o", "pipefail", "-c", pipeline])
    return seconds, cpu


def size_mb(path: Path) -> float:
    """Return the size of a file, or of every file under a folder, in MB."""
    files = [path] if path.is_file() else [item for item in path.rglob("*") if item.is_file()]
    return sum(item.stat().st_size for item in files) / 1e6


# How verify runs: (jobs, whether the checks after the restore run: the digests' second read of
# every row and the integrity checks; off is ``integrity_checks = content_digests = false``)
VERIFIES = ((1, True), (2, True), (2, False))
NO_CHECKS = "integrity_checks = false\ncontent_digests = false\n"


def backproof(folder: Path, engine: str, url: str, measures: list[Measure]) -> None:
    """Back up as a user does, then verify streaming (jobs = 1) and in parallel (jobs = 2),
    with the checks after the restore and without them; record each, and the restore alone
    (``restore_duration_seconds`` of the activity)."""
    config = folder / "backproof.toml"
    config.write_text(CONFIG.format(url=url, checks=""), encoding="utf-8")
    command = [sys.executable, "-m", "backproof", "--config", str(config)]
    seconds, peak, cpu = timed([*command, "backup"], cwd=folder)
    stored = size_mb(folder / "backups")
    measures.append(Measure(engine, "backproof backup", seconds, peak, stored, cpu))
    for jobs, checks in VERIFIES:
        text = CONFIG.format(url=url, checks="" if checks else NO_CHECKS)
        config.write_text(f"{text}\n[verify]\njobs = {jobs}\n", encoding="utf-8")
        seconds, peak, cpu = timed([*command, "verify"], cwd=folder)
        what = "all checks" if checks else "no checks after the restore"
        label = f"backproof verify, jobs = {jobs} ({what})"
        measures.append(Measure(engine, label, seconds, peak, cpu_seconds=cpu))
        if checks:
            measures.append(
                Measure(engine, f"backproof verify, jobs = {jobs}: restore", restored(command))
            )


def restored(command: list[str]) -> float:
    """Return the restore duration the last verify recorded."""
    output = subprocess.run(
        [*command, "activities", "--job", "verify", "--limit", "1", "--json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(json.loads(output)["activities"][0]["meta"]["restore_duration_seconds"])


def bench_postgresql(database: str, folder: Path) -> list[Measure]:
    """Measure PostgreSQL."""
    measures: list[Measure] = []
    fresh = f"{database}_import"
    backproof(folder, "postgresql", f"postgresql://postgres@127.0.0.1:5432/{database}", measures)
    plain, custom, gzipped = folder / "plain.sql.zst", folder / "custom.zst", folder / "plain.gz"
    directory = folder / "directory"
    for what, pipeline, output in (
        ("pg_dump > /dev/null", f"pg_dump {PG} {database} > /dev/null", None),
        ("pg_dump | zstd -T0 > file", f"pg_dump {PG} {database} | zstd -q -T0 > {plain}", plain),
        (
            "pg_dump -Fc -Z0 | zstd -T0 > file",
            f"pg_dump {PG} -Fc -Z0 {database} | zstd -q -T0 > {custom}",
            custom,
        ),
        ("pg_dump | gzip > file", f"pg_dump {PG} {database} | gzip > {gzipped}", gzipped),
    ):
        seconds, cpu = shell_measured(pipeline)
        stored = size_mb(output) if output else 0
        measures.append(Measure("postgresql", what, seconds, 0, stored, cpu))
    shell(f"pg_dump {PG} -Fd -Z0 -j2 -f {directory} {database}")
    create = f"createdb {PG} -T template0 {fresh}"
    drop = f"dropdb {PG} {fresh}"
    for what, load in (
        ("zstd -dc | psql, + drop", f"zstd -dc {plain} | psql {PG} -q -o /dev/null -d {fresh}"),
        (
            "zstd -dc | pg_restore, + drop",
            f"zstd -dc {custom} | pg_restore {PG} --no-owner -d {fresh}",
        ),
        (
            "pg_restore -j2 (directory dump), + drop",
            f"pg_restore {PG} --no-owner -j2 -d {fresh} {directory}",
        ),
    ):
        shell(create)
        seconds, cpu = shell_measured(f"{load} && {drop}")
        measures.append(Measure("postgresql", what, seconds, cpu_seconds=cpu))
    return measures


def bench_mariadb(database: str, folder: Path) -> list[Measure]:
    """Measure MariaDB."""
    measures: list[Measure] = []
    fresh = f"{database}_import"
    backproof(folder, "mariadb", f"mysql://root@127.0.0.1:3306/{database}", measures)
    dump = f"mariadb-dump {MARIA} --single-transaction --routines --events --triggers {database}"
    plain, gzipped = folder / "maria.sql.zst", folder / "maria.sql.gz"
    for what, pipeline, output in (
        ("mariadb-dump > /dev/null", f"{dump} > /dev/null", None),
        ("mariadb-dump | zstd -T0 > file", f"{dump} | zstd -q -T0 > {plain}", plain),
        ("mariadb-dump | gzip > file", f"{dump} | gzip > {gzipped}", gzipped),
    ):
        seconds = shell(pipeline)
        measures.append(Measure("mariadb", what, seconds, 0, size_mb(output) if output else 0))
    directory = folder / "mydumper"
    seconds = shell(f"mydumper {MYDUMPER} -t 2 -G -E -R -B {database} -o {directory}")
    measures.append(Measure("mariadb", "mydumper -t 2", seconds, 0, size_mb(directory)))
    client = f"mariadb {MARIA}"
    drop = f"{client} -e 'DROP DATABASE `{fresh}`'"
    shell(f"{client} -e 'CREATE DATABASE `{fresh}`'")
    load = f"zstd -dc {plain} | {client} {fresh} && {drop}"
    measures.append(Measure("mariadb", "zstd -dc | mariadb, + drop", shell(load)))
    load = f"myloader {MYDUMPER} -t 2 -d {directory} -B {fresh} && {drop}"
    measures.append(Measure("mariadb", "myloader -t 2, + drop", shell(load)))
    return measures


def render(measures: list[Measure]) -> str:
    """Return the measures as a Markdown table: per command the fastest and the median run."""
    lines = [
        "| engine | what | best s | median s | median CPU s | peak MB | stored MB |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    groups: dict[tuple[str, str], list[Measure]] = {}
    for item in measures:
        groups.setdefault((item.engine, item.what), []).append(item)
    for (engine, what), runs in groups.items():
        seconds = [run.seconds for run in runs]
        peak = max(run.peak_mb for run in runs)
        stored = max(run.size_mb for run in runs)
        cpu = statistics.median(run.cpu_seconds for run in runs)
        lines.append(
            f"| {engine} | {what} | {min(seconds):.1f} | {statistics.median(seconds):.1f} "
            f"| {f'{cpu:.1f}' if cpu else ''} "
            f"| {f'{peak:.0f}' if peak else ''} | {f'{stored:.1f}' if stored else ''} |"
        )
    return "\n".join(lines)


# (engine, backproof's command, the raw command it is held against)
PAIRS = (
    ("postgresql", "backproof backup", "pg_dump -Fc -Z0 | zstd -T0 > file"),
    ("postgresql", "backproof verify, jobs = 1 (all checks)", "zstd -dc | pg_restore, + drop"),
    ("postgresql", "backproof verify, jobs = 1: restore", "zstd -dc | pg_restore, + drop"),
    *(
        (
            "postgresql",
            f"backproof verify, jobs = 2{what}",
            "pg_restore -j2 (directory dump), + drop",
        )
        for what in (" (all checks)", " (no checks after the restore)", ": restore")
    ),
    ("mariadb", "backproof backup", "mariadb-dump | zstd -T0 > file"),
    ("mariadb", "backproof backup", "mydumper -t 2"),
    ("mariadb", "backproof verify, jobs = 1 (all checks)", "zstd -dc | mariadb, + drop"),
    ("mariadb", "backproof verify, jobs = 1: restore", "zstd -dc | mariadb, + drop"),
    *(
        ("mariadb", f"backproof verify, jobs = 2{what}", "myloader -t 2, + drop")
        for what in (" (all checks)", " (no checks after the restore)", ": restore")
    ),
)


def render_ratios(measures: list[Measure]) -> str:
    """Return each pair of backproof and the raw tool with the ratio of their medians."""
    medians: dict[tuple[str, str], float] = {}
    for key in {(item.engine, item.what) for item in measures}:
        medians[key] = statistics.median(
            item.seconds for item in measures if (item.engine, item.what) == key
        )
    lines = [
        "| engine | backproof | median s | raw tool | median s | ratio |",
        "|---|---|---:|---|---:|---:|",
    ]
    for engine, ours, theirs in PAIRS:
        if (engine, ours) in medians and (engine, theirs) in medians:
            mine, raw = medians[engine, ours], medians[engine, theirs]
            lines.append(
                f"| {engine} | {ours} | {mine:.1f} | {theirs} | {raw:.1f} | {mine / raw:.2f}x |"
            )
    return "\n".join(lines)


def startup(measures: list[Measure]) -> None:
    """Record how long ``python -m backproof --help`` takes: the fixed cost of every command."""
    seconds, peak, cpu = timed([sys.executable, "-m", "backproof", "--help"])
    measures.append(Measure("-", "backproof start-up (--help)", seconds, peak, cpu_seconds=cpu))


def main() -> None:
    """Parse the arguments, measure each engine, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="bench_crm")
    parser.add_argument("--engine", choices=["postgresql", "mariadb", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=3, help="runs of every command")
    arguments = parser.parse_args()
    measures: list[Measure] = []
    for _run in range(arguments.repeat):
        startup(measures)
        with tempfile.TemporaryDirectory(prefix="bench-dump-") as scratch:
            if arguments.engine in ("postgresql", "both"):
                folder = Path(scratch) / "postgresql"
                folder.mkdir()
                measures += bench_postgresql(arguments.database, folder)
            if arguments.engine in ("mariadb", "both"):
                folder = Path(scratch) / "mariadb"
                folder.mkdir()
                measures += bench_mariadb(arguments.database, folder)
    print(render(measures))
    print(render_ratios(measures))
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
