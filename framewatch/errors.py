"""The project's own error hierarchy, so the CLI can tell a user's mistake from a bug.

``InputError`` (bad usage, config, file or codebook) is what a user can fix: the CLI
prints one line and exits 2. Anything that is not a ``FramewatchError`` is a bug or an
environment failure: exit 1, with the traceback kept for debugging. ``InputError`` stays
a ``ValueError`` so callers that caught ``ValueError`` before keep working.
"""

from __future__ import annotations


class FramewatchError(Exception):
    """Base of every error framewatch raises on purpose."""


class InputError(FramewatchError, ValueError):
    """Bad usage, configuration or input data: the user can fix it (exit 2)."""


class NoArticlesError(InputError):
    """A file whose content holds no articles to read (an API's error response, a JSON
    document of something else, a broken one): `import` stops on it, a backfill of many
    files reports it and goes on with the rest. A file in the wrong encoding is not one:
    ``--encoding`` fixes it, so it stops a backfill too."""
