"""MariaDB verify against ``myloader -t 2`` in interleaved rounds, with the CPU of each side.

    python benchmarks/bench_mysql_verify_pairs.py --database bench_shared_my1g --rounds 5

One backup of the database (``[verify] jobs = 2``) and one ``mydumper -t 2`` folder of it are
made first, in a scratch folder. Each round then runs, in an order that alternates from round to
round: ``myloader -t 2`` into a fresh database plus its drop; ``backproof verify`` with every
check; the verify without the checks after the restore (``integrity_checks = content_digests =
false``). For each: the wall time, the CPU of the command with its tools (``wait4``) and the
server's (``mariadbd``, from ``/proc``, over the command: other sessions' queries are in it);
for a verify also its ``restore_duration_seconds``. With ``--backups`` the backup is also
measured against ``mydumper -t 2`` to a folder, and to a folder then ``tar | zstd -T0`` of
it, in as many rounds.

Prints one Markdown row per command and round, then the medians and the ratios.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench_dump import CONFIG, MYDUMPER, NO_CHECKS, restored

MARIA = MYDUMPER  # the mydumper tools' and the client's options alike
# bench_dump's configuration, with the verify's parallel import on 2 connections.
VERIFY_JOBS = "\n[verify]\njobs = 2\n"
TICK = os.sysconf("SC_CLK_TCK")
Measured = tuple[float, float, float, float]  # a verify's wall, CPU, server CPU, restore


def url_of(database: str) -> str:
    """Return the URL of ``database`` on the local server."""
    return f"mysql://root@127.0.0.1:3306/{database}"


def server_cpu() -> float:
    """Return the CPU seconds the MariaDB server has used so far (0 when it is not found)."""
    found = subprocess.run(["pgrep", "-x", "mariadbd"], capture_output=True, text=True, check=False)
    if not found.stdout.split():
        return 0.0
    text = Path(f"/proc/{found.stdout.split()[0]}/stat").read_text(encoding="ascii")
    fields = text.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def measured(command: list[str], cwd: Path | None = None) -> tuple[float, float, float]:
    """Run ``command``; return its wall time, its CPU with the processes it waited for (user
    and system, from ``wait4``) and the server's CPU over it."""
    before = server_cpu()
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(process.pid, 0)
    elapsed = time.monotonic() - started
    errors = process.stderr.read().decode() if process.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(command)}\n{errors}")
    return elapsed, usage.ru_utime + usage.ru_stime, server_cpu() - before


def shell(pipeline: str) -> tuple[float, float, float]:
    """Run a shell pipeline with pipefail; return what ``measured`` returns."""
    return measured(["bash", "-o", "pipefail", "-c", pipeline])


def verify(
    folder: Path, database: str, *, checks: bool, python: str = sys.executable
) -> tuple[float, float, float, float]:
    """Run one verify (by the backproof of ``python``); return its wall, CPU, server CPU and
    restore duration."""
    config = folder / "backproof.toml"
    text = CONFIG.format(url=url_of(database), checks="" if checks else NO_CHECKS) + VERIFY_JOBS
    config.write_text(text, encoding="utf-8")
    command = [python, "-m", "backproof", "--config", str(config)]
    wall, cpu, server = measured([*command, "verify"], cwd=folder)
    return wall, cpu, server, restored(command)


def myloader(folder: Path, database: str) -> tuple[float, float, float]:
    """Import the mydumper folder into a fresh database and drop it."""
    fresh = f"{database}_myloader"
    client = f"mariadb {MARIA} </dev/null"
    return shell(
        f"{client} -e 'CREATE DATABASE `{fresh}`' && "
        f"myloader {MARIA} -t 2 -d {folder / 'dumper'} -B {fresh} && "
        f"{client} -e 'DROP DATABASE `{fresh}`'"
    )


def median_row(name: str, values: Sequence[tuple[float, ...]]) -> str:
    """Return a Markdown row of the medians of each column of ``values``."""
    columns = [statistics.median(column) for column in zip(*values, strict=True)]
    return f"| median | {name} | " + " | ".join(f"{value:.1f} s" for value in columns) + " |"


def median_wall(results: list[tuple[float, float, float]] | list[Measured]) -> float:
    """Return the median wall time of ``results``."""
    return statistics.median(result[0] for result in results)


