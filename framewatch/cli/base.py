"""What every command shares: the app, its options, error handling, exit codes, printing.

Exit codes: 0 success; 1 failure; 2 bad usage, config or input; 3 partial
success (some sources or rows failed, the rest was stored).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from framewatch.config import Settings, load_settings
from framewatch.errors import FramewatchError, InputError
from framewatch.store import DEFAULT_DB, Store, open_store

EXIT_FAILURE, EXIT_USAGE, EXIT_PARTIAL = 1, 2, 3
EXIT_PIPE_CLOSED = 141  # as a shell reports a command its reader stopped (128 + SIGPIPE)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

app = typer.Typer(
    help="Follow how the news frames a story: crawl feeds, cluster stories, label frames.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
eval_app = typer.Typer(help="Score clustering or framing on a labelled file.", no_args_is_help=True)

# Printed text is data (headlines, outlet names, queries): "[has]" or ":fire:" in a title
# is shown as written, never read as rich markup or an emoji code.
out = Console(highlight=False, soft_wrap=True, markup=False, emoji=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False, emoji=False)


@dataclass
class Ctx:
    db: Path
    config: Path | None
    _settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config)
        return self._settings

    def store(self, existing: bool = False) -> Store:
        """The store, created if missing unless ``existing`` (commands that only read or
        change what is there: a mistyped --db must not answer from a new, empty store)."""
        from framewatch.sources import sync_config_sources
        from framewatch.store import require_store

        settings = self.settings  # a bad config fails before the store is opened
        if existing:
            require_store(self.db)
        store = open_store(self.db)
        store.snapshot_interval_s = settings.snapshot_interval_s
        try:
            sync_config_sources(store, settings)
        except BaseException:
            store.close()
            raise
        return store


class UsageError(InputError):
    """Bad input from the user: printed without a traceback, exit code 2."""


_verbose = [False]  # set by the app callback for this invocation; read when a bug surfaces


_PATH_ERRORS = (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError)


def _stdout_closed() -> bool:
    """Whether stdout is a pipe whose reader went away (poll reports an error on it)."""
    import select

    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError, AttributeError):
        return True  # no file behind stdout (tests): the broken pipe can only be ours
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    return any(ev & (select.POLLERR | select.POLLHUP) for _, ev in poller.poll(0))


def _drop_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's last flush has nowhere to fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file behind stdout (tests)
        pass


def handles_errors(fn):
    """One clear line and a meaningful exit code; a bug also leaves its traceback.

    Input errors (the user can fix them) exit 2, store errors 1; anything else is a bug:
    exit 1 naming the exception, the traceback kept in a log and printed with --verbose.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            result = fn(*args, **kwargs)
            sys.stdout.flush()  # a reader that went away shows here, not at exit
            return result
        except (typer.Exit, typer.Abort):
            raise
        except BrokenPipeError as exc:
            # `| head` has read what it wanted: stop quietly, as cat does
            if not _stdout_closed():
                _report_bug(exc)  # another pipe (a worker, a socket) broke: a failure to look at
                raise typer.Exit(EXIT_FAILURE) from None
            _drop_stdout()
            raise typer.Exit(EXIT_PIPE_CLOSED) from None
        except InputError as exc:
            err.print(f"error: {exc}", markup=False)
            raise typer.Exit(EXIT_USAGE) from None
        except FramewatchError as exc:
            err.print(f"error: {exc}", markup=False)
            raise typer.Exit(EXIT_FAILURE) from None
        except _PATH_ERRORS as exc:
            if exc.filename is None:
                _report_bug(exc)
                raise typer.Exit(EXIT_FAILURE) from None
            # A path the user gave that is missing, a folder, or not theirs to write.
            err.print(f"error: {exc.filename}: {exc.strerror or exc}", markup=False)
            raise typer.Exit(EXIT_USAGE) from None
        except KeyboardInterrupt:
            err.print("interrupted; the next run resumes where this one stopped")
            raise typer.Exit(130) from None
        except Exception as exc:
            _report_bug(exc)
            raise typer.Exit(EXIT_FAILURE) from None

    return wrapper


def _report_bug(exc: Exception) -> None:
    from framewatch import crashlog

    verbose = _verbose[0]
    path = crashlog.record(exc)
    err.print(f"error: internal error, {crashlog.describe(exc)}", markup=False)
    if verbose:
        err.print(crashlog.format_traceback(exc), markup=False, end="")
    saved = f"its traceback is in {path}" if path else "its traceback could not be saved"
    hint = "" if verbose else " (--verbose prints it)"
    err.print(f"this is a bug in framewatch, not in your input; {saved}{hint}", markup=False)


@app.callback()
def main(
    ctx: typer.Context,
    db: Annotated[
        Path, typer.Option("--db", envvar="FRAMEWATCH_DB", help="The DuckDB store file.")
    ] = Path(DEFAULT_DB),
    config: Annotated[
        Path | None,
        typer.Option("--config", envvar="FRAMEWATCH_CONFIG", help="Config file (framewatch.toml)."),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log every step; print tracebacks of bugs.")
    ] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose or not sys.stderr.isatty() else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("httpx", "httpcore", "trafilatura", "htmldate", "sentence_transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    _verbose[0] = verbose
    ctx.obj = Ctx(db=db, config=config)


def reader(ctx: typer.Context, sandbox: bool = False):
    """A read-only connection to the store's snapshot: never blocks a running crawl."""
    from framewatch.store import connect

    return connect(ctx.obj.db, sandbox=sandbox)


def parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option} must be a date like 2026-11-23, got {value!r}") from None


def parse_period(since: str | None, until: str | None) -> tuple[date | None, date | None]:
    """--since and --until; one after the other is a slip (swapped), not an empty answer."""
    start, end = parse_date(since, "--since"), parse_date(until, "--until")
    if start and end and start > end:
        raise UsageError(f"--since {start} is after --until {end}: no date is in between")
    return start, end


LANG_HELP = "Only articles in this language (de, ar, ...; '?' for unknown); repeat for more."


def parse_languages(con, asked: list[str] | None) -> list[str] | None:
    """The --lang codes, checked against the store's languages (a typo is not 'no results')."""
    if not asked:
        return None
    from framewatch.language_filter import known_languages, picked_code

    held = known_languages(con)
    codes = []
    for a in asked:
        code = picked_code(a)
        if code is None:
            raise UsageError(f"--lang takes a language code like en or de, got {a!r}")
        if code not in held:
            raise UsageError(
                f"no article in {code!r} here; the store's languages: {', '.join(held)}"
            )
        codes.append(code)
    return codes


def print_table(columns: list[str], rows: list[tuple[Any, ...]], title: str | None = None) -> None:
    table = Table(title=title, show_lines=False)
    for c in columns:
        table.add_column(c, overflow="fold")
    for r in rows:
        table.add_row(*("" if v is None else str(v) for v in r))
    out.print(table)


def _json_default(o: object) -> str:
    return str(o)


def print_json(obj: object) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=_json_default) + "\n")
