"""Which `framewatch serve` works on a store, so `restore` can refuse to pull it away.

serve opens the store only for each run, so between runs nothing holds DuckDB's lock,
and a restore would swap the file under a service that keeps its run counters and
schedule in memory. serve writes its process id beside the store while it lives; a
marker left by a killed serve names a process that is gone (or no longer serve) and is
ignored.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def marker_path(db: str | os.PathLike) -> Path:
    return Path(f"{db}.serve")


def mark(db: str | os.PathLike) -> None:
    path = marker_path(db)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(str(os.getpid()), encoding="ascii")
    os.replace(tmp, path)


def unmark(db: str | os.PathLike) -> None:
    """Remove the marker if it is this process's (a newer serve may have replaced it)."""
    path = marker_path(db)
    with contextlib.suppress(OSError, ValueError):
        if int(path.read_text(encoding="ascii").strip()) == os.getpid():
            path.unlink()


def serving(db: str | os.PathLike) -> int | None:
    """The process id of a live `framewatch serve` on this store, if there is one."""
    try:
        pid = int(marker_path(db).read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None
    if pid == os.getpid():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid  # alive, another user's
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists():  # Linux: make sure the id was not reused by something else
        with contextlib.suppress(OSError):
            args = cmdline.read_bytes().split(b"\0")
            if b"serve" not in args or not any(b"framewatch" in a for a in args):
                return None
    return pid
