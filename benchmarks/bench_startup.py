"""How long ``backproof --help`` and ``backproof list`` take to start, against a bare interpreter.

Run: ``.venv/bin/python benchmarks/bench_startup.py`` (``--runs 15``). Each round runs the bare
interpreter, ``--help``, ``list`` (on the demo's small SQLite target) and the imports a backup
and a verify pay before their first step (``import backproof.jobs.backup``, ``…jobs.verify``)
one after the other, so that the machine's load falls on all alike; the medians of wall and
CPU time are printed with the load average. Exits 1 when ``--help`` or ``list`` takes 0.3 s or
more (median wall time). ``--baseline DIR`` (the ``src`` folder of another checkout, say
``git archive main src | tar -x -C /tmp/old``) times each command of that version too, in the
same rounds, on a demo folder of its own. The runs write and read Python's byte-code cache, as
an installed backproof does, even where ``PYTHONDONTWRITEBYTECODE`` is set (compiling
backproof's own modules again on every run would be measured otherwise). To see where the time
goes: ``python -X importtime -m backproof list``.
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


def timed_run(argv: list[str], folder: Path, environment: dict[str, str]) -> tuple[float, float]:
    """Run ``argv`` in ``folder``; return its wall and CPU (user + system) seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, cwd=folder, env=environment, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> int:
    """Run the rounds, print the medians; return 1 when a command misses the limit."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--baseline", type=Path, help="src folder of a version to compare with")
    arguments = parser.parse_args()
    versions = {"": ENVIRONMENT}
    if arguments.baseline is not None:
        versions["baseline "] = {**ENVIRONMENT, "PYTHONPATH": str(arguments.baseline.resolve())}
    with tempfile.TemporaryDirectory(prefix="bp-bench-startup-") as name:
        folders = {prefix: Path(name) / f"demo{index}" for index, prefix in enumerate(versions)}
        runs = [
            (prefix + label, argv, folders[prefix], environment)
            for label, argv in COMMANDS.items()
            for prefix, environment in versions.items()
            if not (prefix and label == "python -c pass")
        ]
        for prefix, environment in versions.items():
            subprocess.run(
                [sys.executable, "-m", "backproof", "demo", "--dir", str(folders[prefix])],
                env=environment,
                check=True,
                stdout=subprocess.DEVNULL,
            )
        for _, argv, folder, environment in runs:  # migrates the state, writes byte-code
            subprocess.run(argv, cwd=folder, env=environment, check=True, stdout=subprocess.DEVNULL)
        samples: dict[str, list[tuple[float, float]]] = {label: [] for label, *_ in runs}
        for _ in range(arguments.runs):
            for label, argv, folder, environment in runs:
                samples[label].append(timed_run(argv, folder, environment))
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores, {arguments.runs} runs")
    failed = False
    for label, pairs in samples.items():
        wall = statistics.median(pair[0] for pair in pairs)
        cpu = statistics.median(pair[1] for pair in pairs)
        print(f"{label:27} wall {wall * 1000:6.0f} ms   cpu {cpu * 1000:6.0f} ms")
        failed |= label in LIMITED and wall >= LIMIT_SECONDS
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
