"""Configurations that would hurt, refused at load (issue 9 item 7).

- A local destination inside a folder the target backs up: every backup would archive the
  backups before it, and grow without bound.
- A local destination inside a git work tree that git does not ignore: backups (database dumps,
  uploaded files) must never be committed. ``git check-ignore`` decides; the error says the line
  to add to ``.gitignore``.

Nothing here writes; the only subprocess is ``git check-ignore``, run only when a ``.git`` is
found above a destination. The CLI refuses such a configuration before any command runs
(``refuse_dangers``); ``doctor`` reports the same problems as failed checks.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from backproof.config.models import Settings
from backproof.errors import ConfigError, PipelineError

GIT_TIMEOUT_SECONDS = 10.0


def local_destination_path(url: str) -> Path | None:
    """Return the folder of a ``file://`` destination, None for other schemes."""
    parts = urlsplit(url)
    return Path(unquote(parts.path)) if parts.scheme == "file" else None


def find_problems(settings: Settings) -> list[str]:
    """Return one ``at <key>: <message>`` line per dangerous destination."""
    problems: list[str] = []
    for index, destination in enumerate(settings.destinations):
        path = local_destination_path(destination.url)
        if path is None:
            continue
        where = f"at destinations[{index}].url"
        problems += [f"{where}: {problem}" for problem in _inside_backed_up_files(settings, path)]
        problem = git_problem(path)
        if problem is not None:
            problems.append(f"{where}: {problem}")
    return problems


def refuse_dangers(settings: Settings, config_path: Path) -> Settings:
    """Return ``settings``; ConfigError (exit 2) listing each destination that would hurt."""
    problems = find_problems(settings)
    if problems:
        raise ConfigError(problems, str(config_path))
    return settings


def _inside_backed_up_files(settings: Settings, path: Path) -> list[str]:
    found = []
    for target_index, target in enumerate(settings.targets):
        for file_index, files in enumerate(target.files):
            if path == files or files in path.parents:
                found.append(
                    f"{path} is inside targets[{target_index}].files[{file_index}] ({files}): "
                    "every backup would archive the backups before it; put the destination "
                    "outside the backed-up folders"
                )
    return found


def find_work_tree(path: Path) -> Path | None:
    """Return the git work tree holding ``path`` (exists or not), None outside any."""
    for folder in [path, *path.parents]:
        if (folder / ".git").exists():
            return folder
    return None


def git_problem(path: Path) -> str | None:
    """Return why ``path`` must not hold backups for git, None when it may."""
    work_tree = find_work_tree(path)
    if work_tree is None:
        return None
    ignored = is_git_ignored(work_tree, path)
    if ignored:
        return None
    line = "/" + path.relative_to(work_tree).as_posix().strip("/") + "/"
    why = "git does not ignore it" if ignored is False else "git cannot say it is ignored"
    return (
        f"{path} is inside the git work tree {work_tree} and {why}: backups must never be "
        f"committed; add the line `{line}` to {work_tree / '.gitignore'}, or put the "
        "destination outside the work tree"
    )


def is_git_ignored(work_tree: Path, path: Path) -> bool | None:
    """Return True when git ignores the folder ``path``, False when not, None when git cannot
    tell (not installed, not a repository)."""
    # The pipeline (subprocess, threads) loads only when a destination is in a work tree.
    from backproof.process.commands import Command  # noqa: PLC0415
    from backproof.process.pipeline import run_command  # noqa: PLC0415

    command = Command(
        "git check-ignore",
        ("git", "-C", str(work_tree), "check-ignore", "--quiet", f"{path}/"),
    )
    try:
        run_command(command, timeout_seconds=GIT_TIMEOUT_SECONDS)
    except PipelineError as exc:
        # Exit 1 is git's "not ignored"; 128 (not a repository) and a missing git are unknown.
        return False if "exited with code 1" in str(exc).split("\n", 1)[0] else None
    return True
