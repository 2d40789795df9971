"""Run records: one row per pipeline run in the ``runs`` table, with its counts and errors."""

from __future__ import annotations

import contextlib
import json
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field

from framewatch.journal import merge_journal
from framewatch.store import Store, utcnow


@dataclass
class RunRecord:
    id: int
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def mark_interrupted(store: Store) -> None:
    """Runs still 'running' when a writer opens the store died: say so."""
    store.execute("UPDATE runs SET status = 'interrupted' WHERE status = 'running'")


@contextlib.contextmanager
def recorded_run(store: Store, command: str) -> Iterator[RunRecord]:
    mark_interrupted(store)
    merge_journal(store)  # digest sends recorded while another process held the store
    rid = store.execute(
        "INSERT INTO runs (command, started_at) VALUES (?, ?) RETURNING id", [command, utcnow()]
    ).fetchone()[0]
    rec = RunRecord(rid)
    status = "ok"
    try:
        yield rec
    except BaseException as exc:
        status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        rec.errors.append("".join(traceback.format_exception_only(type(exc), exc)).strip())
        raise
    finally:
        store.execute(
            "UPDATE runs SET finished_at = ?, status = ?, counts = ?, errors = ? WHERE id = ?",
            [utcnow(), status, json.dumps(rec.counts), json.dumps(rec.errors[:200]), rid],
        )
        store.publish_snapshot()
