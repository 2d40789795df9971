"""Read-only SQL for researchers, over the published snapshot of the store."""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
import threading
import warnings
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
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
    kinds = [str(st.type).split(".")[-1].upper() for st in statements]
    for kind in kinds:
        if kind == "CALL":  # may only read, but is not checked as a SELECT is
            raise QueryError(
                "refused: CALL is not run by `framewatch sql`; read a table function in a "
                "SELECT instead (SELECT * FROM pragma_version())"
            )
        if kind not in READ_TYPES:
            raise QueryError(
                f"refused: {kind} statements change the store; `framewatch sql` is read-only "
                "(only SELECT, EXPLAIN, PRAGMA and SET)"
            )
    answering = [k for k in kinds if k not in ("SET", "VARIABLE_SET")]
    if len(answering) > 1:  # DuckDB answers with the last one's rows only: the rest, unseen
        raise QueryError(
            f"{len(answering)} queries in one: give one at a time (SET VARIABLE statements "
            "before it are fine), or join them with UNION ALL"
        )


def unique_columns(columns: list[str]) -> list[str]:
    """Column names made distinct as DuckDB's own ``df()`` does (``id``, ``id_1``): a join's
    two ``id`` columns must not overwrite each other in JSON or Parquet."""
    seen: set[str] = set()
    names = []
    for c in columns:
        name, k = c, 0
        while name in seen:
            k += 1
            name = f"{c}_{k}"
        seen.add(name)
        names.append(name)
    return names


def run_query(
    con: duckdb.DuckDBPyConnection, sql: str, timeout_s: float, exact: bool = False
) -> Result:
    """Run on a read-only connection; interrupt it after ``timeout_s`` seconds.

    ``exact`` (what `framewatch sql` writes) keeps what Python's own types lose: an INTERVAL
    as an :class:`Interval` (its months too), an infinite DATE or TIMESTAMP as the text
    ``infinity`` / ``-infinity`` (not year 9999 or 1), and a FLOAT at float32's digits as
    DuckDB writes it (``0.1``, not ``0.10000000149011612``), read as a Python float."""

    def fetch(cur):
        columns = [d[0] for d in cur.description] if cur.description else []
        return Result(unique_columns(columns), cur.fetchall() if cur.description else [])

    if not exact:
        return _run(con, sql, timeout_s, fetch)

    def execute(sql: str):
        statements = con.extract_statements(sql)
        kinds = [str(st.type).split(".")[-1].upper() for st in statements]
        sets = ("SET", "VARIABLE_SET")
        # The statement that answers: a SET VARIABLE may come before it or after it
        # (`SELECT ...; SET VARIABLE x = 1` wrote the SET's "Success", not the rows).
        i = max((k for k, kind in enumerate(kinds) if kind not in sets), default=len(kinds) - 1)
        for st in statements[:i]:  # SET VARIABLE, checked read-only above
            con.execute(st.query)
        after, query = statements[i + 1 :], statements[i].query
        if kinds[i] != "SELECT":  # EXPLAIN, PRAGMA: as they are
            return con.execute(query), None, after
        try:
            rel = con.sql(query)
        except duckdb.Error:  # raised again as con.execute words it: with LINE 1: and ^^^
            return con.execute(query), None, after
        return rel, _Exact(rel.columns, rel.types), after

    def fetch_exact(got):
        cur, exact, after = got
        if exact is None:
            res = fetch(cur)
        else:
            rel = cur.project(exact.select) if exact.select else cur
            res = Result(unique_columns(exact.names), rel.fetchall())
            exact.finish(res.rows)
        for st in after:
            con.execute(st.query)
        return res

    return _run(con, sql, timeout_s, fetch_exact, execute)


