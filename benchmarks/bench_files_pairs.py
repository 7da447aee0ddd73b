"""The files store's first backup and restore against restic's, in interleaved same-run rounds.

Run: ``.venv/bin/python benchmarks/bench_files_pairs.py --size-mb 2000 --files 20000 --rounds 6
--work FOLDER`` (``--old PYTHON``: an older backproof's interpreter, whose restores and backups
run too).

On a VM whose page cache costs more or less to fill from minute to minute (docs/performance.md,
"The page cache's copy on this VM"), two tools measured in separate runs of ``bench_files.py``
met different states. Here one uploads folder (``bench_files.generate``) is backed up and
restored by each tool in turn, round after round, odd rounds backproof first and even rounds
restic first. Every run is a fresh process measured with ``wait4`` (wall, user and system CPU,
peak memory), the file system synced before it; the page cache is never dropped (others
benchmark on this machine at the same time).

- restore: of backups made once before the rounds, each run into a new folder (the first
  round's compared with the uploads: sizes and sha256). The round's folders are deleted
  together at its end and the next round's restores start 65 s later at the earliest: ext4
  without a journal, as here, passes over every inode freed in the last 60 s when it creates a
  file, seconds of CPU for a restore run right after another's folder was deleted.
- backup: a new store (a new restic repository) per run, deleted after it.

Prints each run, then the medians and each round's ratio of wall and CPU to restic's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_files import ENVIRONMENT, RUNNER, generate, run_timed, write_config


@dataclass
class Run:
    """One measured process."""

    tool: str
    step: str
    round: int
    wall: float
    user: float
    system: float
    rss_mb: float
    load: str


def quiet(argv: list[str], env: dict[str, str]) -> str:
    """Run ``argv`` unmeasured; return its output (CalledProcessError when it fails)."""
    return subprocess.run(argv, env=env, check=True, capture_output=True, text=True).stdout


def load() -> str:
    """Return the 1-minute load average."""
    return Path("/proc/loadavg").read_text().split()[0]


def folder_digest(folder: Path) -> dict[str, tuple[int, str]]:
    """Return each file's relative path, size and sha256."""
    result = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            result[str(path.relative_to(folder))] = (
                path.stat().st_size,
                hashlib.sha256(path.read_bytes()).hexdigest(),
            )
    return result


def main() -> int:
    """Run the rounds and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=2000)
    parser.add_argument("--files", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--old", help="python of an older backproof, run first in each round")
    parser.add_argument(
        "--other",
        action="append",
        default=[],
        help="NAME=PYTHON: another backproof's interpreter, run beside the others (repeatable)",
    )
    parser.add_argument("--steps", default="backup,restore")
    parser.add_argument("--age", action="store_true", help="backproof encrypts with age")
    parser.add_argument("--json", type=Path, help="also write every run here")
    arguments = parser.parse_args()
    work: Path = arguments.work
    work.mkdir(parents=True, exist_ok=False)
    try:
        runs = rounds(work, arguments)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(runs)
    if arguments.json:
        arguments.json.write_text(json.dumps([run.__dict__ for run in runs], indent=1))
    return 0


class Rounds:
    """The folder, the backups restored, and the runs measured so far."""

    def __init__(self, work: Path, arguments: argparse.Namespace) -> None:
        self.work = work
        self.uploads = work / "uploads"
        self.is_encrypted: bool = arguments.age
        self.pythons = {"backproof": sys.executable}
        if arguments.old:
            self.pythons = {"old": arguments.old} | self.pythons
        for other in arguments.other:  # NAME=PYTHON, run before "old" in odd rounds
            name, _, python = other.partition("=")
            self.pythons = {name: python} | self.pythons
        self.runs: list[Run] = []
        self.deleted_at = 0.0
        generate(self.uploads, arguments.size_mb, arguments.files)
        (work / "restic-password").write_text("benchmark\n")
        # The backups restored, made once by the newest code.
        self.kept = self.backproof_store("store-kept")
        python = sys.executable
        config = str(self.kept / "backproof.toml")
        quiet([python, "-c", RUNNER, config, "backup"], ENVIRONMENT)
        kept_restic = self.restic_env(work / "restic-kept")
        quiet(["restic", "init", "--quiet"], kept_restic)
        quiet(["restic", "backup", "--quiet", str(self.uploads)], kept_restic)
        listing = quiet(
            [python, "-m", "backproof", "--config", config, "list", "--json"], ENVIRONMENT
        )
        self.backup_id = str(json.loads(listing)["backups"][0]["id"])
        self.expected = folder_digest(self.uploads)

    def restic_env(self, repository: Path) -> dict[str, str]:
        """Return restic's environment for ``repository``."""
        return os.environ | {
            "RESTIC_REPOSITORY": str(repository),
            "RESTIC_PASSWORD_FILE": str(self.work / "restic-password"),
            "RESTIC_CACHE_DIR": str(self.work / "restic-cache"),
        }

    def backproof_store(self, name: str) -> Path:
        """Return a new folder holding a files-store config of the uploads."""
        folder = self.work / name
        folder.mkdir()
        write_config(folder, self.uploads, "store", is_encrypted=self.is_encrypted)
        return folder

    def record(
        self, tool: str, step: str, number: int, argv: list[str], env: dict[str, str]
    ) -> None:
        """Run and keep one measure."""
        os.sync()  # what earlier runs left to write is not this run's to pay
        measure = run_timed(argv, env)
        wall, user, system = measure.seconds, measure.user_seconds, measure.system_seconds
        self.runs.append(Run(tool, step, number, wall, user, system, measure.rss_mb, load()))
        print(
            f"{step:<8}{number:>3} {tool:<10}{wall:>8.2f}{user:>8.2f}{system:>8.2f}  load {load()}",
            flush=True,
        )

    def order(self, number: int) -> list[str]:
        """Return the tools of round ``number`` in the order they run."""
        order = [*self.pythons, "restic"]  # the others, old, backproof, then restic
        return order if number % 2 else order[::-1]

    def restores(self, number: int) -> None:
        """Restore with every tool, each into its own folder; delete them all at the end."""
        time.sleep(max(0.0, self.deleted_at + 65 - time.monotonic()))
        targets = []
        for tool in self.order(number):
            target = self.work / f"restored-{tool}-{number}"
            targets.append(target)
            if tool == "restic":
                argv = ["restic", "restore", "latest", "--target", str(target)]
                env = self.restic_env(self.work / "restic-kept")
            else:
                config = str(self.kept / "backproof.toml")
                argv = [self.pythons[tool], "-c", RUNNER, config, "restore", self.backup_id]
                argv, env = [*argv, "--files-to", str(target)], ENVIRONMENT
            self.record(tool, "restore", number, argv, env)
            if number == 1:
                check_same(self.expected, target, self.uploads, tool)
        for target in targets:
            shutil.rmtree(target)
        self.deleted_at = time.monotonic()

    def backups(self, number: int) -> None:
        """Back up with every tool (``--old`` too), each into a new store."""
        for tool in self.order(number):
            if tool == "restic":
                repository = self.work / f"restic-backup-{number}"
                env = self.restic_env(repository)
                subprocess.run(["restic", "init", "--quiet"], check=True, env=env)
                argv = ["restic", "backup", "--quiet", str(self.uploads)]
                self.record("restic", "backup", number, argv, env)
                shutil.rmtree(repository)
            else:
                folder = self.backproof_store(f"store-{tool}-{number}")
                config = str(folder / "backproof.toml")
                argv = [self.pythons[tool], "-c", RUNNER, config, "backup"]
                self.record(tool, "backup", number, argv, ENVIRONMENT)
                shutil.rmtree(folder)


