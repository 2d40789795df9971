"""`framewatch fetch / run / analyze / import / backfill / demo`: filling the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from framewatch.cli.base import (
    EXIT_FAILURE,
    EXIT_PARTIAL,
    Ctx,
    app,
    err,
    handles_errors,
    out,
)
from framewatch.store import Store


def _print_run_summary(store: Store, counts: dict[str, int], errors: list[str]) -> None:
    from framewatch.sources import totals

    n_sources, n_articles = totals(store)
    shown = {k: v for k, v in counts.items() if not k.startswith("_")}
    out.print(
        f"feeds: {n_sources}  articles stored: {n_articles}  "
        + "  ".join(f"{k.replace('_', ' ')}: {v}" for k, v in shown.items())
    )
    if errors:
        err.print(f"{len(errors)} problem(s):")
        for e in errors[:20]:
            err.print(f"  - {e}", markup=False)
        if len(errors) > 20:
            err.print(f"  ... and {len(errors) - 20} more (see the runs table)")


def _exit_for(counts: dict[str, int]) -> None:
    if counts.get("_failed_sources"):
        raise typer.Exit(EXIT_PARTIAL)


def _recorded(ctx: typer.Context, command: str, work) -> None:
    """Run ``work(store, settings, rec)`` as one recorded run, then summarise it."""
    from framewatch.pipeline.runs import recorded_run

    with ctx.obj.store() as store:
        with recorded_run(store, command) as rec:
            work(store, ctx.obj.settings, rec)
        _print_run_summary(store, rec.counts, rec.errors)
    _exit_for(rec.counts)


AllSources = Annotated[bool, typer.Option("--all", help="Poll every source, due or not.")]


@app.command()
@handles_errors
def fetch(
    ctx: typer.Context,
    all_sources: AllSources = False,
) -> None:
    """Poll every due source and store new articles."""
    from framewatch.pipeline.runner import fetch_stage

    _recorded(
        ctx,
        "fetch",
        lambda store, settings, rec: fetch_stage(store, settings, rec, force=all_sources),
    )


@app.command()
@handles_errors
def run(
    ctx: typer.Context,
    all_sources: AllSources = False,
) -> None:
    """Every pipeline stage in order: fetch, then analysis of what is pending."""
    from framewatch.pipeline.runner import run_all

    _recorded(
        ctx, "run", lambda store, settings, rec: run_all(store, settings, rec, force=all_sources)
    )


@app.command()
@handles_errors
def demo(
    ctx: typer.Context,
    db: Annotated[Path | None, typer.Option("--db", help="Store for the demo.")] = None,
) -> None:
    """Serve the bundled sample corpus on loopback and run the whole pipeline on it."""
    from framewatch.pipeline.runner import run_all
    from framewatch.pipeline.runs import recorded_run
    from framewatch.sample_site import serve_sample_site
    from framewatch.sources import add_source

    c: Ctx = ctx.obj
    if db is not None:
        c.db = db
    settings = c.settings
    settings.allow_private_networks = True  # the sample site is on loopback
    settings.crawl.per_host_delay_s = 0.0
    with serve_sample_site() as site, c.store() as store:
        for outlet in site.outlets:
            add_source(store, site.feed_url(outlet), name=outlet["name"],
                       country=outlet.get("country"), language="en", origin="demo")  # fmt: skip
        with recorded_run(store, "demo") as rec:
            run_all(store, settings, rec, force=True)
        _print_run_summary(store, rec.counts, rec.errors)
    out.print(f"demo store: {c.db}  (try: framewatch --db {c.db} stories)")
    _exit_for(rec.counts)


@app.command()
@handles_errors
def analyze(
    ctx: typer.Context,
    recluster: Annotated[
        bool,
        typer.Option(
            "--recluster",
            help="Cluster every article again with the current model (after changing "
            "[analysis] model): stories get new ids, and the old ids lead to them.",
        ),
    ] = False,
) -> None:
    """Embed, cluster and frame every article that is pending (no fetching)."""
    from framewatch.pipeline.runner import analysis_stages

    def work(store, settings, rec) -> None:
        if recluster:
            from framewatch.analysis.stories.recluster import begin

            n = begin(store)
            out.print(f"clustering all {n} article(s) again with {settings.analysis.model}")
        for _name, stage in analysis_stages():
            stage(store, settings, rec)

    _recorded(ctx, "analyze", work)


@app.command("import")
@handles_errors
def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="JSONL, CSV or Parquet with title and text.")],
    encoding: Annotated[
        str | None,
        typer.Option(help="The file's text encoding when not UTF-8, e.g. cp1252 (Excel)."),
    ] = None,
) -> None:
    """Load your own articles so they go through the same analysis."""
    from framewatch.importer import import_file

    with ctx.obj.store() as store:
        new, known, errors, notes = import_file(store, file, encoding)
        store.publish_snapshot()
    out.print(f"imported {new} new articles ({known} already stored) from {file}")
    for note in notes[:20]:
        err.print(f"note: {note}", markup=False)
    if len(notes) > 20:
        err.print(f"note: {len(notes) - 20} more rows not stored, as above", markup=False)
    for e in errors[:50]:
        err.print(f"  skipped {e}", markup=False)
    if errors:
        stored = "the good rows were stored" if new or known else "no row was stored"
        err.print(f"{len(errors)} bad row(s) skipped; {stored}", markup=False)
        raise typer.Exit(EXIT_PARTIAL)


@app.command()
@handles_errors
def backfill(
    ctx: typer.Context,
    inputs: Annotated[
        list[str], typer.Argument(help="Files or globs: JSONL, CSV, Parquet, WARC(.gz).")
    ],
    engine: Annotated[
        str, typer.Option(help="local (in-process) or ray (needs framewatch[scale]).")
    ] = "local",
    address: Annotated[
        str | None, typer.Option(help="A Ray cluster's address, e.g. ray://head:10001.")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Model workers (default: local 1, ray from the cluster)."),
    ] = None,
    partition_size: Annotated[
        int, typer.Option(min=1, help="Articles per partition (the unit of resuming).")
    ] = 500,
    stall_timeout: Annotated[
        float, typer.Option(help="Fail when no partition finishes for this many seconds.")
    ] = 900.0,
    keep_work: Annotated[
        bool, typer.Option(help="Keep the work folder's partitions after success.")
    ] = False,
    encoding: Annotated[
        str | None,
        typer.Option(help="The JSONL and CSV files' text encoding when not UTF-8, e.g. cp1252."),
    ] = None,
) -> None:
    """Analyse a large archive on an engine: same results as import + analyze, resumable."""
    from framewatch.backfill import BackfillOptions, work_folder
    from framewatch.backfill import backfill as run_backfill
    from framewatch.backfill.engines import PlanStalled
    from framewatch.pipeline.runs import recorded_run

    opts = BackfillOptions(
        engine, workers, address, partition_size, stall_timeout, keep_work, encoding
    )
    with ctx.obj.store() as store:
        try:
            with recorded_run(store, "backfill") as rec:
                report = run_backfill(
                    store, ctx.obj.settings, inputs, work_folder(Path(ctx.obj.db)), opts, rec
                )
        except PlanStalled as exc:
            err.print(f"error: {exc}", markup=False)
            raise typer.Exit(EXIT_FAILURE) from None
        for note in report.notes[:20]:  # as import says them, once per file
            err.print(f"note: {note}", markup=False)
        if len(report.notes) > 20:
            err.print(f"note: {len(report.notes) - 20} more, as above", markup=False)
        _print_run_summary(store, rec.counts, rec.errors)
    if report.problems:
        raise typer.Exit(EXIT_PARTIAL)
