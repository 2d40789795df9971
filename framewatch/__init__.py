"""framewatch: follow how the news frames a story.

For notebooks: ``framewatch.connect()`` gives a read-only DuckDB connection on the
latest consistent snapshot of the store; it never blocks a running crawler.
"""

from framewatch.store import connect

__all__ = ["connect"]
__version__ = "0.1.0"
