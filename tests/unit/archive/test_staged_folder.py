"""The staged tree of a files restore: in place only when the block passes, merged into a
folder that is not empty without following a link and without moving anything when refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest

from backproof.archive.safe_extract import UnsafeMemberError
from backproof.archive.staged_folder import staged_folder


def test_the_staged_tree_takes_the_place_of_a_missing_folder(tmp_path: Path) -> None:
    with staged_folder(tmp_path / "out") as staging:
        (staging / "a.txt").write_text("a", "utf-8")

    assert (tmp_path / "out" / "a.txt").read_text("utf-8") == "a"
    assert [path.name for path in tmp_path.iterdir()] == ["out"]


def test_an_error_in_the_block_removes_the_staged_tree_and_makes_no_folder(
    tmp_path: Path,
) -> None:
    with pytest.raises(RuntimeError), staged_folder(tmp_path / "out") as staging:
        (staging / "a.txt").write_text("a", "utf-8")
        raise RuntimeError("refused")

    assert list(tmp_path.iterdir()) == []


def test_a_link_in_the_destination_where_a_folder_goes_is_refused_before_anything_moves(
    tmp_path: Path,
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine", "utf-8")
    (out / "uploads").symlink_to(outside)

    with pytest.raises(UnsafeMemberError, match="uploads"), staged_folder(out) as staging:
        (staging / "keep.txt").write_text("backup's", "utf-8")
        (staging / "uploads").mkdir()
        (staging / "uploads" / "x.txt").write_text("x", "utf-8")

    assert list(outside.iterdir()) == []
    assert (out / "keep.txt").read_text("utf-8") == "mine"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out", "outside"]


def test_a_folder_in_the_destination_where_a_file_goes_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "a.txt").mkdir(parents=True)

    with pytest.raises(UnsafeMemberError, match="in the way"), staged_folder(out) as staging:
        (staging / "a.txt").write_text("a", "utf-8")

    assert (out / "a.txt").is_dir()


def test_a_folder_whose_parent_may_not_be_written_is_staged_inside_itself(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine", "utf-8")
    make_folder = Path.mkdir

    def refuse_beside(path: Path, mode: int = 0o777, *args: Any, **kwargs: Any) -> None:
        if path.parent == tmp_path and path.name.startswith(".out"):
            raise PermissionError(13, "Permission denied")  # the parent is root's
        make_folder(path, mode, *args, **kwargs)

    with (
        patch.object(Path, "mkdir", autospec=True, side_effect=refuse_beside),
        staged_folder(out) as staging,
    ):
        assert staging.parent == out
        (staging / "a.txt").write_text("a", "utf-8")

    assert sorted(path.name for path in out.iterdir()) == ["a.txt", "keep.txt"]
    assert [path.name for path in tmp_path.iterdir()] == ["out"]
