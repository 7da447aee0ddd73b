"""`backproof init` on generated Laravel and Django applications on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from pg_servers import PgServer

from app_folders import init_and_run, make_django, make_laravel
from backproof.init.tables import list_table_sizes, propose_key_tables


def test_init_of_a_django_app_keeps_the_password_in_a_private_file_and_proposes_the_crm(
    pg_private: PgServer, tmp_path: Path
) -> None:
    database = pg_private.create_database()
    password = pg_private.admin_password or ""
    url = f"postgres://postgres:{password}@{pg_private.host}:{pg_private.port}/{database}"
    app = make_django(tmp_path / "crm", url)

    created, config, chain = init_and_run(app, tmp_path / "home")

    secret = tmp_path / "home" / "etc" / "secrets" / "crm.password"
    assert password and password not in config
    assert f'password_file = "{secret}"' in config
    assert secret.read_text(encoding="utf-8") == password + "\n"
    assert secret.stat().st_mode & 0o777 == 0o600
    assert f'database = "postgresql://postgres@{pg_private.host}:{pg_private.port}/' in config
    assert 'key_tables = ["companies", "contacts"]' in config
    assert f"password written to {secret} (0600)" in created
    assert "✓ verify passed" in chain


def test_init_of_a_laravel_app_on_postgresql_proposes_its_largest_own_tables(
    pg: PgServer, tmp_path: Path
) -> None:
    database = pg.create_database(crm=False)
    with pg.connect(database) as connection:
        connection.execute("CREATE TABLE orders (id serial PRIMARY KEY, note text)")
        connection.execute(
            "INSERT INTO orders (note) SELECT repeat('x', 200) FROM generate_series(1, 2000)"
        )
        connection.execute("CREATE TABLE customers (id serial PRIMARY KEY, name text)")
        connection.execute(
            "INSERT INTO customers (name) SELECT 'c' || g FROM generate_series(1, 300) g"
        )
        connection.execute("CREATE TABLE sessions (id text PRIMARY KEY, payload text)")
        connection.execute(
            "INSERT INTO sessions SELECT g::text, repeat('s', 2000) FROM generate_series(1, 3000) g"
        )
        connection.execute("VACUUM ANALYZE")
    env = {
        "DB_CONNECTION": "pgsql",
        "DB_HOST": pg.host,
        "DB_PORT": str(pg.port),
        "DB_DATABASE": database,
        "DB_USERNAME": "postgres",
        "DB_PASSWORD": "",
    }
    app = make_laravel(tmp_path / "shop", env)

    created, config, chain = init_and_run(app, tmp_path / "home")

    assert "key tables: orders, customers" in created
    assert "password_file" not in config
    assert "✓ verify passed" in chain


def test_init_proposes_the_tables_of_a_database_loaded_just_now_before_any_analyze(
    pg: PgServer,
) -> None:
    database = pg.create_database(crm=False)
    with pg.connect(database) as connection:
        connection.execute("CREATE TABLE orders (id serial PRIMARY KEY, note text)")
        connection.execute("INSERT INTO orders (note) SELECT 'o' FROM generate_series(1, 50)")
        connection.execute("CREATE TABLE unused (id serial PRIMARY KEY, note text)")

    tables = list_table_sizes(pg.url(database), None)

    assert propose_key_tables(tables) == ["orders"]
