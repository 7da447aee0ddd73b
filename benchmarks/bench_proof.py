"""What the deeper proofs cost: backup and verify with and without them, beside the raw pipes.

    python benchmarks/generate_crm.py --engine postgresql --size-mb 200 --database bench_crm
    python benchmarks/bench_proof.py --engine postgresql --database bench_crm --repeat 2

Interleaved in pairs so the machine's drift touches both sides alike, for each engine:

- backup: ``backproof backup`` (digests of every table read from the dump stream) against the
  raw ``pg_dump -Fc -Z0 | zstd -T0 > file`` / ``mariadb-dump --single-transaction | zstd -T0``;
- verify: ``backproof verify`` with every check, without the integrity checks (amcheck / CHECK
  TABLE: ``integrity_checks = false``), and without any check after the restore (also
  ``content_digests = false``: no second read of the restored rows), against the raw import of
  the same dump plus the drop (MariaDB: ``zstd -dc dump.zst | mariadb``);
- the digest alone: the CPU seconds of reading the stored dump's rows into digests
  (``ArchiveDigester`` / ``DumpScanner``), which is what a backup adds to its stream; for
  PostgreSQL with each digest method a manifest may name (the one backups record and the older
  ones verify still computes), best of three.

Prints a Markdown table and the machine's load average.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_dump import MARIA, PG, shell, shell_measured, timed

from backproof.sources.copy_rows import NATIVE_READER
from backproof.sources.mysql_stream import DumpScanner
from backproof.sources.postgresql_archive import METHOD_BITS, ArchiveDigester
from backproof.sources.postgresql_digests import DIGEST_METHOD

CONFIG = """\
[state]
url = "sqlite:///state/state.db"

[[targets]]
name = "bench"
database = "{url}"
key_tables = ["companies", "contacts"]
integrity_checks = {integrity}
content_digests = {digests}

[[destinations]]
name = "local"
url = "file:backups"
"""
CHUNK = 1 << 20


# (what the verify runs after the restore, integrity_checks, content_digests)
VARIANTS = (
    ("all checks", True, True),
    ("without integrity checks", False, True),
    ("without the checks after the restore", False, False),
)


def run_backproof(
    folder: Path, url: str, *arguments: str, integrity: bool = True, digests: bool = True
) -> tuple[float, float]:
    """Run one backproof command with the given config; return its wall time and CPU seconds
    (user and system, with the tools it waited for)."""
    config = CONFIG.format(url=url, integrity=str(integrity).lower(), digests=str(digests).lower())
    (folder / "backproof.toml").write_text(config, encoding="utf-8")
    command = [sys.executable, "-m", "backproof", "--config", str(folder / "backproof.toml")]
    seconds, _peak, cpu = timed([*command, *arguments], cwd=folder)
    return seconds, cpu


def digest_seconds(path: Path, engine: str, method: str = DIGEST_METHOD) -> float:
    """Return the CPU seconds of digesting every row of an uncompressed dump file (PostgreSQL:
    with ``method``)."""
    started = time.process_time()
    with path.open("rb") as stream:
        if engine == "postgresql":
            digester = ArchiveDigester(method)
            while chunk := stream.read(CHUNK):
                digester.feed(chunk)
            digester.finish()
        else:
            scanner = DumpScanner({}, 0)
            while chunk := stream.read(CHUNK):
                scanner.feed(chunk)
            scanner.finish()
    return time.process_time() - started


def bench(engine: str, database: str, repeat: int) -> list[str]:
    """Measure one engine; return rows of the Markdown table."""
    folder = Path(tempfile.mkdtemp(prefix="bench-proof-"))
    if engine == "postgresql":
        url = f"postgresql://postgres@127.0.0.1:5432/{database}"
        raw = folder / "raw.pgdump"
        dump = f"pg_dump {PG} -Fc -Z0 {database}"
        create = f"createdb {PG} -T template0 {database}_import"
        load = f"pg_restore {PG} --no-owner -d {database}_import {raw}"
        drop = f"dropdb {PG} {database}_import"
    else:
        url = f"mysql://root@127.0.0.1:3306/{database}"
        raw = folder / "raw.sql"
        dump = (
            f"mariadb-dump {MARIA} --single-transaction --routines --events --triggers {database}"
        )
        client = f"mariadb {MARIA}"
        create = f"{client} -e 'CREATE DATABASE `{database}_import`'"
        # The compressed dump, as a verify reads its stored part.
        load = f"zstd -dc {folder / 'raw.sql.zst'} | {client} {database}_import"
        drop = f"{client} -e 'DROP DATABASE `{database}_import`'"
    rows = []
    for _run in range(repeat):
        ours = run_backproof(folder, url, "backup")
        theirs = shell_measured(f"{dump} | zstd -q -T0 > {folder / 'raw.zst'}")
        rows.append((f"{engine} backup (digests)", ours, "raw dump \\| zstd", theirs))
        for what, integrity, digests in VARIANTS:
            ours = run_backproof(folder, url, "verify", integrity=integrity, digests=digests)
            shell(f"{dump} > {raw}")
            if engine == "mariadb":
                shell(f"zstd -q -T0 -f {raw} -o {folder / 'raw.sql.zst'}")
            shell(create)
            theirs = shell_measured(f"{load} && {drop}")
            rows.append((f"{engine} verify ({what})", ours, "raw import + drop", theirs))
    shell(f"{dump} > {raw}")
    methods = sorted(METHOD_BITS) if engine == "postgresql" else [engine]
    cpu = {method: min(digest_seconds(raw, engine, method) for _ in range(3)) for method in methods}
    size_mb = raw.stat().st_size / 1e6
    lines = [
        f"| {what} | {ours[0]:.1f} s | {ours[1]:.1f} s | {raw_what} | {theirs[0]:.1f} s "
        f"| {theirs[1]:.1f} s | {ours[0] / theirs[0]:.2f} |"
        for what, ours, raw_what, theirs in rows
    ]
    lines.extend(
        f"| {engine}: digest of a {size_mb:.0f} MB dump, CPU alone"
        f"{f' ({method})' if method != engine else ''} | | {seconds:.2f} s | | | | |"
        for method, seconds in cpu.items()
    )
    subprocess.run(["rm", "-rf", str(folder)], check=True)
    return lines


def main() -> None:
    """Parse the arguments, measure, print the table and the load."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="bench_crm")
    parser.add_argument("--engine", choices=["postgresql", "mariadb", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=2, help="pairs of every measure")
    arguments = parser.parse_args()
    engines = ["postgresql", "mariadb"] if arguments.engine == "both" else [arguments.engine]
    print("| backproof | time | CPU | raw | time | CPU | ratio |")
    print("|---|---:|---:|---|---:|---:|---:|")
    for engine in engines:
        for line in bench(engine, arguments.database, arguments.repeat):
            print(line, flush=True)
    reader = "C" if NATIVE_READER is not None else "pure Python: the extension is not built"
    print(f"\nPostgreSQL rows read by the {reader} reader; load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
