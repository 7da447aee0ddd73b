"""The compare-and-set writes of ops_alerts on a real SQLite state database."""

from __future__ import annotations

from dataclasses import replace

from alert_twins import NOW

from backproof.alert_ratelimit import AlertRow
from backproof.jobs.context import Context
from backproof.state.alerts import AlertStore

ROW = AlertRow("backup_failed:crm", "crm", True, "7", NOW, 0, None, NOW, 1)


def test_insert_then_read_returns_the_row(context: Context) -> None:
    store = AlertStore(context.activities.engine)

    assert store.save(None, ROW)

    assert store.rows("crm") == {ROW.key: ROW}
    assert store.get(ROW.key) == ROW


def test_second_insert_of_a_key_loses(context: Context) -> None:
    store = AlertStore(context.activities.engine)
    store.save(None, ROW)
    assert not store.save(None, replace(ROW, occurrence="8"))


def test_update_from_a_stale_version_loses(context: Context) -> None:
    store = AlertStore(context.activities.engine)
    store.save(None, ROW)
    first = replace(ROW, suppressed_count=1, version=2)
    second = replace(ROW, suppressed_count=5, version=2)

    assert store.save(ROW, first)
    assert not store.save(ROW, second)
    assert store.get(ROW.key) == first


def test_delete_removes_the_row_of_that_version(context: Context) -> None:
    store = AlertStore(context.activities.engine)
    store.save(None, ROW)
    assert store.save(ROW, None)
    assert store.get(ROW.key) is None


def test_pending_message_is_kept_as_json(context: Context) -> None:
    store = AlertStore(context.activities.engine)
    row = replace(ROW, pending={"title": "Záloha selhala", "context": {"n": 1}})
    store.save(None, row)
    assert store.get(ROW.key) == row
