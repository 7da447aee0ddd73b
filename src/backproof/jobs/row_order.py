"""Settling a table whose ordered digests differ: the same rows in another order, or not.

A PostgreSQL backup digests each table's rows in the order the dump holds them
(``postgresql_archive.ORDERED_METHOD``); a restored table read back in the same order gives
the same digest, which proves the same rows. When they differ (the rows came back in another
order, or differ), both sides of that table alone are digested again without order: the
restored copy read again, and the dump's section of the table read again from the stored part
(its bytes checked against the manifest's sha256 as they pass, IntegrityError otherwise). The
compared facts then carry those digests for the table: equal, it is proved identical; unequal,
the comparison names it as differing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import BinaryIO

from backproof.archive.manifest import Facts
from backproof.sources.base import DatabaseSource, OrderedDigests

logger = logging.getLogger(__name__)


def settle_row_order(
    restored: DatabaseSource,
    expected: Facts,
    actual: Facts,
    open_dump: Callable[[], AbstractContextManager[BinaryIO]],
) -> tuple[Facts, Facts, list[str]]:
    """Return the facts to compare, the dump's (``expected``) and the restored copy's
    (``actual``), with order-independent digests for each table whose ordered digests differ
    while its row counts agree, and the tables thereby proved identical (rows restored in
    another order). ``open_dump`` opens the decoded dump again (a verify's: the stored part,
    checked against its manifest once read).

    Raises what ``open_dump`` raises (IntegrityError when the stored part no longer matches
    its manifest), and what the engine raises when a table cannot be read again.
    """
    if not isinstance(restored, OrderedDigests) or not expected.digests:
        return expected, actual, []
    if not restored.is_ordered_digest(expected.digest_method):
        return expected, actual, []
    differing = sorted(
        table
        for table, digest in expected.digests.items()
        if table in actual.digests
        and actual.digests[table].digest != digest.digest
        and expected.tables.get(table) == actual.tables.get(table)
    )
    if not differing:
        return expected, actual, []
    logger.info("ordered digests differ for %s: digesting them again without order", differing)
    again = restored.digests_without_order(differing)
    with open_dump() as dump:
        dumped = restored.digests_without_order(differing, dump)
    common = [table for table in differing if table in again and table in dumped]
    settled = [table for table in common if again[table] == dumped[table]]
    for table in settled:
        logger.info("table %s: its rows were restored in another order, the same rows", table)
    expected = expected.model_copy(
        update={"digests": {**expected.digests, **{table: dumped[table] for table in common}}}
    )
    actual = actual.model_copy(
        update={"digests": {**actual.digests, **{table: again[table] for table in common}}}
    )
    return expected, actual, settled
