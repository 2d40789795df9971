"""framewatch: follow how the news frames a story.

For notebooks: ``framewatch.connect()`` gives a read-only DuckDB connection on the
latest consistent snapshot of the store; it never blocks a running crawler.
"""

from __future__ import annotations

import os

__all__ = ["connect"]
__version__ = "0.1.0"


def connect(path: str | os.PathLike | None = None, read_only: bool = True):
    """A DuckDB connection on the store's latest snapshot (see framewatch.store.connect)."""
    from framewatch.store import connect as store_connect  # importing framewatch stays light

    return store_connect(path, read_only)
