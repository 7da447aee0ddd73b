"""The install lines of docs/install.md: a wheel built from this tree, installed into a clean
virtual environment, gives a `backproof` command that runs the demo's daily chain.

The wheel is built as `pip wheel --no-deps` builds it (its build requirements come from PyPI or
pip's cache). The clean environment gets the wheel with `--no-deps --no-index`; its runtime
dependencies are read from the test environment's site-packages through a path entry (the same
versions pip would install, without downloading them again), and `pip check` proves the wheel's
declared requirements are met. What this catches: a module, template or migration missing from
the wheel, a broken entry point, a requirement the package forgot to declare.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from cli_process import clean_environment

ROOT = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT_SECONDS = 240


def run(argv: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run a command; fail the test with its output when it fails."""
    process = subprocess.run(
        argv,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=clean_environment(),
        check=False,
    )
    assert process.returncode == 0, (argv, process.stdout, process.stderr)
    return process


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the bin folder of a clean virtual environment with the wheel installed."""
    folder = tmp_path_factory.mktemp("install")
    source = folder / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(ROOT / "src", source / "src", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    wheels = folder / "wheels"
    run(
        [*pip, "wheel", "--no-deps", "--wheel-dir", str(wheels), "."], source, BUILD_TIMEOUT_SECONDS
    )
    (wheel,) = wheels.glob("backproof-*.whl")
    venv = folder / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], folder)
    python = venv / "bin" / "python"
    site_packages = Path(
        run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], folder
        ).stdout.strip()
    )
    (site_packages / "_backproof_test_dependencies.pth").write_text(
        sysconfig.get_path("purelib") + os.linesep, encoding="utf-8"
    )
    run([*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)], folder)
    run([*pip, "--python", str(python), "check"], folder)
    return venv / "bin"


def test_wheel_installs_a_backproof_command_from_its_own_environment(installed: Path) -> None:
    where = run(
        [str(installed / "python"), "-c", "import backproof; print(backproof.__file__)"],
        installed,
    ).stdout.strip()

    assert Path(where).is_relative_to(installed.parent)
    assert run([str(installed / "backproof"), "--version"], installed).stdout.startswith(
        "backproof, version "
    )


def test_installed_command_runs_the_demo_chain_and_names_itself_in_the_hint(
    installed: Path, tmp_path: Path
) -> None:
    command = str(installed / "backproof")

    created = run([command, "demo", "--dir", str(tmp_path / "demo")], tmp_path).stdout
    chain = run([command, "run"], tmp_path / "demo").stdout

    assert f"&& {command} run" in created
    assert "✓ verify passed" in chain
    assert "✓ report" in chain


def test_wheel_carries_the_c_extensions_of_the_digests(installed: Path) -> None:
    modules = run(
        [
            str(installed / "python"),
            "-c",
            "from backproof._native import copy_rows, dump_lines; "
            "print(copy_rows.__file__, dump_lines.__file__)",
        ],
        installed,
    ).stdout.split()

    assert len(modules) == 2
    for module in modules:
        assert Path(module).is_relative_to(installed.parent)
        assert module.endswith(".so")
