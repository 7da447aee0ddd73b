"""How a table a user names is looked up in a backup's facts."""

from backproof.sources.table_restore import facts_table_names


def test_postgresql_public_schema_name_is_also_looked_up_bare() -> None:
    assert facts_table_names("postgresql", "public.contacts") == ("public.contacts", "contacts")


def test_postgresql_other_schema_name_is_kept_as_written() -> None:
    assert facts_table_names("postgresql", "crm.contacts") == ("crm.contacts",)


def test_other_engines_take_the_name_as_written() -> None:
    assert facts_table_names("mysql", "public.contacts") == ("public.contacts",)
    assert facts_table_names("sqlite", "contacts") == ("contacts",)
