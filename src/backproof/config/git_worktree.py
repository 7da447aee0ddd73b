"""Whether a path lies inside a git work tree: backups there end up committed and pushed."""

from __future__ import annotations

from pathlib import Path


def enclosing_git_work_tree(path: Path) -> Path | None:
    """Return the root of the git work tree holding ``path`` (existing or not), else None.

    A work tree is a folder with ``.git`` (a folder, or a file in a linked worktree or a
    submodule); the nearest one up from ``path`` counts.
    """
    for folder in [path, *path.parents]:
        if (folder / ".git").exists():
            return folder
    return None
