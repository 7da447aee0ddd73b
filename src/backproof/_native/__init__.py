"""backproof's C extensions, built when backproof is installed where a C compiler is.

Each has a pure-Python twin that gives the same results and runs when the extension is not
importable: ``copy_rows`` (the rows of a pg_dump table data block, hashed; its twin and the
choice between them are in ``backproof.sources.copy_rows``) and ``dump_lines`` (the newlines
and statement ends of a MariaDB/MySQL dump's data section: ``backproof.sources.dump_lines``).
``xxhash.h`` is vendored here (``VENDORED.md``).
"""