class _Exact:
    """How a SELECT's columns are read without loss. A top-level DATE or TIMESTAMP is read as
    it is, beside a column that is ``infinity`` / ``-infinity`` where it is infinite (NULL
    elsewhere); an INTERVAL as its text beside its months, days and microseconds; a FLOAT as
    DuckDB's own text of it. All plain values: a struct a value (a Python dict) took three
    times as long and as much memory. Inside lists and structs, :func:`_exact_sql`."""

    def __init__(self, names: list[str], types: list):
        self.names, self.types = names, types
        width = len(types)
        cols, extra, self.fixes = [], [], []
        for i, t in enumerate(types):
            e = f"#{i + 1}"
            if t.id == "interval":
                x = width + len(extra)
                cols.append(f"{e}::VARCHAR")
                extra += [f"datepart('year', {e}) * 12 + datepart('month', {e})",
                          f"datepart('day', {e})", _micros(e)]  # fmt: skip
                self.fixes.append((i, "interval", x))
            elif t.id in _TIMES:
                self.fixes.append((i, "time", width + len(extra)))
                cols.append(e)
                extra.append(f"CASE WHEN isinf({e}) THEN {e}::VARCHAR END")
            else:
                cols.append(_exact_sql(e, t) or e)
                if _needs_walk(t):
                    self.fixes.append((i, "walk", t))
        changed = extra or any(c != f"#{i + 1}" for i, c in enumerate(cols))
        self.select = ", ".join(cols + extra) if changed else None
        self.width = width

    def finish(self, rows: list[tuple]) -> None:
        """``rows`` as the writers print them, each replaced in place (not a second list)."""
        if not self.fixes:
            return
        width, fixes = self.width, self.fixes
        for j, r in enumerate(rows):
            out = list(r[:width])
            for i, how, x in fixes:
                v = r[i]
                if v is None:
                    continue
                if how == "time":
                    if r[x] is not None:
                        out[i] = r[x]
                elif how == "interval":
                    out[i] = Interval(r[x], r[x + 1], r[x + 2], v)
                else:
                    out[i] = _exact_value(v, x)
            rows[j] = tuple(out)


def _micros(e: str) -> str:
    """An INTERVAL's microseconds (hours, minutes and seconds together), as stored."""
    return (
        f"datepart('hour', {e})::BIGINT * 3600000000 + datepart('minute', {e})::BIGINT "
        f"* 60000000 + datepart('microseconds', {e})"
    )


@dataclass(frozen=True)
class Interval:
    """A DuckDB INTERVAL as it is stored: months, days and microseconds apart (a month is no
    fixed number of days, so Python's timedelta cannot hold one). ``text`` is DuckDB's own."""

    months: int
    days: int
    micros: int
    text: str

    def __str__(self) -> str:
        return self.text

    def iso(self) -> str:
        """ISO 8601 duration (``P1Y2M3DT4H5M6.000007S``); a negative part carries its sign."""
        years, months = _split(self.months, [12])
        hours, minutes, micros = _split(self.micros, [60, 60_000_000])
        date = "".join(f"{n}{u}" for n, u in ((years, "Y"), (months, "M"), (self.days, "D")) if n)
        clock = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M")) if n)
        if micros:
            sign = "-" if micros < 0 else ""
            secs = f"{abs(micros) // 1_000_000}.{abs(micros) % 1_000_000:06d}".rstrip("0")
            clock += sign + secs.rstrip(".") + "S"
        if not date and not clock:
            return "PT0S"
        return "P" + date + ("T" + clock if clock else "")


