"""The config accepts exactly the URL schemes the registries can open.

The config sits below the plug-ins and cannot import their registries (see the import rules),
so the lists are written twice and this test keeps them equal.
"""

from __future__ import annotations

from backproof.config.models import DATABASE_SCHEMES, STORAGE_SCHEMES
from backproof.sources.registry import ENGINES
from backproof.storage.registry import BACKENDS


def test_config_accepts_every_database_scheme_the_source_registry_opens() -> None:
    assert sorted(DATABASE_SCHEMES) == sorted(ENGINES)


def test_config_accepts_every_storage_scheme_the_storage_registry_opens() -> None:
    assert sorted(STORAGE_SCHEMES) == sorted(BACKENDS)
