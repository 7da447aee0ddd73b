"""How busy the two cores are while a dump runs: the raw pipe, two streams, backproof, mydumper.

    python benchmarks/bench_cores.py --engine postgresql --database bench_crm --rounds 3
    python benchmarks/bench_cores.py --engine mariadb --database bench_crm --rounds 3

Issue 12 asks for backups as fast as the parallel tools. Where the raw single-stream pipe
already keeps every core busy, only less work per byte beats it; where it leaves some idle, a
second stream of the same dump can fill them. This prints, for each
command, its wall time, the cores busy over it (from ``/proc/stat``: user, nice, system, irq and
softirq time of the whole machine, the database server's included, divided by the wall time)
and the core-seconds it cost (busy cores times wall), in rounds whose order rotates; then the
medians, each wall time as a ratio of the raw pipe's (the first command):

- PostgreSQL: ``pg_dump -Fc -Z0 | zstd -T0`` (the raw pipe); the same as two ``pg_dump``
  streams on one exported snapshot (the largest table's data apart, the rest in the other);
  ``backproof backup`` (digests, checksum, signature, a local destination).
- MariaDB: ``mariadb-dump --single-transaction | zstd -T0``; the same as two streams (the
  largest table apart; two transactions, so not one snapshot: this measures the cost only);
  ``mydumper -t 2`` to a folder, uncompressed; ``backproof backup``.

The machine should be quiet: run nothing else meanwhile. Prints a Markdown table and medians.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
from bench_dump import CONFIG, MARIA, MYDUMPER, PG

Measured = tuple[float, float]  # wall seconds, cores busy on average
STAT = Path("/proc/stat")
BUSY_FIELDS = (0, 1, 2, 5, 6)  # user, nice, system, irq, softirq of the "cpu" line


def busy_ticks() -> tuple[int, int]:
    """Return the machine's busy ticks and all its ticks (steal left out of both) so far."""
    first = STAT.read_text(encoding="ascii").split("\n", 1)[0]
    values = [int(value) for value in first.split()[1:]]
    busy = sum(values[index] for index in BUSY_FIELDS)
    idle = values[3] + values[4]  # idle and iowait
    return busy, busy + idle


def cores_busy(run: Callable[[], None]) -> Measured:
    """Run ``run``; return its wall time and the cores busy on average over it."""
    cores = os.cpu_count() or 1
    busy_before, all_before = busy_ticks()
    started = time.monotonic()
    run()
    wall = time.monotonic() - started
    busy_after, all_after = busy_ticks()
    share = (busy_after - busy_before) / max(1, all_after - all_before)
    return wall, share * cores


def shell(pipeline: str) -> Callable[[], None]:
    """Return a runner of a shell pipeline with pipefail that exits the benchmark on failure."""

    def run() -> None:
        done = subprocess.run(
            ["bash", "-o", "pipefail", "-c", pipeline], capture_output=True, check=False
        )
        if done.returncode != 0:
            sys.exit(f"failed: {pipeline}\n{done.stderr.decode(errors='replace')}")

    return run


def both(first: str, second: str) -> str:
    """Return a pipeline running the pipelines ``first`` and ``second`` at once, failing when
    either fails."""
    return f"( {first} ) & first=$!; ( {second} ); second=$?; wait $first && exit $second"


def largest_postgresql_table(database: str) -> str:
    """Return the qualified name of the largest table of ``database``."""
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={database}") as connection:
        row = connection.execute(
            "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n"
            " ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname NOT IN"
            " ('pg_catalog', 'information_schema') ORDER BY pg_relation_size(c.oid) DESC LIMIT 1"
        ).fetchone()
    if row is None:
        sys.exit(f"{database} has no table")
    return str(row[0])


def two_postgresql_streams(database: str, folder: Path) -> Callable[[], None]:
    """Return a runner of two ``pg_dump | zstd`` on one exported snapshot: the largest table's
    data in one, everything else in the other."""
    table = shlex.quote(largest_postgresql_table(database))

    def run() -> None:
        with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={database}") as connection:
            connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            row = connection.execute("SELECT pg_export_snapshot()").fetchone()
            snapshot = f"--snapshot={row[0] if row else ''}"
            dump = f"pg_dump {PG} -Fc -Z0 {snapshot}"
            first = f"{dump} --exclude-table-data={table} {database} | zstd -q -T0 > {folder}/a"
            second = f"{dump} --data-only --table={table} {database} | zstd -q -T0 > {folder}/b"
            shell(both(first, second))()

    return run


