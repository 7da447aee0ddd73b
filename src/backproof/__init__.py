"""backproof: daily backups with a real restore as proof."""

__version__ = "0.1.0"
