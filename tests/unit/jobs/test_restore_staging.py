"""A files restore is written beside its folder and put in place only once it all passed: a
restore refused halfway leaves the folder as it was, with either files format."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from backproof.config.models import Settings
from backproof.demo import DemoLayout
from backproof.errors import RestoreError
from backproof.jobs.backup import run_backup
from backproof.jobs.context import Context, open_context
from backproof.jobs.restore import run_restore
from backproof.storage.memory import MemoryStorage
from hand_clock import HandClock


@pytest.fixture(params=["store", "tar"])
def files_context(
    request: pytest.FixtureRequest,
    settings: Settings,
    manual_clock: HandClock,
    memory_storage: MemoryStorage,
) -> Iterator[Context]:
    """The demo's context with its files in the files store, then as a tar part."""
    target = settings.targets[0].model_copy(update={"files_format": request.param})
    context = open_context(settings.model_copy(update={"targets": [target]}), manual_clock)
    context.storages["local"] = memory_storage
    yield context
    context.activities.engine.dispose()


def tree_of(folder: Path) -> dict[str, str]:
    """Return every entry below ``folder``: a file's content, a link's target, or a folder."""
    tree = {}
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if path.is_symlink():
            tree[name] = f"-> {path.readlink()}"
        elif path.is_dir():
            tree[name] = "folder"
        else:
            tree[name] = path.read_text("utf-8", errors="replace")
    return tree


def with_a_bad_link_last(demo: DemoLayout) -> None:
    """Add a link out of the folder that sorts after every other entry of the uploads."""
    (demo.uploads / "zz_last").symlink_to("/etc/passwd")


def test_a_restore_refused_halfway_leaves_no_folder_behind(
    files_context: Context, demo: DemoLayout, tmp_path: Path
) -> None:
    with_a_bad_link_last(demo)
    backup = run_backup(files_context)
    parent = tmp_path / "restores"
    parent.mkdir()

    with pytest.raises(RestoreError, match="zz_last"):
        run_restore(files_context, backup.backup_id, None, parent / "files")

    assert list(parent.iterdir()) == []


def test_a_forced_restore_refused_halfway_leaves_the_folder_as_it_was(
    files_context: Context, demo: DemoLayout, tmp_path: Path
) -> None:
    with_a_bad_link_last(demo)
    backup = run_backup(files_context)
    folder = tmp_path / "restores" / "files"
    (folder / "uploads").mkdir(parents=True)
    (folder / "uploads" / "mine.txt").write_text("keep", "utf-8")
    first = sorted(path for path in demo.uploads.rglob("*") if path.is_file())[0]
    held = folder / first.relative_to(demo.uploads.parent)
    held.parent.mkdir(parents=True, exist_ok=True)
    held.write_text("the user's own version", "utf-8")
    before = tree_of(folder)

    with pytest.raises(RestoreError, match="zz_last"):
        run_restore(files_context, backup.backup_id, None, folder, force=True)

    assert tree_of(folder) == before
    assert [path.name for path in folder.parent.iterdir()] == ["files"]


def test_a_forced_restore_puts_the_backup_in_the_folder_and_keeps_what_it_lacks(
    files_context: Context, demo: DemoLayout, tmp_path: Path
) -> None:
    backup = run_backup(files_context)
    folder = tmp_path / "restores" / "files"
    (folder / "uploads").mkdir(parents=True)
    (folder / "uploads" / "mine.txt").write_text("keep", "utf-8")

    run_restore(files_context, backup.backup_id, None, folder, force=True)

    restored = tree_of(folder)
    assert restored.pop("uploads/mine.txt") == "keep"
    assert restored == {
        f"uploads/{name}": value for name, value in tree_of(demo.uploads).items()
    } | {"uploads": "folder"}
    assert [path.name for path in folder.parent.iterdir()] == ["files"]


def test_a_restore_into_an_empty_folder_keeps_its_mode(
    files_context: Context, tmp_path: Path
) -> None:
    backup = run_backup(files_context)
    folder = tmp_path / "files"
    folder.mkdir(mode=0o750)
    folder.chmod(0o750)

    run_restore(files_context, backup.backup_id, None, folder)

    assert folder.stat().st_mode & 0o777 == 0o750
    assert (folder / "uploads").is_dir()
