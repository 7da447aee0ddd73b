"""Comparing a restore with the facts of its dump: a pure function that names every difference."""

from __future__ import annotations

from backproof.archive.manifest import Facts, FilesFacts

MAX_DIFFERENCES_SHOWN = 8


def compare_database_facts(expected: Facts, actual: Facts) -> list[str]:
    """Return one line per difference in tables, row counts, objects and sampled rows."""
    differences: list[str] = []
    missing = sorted(set(expected.tables) - set(actual.tables))
    extra = sorted(set(actual.tables) - set(expected.tables))
    if missing:
        differences.append(f"tables missing after restore: {', '.join(missing)}")
    if extra:
        differences.append(f"tables not in the dump: {', '.join(extra)}")
    for table, rows in sorted(expected.tables.items()):
        restored = actual.tables.get(table)
        if restored is not None and restored != rows:
            gap = _count_gap(restored, rows)
            differences.append(f"table {table}: {restored} rows restored, {rows} dumped ({gap})")
    for kind, count in sorted(expected.objects.items()):
        restored_count = actual.objects.get(kind, 0)
        if restored_count != count:
            differences.append(f"{kind}: {restored_count} restored, {count} dumped")
    sampled = _sample_differences(expected, actual)
    differences.extend(_digest_differences(expected, actual, sampled))
    for table, named in sorted(sampled.items()):
        if table not in expected.digests:
            differences.extend(f"table {table}: sampled row {row}" for row in named)
    return differences


def _sample_differences(expected: Facts, actual: Facts) -> dict[str, list[str]]:
    """Return, per key table, its sampled rows that are missing or differ after the restore."""
    found: dict[str, list[str]] = {}
    for table, sample in sorted(expected.samples.items()):
        restored_rows = actual.samples[table].rows if table in actual.samples else {}
        for key, digest in sample.rows.items():
            if restored_rows.get(key) != digest:
                state = "is missing" if key not in restored_rows else "differs"
                row = f"{_key_text(sample.key_columns, key)} {state}"
                found.setdefault(table, []).append(row)
    return found


def _count_gap(restored: int, dumped: int) -> str:
    """Say how many rows a row count alone proves missing or added."""
    gap = abs(dumped - restored)
    rows = "row" if gap == 1 else "rows"
    if restored < dumped:
        return f"at least {gap} {rows} missing"
    return f"at least {gap} {rows} not in the dump"


def _digest_differences(expected: Facts, actual: Facts, sampled: dict[str, list[str]]) -> list[str]:
    """One line per table whose rows differ from the dump's (only tables the dump digested),
    naming the key table's sampled rows that differ: a digest says that a row differs, not
    which (``docs/verification.md``)."""
    differences = []
    for table, digest in sorted(expected.digests.items()):
        restored = actual.digests.get(table)
        named = sampled.get(table, [])
        counts_agree = expected.tables.get(table) == actual.tables.get(table)
        if counts_agree and restored is None and table in actual.tables:
            differences.append(f"table {table}: no digest of the restored copy")
        elif counts_agree and restored is not None and restored.digest != digest.digest:
            among = f", among them the sampled row {'; '.join(named)}" if named else ""
            differences.append(
                f"table {table}: content differs from the dump in at least one of its "
                f"{digest.rows} rows{among}"
            )
            continue
        differences.extend(f"table {table}: sampled row {row}" for row in named)
    return differences


def compare_files_facts(expected: FilesFacts, actual: FilesFacts) -> list[str]:
    """Return one line per difference between the files archive recorded and the one read back."""
    differences = []
    for name in ("entries", "regular_files", "total_bytes"):
        if getattr(expected, name) != getattr(actual, name):
            differences.append(
                f"files: {name.replace('_', ' ')} {getattr(actual, name)} read back, "
                f"{getattr(expected, name)} archived"
            )
    if expected.tree_sha256 != actual.tree_sha256:
        differences.append("files: the content of the archive differs from what was archived")
    return differences


def summarize(differences: list[str]) -> str:
    """Return the first differences as one line, with a count of the rest."""
    shown = "; ".join(differences[:MAX_DIFFERENCES_SHOWN])
    rest = len(differences) - MAX_DIFFERENCES_SHOWN
    return shown + (f"; and {rest} more" if rest > 0 else "")


def _key_text(columns: list[str], key: str) -> str:
    return f"{','.join(columns)}={key.strip('[]')}"
