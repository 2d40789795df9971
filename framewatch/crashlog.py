"""Keep the traceback of an unexpected error, so a bug can be told from a typo and debugged.

The CLI shows a user one short line for a bug; the full traceback goes to a log in the
user's state folder ($XDG_STATE_HOME/framewatch, else ~/.local/state/framewatch).
"""

from __future__ import annotations

import os
import sys
import traceback
from datetime import datetime, timezone
from pathlib import Path

LOG_NAME = "errors.log"


def log_path() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "framewatch" / LOG_NAME


def describe(exc: BaseException, limit: int = 200) -> str:
    """The exception's type and first line of message, short enough for one line."""
    text = " ".join(str(exc).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def format_traceback(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def record(exc: BaseException) -> Path | None:
    """Append the traceback, with the time and command line, to the log; None if unwritable."""
    from framewatch import __version__

    path = log_path()
    when = datetime.now(timezone.utc).isoformat(timespec="seconds")
    entry = (
        f"=== {when} framewatch {__version__}, python {sys.version.split()[0]}\n"
        f"command: {' '.join(sys.argv)}\n{format_traceback(exc)}\n"
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(entry)
    except OSError:
        return None
    return path
