"""`backproof init` on generated SQLite applications, as a user runs it: a config from what the
application declares, key tables proposed, no password in it, a backup proven at once."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from app_folders import git_init, init_and_run, make_laravel, make_rails
from cli_process import run_backproof


def fill_shop(path: Path) -> None:
    """Create a small shop database: orders and customers, and framework tables."""
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER)")
        connection.executemany("INSERT INTO orders (total) VALUES (?)", [(n,) for n in range(300)])
        connection.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        connection.executemany("INSERT INTO customers (name) VALUES (?)", [("Čeněk",)] * 50)
        connection.execute("CREATE TABLE sessions (id TEXT PRIMARY KEY, payload TEXT)")
        connection.executemany(
            "INSERT INTO sessions VALUES (?, 'x')", [(str(n),) for n in range(900)]
        )
        connection.execute("CREATE TABLE migrations (id INTEGER PRIMARY KEY, migration TEXT)")
    connection.close()


def test_init_of_a_laravel_sqlite_app_proposes_its_largest_tables_and_proves_a_backup(
    tmp_path: Path,
) -> None:
    app = make_laravel(tmp_path / "shop", {"DB_CONNECTION": "sqlite"})
    fill_shop(app / "database" / "database.sqlite")

    created, config, chain = init_and_run(app, tmp_path / "home")

    assert "key tables: orders, customers" in created
    assert 'key_tables = ["orders", "customers"]' in config
    assert f'files = ["{app / "storage" / "app"}"]' in config
    assert "✓ verify passed" in chain
    assert created.splitlines()[-1].endswith(
        f"--config {tmp_path / 'home' / 'etc' / 'backproof.toml'} run"
    )


def test_init_of_a_rails_sqlite_app_reads_database_yml(tmp_path: Path) -> None:
    app = make_rails(
        tmp_path / "blog",
        "default: &default\n  adapter: sqlite3\n  pool: 5\n"
        "production:\n  <<: *default\n  database: storage/production.sqlite3\n",
    )
    fill_shop(app / "storage" / "production.sqlite3")

    created, config, chain = init_and_run(app, tmp_path / "home")

    assert created.startswith("Rails application: 4 tables")
    assert f"sqlite:///{app / 'storage' / 'production.sqlite3'}" in config
    assert "✓ verify passed" in chain


def test_init_refuses_a_destination_inside_a_git_work_tree_and_writes_nothing(
    tmp_path: Path,
) -> None:
    app = make_laravel(tmp_path / "shop", {"DB_CONNECTION": "sqlite"})
    fill_shop(app / "database" / "database.sqlite")
    git_init(app)
    config = tmp_path / "backproof.toml"

    process = run_backproof(
        "--config",
        str(config),
        "init",
        "--non-interactive",
        "--destination",
        str(app / "backups"),
        cwd=app,
    )

    assert process.returncode == 2
    assert f"inside the git work tree {app}" in process.stderr
    assert not config.exists()


def test_init_without_anything_declared_says_what_it_looked_for(tmp_path: Path) -> None:
    process = run_backproof(
        "--config", str(tmp_path / "backproof.toml"), "init", "--non-interactive", cwd=tmp_path
    )

    assert process.returncode == 2
    assert "no .env with DB_CONNECTION (Laravel)" in process.stderr
    assert "pass --database URL" in process.stderr


def test_init_refuses_to_replace_a_config_without_force(tmp_path: Path) -> None:
    app = make_laravel(tmp_path / "shop", {"DB_CONNECTION": "sqlite"})
    fill_shop(app / "database" / "database.sqlite")
    config = tmp_path / "backproof.toml"
    config.write_text("# mine\n", encoding="utf-8")

    process = run_backproof("--config", str(config), "init", "--non-interactive", cwd=app)

    assert process.returncode == 2
    assert "pass --force" in process.stderr
    assert config.read_text(encoding="utf-8") == "# mine\n"


def test_init_json_is_one_document_and_asks_nothing(tmp_path: Path) -> None:
    app = make_laravel(tmp_path / "shop", {"DB_CONNECTION": "sqlite"})
    fill_shop(app / "database" / "database.sqlite")
    config = tmp_path / "home" / "backproof.toml"

    process = run_backproof(
        *("--config", str(config), "init", "--json", "--app", str(app)),
        *("--data-dir", str(tmp_path / "home" / "data")),
        cwd=app,
    )

    assert process.returncode == 0, process.stderr
    document = json.loads(process.stdout)
    assert document["config"] == str(config)
    assert document["framework"] == "Laravel"
    assert document["key_tables"] == ["orders", "customers"]
    assert document["next"].endswith(f"--config {config} run")
    assert config.is_file()