def verify_rounds(
    folder: Path, database: str, rounds: int, other: str | None = None, *, bare: bool = True
) -> None:
    """Run the interleaved rounds of the verify against myloader; print them. With ``other``
    (another interpreter with backproof, e.g. main's) its verify with every check runs in the
    same rounds; without ``bare`` the verify without the checks after the restore does not."""
    print("| round | command | wall | CPU | server CPU | restore |", flush=True)
    print("|---|---|---:|---:|---:|---:|", flush=True)
    loader: list[tuple[float, float, float]] = []
    every: list[tuple[float, float, float, float]] = []
    bare_runs: list[tuple[float, float, float, float]] = []
    others: list[tuple[float, float, float, float]] = []
    steps = ["myloader", "every", *(["other"] if other else []), *(["none"] if bare else [])]
    for index in range(rounds):
        for step in steps if index % 2 == 0 else steps[::-1]:
            load = os.getloadavg()[0]
            if step == "myloader":
                loader.append(myloader(folder, database))
                wall, cpu, server = loader[-1]
                print(
                    f"| {index} | myloader -t 2 + drop | {wall:.1f} s | {cpu:.1f} s "
                    f"| {server:.1f} s | | load {load:.1f}",
                    flush=True,
                )
            elif step == "other" and other:
                others.append(verify(folder, database, checks=True, python=other))
                wall, cpu, server, restore = others[-1]
                print(
                    f"| {index} | other verify, every check | {wall:.1f} s | {cpu:.1f} s "
                    f"| {server:.1f} s | {restore:.1f} s | load {load:.1f}",
                    flush=True,
                )
            else:
                result = verify(folder, database, checks=step == "every")
                (every if step == "every" else bare_runs).append(result)
                wall, cpu, server, restore = result
                print(
                    f"| {index} | verify, {step} check(s) after | {wall:.1f} s | {cpu:.1f} s "
                    f"| {server:.1f} s | {restore:.1f} s | load {load:.1f}",
                    flush=True,
                )
    print(median_row("myloader -t 2 + drop", loader))
    print(median_row("verify, every check", every))
    compared = [("every check", every)]
    if bare_runs:
        print(median_row("verify, no checks after the restore", bare_runs))
        compared.append(("no checks after", bare_runs))
    if others:
        print(median_row("other verify, every check", others))
        compared.append(("other, every check", others))
        faster = sum(ours[0] < theirs[0] for ours, theirs in zip(every, others, strict=True))
        print(f"every check: faster than the other's in {faster} of {len(others)} rounds")
    for name, results in compared:
        ratios = [ours[0] / theirs[0] for ours, theirs in zip(results, loader, strict=True)]
        restores = [ours[3] / theirs[0] for ours, theirs in zip(results, loader, strict=True)]
        print(
            f"{name}: ratios {', '.join(f'{ratio:.2f}' for ratio in ratios)}; "
            f"median of ratios {statistics.median(ratios):.2f}; ratio of medians "
            f"{median_wall(results) / median_wall(loader):.2f}; "
            f"within 1.10x: {sum(ratio <= 1.10 for ratio in ratios)} of {len(ratios)}; "
            f"restore alone {', '.join(f'{ratio:.2f}' for ratio in restores)}"
        )


def backup_rounds(folder: Path, database: str, rounds: int) -> None:
    """Run the interleaved rounds of the backup against mydumper -t 2 (+ zstd); print them."""
    command = [sys.executable, "-m", "backproof", "--config", str(folder / "backproof.toml")]
    (folder / "backproof.toml").write_text(
        CONFIG.format(url=url_of(database), checks="") + VERIFY_JOBS
    )
    target = folder / "dumper-round"
    mydumper = f"rm -rf {target} && mydumper {MARIA} -t 2 -B {database} -o {target} -G -E -R"
    packed = f"{mydumper} && tar -C {target} -cf - . | zstd -q -T0 > {target}.tar.zst"
    print("| round | backup | mydumper -t 2 | mydumper -t 2, + tar \\| zstd |", flush=True)
    ours_all, plain_all, packed_all = [], [], []
    for index in range(rounds):
        steps = ["ours", "plain", "packed"]
        steps = steps if index % 2 == 0 else steps[::-1]
        results = {}
        for step in steps:
            if step == "ours":
                results[step] = measured([*command, "backup"], cwd=folder)
            else:
                results[step] = shell(mydumper if step == "plain" else packed)
        ours_all.append(results["ours"])
        plain_all.append(results["plain"])
        packed_all.append(results["packed"])
        print(
            f"| {index} | "
            + " | ".join(
                f"{results[step][0]:.1f} s ({results[step][1]:.1f} + {results[step][2]:.1f} s CPU)"
                for step in ("ours", "plain", "packed")
            )
            + f" | load {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    for name, values in (("backup", ours_all), ("mydumper", plain_all), ("+zstd", packed_all)):
        print(median_row(name, values))
    subprocess.run(["rm", "-rf", str(target), f"{target}.tar.zst"], check=True)


def main() -> None:
    """Parse the arguments, prepare the backup and the mydumper folder, run the rounds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="bench_shared_my1g")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--backups", action="store_true", help="also the backup rounds")
    parser.add_argument("--folder", type=Path, help="reuse this folder (backup and mydumper)")
    parser.add_argument("--other", help="another interpreter with backproof (e.g. main's)")
    parser.add_argument(
        "--no-bare", action="store_true", help="not the verify without the checks after"
    )
    arguments = parser.parse_args()
    if arguments.folder is not None:
        run(arguments, arguments.folder)
        return
    # A folder of its own (a backup and a mydumper copy, about 1 GB at 1 GB) goes when it ends.
    folder = Path(tempfile.mkdtemp(prefix="bench-my-pairs-"))
    try:
        run(arguments, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run(arguments: argparse.Namespace, folder: Path) -> None:
    """Prepare the backup and the mydumper folder in ``folder`` when missing; run the rounds."""
    (folder / "state").mkdir(exist_ok=True)
    if not (folder / "backups").exists():
        (folder / "backproof.toml").write_text(
            CONFIG.format(url=url_of(arguments.database), checks="") + VERIFY_JOBS
        )
        measured(
            [
                sys.executable,
                "-m",
                "backproof",
                "--config",
                str(folder / "backproof.toml"),
                "backup",
            ],
            cwd=folder,
        )
    if not (folder / "dumper").exists():
        shell(f"mydumper {MARIA} -t 2 -B {arguments.database} -o {folder / 'dumper'} -G -E -R")
    if arguments.backups:
        backup_rounds(folder, arguments.database, arguments.rounds)
    else:
        bare = not arguments.no_bare
        verify_rounds(folder, arguments.database, arguments.rounds, arguments.other, bare=bare)


if __name__ == "__main__":
    main()