def rounds(work: Path, arguments: argparse.Namespace) -> list[Run]:
    """Generate the folder and the kept backups, then run every round; return the runs."""
    bench = Rounds(work, arguments)
    steps = arguments.steps.split(",")
    for number in range(1, arguments.rounds + 1):
        if "restore" in steps:
            bench.restores(number)
        if "backup" in steps:
            bench.backups(number)
    return bench.runs


def check_same(
    expected: dict[str, tuple[int, str]], target: Path, uploads: Path, tool: str
) -> None:
    """Exit when a restore's files differ from the uploads' (restic nests the full path)."""
    found = target / uploads.relative_to("/") if tool == "restic" else target
    candidates = (
        [found, *sorted(found.rglob("uploads"))] if not (found / "videos").exists() else [found]
    )
    for candidate in candidates:
        if (candidate / "videos").exists():
            if folder_digest(candidate) != expected:
                raise SystemExit(f"{tool}'s restore differs from the uploads")
            return
    raise SystemExit(f"{tool}'s restore holds no uploads folder below {target}")


def report(runs: list[Run]) -> None:
    """Print the medians and each round's ratio against restic."""
    for step in ("backup", "restore"):
        mine = [run for run in runs if run.step == step]
        if not mine:
            continue
        print(f"\n{step}: median wall / user / system (rounds), ratio to restic per round")
        tools = list(dict.fromkeys(run.tool for run in mine))
        restic = {run.round: run for run in mine if run.tool == "restic"}
        for tool in tools:
            own = [run for run in mine if run.tool == tool]
            walls = [run.wall for run in own]
            print(
                f"  {tool:<10} wall {statistics.median(walls):6.2f}  user "
                f"{statistics.median(r.user for r in own):6.2f}  system "
                f"{statistics.median(r.system for r in own):6.2f}  ({len(own)} rounds, "
                f"wall {min(walls):.2f}-{max(walls):.2f}, load "
                f"{min(r.load for r in own)}-{max(r.load for r in own)})"
            )
            if tool == "restic":
                continue
            ratios = [run.wall / restic[run.round].wall for run in own]
            cpu = [
                (run.user + run.system) / (restic[run.round].user + restic[run.round].system)
                for run in own
            ]
            print(
                f"    / restic wall per round {' '.join(f'{r:.2f}' for r in ratios)}; median "
                f"{statistics.median(ratios):.2f}x; CPU median {statistics.median(cpu):.2f}x"
            )


if __name__ == "__main__":
    sys.exit(main())
