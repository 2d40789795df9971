"""Is the pipeline healthy? One report for `framewatch status`, serve's /health and /metrics.

Everything is read from the store's published snapshot, so asking never blocks a run;
the report says why it is unhealthy in words an on-call person can act on.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb

from framewatch.analysis.framing.codebook import codebook_id
from framewatch.config import Settings
from framewatch.journal import journal_records
from framewatch.schedule import last_digest, next_digest, week_reported
from framewatch.sources import POLLED
from framewatch.store import snapshot_path


def store_bytes(db: str | Path) -> int:
    """The live file and its write-ahead log: what the store takes on disk."""
    return sum(p.stat().st_size for p in (Path(db), Path(str(db) + ".wal")) if p.exists())


def _iso(t: datetime | None) -> str | None:
    """ISO 8601 with its offset; the store's naive timestamps are UTC."""
    if t is None:
        return None
    return (t if t.tzinfo else t.replace(tzinfo=timezone.utc)).isoformat(timespec="seconds")


def _last_runs(con: duckdb.DuckDBPyConnection) -> tuple[dict | None, datetime | None]:
    row = con.execute(
        "SELECT id, command, status, started_at, finished_at, counts, errors FROM runs "
        "WHERE status <> 'running' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    last_ok = con.execute("SELECT max(finished_at) FROM runs WHERE status = 'ok'").fetchone()[0]
    if row is None:
        return None, last_ok
    counts = {k: v for k, v in json.loads(row[5] or "{}").items() if not k.startswith("_")}
    errors = json.loads(row[6] or "[]")
    run = {"id": row[0], "command": row[1], "status": row[2], "started_at": _iso(row[3]),
           "finished_at": _iso(row[4]), "counts": counts, "errors": len(errors),
           "first_error": errors[0] if errors else None}  # fmt: skip
    return run, last_ok


def _waiting(con: duckdb.DuckDBPyConnection, settings: Settings) -> dict[str, int]:
    """Articles each analysis step has yet to do."""
    model = settings.analysis.model
    embed = con.execute(
        "SELECT count(*) FROM articles a WHERE NOT EXISTS (SELECT 1 FROM embeddings e "
        "WHERE e.article_id = a.id AND e.model = ?)",
        [model],
    ).fetchone()[0]
    stories = con.execute(
        "SELECT count(*) FROM embeddings e WHERE e.model = ? AND NOT EXISTS "
        "(SELECT 1 FROM story_members m WHERE m.article_id = e.article_id)",
        [model],
    ).fetchone()[0]
    out = {"embedding": embed, "stories": stories}
    for entry in settings.analysis.codebooks:
        cb = codebook_id(entry)
        out[f"framing:{cb}"] = con.execute(
            "SELECT count(*) FROM articles a WHERE NOT EXISTS (SELECT 1 FROM article_framing f "
            "WHERE f.article_id = a.id AND f.codebook_id = ?)",
            [cb],
        ).fetchone()[0]
    return out


def _failing(con: duckdb.DuckDBPyConnection) -> list[dict]:
    rows = con.execute(
        f"""SELECT s.name, s.url, f.consecutive_failures, f.last_error, f.last_success_at,
                  f.next_poll_at
           FROM sources s JOIN feed_state f ON f.source_id = s.id
           WHERE {POLLED} AND f.consecutive_failures > 0
           ORDER BY f.consecutive_failures DESC, s.name"""
    ).fetchall()
    return [{"name": r[0], "url": r[1], "streak": r[2], "last_error": r[3],
             "last_success_at": _iso(r[4]), "next_poll_at": _iso(r[5])} for r in rows]  # fmt: skip


def _digest(db: str | Path, settings: Settings, now: datetime) -> dict:
    d = settings.digest
    due = last_digest(d.send_at, d.timezone, now)
    week = week_reported(due)
    recs = [r for r in journal_records(db) if r.get("week") == week]
    sent = {r["recipient"] for r in recs if r.get("status") == "sent"}
    failed = {r["recipient"] for r in recs if r.get("status") == "failed"} - sent
    nxt = next_digest(d.send_at, d.timezone, now)
    return {"send_at": d.send_at, "timezone": d.timezone, "next_at": _iso(nxt),
            "next_week": week_reported(nxt), "last_due_at": _iso(due), "last_week": week,
            "sent": len(sent), "failed": len(failed),
            "subscribers": len(settings.subscribers)}  # fmt: skip


def read_status(
    con: duckdb.DuckDBPyConnection, db: str | Path, settings: Settings, now: datetime | None = None
) -> dict:
    """The report, with ``healthy`` and the ``reasons`` it is not."""
    now = now or datetime.now(timezone.utc)
    naive_now = now.astimezone(timezone.utc).replace(tzinfo=None)
    run, last_ok = _last_runs(con)
    n_sources = con.execute(f"SELECT count(*) FROM sources s WHERE {POLLED}").fetchone()[0]
    n_articles = con.execute("SELECT count(*) FROM articles").fetchone()[0]
    n_stories = con.execute("SELECT count(*) FROM stories").fetchone()[0]
    failing = _failing(con)
    digest = _digest(db, settings, now)
    reasons = []
    if run is not None and run["status"] == "failed":
        reasons.append(f"the last run (#{run['id']}) failed: {run['first_error']}")
    stale = timedelta(minutes=settings.crawl.poll_interval_min * settings.serve.stale_after_polls)
    if last_ok is not None and naive_now - last_ok > stale:
        minutes = int((naive_now - last_ok).total_seconds() // 60)
        reasons.append(f"no run has finished for {minutes} min")
    elif last_ok is None:
        # Runs that never once finished well (each killed, e.g. by the OOM killer, and
        # marked interrupted at the next start) are as stale as a run that stopped coming.
        first = con.execute("SELECT min(started_at) FROM runs").fetchone()[0]
        if first is not None and naive_now - first > stale:
            minutes = int((naive_now - first).total_seconds() // 60)
            reasons.append(f"no run has finished well yet, {minutes} min after the first started")
    if n_sources and len(failing) == n_sources:
        reasons.append(f"every feed is failing ({n_sources})")
    if digest["failed"]:
        reasons.append(
            f"the digest of {digest['last_week']} failed for {digest['failed']} recipient(s)"
        )
    snap = snapshot_path(db)
    return {
        "healthy": not reasons,
        "reasons": reasons,
        "checked_at": _iso(now),
        "last_run": run,
        "last_ok_run_finished_at": _iso(last_ok),
        "sources": n_sources,
        "articles": n_articles,
        "stories": n_stories,
        "waiting_for_analysis": _waiting(con, settings),
        "failing_feeds": failing,
        "digest": digest,
        "store": {
            "path": str(db),
            "bytes": store_bytes(db),
            "snapshot_at": _iso(datetime.fromtimestamp(snap.stat().st_mtime, timezone.utc))
            if snap.exists()
            else None,
        },  # fmt: skip
    }


def unreadable(db: str | Path, error: str) -> dict:
    """The report when the store cannot be read at all."""
    return {
        "healthy": False,
        "reasons": [f"cannot read the store: {error}"],
        "store": {"path": str(db)},
    }


def snapshot_status(db: str | Path, settings: Settings) -> dict:
    """The report from the published snapshot alone: for a process that also writes the store
    (opening the live file there would share its connection), e.g. serve's health endpoint."""
    snap = snapshot_path(db)
    if not snap.exists():
        return unreadable(db, "no snapshot published yet")
    try:
        con = duckdb.connect(str(snap), read_only=True)
    except duckdb.Error as exc:
        return unreadable(db, str(exc))
    try:
        return read_status(con, db, settings)
    finally:
        con.close()
