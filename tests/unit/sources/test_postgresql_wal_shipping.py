"""What a verify says of a PostgreSQL server's standbys and WAL archive, from the facts."""

from __future__ import annotations

import pytest

from backproof.sources.postgresql_wal import WalShipping

WHERE = "db:5432/postgres"
WHAT_TO_DO = "point verify.url at a PostgreSQL server of its own"


def test_a_server_without_standbys_or_archive_gives_no_warning() -> None:
    assert WalShipping(standbys=0, archive_mode="off").warnings(WHERE) == []


@pytest.mark.parametrize("archive_mode", ["on", "always"])
def test_an_archiving_server_gives_one_warning_saying_the_archive_stores_each_verify(
    archive_mode: str,
) -> None:
    (warning,) = WalShipping(standbys=0, archive_mode=archive_mode).warnings(WHERE)

    assert warning.startswith(
        f"PostgreSQL at {WHERE} archives its WAL (archive_mode = {archive_mode}): "
    )
    assert "stored by the archive" in warning
    assert "standby" not in warning.split(";")[0]
    assert warning.endswith(f"{WHAT_TO_DO} (no standbys, no WAL archiving)")


def test_a_primary_with_standbys_gives_one_warning_counting_them() -> None:
    (warning,) = WalShipping(standbys=2).warnings(WHERE)

    assert warning.startswith(f"PostgreSQL at {WHERE} streams its WAL to 2 standbys: ")
    assert "replayed by the standbys," in warning
    assert "archive" not in warning.split(";")[0]
    assert WHAT_TO_DO in warning


def test_a_primary_with_a_standby_and_an_archive_gives_one_warning_naming_both() -> None:
    (warning,) = WalShipping(standbys=1, archive_mode="on").warnings(WHERE)

    assert warning.startswith(
        f"PostgreSQL at {WHERE} streams its WAL to 1 standby and archives it (archive_mode = on): "
    )
    assert "replayed by the standby and stored by the archive" in warning
    assert "\n" not in warning


def test_a_standby_as_verify_server_gives_one_warning_that_it_cannot_hold_a_scratch() -> None:
    (warning,) = WalShipping(standbys=0, archive_mode="always", in_recovery=True).warnings(WHERE)

    assert f"PostgreSQL at {WHERE} is a standby (in recovery)" in warning
    assert "cannot hold a verify's scratch database" in warning
    assert WHAT_TO_DO in warning
