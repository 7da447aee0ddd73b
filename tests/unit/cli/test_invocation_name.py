"""The command a printed hint names: one that works from where the user stands."""

from __future__ import annotations

import sys
from pathlib import Path

from backproof.cli.invocation_name import command_to_run


def make_program(folder: Path) -> Path:
    """Return an executable ``backproof`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    program = folder / "backproof"
    program.write_text("#!/bin/sh\n", encoding="utf-8")
    program.chmod(0o755)
    return program


def test_command_is_the_bare_name_when_path_finds_this_program(tmp_path: Path) -> None:
    program = make_program(tmp_path / "bin")

    assert command_to_run(str(program), search_path=str(tmp_path / "bin")) == "backproof"


def test_command_is_the_full_path_when_path_has_no_backproof(tmp_path: Path) -> None:
    program = make_program(tmp_path / "checkout" / ".venv" / "bin")

    assert command_to_run(str(program), search_path=str(tmp_path / "empty")) == str(program)


def test_command_is_the_full_path_when_path_finds_another_backproof(tmp_path: Path) -> None:
    program = make_program(tmp_path / "checkout" / ".venv" / "bin")
    make_program(tmp_path / "other")

    assert command_to_run(str(program), search_path=str(tmp_path / "other")) == str(program)


def test_command_of_python_dash_m_names_this_python() -> None:
    assert command_to_run("/somewhere/backproof/__main__.py") == f"{sys.executable} -m backproof"


def test_activities_job_choices_are_the_jobs_of_the_typed_records() -> None:
    from backproof.cli.commands import RECORDED_JOBS  # noqa: PLC0415
    from backproof.state.records import recorded_job_names  # noqa: PLC0415

    assert list(RECORDED_JOBS) == recorded_job_names()
