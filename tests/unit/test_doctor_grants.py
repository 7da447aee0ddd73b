"""Which MySQL/MariaDB grants are too much for the user verify imports as (issue 9 item 10)."""

from __future__ import annotations

from backproof.sources.mysql_privileges import grant_problems


def test_root_holds_everything_on_every_database() -> None:
    grants = ["GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION"]

    assert grant_problems(grants) == ["holds ALL PRIVILEGES, GRANT OPTION on *.*"]


def test_a_user_limited_to_verify_databases_has_no_problem() -> None:
    grants = [
        "GRANT USAGE ON *.* TO `verify`@`%`",
        "GRANT ALL PRIVILEGES ON `verify\\_%`.* TO `verify`@`%`",
    ]

    assert grant_problems(grants) == []


def test_rights_on_another_database_and_file_are_named() -> None:
    grants = [
        "GRANT FILE ON *.* TO `verify`@`%`",
        "GRANT SELECT, INSERT ON `crm`.* TO `verify`@`%`",
    ]

    assert grant_problems(grants) == [
        "holds FILE on *.*",
        "holds SELECT, INSERT on crm",
    ]


def test_the_privilege_to_keep_verify_out_of_the_binary_log_is_no_problem() -> None:
    grants = [
        "GRANT BINLOG ADMIN ON *.* TO `verify`@`%`",
        "GRANT SESSION_VARIABLES_ADMIN ON *.* TO `verify`@`%`",
        "GRANT ALL PRIVILEGES ON `verify\\_%`.* TO `verify`@`%`",
    ]

    assert grant_problems(grants) == []


def test_other_global_privileges_beside_binlog_admin_are_named() -> None:
    grants = ["GRANT RELOAD, BINLOG ADMIN ON *.* TO `verify`@`%`"]

    assert grant_problems(grants) == ["holds RELOAD, BINLOG ADMIN on every database"]
