"""doctor on the user verify imports as, against the real PostgreSQL (issue 9 items 2, 10)."""

from __future__ import annotations

from pg_servers import PgServer
from psycopg import sql

from backproof.doctor.privileges import check_verify_privileges
from backproof.sources.registry import open_server


def test_verify_importing_as_a_superuser_is_a_warning(pg: PgServer) -> None:
    check = check_verify_privileges(open_server(pg.url("postgres")), used_by_default=True)

    assert check.status == "warning"
    assert "a superuser" in check.message
    assert "verify.url is not set" in check.message


def test_a_role_that_may_only_create_databases_is_ok(pg: PgServer) -> None:
    role = pg.create_role("secret", "CREATEDB")

    check = check_verify_privileges(
        open_server(pg.url("postgres", user=role), "secret"), used_by_default=False
    )

    assert check.status == "ok", check.message


def test_a_role_owning_another_database_is_a_warning_naming_it(pg: PgServer) -> None:
    role = pg.create_role("secret", "CREATEDB")
    database = pg.create_database(crm=False)
    with pg.connect() as admin:
        admin.execute(
            sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                sql.Identifier(database), sql.Identifier(role)
            )
        )

    check = check_verify_privileges(
        open_server(pg.url("postgres", user=role), "secret"), used_by_default=False
    )

    assert check.status == "warning"
    assert f"owns or may create in other databases ({database})" in check.message


def test_a_role_that_cannot_create_databases_fails(pg: PgServer) -> None:
    role = pg.create_role("secret")

    check = check_verify_privileges(
        open_server(pg.url("postgres", user=role), "secret"), used_by_default=False
    )

    assert check.status == "failed"
    assert "lacks CREATEDB" in check.message