def largest_mariadb_table(database: str) -> str:
    """Return the name of the largest table of ``database``."""
    query = (
        "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()"
        " AND table_type = 'BASE TABLE' ORDER BY data_length + index_length DESC LIMIT 1"
    )
    done = subprocess.run(
        ["mariadb", *MARIA.split(), "--batch", "--skip-column-names", database, "-e", query],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or not done.stdout.strip():
        sys.exit(f"cannot find the largest table of {database}: {done.stderr.strip()}")
    return done.stdout.strip()


def commands(engine: str, database: str, folder: Path) -> dict[str, Callable[[], None]]:
    """Return the commands to compare, by name."""
    config = folder / "backproof.toml"
    scheme = (
        "postgresql://postgres@127.0.0.1:5432"
        if engine == "postgresql"
        else "mysql://root@127.0.0.1:3306"
    )
    config.write_text(CONFIG.format(url=f"{scheme}/{database}", checks=""), encoding="utf-8")
    backproof = f"{shlex.quote(sys.executable)} -m backproof --config {config} backup > /dev/null"
    # A backup's folder is emptied before each run, so every run writes the same.
    backup = shell(f"cd {folder} && rm -rf backups && {backproof}")
    if engine == "postgresql":
        return {
            "pg_dump -Fc -Z0 \\| zstd -T0": shell(
                f"pg_dump {PG} -Fc -Z0 {database} | zstd -q -T0 > {folder}/raw"
            ),
            "two pg_dump streams, one snapshot": two_postgresql_streams(database, folder),
            "backproof backup": backup,
        }
    dump = f"mariadb-dump {MARIA} --single-transaction --quick --hex-blob --complete-insert"
    largest = largest_mariadb_table(database)
    return {
        "mariadb-dump \\| zstd -T0": shell(
            f"{dump} {database} < /dev/null | zstd -q -T0 > {folder}/raw"
        ),
        "two mariadb-dump streams": shell(
            both(
                f"{dump} {database} {largest} < /dev/null | zstd -q -T0 > {folder}/a",
                f"{dump} --ignore-table={database}.{largest} {database} < /dev/null"
                f" | zstd -q -T0 > {folder}/b",
            )
        ),
        "mydumper -t 2 (folder, uncompressed)": shell(
            f"rm -rf {folder}/dumper && mydumper {MYDUMPER} -t 2 -B {database} -o {folder}/dumper"
        ),
        "backproof backup": backup,
    }


def main() -> None:
    """Run the rounds; print a row per command and round, then the medians."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--engine", choices=("postgresql", "mariadb"), required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    results: dict[str, list[Measured]] = {}
    print("| round | command | wall | cores busy | core-seconds |")
    print("|---|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="bench-cores-") as temporary:
        runs = commands(arguments.engine, arguments.database, Path(temporary))
        names = list(runs)
        for round_number in range(arguments.rounds):
            # Each command runs first in turn: the page cache and the server's buffers warm
            # for whichever comes after.
            shift = round_number % len(names)
            for name in names[shift:] + names[:shift]:
                wall, busy = cores_busy(runs[name])
                results.setdefault(name, []).append((wall, busy))
                print(
                    f"| {round_number} | {name} | {wall:.2f} s | {busy:.2f} | {wall * busy:.1f} |"
                )
    print()
    print("| command | median wall | against the raw pipe | median cores busy | core-seconds |")
    print("|---|---:|---:|---:|---:|")
    raw = statistics.median(wall for wall, _busy in results[names[0]])
    for name, measured in results.items():
        walls = statistics.median(wall for wall, _busy in measured)
        busy = statistics.median(cores for _wall, cores in measured)
        seconds = statistics.median(wall * cores for wall, cores in measured)
        print(f"| {name} | {walls:.2f} s | {walls / raw:.2f}x | {busy:.2f} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
