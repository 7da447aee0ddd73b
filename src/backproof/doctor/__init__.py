"""``backproof doctor``: checks a configuration without changing anything (issue 9 item 10).

``checks.py`` holds the result types, ``run.py`` runs every check; ``state_checks.py`` the state
database, signing and the clock; ``source_checks.py`` each target's database, tools and the
verify user's privileges; ``storage_checks.py`` each destination and the free space for a
verify. Nothing here writes: no migration, no key, no folder, no audit row.
"""
