"""`framewatch serve / status / backup / restore`: running framewatch as a service."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from framewatch.cli.base import EXIT_FAILURE, app, err, handles_errors, out, print_json


@app.command()
@handles_errors
def serve(ctx: typer.Context) -> None:
    """One service: scheduled polling and analysis, the weekly digest, the dashboard, /health.

    Settings: [crawl] poll_interval_min, [digest] send_at and timezone, [serve] (dashboard
    and health addresses, metrics). SIGTERM or Ctrl+C stops it and every process it started.
    """
    from framewatch.pipeline.serve import Service

    settings = ctx.obj.settings  # a bad config fails here, before anything starts
    Service(Path(ctx.obj.db), ctx.obj.config, settings).run()
    # Stopped cleanly: children ended, store closed. Leave now: after a SIGTERM that landed
    # inside DuckDB, Python's own teardown sometimes reported death by SIGINT (-2) instead.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _print_status(r: dict) -> None:
    out.print(
        ("healthy" if r["healthy"] else "UNHEALTHY: " + "; ".join(r["reasons"])), markup=False
    )
    run = r.get("last_run")
    if run:
        counts = "  ".join(f"{k.replace('_', ' ')}: {v}" for k, v in run["counts"].items())
        out.print(f"last run: #{run['id']} {run['command']} {run['status']}, finished "
                  f"{run['finished_at']}  {counts}  problems: {run['errors']}", markup=False)  # fmt: skip
    else:
        out.print("last run: none yet")
    waiting = ", ".join(f"{k} {v}" for k, v in r["waiting_for_analysis"].items())
    out.print(f"store: {r['articles']} articles, {r['stories']} stories, {r['sources']} feeds; "
              f"waiting for analysis: {waiting}")  # fmt: skip
    failing = r["failing_feeds"]
    out.print(f"failing feeds: {len(failing)}")
    for f in failing[:20]:
        out.print(f"  {f['name']}: {f['streak']} in a row, {f['last_error']}", markup=False)
    d = r["digest"]
    out.print(f"next digest: {d['next_at']} ({d['timezone']}), week {d['next_week']}; "
              f"last due {d['last_week']}: {d['sent']} sent, {d['failed']} failed")  # fmt: skip
    out.print(f"store size: {r['store']['bytes'] / 1e6:.1f} MB ({r['store']['path']})")


@app.command()
@handles_errors
def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="The report as JSON.")] = False,
) -> None:
    """Last run and its counts, articles waiting for analysis, failing feeds, next digest,
    store size. Exits 1 when unhealthy (with the reasons), so a monitor can call it."""
    from framewatch.pipeline.status import read_status, unreadable
    from framewatch.store import StoreError, connect

    settings = ctx.obj.settings  # a bad config fails first, on its own line
    try:
        con = connect(ctx.obj.db)
    except StoreError as exc:
        if not as_json:
            raise
        # A monitor parsing the output gets a report (unhealthy, with the reason) as
        # /health gives one, not an empty page; the line on stderr is for a person.
        print_json(unreadable(ctx.obj.db, str(exc)))
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(EXIT_FAILURE) from None
    try:
        r = read_status(con, ctx.obj.db, settings)
    finally:
        con.close()
    if as_json:
        print_json(r)
    else:
        _print_status(r)
    if not r["healthy"]:
        raise typer.Exit(EXIT_FAILURE)


@app.command()
@handles_errors
def backup(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(help="A new (or empty) folder for the backup.")],
    wait: Annotated[
        float, typer.Option(help="Seconds to wait for a running run before copying the snapshot.")
    ] = 600.0,
) -> None:
    """A consistent copy of the store (and the digest journal), safe while serve runs."""
    from framewatch.backup import backup as take_backup

    m = take_backup(ctx.obj.db, folder, wait_s=wait)
    c = m["counts"]
    source = f"from the {m['source']}"
    if m.get("snapshot_written_at"):  # the rows are as old as the snapshot, not the backup
        age = int(m.get("snapshot_age_s", 0))
        source = (f"copied from the snapshot of {_local_time(m['snapshot_written_at'], age)}, "
                  f"{_age(age)} old, because a run holds the store")  # fmt: skip
    out.print(f"backup in {folder}: {c['articles']} articles, {c['stories']} stories, "
              f"schema version {m['schema_version']}, {source}")  # fmt: skip


def _local_time(iso: str, age_s: int) -> str:
    """The time of day on this machine's clock; with the date when it is half a day old."""
    from datetime import datetime

    at = datetime.fromisoformat(iso).astimezone()
    return f"{at:%H:%M}" if age_s < 12 * 3600 else f"{at:%Y-%m-%d %H:%M}"


def _age(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} seconds"
    if seconds < 2 * 3600:
        return f"{seconds // 60} minutes"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} hours"
    return f"{seconds // 86400} days"


@app.command()
@handles_errors
def restore(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(help="A folder written by `framewatch backup`.")],
) -> None:
    """Replace the store with a backup (checked against its checksums); the old store is
    kept beside it. Stop `framewatch serve` first."""
    from framewatch.backup import restore as do_restore

    def waiting(what: str) -> None:
        err.print(what, markup=False)

    # checks the checksums first (once: a big store), and the copy before it goes in
    m, kept = do_restore(folder, ctx.obj.db, on_wait=waiting)
    counts = m.get("counts") if isinstance(m.get("counts"), dict) else {}
    said = [f"{counts['articles']} articles" if "articles" in counts else "",
            f"taken {m['created_at']}" if m.get("created_at") else ""]  # fmt: skip
    detail = ", ".join(s for s in said if s)  # a manifest edited by hand may lack them
    out.print(f"restored {ctx.obj.db} from {folder}" + (f" ({detail})" if detail else ""))
    if kept is not None:
        err.print(f"the previous store is kept as {kept}", markup=False)
