"""Excludes of the files part: glob patterns on a name anywhere, or on the path in the archive."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from backproof.sources.file_excludes import is_excluded
from backproof.sources.files import archive_files, inspect_archive


@pytest.mark.parametrize(
    ("archive_name", "patterns", "excluded"),
    [
        ("app/storage/logs/laravel.log", ["*.log"], True),
        ("app/storage/logs", ["*.log"], False),
        ("app/cache", ["cache"], True),
        ("app/uploads/cache", ["app/cache"], False),
        ("app/framework/sessions/abc", ["app/framework/sessions/*"], True),
        ("app/framework/sessions", ["app/framework/sessions/"], True),
        ("app/invoice.pdf", [], False),
    ],
)
def test_is_excluded_matches_names_anywhere_and_paths_from_the_top(
    archive_name: str, patterns: list[str], excluded: bool
) -> None:
    assert is_excluded(archive_name, patterns) is excluded


def test_archive_leaves_out_excluded_files_and_does_not_enter_excluded_folders(
    tmp_path: Path,
) -> None:
    app = tmp_path / "app"
    (app / "cache" / "deep").mkdir(parents=True)
    (app / "cache" / "deep" / "blob.bin").write_bytes(b"x" * 100)
    (app / "logs").mkdir()
    (app / "logs" / "app.log").write_text("noise", encoding="utf-8")
    (app / "invoice.pdf").write_bytes(b"%PDF")
    sink = io.BytesIO()

    facts = archive_files([app], sink, exclude=["cache", "*.log"])

    with tarfile.open(fileobj=io.BytesIO(sink.getvalue())) as archive:
        names = sorted(archive.getnames())
    assert names == ["app", "app/invoice.pdf", "app/logs"]
    assert facts.regular_files == 1
    assert inspect_archive(io.BytesIO(sink.getvalue())).tree_sha256 == facts.tree_sha256
