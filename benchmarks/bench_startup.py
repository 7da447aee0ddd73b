"""How long ``backproof --help`` and ``backproof list`` take to start, against a bare interpreter.

Run: ``.venv/bin/python benchmarks/bench_startup.py`` (``--runs 15``). Each round runs the bare
interpreter, ``--help``, ``list`` (on the demo's small SQLite target) and the imports a backup
and a verify pay before their first step (``import backproof.jobs.backup``, ``…jobs.verify``)
one after the other, so that the machine's load falls on all alike; the medians of wall and
CPU time are printed with the load average. Exits 1 when ``--help`` or ``list`` takes 0.3 s or
more (median wall time). The runs write and read Python's byte-code cache, as an installed
backproof does, even where ``PYTHONDONTWRITEBYTECODE`` is set (compiling backproof's own
modules again on every run would be measured otherwise). To see where the time goes:
``python -X importtime -m backproof list``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LIMIT_SECONDS = 0.3
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "backproof --help": [sys.executable, "-m", "backproof", "--help"],
    "backproof list": [sys.executable, "-m", "backproof", "list"],
    "backup's imports": [sys.executable, "-c", "import backproof.jobs.backup"],
    "verify's imports": [sys.executable, "-c", "import backproof.jobs.verify"],
}
LIMITED = ("backproof --help", "backproof list")
# The byte-code cache is written and read, as by an installed backproof.
ENVIRONMENT = {
    name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"
}


def timed_run(argv: list[str], folder: Path) -> tuple[float, float]:
    """Run ``argv`` in ``folder``; return its wall and CPU (user + system) seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, cwd=folder, env=ENVIRONMENT, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> int:
    """Run the rounds, print the medians; return 1 when a command misses the limit."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bp-bench-startup-") as name:
        folder = Path(name)
        subprocess.run(
            [sys.executable, "-m", "backproof", "demo", "--dir", str(folder)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        for argv in COMMANDS.values():  # migrates the state, writes the byte-code cache
            subprocess.run(argv, cwd=folder, env=ENVIRONMENT, check=True, stdout=subprocess.DEVNULL)
        samples: dict[str, list[tuple[float, float]]] = {label: [] for label in COMMANDS}
        for _ in range(arguments.runs):
            for label, argv in COMMANDS.items():
                samples[label].append(timed_run(argv, folder))
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores, {arguments.runs} runs")
    failed = False
    for label, pairs in samples.items():
        wall = statistics.median(pair[0] for pair in pairs)
        cpu = statistics.median(pair[1] for pair in pairs)
        print(f"{label:18} wall {wall * 1000:6.0f} ms   cpu {cpu * 1000:6.0f} ms")
        failed |= label in LIMITED and wall >= LIMIT_SECONDS
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
