"""Configurations that would hurt end the command with exit 2 and one line (issue 9 item 7)."""

from __future__ import annotations

import subprocess

from cli_user import User


def test_a_demo_inside_a_git_work_tree_is_refused_until_gitignore_has_the_line(user: User):
    subprocess.run(["git", "init", "-q", str(user.demo.folder)], check=True)

    refused = user.run("backup")
    wrote_nothing = not (user.demo.folder / "backups").exists()
    (user.demo.folder / ".gitignore").write_text("/backups/\n", encoding="utf-8")
    accepted = user.run("backup")

    assert refused.returncode == 2
    assert len(refused.stderr.strip().splitlines()) == 1
    assert "add the line `/backups/` to" in refused.stderr
    assert wrote_nothing
    assert accepted.returncode == 0, accepted.stderr


def test_a_state_url_below_a_regular_file_is_one_config_line(user: User):
    config = user.demo.config
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace('url = "sqlite:///.backproof/state.db"', 'url = "sqlite:///crm.db/state.db"'),
        encoding="utf-8",
    )

    process = user.run("list")

    assert process.returncode == 2
    assert process.stderr.strip().splitlines() == [
        f"backproof: error: at state.url: {user.demo.database} is a file, so "
        f"{user.demo.database}/state.db cannot be made below it: choose a path in a folder"
    ]
