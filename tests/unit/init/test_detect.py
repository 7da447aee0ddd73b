"""What `init` reads from an application's own files, without a database."""

from __future__ import annotations

from pathlib import Path

import pytest

from backproof.errors import UsageError
from backproof.init.detect import detect_application, read_env_file


def test_dotenv_values_lose_their_quotes_and_comments(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text(
        '# comment\nDB_PASSWORD="p@ss w#rd"\nDB_HOST=db # the host\nexport DB_PORT=5432\n',
        encoding="utf-8",
    )

    assert read_env_file(path) == {"DB_PASSWORD": "p@ss w#rd", "DB_HOST": "db", "DB_PORT": "5432"}


def test_laravel_env_gives_a_url_without_the_password_and_storage_app(tmp_path: Path) -> None:
    (tmp_path / "storage" / "app").mkdir(parents=True)
    (tmp_path / ".env").write_text(
        "DB_CONNECTION=pgsql\nDB_HOST=db.internal\nDB_PORT=5433\nDB_DATABASE=shop\n"
        "DB_USERNAME=shop\nDB_PASSWORD=s3cret\n",
        encoding="utf-8",
    )

    app = detect_application(tmp_path, environ={})

    assert (app.framework, app.url) == ("Laravel", "postgresql://shop@db.internal:5433/shop")
    assert app.password == "s3cret"
    assert app.files == [tmp_path / "storage" / "app"]


def test_heroku_database_url_is_read_from_the_environment_first(tmp_path: Path) -> None:
    environ = {"DATABASE_URL": "postgres://u:p%40ss@host:5432/app?sslmode=require"}

    app = detect_application(tmp_path, environ)

    assert app.url == "postgresql://u@host:5432/app?sslmode=require"
    assert app.password == "p@ss"


def test_rails_password_from_erb_becomes_a_variable_name(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "database.yml").write_text(
        "default: &default\n  adapter: postgresql\n  host: localhost\n"
        "production:\n  <<: *default\n  database: blog\n  username: blog\n"
        "  password: <%= ENV.fetch('BLOG_DATABASE_PASSWORD') %>\n",
        encoding="utf-8",
    )

    app = detect_application(tmp_path, environ={})

    assert app.url == "postgresql://blog@localhost/blog"
    assert (app.password, app.password_env) == (None, "BLOG_DATABASE_PASSWORD")


def test_folder_without_a_declared_database_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="found no database"):
        detect_application(tmp_path, environ={})
