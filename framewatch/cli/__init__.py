"""The ``framewatch`` command, one module per command group.

A command parses its arguments, calls one function of the stage or module that does
the work, and prints. This file only assembles the groups, in the order ``--help``
lists them.
"""

from framewatch.cli.base import app, eval_app

# isort: split
from framewatch.cli import pipeline, stories  # noqa: F401 - their commands register on import

# isort: split
from framewatch.cli import framing, query  # noqa: F401

# isort: split
from framewatch.cli import compare, sources

# isort: split
from framewatch.cli import models, search, service, users  # noqa: F401 - search, service register on import

app.add_typer(sources.sources_app, name="sources")
app.add_typer(eval_app, name="eval")
app.add_typer(framing.codebooks_app, name="codebooks")
app.add_typer(compare.outlets_app, name="outlets")
app.add_typer(compare.watch_app, name="watch")
app.add_typer(users.users_app, name="users")
app.add_typer(models.models_app, name="models")

__all__ = ["app"]
