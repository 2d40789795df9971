"""`framewatch sql / export / digest / dashboard`: reading the store."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from framewatch.analysis.framing.codebook import first_codebook
from framewatch.cli.base import (
    EXIT_FAILURE,
    EXIT_PARTIAL,
    EXIT_USAGE,
    UsageError,
    app,
    err,
    handles_errors,
    out,
    parse_languages,
    reader,
)
from framewatch.store import StoreError, open_store


# A query may open with a comment ("-- weekly counts\nSELECT ..."): not an unknown option.
@app.command(context_settings={"ignore_unknown_options": True})
@handles_errors
def sql(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="A read-only SQL statement.")],
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="table, csv, json, jsonl (one object a line) or parquet (default: table; "
            "with --output, the file's suffix: .json, .jsonl, .ndjson or .parquet, else csv).",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(help="Write to FILE (csv, json, jsonl or parquet) instead of the terminal."),
    ] = None,
    timeout: Annotated[float | None, typer.Option(help="Cancel after this many seconds.")] = None,
) -> None:
    """Query the store read-only (tables and views: see docs/schema.md)."""
    from framewatch.sql import QueryError, format_chunks, run_query, write_parquet

    limit = timeout if timeout is not None else ctx.obj.settings.sql_timeout_s
    if limit <= 0:  # 0 read as "no limit" would let one query hold the store for ever
        what = "--timeout" if timeout is not None else "sql_timeout_s (config)"
        raise UsageError(f"{what} must be more than 0 seconds, got {limit:g}")
    if fmt is None and output is None:
        fmt = "table"
    elif fmt is None:  # scripts written before the suffix counted get CSV, as they did
        suffix = output.suffix.lower().lstrip(".")
        suffix = "jsonl" if suffix == "ndjson" else suffix
        fmt = suffix if suffix in ("json", "jsonl", "parquet") else "csv"
    if fmt not in ("table", "csv", "json", "jsonl", "parquet"):
        raise UsageError(f"unknown format {fmt!r}: use table, csv, json, jsonl or parquet")
    if fmt == "table" and output is not None:  # it wrote CSV without a word
        raise UsageError("--format table is for the terminal; --output writes csv, json, jsonl "
                         "or parquet (or send the table to a file with > FILE)")  # fmt: skip
    con = reader(ctx, sandbox=True)  # other people's SQL: no files, network or extensions
    try:
        _with_search(ctx, con)
        if fmt == "parquet":
            if output is None:
                raise UsageError("--format parquet needs --output FILE")
            n = write_parquet(con, query, output, limit)
            out.print(f"wrote {n} rows to {output}")
            return
        res = run_query(con, query, limit, exact=True)
    except QueryError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(EXIT_USAGE) from None
    finally:
        con.close()
    if fmt == "table":
        _print_result(res.columns, res.rows)
        return
    chunks = format_chunks(res, fmt)
    if output is not None:
        with output.open("w", encoding="utf-8", newline="") as f:
            f.writelines(chunks)
        out.print(f"wrote {len(res.rows)} rows to {output}")
    else:
        for chunk in chunks:  # piece by piece: `| head` closing the pipe is noticed (exit 141)
            sys.stdout.write(chunk)
            sys.stdout.flush()


def _print_result(columns: list[str], rows: list[tuple]) -> None:
    """A result as a table: NULL shown as a dimmed ``NULL`` (as the duckdb CLI shows it), an
    empty text as an empty cell; values printed as they are, never read as markup."""
    from rich.table import Table
    from rich.text import Text

    from framewatch.sql import text_cell

    table = Table()
    for c in columns:
        table.add_column(Text(c), overflow="fold")
    for r in rows:
        table.add_row(*(Text("NULL", style="dim") if v is None else Text(str(text_cell(v)))
                        for v in r))  # fmt: skip
    out.print(table)


def _with_search(ctx: typer.Context, con) -> None:
    """``search('query')`` in SQL: the query language of `framewatch search`."""
    from framewatch.analysis.search.sql_function import register_search_sql
    from framewatch.cli.search import query_embedder

    a = ctx.obj.settings.analysis
    register_search_sql(con, ctx.obj.db, model=a.model, embed=query_embedder(a))


@app.command()
@handles_errors
def export(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(help="Folder to write into.")],
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
) -> None:
    """Every public table and view as files, with a manifest of schema version and row counts."""
    from framewatch.sql import QueryError, export_all

    try:
        manifest = export_all(ctx.obj.db, folder, fmt)
    except QueryError as exc:
        raise UsageError(str(exc)) from exc
    out.print(f"exported {len(manifest['tables'])} tables and views (schema version "
              f"{manifest['schema_version']}) to {folder}")  # fmt: skip


# -- digest ---------------------------------------------------------------------------
@app.command()
@handles_errors
def digest(
    ctx: typer.Context,
    week: Annotated[
        str | None,
        typer.Option(help="ISO week, e.g. 2026-W47 (default: the latest with articles)."),
    ] = None,
    codebook: Annotated[
        str | None, typer.Option(help="Codebook id (default: the first configured).")
    ] = None,
    preview: Annotated[Path | None, typer.Option(help="Write the HTML to FILE.html.")] = None,
    eml: Annotated[Path | None, typer.Option(help="Write the whole message to FILE.eml.")] = None,
    send: Annotated[
        bool, typer.Option("--send", help="E-mail every subscriber in the config.")
    ] = False,
    to: Annotated[str, typer.Option(help="Recipient shown in --eml.")] = "subscriber@example.org",
    lang: Annotated[
        list[str] | None,
        typer.Option(
            "--lang",
            help="--preview/--eml: only articles in this language; repeatable "
            '(subscribers set their own: languages = ["de"]).',
        ),
    ] = None,
) -> None:
    """The weekly digest: top stories, their framing, what changed."""
    from framewatch.dashboards.digest import build_message, deliver, render_html
    from framewatch.dashboards.digest_data import build_digest, latest_week
    from framewatch.journal import merge_journal

    if not (preview or eml or send):
        raise UsageError("give --preview FILE.html, --eml FILE.eml and/or --send")
    if lang and not (preview or eml):
        raise UsageError("--lang is for --preview and --eml; each subscriber's languages are "
                         "set in the config ([[subscribers]] languages = [\"de\"])")  # fmt: skip
    settings = ctx.obj.settings
    cb = codebook or first_codebook(settings.analysis)
    con = reader(ctx)
    try:
        languages = parse_languages(con, lang)
        if preview or eml:
            d = build_digest(con, week or latest_week(con, languages), cb,
                             compare=settings.compare, languages=languages)  # fmt: skip
            if preview:
                preview.write_text(render_html(d), encoding="utf-8")
                out.print(f"wrote {preview} ({len(d.stories)} top stories, week {d.week})")
            if eml:
                eml.write_bytes(bytes(build_message(d, settings.smtp.sender, to)))
                out.print(f"wrote {eml}")
        if not send:
            return
        results = deliver(con, ctx.obj.db, settings, week, codebook)
    finally:
        con.close()
    for r in results:
        line = f"{r.recipient}: {r.status}" + (f" ({r.error})" if r.error else "")
        (err if r.status == "failed" else out).print(line, markup=False)
    try:  # record sends in the store now if no crawler holds it; else the next run does
        store = open_store(ctx.obj.db, lock_timeout_s=5)
    except StoreError:
        store = None
    if store is not None:
        with store:
            with store.transaction():
                merge_journal(store)
            store.publish_snapshot()
    failed = [r for r in results if r.status == "failed"]
    if failed:  # none sent is a failure; some sent, partial
        raise typer.Exit(EXIT_FAILURE if len(failed) == len(results) else EXIT_PARTIAL)


@app.command()
@handles_errors
def dashboard(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option(help="Address to bind; 0.0.0.0 exposes it to your network.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8501,
    auth: Annotated[
        str | None,
        typer.Option(
            help="password, header or none (default: [dashboard] auth, else none on "
            "loopback and password elsewhere)."
        ),
    ] = None,
) -> None:
    """Start the journalists' dashboard (Streamlit) on the store's read-only snapshot."""
    from framewatch.dashboards.launch import dashboard_command
    from framewatch.store import connect

    connect(ctx.obj.db).close()  # fail here, clearly, if there is no store to show
    cmd, env, mode = dashboard_command(
        ctx.obj.db, ctx.obj.settings, host, port, ctx.obj.config, auth
    )
    logins = {"none": "no sign-in", "password": "sign-in with a password",
              "header": "sign-in by the reverse proxy"}[mode]  # fmt: skip
    out.print(f"dashboard on http://{host}:{port}, {logins}  (Ctrl+C stops it)")
    sys.stdout.flush()
    sys.stderr.flush()
    # Become Streamlit (same process id): a signal to framewatch, SIGTERM from a service
    # manager or Ctrl+C, reaches the server itself and leaves no orphan behind.
    os.execve(sys.executable, cmd, env)
