"""Which binary runs a PostgreSQL tool: Debian's pg_wrapper is gone around, to the newest
installed version's binary, as the wrapper itself chooses for a server named by host."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from backproof.sources import postgresql_tools
from backproof.sources.postgresql_tools import PG_WRAPPER, tool_path


def executable(path: Path, text: str = "#!/bin/sh\nexit 0\n") -> Path:
    """Write an executable file at ``path``; return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="ascii")
    path.chmod(0o755)
    return path


@pytest.fixture
def debian_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PATH whose pg_dump is a link to a pg_wrapper, and versions 9.6, 13 and 15 installed
    under a binroot of their own; return the binroot."""
    wrapper = executable(tmp_path / "share" / PG_WRAPPER)
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "pg_dump").symlink_to(wrapper)
    binroot = tmp_path / "lib"
    for version in ("9.6", "13", "15"):
        executable(binroot / version / "bin" / "pg_dump")
    monkeypatch.setattr(postgresql_tools, "DEBIAN_BINROOT", binroot)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    return binroot


def test_the_newest_installed_version_runs_in_place_of_the_wrapper(debian_layout: Path) -> None:
    assert tool_path("pg_dump") == str(debian_layout / "15" / "bin" / "pg_dump")


def test_the_wrapper_itself_runs_when_no_version_is_installed_beside_it(
    debian_layout: Path, tmp_path: Path
) -> None:
    for version in ("9.6", "13", "15"):
        (debian_layout / version / "bin" / "pg_dump").unlink()

    assert tool_path("pg_dump") == str(tmp_path / "bin" / "pg_dump")


def test_a_tool_that_is_no_wrapper_runs_as_found_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = executable(tmp_path / "bin" / "pg_dump")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))

    assert tool_path("pg_dump") == str(found)


def test_a_tool_missing_from_path_keeps_its_bare_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))

    assert tool_path("pg_restore") == "pg_restore"


def test_this_machines_pg_dump_runs_without_its_wrapper() -> None:
    path = Path(tool_path("pg_dump"))

    assert path.name == "pg_dump"
    assert path.resolve().name != PG_WRAPPER
    assert os.access(path, os.X_OK)