def _split(n: int, sizes: list[int]) -> list[int]:
    """``n`` in units ``sizes`` apart, largest first (months by ``[12]`` into years and
    months); every part carries ``n``'s sign, as DuckDB's ``datepart`` gives them."""
    sign, rest = (-1 if n < 0 else 1), abs(n)
    parts = []
    for i in range(len(sizes)):
        big = math.prod(sizes[i:])
        parts.append(sign * (rest // big))
        rest %= big
    return [*parts, sign * rest]


_TIMES = {"date", "timestamp", "timestamp with time zone", "timestamp_ns", "timestamp_ms",
          "timestamp_s"}  # fmt: skip


def _exact_sql(e: str, t) -> str | None:
    """A SQL expression for ``e`` of type ``t`` that Python reads without loss, or None when
    it already is: an interval as its parts, a date or timestamp beside whether it is infinite
    (Python reads infinity as year 9999). Lists, arrays and structs are followed inside."""
    kind = t.id
    if kind == "interval":
        return (
            f"CASE WHEN {e} IS NOT NULL THEN struct_pack(m := datepart('year', {e}) * 12 + "
            f"datepart('month', {e}), d := datepart('day', {e}), u := {_micros(e)}, "
            f"s := {e}::VARCHAR) END"
        )
    if kind == "float":  # DuckDB's text is float32's digits; as a DOUBLE, Python prints them
        return f"{e}::VARCHAR::DOUBLE"
    if kind in _TIMES:
        return (
            f"CASE WHEN {e} IS NOT NULL THEN struct_pack(v := CASE WHEN isfinite({e}) THEN {e} "
            f"END, inf := CASE WHEN isinf({e}) THEN {e}::VARCHAR END) END"
        )
    if kind in ("list", "array"):
        x = f"_x{e.count('lambda ')}"  # a list inside a list: a name of its own
        inner = _exact_sql(x, t.children[0][1])
        return None if inner is None else f"list_transform({e}, lambda {x}: {inner})"
    if kind == "struct":
        get = {
            k: f"struct_extract({e}, '{k.replace(chr(39), chr(39) * 2)}')" for k, _ in t.children
        }
        fields = [(k, _exact_sql(get[k], ct)) for k, ct in t.children]
        if all(f is None for _, f in fields):
            return None
        packed = ", ".join(f"{_quoted(k)} := {f or get[k]}" for k, f in fields)
        return f"CASE WHEN {e} IS NOT NULL THEN struct_pack({packed}) END"
    return None


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _needs_walk(t) -> bool:
    kind = t.id
    if kind == "interval" or kind in _TIMES:
        return True
    if kind in ("list", "array"):
        return _needs_walk(t.children[0][1])
    if kind == "struct":
        return any(_needs_walk(ct) for _, ct in t.children)
    return False


def _exact_value(v: object, t) -> object:
    """A value fetched from :func:`_exact_sql`'s expression, as the writers print it."""
    if v is None:
        return None
    kind = t.id
    if kind == "interval":
        return Interval(v["m"], v["d"], v["u"], v["s"]) if isinstance(v, dict) else v
    if kind in _TIMES:
        if isinstance(v, dict):
            return v["inf"] if v["inf"] is not None else v["v"]
        return v
    if kind in ("list", "array"):
        child = t.children[0][1]
        return [_exact_value(x, child) for x in v]
    if kind == "struct" and isinstance(v, dict):
        types = dict(t.children)
        return {k: _exact_value(x, types[k]) if k in types else x for k, x in v.items()}
    return v


def _run(con: duckdb.DuckDBPyConnection, sql: str, timeout_s: float, fetch, execute=None):
    check_read_only(con, sql)
    done = threading.Event()
    timed_out = threading.Event()

    def watchdog() -> None:
        if not done.wait(timeout_s):
            timed_out.set()
            con.interrupt()

    threading.Thread(target=watchdog, daemon=True).start()
    try:
        return fetch((execute or con.execute)(sql))
    except duckdb.Error as exc:
        if timed_out.is_set():
            raise QueryError(
                f"query cancelled after {timeout_s:g}s (raise sql_timeout_s or --timeout)"
            ) from exc
        raise QueryError(_explain(exc)) from exc
    finally:
        done.set()


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


def json_value(v: object, ascii: bool = True) -> str:
    """A value as JSON text. Numbers stay numbers: a DECIMAL with exactly its digits (no
    float noise), HUGEINT as an integer, NaN and infinities (no JSON number) as null. Times
    in ISO 8601 (``2026-11-29T10:00:00``, with its offset for TIMESTAMPTZ), lists and structs
    as arrays and objects, blobs as hex, anything else JSON lacks (UUIDs, intervals) as text.
    ``ascii=False`` keeps non-ASCII text as it is (CSV cells), not as ``\\u`` escapes."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Interval):
        return json.dumps(v.iso())
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else "null"
    if isinstance(v, Decimal):
        return format(v, "f") if v.is_finite() else "null"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=ascii)
    if isinstance(v, datetime | date | time):
        return json.dumps(v.isoformat())
    if isinstance(v, dict):
        items = (f"{json_value(str(k), ascii)}: {json_value(x, ascii)}" for k, x in v.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(json_value(x, ascii) for x in v) + "]"
    if isinstance(v, bytes):
        return json.dumps(v.hex())
    return json.dumps(str(v), ensure_ascii=ascii)


def text_cell(v: object) -> object:
    """A value as CSV and the table write it, as DuckDB's own CSV does (``export``): booleans
    as true/false, times with a space; lists and structs as JSON (readable back with
    json.loads or DuckDB), not Python's repr. None stays None: the caller says how NULL looks."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list | dict | tuple):
        return json_value(v, ascii=False)
    if isinstance(v, Interval):
        return str(v)  # DuckDB's own text, as `export --format csv` writes it
    return v


def json_object(names: list[str], row: tuple, indent: str | None = None) -> str:
    """One row as a JSON object; ``names`` already JSON-quoted. On one line by default
    (JSONL), or a field a line under ``indent`` (the JSON array's records)."""
    fields = [f"{n}: {json_value(v)}" for n, v in zip(names, row, strict=True)]
    if indent is None:
        return "{" + ", ".join(fields) + "}"
    inner = ",\n".join(f"{indent}{indent}{f}" for f in fields)
    return f"{indent}{{\n{inner}\n{indent}}}"


def format_chunks(res: Result, fmt: str, chunk_rows: int = 1000):
    """The result as text, in pieces: a reader that stops early (``| head``) is noticed at
    the next piece, and a big result is never held twice in memory."""
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(res.columns)
        for i in range(0, len(res.rows), chunk_rows):
            w.writerows([text_cell(v) for v in r] for r in res.rows[i : i + chunk_rows])
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
        yield buf.getvalue()
        return
    if fmt == "json":
        if not res.rows:
            yield "[]\n"
            return
        names = [json.dumps(c) for c in res.columns]
        for i, r in enumerate(res.rows):
            yield ("[\n" if i == 0 else ",\n") + json_object(names, r, indent="  ")
        yield "\n]\n"
        return
    if fmt == "jsonl":  # one object a line: read a line at a time, appended to, split
        names = [json.dumps(c) for c in res.columns]
        for i in range(0, len(res.rows), chunk_rows):
            yield "".join(json_object(names, r) + "\n" for r in res.rows[i : i + chunk_rows])
        return
    raise QueryError(f"unknown format {fmt!r}")


def write_parquet(con: duckdb.DuckDBPyConnection, sql: str, path: Path, timeout_s: float) -> int:
    """The result with DuckDB's own column types (an empty or all-NULL column keeps its type)."""
    import pyarrow.parquet as pq

    def fetch(cur):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "an extra copy": fine for one query's result
            return cur.to_arrow_table() if cur.description else None

    table = _run(con, sql, timeout_s, fetch)
    if table is None:
        raise QueryError("the query returns no rows to write (a SELECT does)")
    table = table.rename_columns(unique_columns(table.column_names))
    try:
        pq.write_table(table, path)
    except OSError as exc:  # pyarrow's errors name no file: say which
        raise QueryError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return table.num_rows


def export_all(db: str | Path, folder: Path, fmt: str = "parquet") -> dict:
    """Every public table and view as files, plus manifest.json with row counts.

    manifest.json is written last, so a folder with one holds a whole export: a new folder
    is filled under a hidden ``.NAME.partial`` name and renamed when done; re-exporting into
    an existing folder first removes its old manifest."""
    if fmt not in ("parquet", "csv"):
        raise QueryError("export format must be parquet or csv")
    if folder.exists() and not folder.is_dir():
        raise QueryError(f"{folder} is a file; give a folder to export into")
    con = connect(db)  # before any folder is made: a wrong --db leaves nothing behind
    fresh = not folder.exists()
    work = folder.parent / f".{folder.name}.partial" if fresh else folder
    if fresh:
        shutil.rmtree(work, ignore_errors=True)  # what an export killed earlier left
    work.mkdir(parents=True, exist_ok=True)
    before = _listed(work / "manifest.json")  # an earlier export's files, to replace
    (work / "manifest.json").unlink(missing_ok=True)
    try:
        version = con.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
        existing = {
            r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
        manifest = {"schema_version": version, "format": fmt, "tables": {}}
        for name in PUBLIC_TABLES + PUBLIC_VIEWS:
            if name not in existing:
                continue
            target = work / f"{name}.{fmt}"
            opts = "(FORMAT parquet)" if fmt == "parquet" else "(FORMAT csv, HEADER true)"
            quoted = str(target).replace("'", "''")  # a folder may be named "O'Brien data"
            cols = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
                [name],
            ).fetchall()
            select = "*" if fmt == "parquet" else _csv_columns(cols)
            try:
                con.execute(f"COPY (SELECT {select} FROM {name}) TO '{quoted}' {opts}")
            except (duckdb.IOException, duckdb.PermissionException) as exc:
                raise QueryError(f"cannot write {folder / target.name}: {exc}") from exc
            manifest["tables"][name] = {
                "file": target.name,
                "rows": con.execute(f"SELECT count(*) FROM {name}").fetchone()[0],
                "kind": "view" if name in PUBLIC_VIEWS else "table",
                "columns": {c: t for c, t in cols},
            }
    finally:
        con.close()
    for stale in before - {t["file"] for t in manifest["tables"].values()}:
        (work / stale).unlink(missing_ok=True)  # e.g. last week's CSVs beside today's Parquet
    tmp = work / ".manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    tmp.replace(work / "manifest.json")
    if fresh:
        work.rename(folder)
    return manifest


def _csv_columns(cols: list[tuple[str, str]]) -> str:
    """The columns for a CSV export: lists, structs and maps as JSON, as `framewatch sql
    --format csv` writes them (DuckDB's own ``[a, b, c]`` splits a text with a comma in it)."""
    names = []
    for c, t in cols:
        q = '"' + c.replace('"', '""') + '"'
        nested = t.endswith("]") or t.startswith(("STRUCT", "MAP", "UNION"))
        names.append(f"to_json({q}) AS {q}" if nested else q)
    return ", ".join(names) or "*"


def _listed(manifest: Path) -> set[str]:
    """The plain file names an export's manifest lists; nothing else is ever removed."""
    try:
        tables = json.loads(manifest.read_text(encoding="utf-8"))["tables"]
        names = {str(t["file"]) for t in tables.values()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return set()
    return {n for n in names if n == Path(n).name and not n.startswith(".")}


__all__ = ["run_query", "export_all", "QueryError"]
