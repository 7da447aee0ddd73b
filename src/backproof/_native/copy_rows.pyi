"""The rows of a pg_dump table data block, found and hashed in C (``copy_rows.c``); the
contract is ``backproof.sources.copy_rows.RowReader``."""

def rows_within(
    buffer: bytes, start: int, int_size: int, bits: int, at_block_start: bool, /
) -> tuple[int, int, int] | None: ...
def rows_to_end(
    buffer: bytes, start: int, int_size: int, bits: int, at_block_start: bool, /
) -> tuple[bool, int, int, int]: ...
