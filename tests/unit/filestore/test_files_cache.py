"""The files cache: a file whose metadata match its row is found, whichever folder holds it."""

from __future__ import annotations

import os
import time
from pathlib import Path

from backproof.filestore.files_cache import FOLDER_ROWS, CachedFile, FilesCache


def recorded_cache(
    tmp_path: Path, names: list[str]
) -> tuple[FilesCache, dict[str, os.stat_result]]:
    """Return a cache (kept in ``tmp_path``) that recorded a file of each name, and their stats;
    each file's content (and sha256 in the cache) is its name."""
    infos = {}
    for name in names:
        path = tmp_path / "tree" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name)
        infos[name] = os.lstat(path)
    later = time.time() + 10  # read well after the last change: not a racy row
    cache = FilesCache(tmp_path / "cache.sqlite", 30, later)
    for name, info in infos.items():
        cache.record(name, info, CachedFile(name, [f"blob-of-{name}"]), later)
    return cache, infos


def test_lookup_finds_each_file_of_folders_whose_names_share_a_prefix(tmp_path: Path) -> None:
    names = ["top.txt", "a/x", "a/b/y", "a/b/z", "a0/x", "a-b/x", "a/é"]
    cache, infos = recorded_cache(tmp_path, names)

    found = {name: cache.lookup(name, info) for name, info in infos.items()}

    assert found == {name: CachedFile(name, [f"blob-of-{name}"]) for name in names}


def test_lookup_finds_files_of_a_folder_too_large_to_read_at_once(tmp_path: Path) -> None:
    names = [f"big/{number:05d}" for number in range(FOLDER_ROWS + 1)]
    cache, infos = recorded_cache(tmp_path, names)

    found = [cache.lookup(name, info) for name, info in infos.items()]

    assert [item.sha256 if item else None for item in found] == names


def test_lookup_misses_a_file_whose_size_changed(tmp_path: Path) -> None:
    cache, infos = recorded_cache(tmp_path, ["a/x", "a/y"])
    (tmp_path / "tree" / "a" / "x").write_text("longer than before")

    assert cache.lookup("a/x", os.lstat(tmp_path / "tree" / "a" / "x")) is None
    assert cache.lookup("a/y", infos["a/y"]) == CachedFile("a/y", ["blob-of-a/y"])


def cache_days_later(tmp_path: Path, days: float) -> tuple[FilesCache, os.stat_result]:
    """Return the cache of a file recorded now, reopened ``days`` later (re-read every 30)."""
    cache, infos = recorded_cache(tmp_path, ["a/x"])
    cache.close(completed=True)
    return FilesCache(tmp_path / "cache.sqlite", 30, time.time() + 10 + days * 86400), infos["a/x"]


def test_lookup_finds_a_file_read_less_than_half_the_period_ago(tmp_path: Path) -> None:
    cache, info = cache_days_later(tmp_path, 14.9)

    assert cache.lookup("a/x", info) == CachedFile("a/x", ["blob-of-a/x"])


def test_lookup_misses_a_file_read_a_whole_period_ago(tmp_path: Path) -> None:
    cache, info = cache_days_later(tmp_path, 30.1)

    assert cache.lookup("a/x", info) is None


def test_close_keeps_the_rows_of_files_met_and_drops_the_others(tmp_path: Path) -> None:
    cache, infos = recorded_cache(tmp_path, ["a/kept", "a/gone", "b/gone", "c/reread"])
    cache.close(completed=True)
    cache = FilesCache(tmp_path / "cache.sqlite", 30, time.time() + 10)
    assert cache.lookup("a/kept", infos["a/kept"]) is not None
    cache.record("c/reread", infos["c/reread"], CachedFile("new", ["blob-new"]), time.time() + 10)
    cache.close(completed=True)

    cache = FilesCache(tmp_path / "cache.sqlite", 30, time.time() + 10)
    found = {name: cache.lookup(name, info) for name, info in infos.items()}

    assert found == {
        "a/kept": CachedFile("a/kept", ["blob-of-a/kept"]),
        "a/gone": None,
        "b/gone": None,
        "c/reread": CachedFile("new", ["blob-new"]),
    }


def test_close_of_an_incomplete_backup_keeps_every_row(tmp_path: Path) -> None:
    cache, infos = recorded_cache(tmp_path, ["a/x", "a/y"])
    cache.close(completed=True)
    cache = FilesCache(tmp_path / "cache.sqlite", 30, time.time() + 10)
    assert cache.lookup("a/x", infos["a/x"]) is not None
    cache.close(completed=False)

    cache = FilesCache(tmp_path / "cache.sqlite", 30, time.time() + 10)

    assert [cache.lookup(name, info) is not None for name, info in infos.items()] == [True, True]
