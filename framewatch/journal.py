"""The digest's send journal: a file beside the store that survives a busy store.

A digest may be sent while another process (a running crawl) holds the store for
writing, so each send is first recorded in an append-only JSON-lines file beside
it; the next writer merges the records into ``digest_sends``. The journal stays the
guard against sending one week twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO


def journal_path(db: str | os.PathLike) -> Path:
    return Path(str(db) + ".digest-sends.jsonl")


def journal_records(db: str | os.PathLike) -> list[dict]:
    """Every complete record of the send journal, oldest first."""
    p = journal_path(db)
    if not p.exists():
        return []
    out = []
    for line in p.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by a crash: that send was never confirmed
        if _complete(rec):
            out.append(rec)
    return out


FIELDS = ("week", "codebook", "recipient", "status", "at")


def _complete(rec: object) -> bool:
    """A record with every field a send writes: a line edited by hand that lacks one is
    skipped as a cut line is, instead of stopping serve's merge of the journal."""
    if not isinstance(rec, dict) or not all(isinstance(rec.get(k), str) for k in FIELDS):
        return False
    try:
        datetime.fromisoformat(rec["at"])
    except ValueError:
        return False
    return True


def recipient_key(recipient: str) -> str:
    """A recipient as the journal compares it: "Ana <ANA@x.org>" was sent to ana@x.org, so
    an address rewritten in the config (a display name added) is not owed the week again."""
    from framewatch.config import ConfigError, mailbox

    try:
        return mailbox(recipient, "recipient")
    except ConfigError:  # a journal line from before addresses were checked
        return recipient.strip().lower()


def sent_already(records: list[dict], week: str, codebook: str) -> set[str]:
    """The recipients (as ``recipient_key`` gives them) the week's digest reached."""
    return {
        recipient_key(str(r.get("recipient", "")))
        for r in records
        if r.get("week") == week and r.get("codebook") == codebook and r.get("status") == "sent"
    }


def append_record(db: str | os.PathLike, rec: dict) -> None:
    with journal_path(db).open("a+b") as fh:
        # After a line cut short by a crash, start a new line: glued to it, this record
        # would be unreadable too, and its digest sent again.
        end = fh.seek(0, os.SEEK_END)
        cut = end > 0 and os.pread(fh.fileno(), 1, end - 1) != b"\n"
        fh.write((b"\n" if cut else b"") + json.dumps(rec).encode("utf-8") + b"\n")
        fh.flush()
        os.fsync(fh.fileno())


@contextlib.contextmanager
def held(
    db: str | os.PathLike,
    on_wait: Callable[[], None] | None = None,
    read_only_ok: bool = False,
) -> Iterator[None]:
    """Hold the journal for one delivery (read it inside): serve's send and a manual
    `digest --send` at the same time take turns, and the second sees what the first sent.
    A journal this user may not write fails here, before anything is sent. A restore
    swaps the journal while holding it: a send that waited on the old file opens the
    new one, or it would record into a file no longer in place, beside a send that
    locked the new one.

    ``on_wait`` is called once, when another process holds the journal and this waits.
    ``read_only_ok`` (a restore, which renames the journal and never appends to it) opens
    a journal this user may not write for reading instead: flock needs no write access.
    A send never passes it, so that it fails before it sends."""
    path = journal_path(db)
    told = False
    while True:
        with _open(path, read_only_ok) as fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if on_wait is not None and not told:
                    told = True
                    on_wait()
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX)  # released when the file closes
            try:
                current = path.stat()
            except FileNotFoundError:
                continue
            opened = os.fstat(fh.fileno())
            if (current.st_dev, current.st_ino) != (opened.st_dev, opened.st_ino):
                continue
            yield
            return


def _open(path: Path, read_only_ok: bool) -> IO[str]:
    try:
        return path.open("a", encoding="utf-8")
    except PermissionError:
        if not read_only_ok:
            raise
        return path.open("r", encoding="utf-8")


def merge_journal(store) -> int:
    """Copy journal records into digest_sends (idempotent); the journal stays the guard."""
    rows = [
        (
            r["week"],
            r["codebook"],
            r["recipient"],
            r.get("subject"),
            r["status"],
            r.get("error"),
            r["at"],
        )
        for r in journal_records(store.path)
    ]
    if rows:
        store.con.executemany(
            "INSERT INTO digest_sends VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", rows
        )
    return len(rows)
