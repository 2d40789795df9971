"""Read-only SQL for researchers, over the published snapshot of the store."""

from __future__ import annotations

import csv
import io
import json
import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb

from framewatch.errors import InputError
from framewatch.store import connect

# Statement types a reader may run; everything else would change something.
READ_TYPES = {"SELECT", "EXPLAIN", "PRAGMA", "SET", "VARIABLE_SET"}
PUBLIC_TABLES = [
    "sources", "articles", "runs", "embeddings", "stories", "story_members", "article_duplicates",
    "codebooks", "frames", "article_frames", "article_framing", "frame_evidence", "labels",
    "framing_models", "digest_sends",
    "outlet_attributes", "watches", "watch_reports",
]  # fmt: skip
PUBLIC_VIEWS = [
    "article_facts",
    "article_coverage",
    "frame_trends",
    "story_timeline",
    "outlet_frames",
    "framing_shifts",
    "story_coverage_by_attribute",
    "story_frames_by_attribute",
    "article_attributes",
]


class QueryError(InputError):
    """A query that cannot run: refused, malformed, or too slow."""


@dataclass
class Result:
    columns: list[str]
    rows: list[tuple]


def check_read_only(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(str(exc)) from exc
    if not statements:
        raise QueryError("no SQL statement given")
    for st in statements:
        kind = str(st.type).split(".")[-1].upper()
        if kind not in READ_TYPES:
            raise QueryError(
                f"refused: {kind} statements change the store; `framewatch sql` is read-only "
                "(only SELECT, EXPLAIN, PRAGMA and SET)"
            )


def run_query(con: duckdb.DuckDBPyConnection, sql: str, timeout_s: float) -> Result:
    """Run on a read-only connection; interrupt it after ``timeout_s`` seconds."""
    check_read_only(con, sql)
    done = threading.Event()
    timed_out = threading.Event()

    def watchdog() -> None:
        if not done.wait(timeout_s):
            timed_out.set()
            con.interrupt()

    threading.Thread(target=watchdog, daemon=True).start()
    try:
        cur = con.execute(sql)
        columns = [d[0] for d in cur.description] if cur.description else []
        rows = cur.fetchall() if cur.description else []
    except duckdb.Error as exc:
        if timed_out.is_set():
            raise QueryError(
                f"query cancelled after {timeout_s:g}s (raise sql_timeout_s or --timeout)"
            ) from exc
        raise QueryError(_explain(exc)) from exc
    finally:
        done.set()
    return Result(columns, rows)


def _explain(exc: duckdb.Error) -> str:
    """DuckDB's message, with why a sandboxed connection refused it and what to do instead."""
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, duckdb.PermissionException):
        return (
            f"refused: read-only SQL cannot read or write files, reach the network or load "
            f"extensions ({first}). To work with files, open the store with DuckDB yourself "
            "(see docs/schema.md)"
        )
    if "configuration has been locked" in str(exc):
        return f"refused: settings are fixed on read-only SQL ({first})"
    # search()'s own refusal (a malformed query) reads as `framewatch search` says it, not
    # wrapped in DuckDB's account of a Python function that raised.
    udf = "Python exception occurred while executing the UDF: QueryError: "
    if udf in first:
        return first.split(udf, 1)[1]
    return str(exc)


def format_result(res: Result, fmt: str) -> str:
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(res.columns)
        w.writerows(res.rows)
        return buf.getvalue()
    if fmt == "json":
        return (
            json.dumps(
                [dict(zip(res.columns, r, strict=True)) for r in res.rows], default=str, indent=2
            )
            + "\n"
        )
    raise QueryError(f"unknown format {fmt!r}")


def write_parquet(con: duckdb.DuckDBPyConnection, sql: str, path: Path, timeout_s: float) -> int:
    res = run_query(con, sql, timeout_s)
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({c: [r[i] for r in res.rows] for i, c in enumerate(res.columns)})
    pq.write_table(table, path)
    return len(res.rows)


def export_all(db: str | Path, folder: Path, fmt: str = "parquet") -> dict:
    """Every public table and view as files, plus manifest.json with row counts."""
    if fmt not in ("parquet", "csv"):
        raise QueryError("export format must be parquet or csv")
    folder.mkdir(parents=True, exist_ok=True)
    con = connect(db)
    try:
        version = con.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
        existing = {
            r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
        manifest = {"schema_version": version, "format": fmt, "tables": {}}
        for name in PUBLIC_TABLES + PUBLIC_VIEWS:
            if name not in existing:
                continue
            target = folder / f"{name}.{fmt}"
            opts = "(FORMAT parquet)" if fmt == "parquet" else "(FORMAT csv, HEADER true)"
            con.execute(f"COPY (SELECT * FROM {name}) TO '{target}' {opts}")
            cols = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
                [name],
            ).fetchall()
            manifest["tables"][name] = {
                "file": target.name,
                "rows": con.execute(f"SELECT count(*) FROM {name}").fetchone()[0],
                "kind": "view" if name in PUBLIC_VIEWS else "table",
                "columns": {c: t for c, t in cols},
            }
    finally:
        con.close()
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


__all__ = ["run_query", "export_all", "QueryError"]
