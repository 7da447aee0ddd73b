"""Comparing a restore with the facts of its dump: every difference is named."""

from __future__ import annotations

from backproof.archive.manifest import Facts, FilesFacts, SampledRows, TableDigest
from backproof.comparison import compare_database_facts, compare_files_facts, summarize

DUMPED = Facts(
    tables={"companies": 40, "contacts": 160, "notes": 200},
    samples={"companies": SampledRows(key_columns=["id"], rows={"[1]": "aa", "[2]": "bb"})},
    objects={"views": 1, "triggers": 1},
)
FILES = FilesFacts(entries=5, regular_files=3, total_bytes=300, tree_sha256="abc")


def test_identical_facts_have_no_differences() -> None:
    assert compare_database_facts(DUMPED, DUMPED.model_copy(deep=True)) == []


def test_row_count_difference_names_the_table_and_both_counts() -> None:
    restored = DUMPED.model_copy(update={"tables": {**DUMPED.tables, "contacts": 159}})

    assert compare_database_facts(DUMPED, restored) == [
        "table contacts: 159 rows restored, 160 dumped (at least 1 row missing)"
    ]


def test_rows_added_by_the_restore_are_counted() -> None:
    restored = DUMPED.model_copy(update={"tables": {**DUMPED.tables, "notes": 203}})

    assert compare_database_facts(DUMPED, restored) == [
        "table notes: 203 rows restored, 200 dumped (at least 3 rows not in the dump)"
    ]


def test_missing_table_is_named() -> None:
    restored = DUMPED.model_copy(update={"tables": {"companies": 40, "contacts": 160}})

    assert compare_database_facts(DUMPED, restored) == ["tables missing after restore: notes"]


def test_extra_table_is_named() -> None:
    restored = DUMPED.model_copy(update={"tables": {**DUMPED.tables, "audit": 3}})

    assert compare_database_facts(DUMPED, restored) == ["tables not in the dump: audit"]


def test_object_count_difference_is_named() -> None:
    restored = DUMPED.model_copy(update={"objects": {"views": 1, "triggers": 0}})

    assert compare_database_facts(DUMPED, restored) == ["triggers: 0 restored, 1 dumped"]


def test_changed_sampled_row_is_named_by_its_key() -> None:
    samples = {"companies": SampledRows(key_columns=["id"], rows={"[1]": "aa", "[2]": "zz"})}

    differences = compare_database_facts(DUMPED, DUMPED.model_copy(update={"samples": samples}))

    assert differences == ["table companies: sampled row id=2 differs"]


def test_missing_sampled_row_is_named_by_its_key() -> None:
    samples = {"companies": SampledRows(key_columns=["id"], rows={"[2]": "bb"})}

    differences = compare_database_facts(DUMPED, DUMPED.model_copy(update={"samples": samples}))

    assert differences == ["table companies: sampled row id=1 is missing"]


def digested(facts: Facts, **digests: str) -> Facts:
    """Return ``facts`` with a digest of each named table (its row count, the given sum)."""
    made = {
        table: TableDigest(rows=facts.tables[table], digest=sum_) for table, sum_ in digests.items()
    }
    return facts.model_copy(update={"digests": made})


def test_a_changed_row_of_a_table_without_samples_is_said_to_be_somewhere() -> None:
    restored = digested(DUMPED, companies="0a", notes="ff")

    differences = compare_database_facts(digested(DUMPED, companies="0a", notes="0b"), restored)

    assert differences == [
        "table notes: content differs from the dump in at least one of its 200 rows"
    ]


def test_a_changed_row_of_a_key_table_is_named_when_a_sampled_row_differs() -> None:
    samples = {"companies": SampledRows(key_columns=["id"], rows={"[1]": "aa", "[2]": "zz"})}
    restored = digested(DUMPED, companies="ff").model_copy(update={"samples": samples})

    differences = compare_database_facts(digested(DUMPED, companies="0a"), restored)

    assert differences == [
        "table companies: content differs from the dump in at least one of its 40 rows, "
        "among them the sampled row id=2 differs"
    ]


def test_identical_files_have_no_differences() -> None:
    assert compare_files_facts(FILES, FILES.model_copy()) == []


def test_file_count_and_content_differences_are_named() -> None:
    read_back = FILES.model_copy(update={"regular_files": 2, "tree_sha256": "def"})

    assert compare_files_facts(FILES, read_back) == [
        "files: regular files 2 read back, 3 archived",
        "files: the content of the archive differs from what was archived",
    ]


def test_summarize_shows_the_first_differences_and_counts_the_rest() -> None:
    differences = [f"difference {number}" for number in range(10)]

    summary = summarize(differences)

    assert summary.startswith("difference 0; difference 1")
    assert summary.endswith("; and 2 more")
