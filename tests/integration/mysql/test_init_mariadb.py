"""`backproof init` on generated Rails and Laravel applications on MariaDB."""

from __future__ import annotations

from pathlib import Path

from mariadb_server import MariaServer

from app_folders import init_and_run, make_laravel, make_rails

RAILS_PASSWORD = "rails-sécret-9"


def test_init_of_a_rails_app_reads_the_password_variable_from_database_yml(
    maria: MariaServer, tmp_path: Path
) -> None:
    database = maria.create_database(crm=False)
    maria.execute(
        "CREATE TABLE posts (id INT PRIMARY KEY AUTO_INCREMENT, body TEXT)", database=database
    )
    maria.execute(
        "INSERT INTO posts (body) SELECT REPEAT('p', 300) FROM seq_1_to_500", database=database
    )
    maria.execute(
        "CREATE TABLE schema_migrations (version VARCHAR(20) PRIMARY KEY)", database=database
    )
    user = maria.create_user(RAILS_PASSWORD, "GRANT ALL PRIVILEGES ON *.* TO {user}")
    app = make_rails(
        tmp_path / "blog",
        "production:\n  adapter: mysql2\n  encoding: utf8mb4\n  host: 127.0.0.1\n  port: 3306\n"
        f"  database: {database}\n  username: {user}\n"
        '  password: <%= ENV["BLOG_DATABASE_PASSWORD"] %>\n',
    )

    created, config, chain = init_and_run(
        app, tmp_path / "home", env={"BLOG_DATABASE_PASSWORD": RAILS_PASSWORD}
    )

    assert 'password_env = "BLOG_DATABASE_PASSWORD"' in config
    assert RAILS_PASSWORD not in config
    assert f'database = "mysql://{user}@127.0.0.1:3306/{database}"' in config
    assert "key tables: posts" in created
    assert "✓ verify passed" in chain


def test_init_of_a_laravel_app_on_mariadb_proposes_the_crm_key_tables(
    maria: MariaServer, tmp_path: Path
) -> None:
    database = maria.create_database()
    env = {
        "DB_CONNECTION": "mariadb",
        "DB_HOST": "127.0.0.1",
        "DB_PORT": "3306",
        "DB_DATABASE": database,
        "DB_USERNAME": "root",
        "DB_PASSWORD": "",
    }
    app = make_laravel(tmp_path / "crm", env)

    created, config, chain = init_and_run(app, tmp_path / "home")

    assert "key tables: companies, contacts" in created
    assert 'key_tables = ["companies", "contacts"]' in config
    assert "✓ verify passed" in chain
