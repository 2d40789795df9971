"""The ``framewatch`` command. It only parses and prints; the stages do the work.

Exit codes: 0 success; 1 failure; 2 bad usage, config or input; 3 partial
success (some sources or rows failed, the rest was stored).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from framewatch.config import Settings, load_settings
from framewatch.errors import FramewatchError, InputError
from framewatch.store import DEFAULT_DB, Store, StoreError, open_store

EXIT_FAILURE, EXIT_USAGE, EXIT_PARTIAL = 1, 2, 3

app = typer.Typer(
    help="Follow how the news frames a story: crawl feeds, cluster stories, label frames.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
sources_app = typer.Typer(help="Manage the feeds framewatch polls.", no_args_is_help=True)
app.add_typer(sources_app, name="sources")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


@dataclass
class Ctx:
    db: Path
    config: Path | None
    _settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config)
        return self._settings

    def store(self) -> Store:
        settings = self.settings  # a bad config fails before the store is opened
        store = open_store(self.db)
        store.snapshot_interval_s = settings.snapshot_interval_s
        try:
            _sync_config_sources(store, settings)
        except BaseException:
            store.close()
            raise
        return store


def _sync_config_sources(store: Store, settings: Settings) -> None:
    from framewatch.outlets import sync_attributes
    from framewatch.sources import add_source

    for s in settings.sources:
        sid = add_source(
            store, s.url, name=s.name, country=s.country, language=s.language, origin="config"
        )
        if s.attributes:
            name = store.execute("SELECT name FROM sources WHERE id = ?", [sid]).fetchone()[0]
            sync_attributes(store, name, s.attributes)


class UsageError(InputError):
    """Bad input from the user: printed without a traceback, exit code 2."""


_verbose = [False]  # set by the app callback for this invocation; read when a bug surfaces


def handles_errors(fn):
    """One clear line and a meaningful exit code; a bug also leaves its traceback.

    Input errors (the user can fix them) exit 2, store errors 1; anything else is a bug:
    exit 1 naming the exception, the traceback kept in a log and printed with --verbose.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except InputError as exc:
            err.print(f"error: {exc}", markup=False)
            raise typer.Exit(EXIT_USAGE) from None
        except FramewatchError as exc:
            err.print(f"error: {exc}", markup=False)
            raise typer.Exit(EXIT_FAILURE) from None
        except KeyboardInterrupt:
            err.print("interrupted; the next run resumes where this one stopped")
            raise typer.Exit(130) from None
        except Exception as exc:
            _report_bug(exc)
            raise typer.Exit(EXIT_FAILURE) from None

    return wrapper


def _report_bug(exc: Exception) -> None:
    from framewatch import crashlog

    verbose = _verbose[0]
    path = crashlog.record(exc)
    err.print(f"error: internal error, {crashlog.describe(exc)}", markup=False)
    if verbose:
        err.print(crashlog.format_traceback(exc), markup=False, end="")
    saved = f"its traceback is in {path}" if path else "its traceback could not be saved"
    hint = "" if verbose else " (--verbose prints it)"
    err.print(f"this is a bug in framewatch, not in your input; {saved}{hint}", markup=False)


@app.callback()
def main(
    ctx: typer.Context,
    db: Annotated[
        Path, typer.Option("--db", envvar="FRAMEWATCH_DB", help="The DuckDB store file.")
    ] = Path(DEFAULT_DB),
    config: Annotated[
        Path | None,
        typer.Option("--config", envvar="FRAMEWATCH_CONFIG", help="Config file (framewatch.toml)."),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log every step; print tracebacks of bugs.")
    ] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose or not sys.stderr.isatty() else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("httpx", "httpcore", "trafilatura", "htmldate", "sentence_transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    _verbose[0] = verbose
    ctx.obj = Ctx(db=db, config=config)


def print_table(columns: list[str], rows: list[tuple[Any, ...]], title: str | None = None) -> None:
    table = Table(title=title, show_lines=False)
    for c in columns:
        table.add_column(c, overflow="fold")
    for r in rows:
        table.add_row(*("" if v is None else str(v) for v in r))
    out.print(table)


# -- sources -------------------------------------------------------------------
@sources_app.command("add")
@handles_errors
def sources_add(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="A feed URL, or a web page that announces one.")],
    name: Annotated[str | None, typer.Option(help="Outlet name shown everywhere.")] = None,
    country: Annotated[str | None, typer.Option(help="ISO country code, e.g. GB.")] = None,
    language: Annotated[str | None, typer.Option(help="ISO language code, e.g. en.")] = None,
    no_discover: Annotated[bool, typer.Option(help="Store the URL as given, offline.")] = False,
) -> None:
    """Add a source; a web page URL is resolved to the feed it announces."""
    from framewatch.crawler.fetch import SourceDiscoveryError, discover_source
    from framewatch.sources import add_source

    c: Ctx = ctx.obj
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"not an http(s) URL: {url}")
    feed_url, title, site = url, None, None
    if not no_discover:
        try:
            feed_url, title, site = asyncio.run(discover_source(url, c.settings))
        except SourceDiscoveryError as exc:
            err.print(f"error: {exc}", markup=False)
            raise typer.Exit(EXIT_FAILURE) from None
    with c.store() as store:
        sid = add_source(
            store, feed_url, name=name or title, site_url=site, country=country, language=language
        )
        store.publish_snapshot()
    out.print(
        f"source {sid}: {feed_url}" + (f" (discovered from {url})" if feed_url != url else "")
    )


@sources_app.command("list")
@handles_errors
def sources_list(ctx: typer.Context) -> None:
    """List sources with their article counts and last error."""
    from framewatch.sources import list_sources

    with ctx.obj.store() as store:
        rows = list_sources(store)
    print_table(
        ["id", "name", "url", "country", "lang", "articles", "failures", "last error", "next poll"],
        [
            (
                s.id,
                s.name,
                s.url,
                s.country,
                s.language,
                s.articles,
                s.consecutive_failures,
                s.last_error,
                f"{s.next_poll_at:%Y-%m-%d %H:%M} UTC" if s.next_poll_at else "now",
            )
            for s in rows
        ],
    )


@sources_app.command("remove")
@handles_errors
def sources_remove(
    ctx: typer.Context, key: Annotated[str, typer.Argument(help="Source id, URL or name.")]
) -> None:
    """Stop polling a source. Its articles stay in the store."""
    from framewatch.sources import remove_source

    with ctx.obj.store() as store:
        s = remove_source(store, key)
        store.publish_snapshot()
    if s is None:
        err.print(f"error: no source {key!r}", markup=False)
        raise typer.Exit(EXIT_USAGE)
    out.print(f"removed source {s.id} ({s.name}); its {s.articles} articles are kept")


@sources_app.command("import-opml")
@handles_errors
def sources_import_opml(ctx: typer.Context, file: Path) -> None:
    """Add every readable feed of an OPML file; unreadable outlines are listed by line."""
    from framewatch.crawler.opml import read_opml
    from framewatch.sources import add_source

    result = read_opml(file)
    with ctx.obj.store() as store, store.transaction():
        for e in result.sources:
            add_source(
                store, e.url, name=e.name, site_url=e.site_url, language=e.language,
                category=e.category, opml_attributes=e.attributes, origin="opml",
            )  # fmt: skip
    with ctx.obj.store() as store:
        store.publish_snapshot()
    out.print(f"imported {len(result.sources)}, skipped {len(result.skipped)} from {file}")
    for s in result.skipped:
        err.print(f"  skipped line {s.line}: {s.reason}", markup=False)
    if result.skipped:
        raise typer.Exit(EXIT_PARTIAL)


@sources_app.command("export-opml")
@handles_errors
def sources_export_opml(ctx: typer.Context, file: Path) -> None:
    """Write all sources to an OPML file."""
    from framewatch.crawler.opml import OpmlSource, write_opml
    from framewatch.sources import list_sources

    with ctx.obj.store() as store:
        rows = list_sources(store)
    write_opml(file, [OpmlSource(s.url, s.name, s.site_url, s.category, s.language) for s in rows])
    out.print(f"wrote {len(rows)} sources to {file}")


# -- pipeline --------------------------------------------------------------------
def _print_run_summary(store: Store, counts: dict[str, int], errors: list[str]) -> None:
    n_sources = store.execute("SELECT count(*) FROM sources WHERE active").fetchone()[0]
    n_articles = store.execute("SELECT count(*) FROM articles").fetchone()[0]
    shown = {k: v for k, v in counts.items() if not k.startswith("_")}
    out.print(
        f"sources: {n_sources}  articles stored: {n_articles}  "
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
    from framewatch.pipeline import recorded_run

    with ctx.obj.store() as store:
        with recorded_run(store, command) as rec:
            work(store, ctx.obj.settings, rec)
        _print_run_summary(store, rec.counts, rec.errors)
    _exit_for(rec.counts)


@app.command()
@handles_errors
def fetch(
    ctx: typer.Context,
    all_sources: Annotated[
        bool, typer.Option("--all", help="Poll every source, due or not.")
    ] = False,
) -> None:
    """Poll every due source and store new articles."""
    from framewatch.pipeline import fetch_stage

    _recorded(
        ctx,
        "fetch",
        lambda store, settings, rec: fetch_stage(store, settings, rec, force=all_sources),
    )


@app.command()
@handles_errors
def run(
    ctx: typer.Context,
    all_sources: Annotated[
        bool, typer.Option("--all", help="Poll every source, due or not.")
    ] = False,
) -> None:
    """Every pipeline stage in order: fetch, then analysis of what is pending."""
    from framewatch.pipeline import run_all

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
    from framewatch.pipeline import recorded_run, run_all
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


def _json_default(o: object) -> str:
    return str(o)


def print_json(obj: object) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=_json_default) + "\n")


os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


# -- analysis --------------------------------------------------------------------
eval_app = typer.Typer(help="Score clustering or framing on a labelled file.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")


@app.command()
@handles_errors
def analyze(ctx: typer.Context) -> None:
    """Embed, cluster and frame every article that is pending (no fetching)."""
    from framewatch.pipeline import analysis_stages

    def work(store, settings, rec) -> None:
        for _name, stage in analysis_stages():
            stage(store, settings, rec)

    _recorded(ctx, "analyze", work)


def _reader(ctx: typer.Context, sandbox: bool = False):
    from framewatch.store import connect

    return connect(ctx.obj.db, sandbox=sandbox)


@app.command()
@handles_errors
def stories(
    ctx: typer.Context,
    since: Annotated[
        str | None, typer.Option(help="Only stories seen on or after DATE (YYYY-MM-DD).")
    ] = None,
    limit: Annotated[int, typer.Option(help="How many stories to show.")] = 20,
) -> None:
    """List stories: id, label, size, outlets, first and last seen, headline."""
    con = _reader(ctx)
    rows = con.execute(
        """SELECT id, label, size, outlets, strftime(first_seen, '%Y-%m-%d %H:%M'),
                  strftime(last_seen, '%Y-%m-%d %H:%M'), headline
           FROM stories WHERE ? IS NULL OR last_seen >= ?::TIMESTAMP
           ORDER BY size DESC, last_seen DESC LIMIT ?""",
        [since, since, limit],
    ).fetchall()
    print_table(["id", "label", "articles", "outlets", "first seen", "last seen", "headline"], rows)


@app.command()
@handles_errors
def story(ctx: typer.Context, story_id: Annotated[int, typer.Argument(help="A story id.")]) -> None:
    """One story's articles by time and outlet (an id merged away shows its survivor)."""
    from framewatch.analysis.story_merge import resolve_story

    con = _reader(ctx)
    asked, story_id = story_id, resolve_story(con, story_id)
    if story_id != asked:
        out.print(f"story {asked} was merged into story {story_id}")
    head = con.execute(
        "SELECT label, headline, size, outlets FROM stories WHERE id = ?", [story_id]
    ).fetchone()
    if head is None:
        raise UsageError(f"no story {story_id}")
    out.print(f"story {story_id}: {head[0]} — {head[2]} articles from {head[3]} outlets")
    out.print(f"headline: {head[1]}", markup=False)
    rows = con.execute(
        """SELECT strftime(coalesce(a.published_at, a.fetched_at), '%Y-%m-%d %H:%M'), s.name, a.title,
                  CASE WHEN d.duplicate_of IS NULL THEN '' ELSE 'copy of ' || d.duplicate_of END, a.id
           FROM story_members m JOIN articles a ON a.id = m.article_id
           LEFT JOIN sources s ON s.id = a.source_id
           LEFT JOIN article_duplicates d ON d.article_id = a.id
           WHERE m.story_id = ? ORDER BY coalesce(a.published_at, a.fetched_at), a.id""",
        [story_id],
    ).fetchall()
    print_table(["time", "outlet", "headline", "copy", "article"], rows)


@app.command("import")
@handles_errors
def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="JSONL, CSV or Parquet with title and text.")],
) -> None:
    """Load your own articles so they go through the same analysis."""
    from framewatch.importer import import_file

    with ctx.obj.store() as store:
        new, known, errors = import_file(store, file)
        store.publish_snapshot()
    out.print(f"imported {new} new articles ({known} already stored) from {file}")
    for e in errors[:50]:
        err.print(f"  skipped {e}", markup=False)
    if errors:
        err.print(f"{len(errors)} bad row(s) skipped; the good rows were stored")
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
) -> None:
    """Analyse a large archive on an engine: same results as import + analyze, resumable."""
    from framewatch.backfill import BackfillOptions, work_folder
    from framewatch.backfill import backfill as run_backfill
    from framewatch.backfill.engines import PlanStalled
    from framewatch.pipeline import recorded_run

    opts = BackfillOptions(engine, workers, address, partition_size, stall_timeout, keep_work)
    with ctx.obj.store() as store:
        try:
            with recorded_run(store, "backfill") as rec:
                report = run_backfill(
                    store, ctx.obj.settings, inputs, work_folder(Path(ctx.obj.db)), opts, rec
                )
        except PlanStalled as exc:
            err.print(f"error: {exc}", markup=False)
            raise typer.Exit(EXIT_FAILURE) from None
        _print_run_summary(store, rec.counts, rec.errors)
    if report.problems:
        raise typer.Exit(EXIT_PARTIAL)


@eval_app.command("stories")
@handles_errors
def eval_stories_cmd(
    ctx: typer.Context,
    file: Annotated[
        Path | None, typer.Argument(help="Labelled file with a story (or topic) column.")
    ] = None,
    sample: Annotated[
        bool, typer.Option("--sample", help="Use the bundled sample corpus (or topic set).")
    ] = False,
    level: Annotated[
        str, typer.Option(help="story: score events; topic: score topics against a topic column.")
    ] = "story",
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
    threshold: Annotated[
        float | None,
        typer.Option(help="Override story_threshold (topic_threshold at topic level)."),
    ] = None,
    window: Annotated[
        float | None, typer.Option(help="Override story_window_days (topic_window_days).")
    ] = None,
) -> None:
    """B-cubed precision/recall/F1 and ARI of the story (or topic) clustering on labelled data."""
    from framewatch.analysis.evaluate import (
        LEVELS,
        eval_stories,
        labelled_articles,
        sample_articles,
    )

    if (file is None) == (not sample):
        raise UsageError("give a labelled FILE or --sample")
    if level not in LEVELS:
        raise UsageError(f"unknown --level {level!r} (use {' or '.join(LEVELS)})")
    arts = sample_articles(level) if sample else labelled_articles(file, LEVELS[level])
    a = ctx.obj.settings.analysis
    prefix = "topic" if level == "topic" else "story"
    if threshold is not None:
        setattr(a, f"{prefix}_threshold", threshold)
    if window is not None:
        setattr(a, f"{prefix}_window_days", window)
    result = eval_stories(arts, a, level)
    if as_json:
        print_json(result)
        return
    print_table(["metric", "value"], [(k, v) for k, v in result.items()])


# -- framing -----------------------------------------------------------------------
codebooks_app = typer.Typer(
    help="Frame codebooks: list, show, add, validate.", no_args_is_help=True
)
app.add_typer(codebooks_app, name="codebooks")


@codebooks_app.command("list")
@handles_errors
def codebooks_list(ctx: typer.Context) -> None:
    """Installed codebooks (built-in and added), and which ones run."""
    from framewatch.analysis.codebooks import all_codebooks

    with ctx.obj.store() as store:
        books = all_codebooks(store)
    running = set(ctx.obj.settings.analysis.codebooks)
    print_table(
        ["id", "name", "frames", "origin", "runs"],
        [
            (b.id, b.name, len(b.frames), b.origin, "yes" if b.id in running else "")
            for b in books.values()
        ],
    )


@codebooks_app.command("show")
@handles_errors
def codebooks_show(
    ctx: typer.Context, codebook: Annotated[str, typer.Argument(help="Id or file.")]
) -> None:
    """A codebook's frames with their descriptions."""
    from framewatch.analysis.codebooks import resolve_codebook

    with ctx.obj.store() as store:
        cb = resolve_codebook(codebook, store)
    out.print(f"{cb.id}: {cb.name} ({len(cb.frames)} frames, hash {cb.hash})", markup=False)
    print_table(["frame", "label", "description", "examples"],
                [(f.id, f.label, f.description, len(f.examples)) for f in cb.frames])  # fmt: skip


@codebooks_app.command("validate")
@handles_errors
def codebooks_validate(file: Annotated[Path, typer.Argument(help="A codebook TOML file.")]) -> None:
    """Check a codebook file; errors name the line or field."""
    from framewatch.analysis.codebooks import load_codebook_file

    cb = load_codebook_file(file)
    out.print(f"ok: {cb.id} with {len(cb.frames)} frames")


@codebooks_app.command("add")
@handles_errors
def codebooks_add(
    ctx: typer.Context, file: Annotated[Path, typer.Argument(help="A codebook TOML file.")]
) -> None:
    """Install a codebook into the store (add its id to analysis.codebooks to run it)."""
    from framewatch.analysis.codebooks import load_codebook_file, register

    cb = load_codebook_file(file)
    with ctx.obj.store() as store:
        with store.transaction():
            register(store, cb)
        store.publish_snapshot()
    out.print(f"added codebook {cb.id} ({len(cb.frames)} frames)")


@app.command()
@handles_errors
def label(
    ctx: typer.Context,
    article_id: Annotated[int | None, typer.Argument(help="Article id.")] = None,
    frame: Annotated[str | None, typer.Argument(help="Frame id (several: a;b).")] = None,
    codebook: Annotated[str, typer.Option(help="Codebook id.")] = "geopolitics-tech",
    file: Annotated[
        Path | None, typer.Option(help="CSV/JSONL with article_id (or url) and frame(s).")
    ] = None,
    suggest: Annotated[
        int | None, typer.Option(help="List N unlabelled articles worth labelling next.")
    ] = None,
) -> None:
    """Add human frame labels, from the command line or a file; or ask which to label next."""
    from framewatch.analysis.codebooks import resolve_codebook
    from framewatch.analysis.training import add_labels, parse_frames
    from framewatch.importer import read_records

    if suggest is not None:
        from framewatch.analysis.active import suggest as suggest_articles

        with ctx.obj.store() as store:
            cb = resolve_codebook(codebook, store)
            picks = suggest_articles(store, cb, ctx.obj.settings.analysis.model, suggest)
        print_table(["article", "predicted", "uncertainty", "title"],
                    [(p["article_id"], p["predicted"], p["uncertainty"], p["title"]) for p in picks],
                    title=f"label these next ({cb.id})")  # fmt: skip
        return
    with ctx.obj.store() as store:
        cb = resolve_codebook(codebook, store)
        items: list[tuple[int, str]] = []
        if file is not None:
            recs = read_records(file)
            if recs.errors:
                raise UsageError(f"{file}: {recs.errors[0]}")
            for line, rec in recs.rows:
                aid = rec.get("article_id")
                if aid in (None, "") and rec.get("url"):
                    row = store.execute(
                        "SELECT id FROM articles WHERE url = ? OR canonical_url = ?",
                        [rec["url"], rec["url"]],
                    ).fetchone()
                    aid = row[0] if row else None
                if aid in (None, ""):
                    raise UsageError(
                        f"{file} line {line}: no article_id, or url of a stored article"
                    )
                frames = parse_frames(rec.get("frames") or rec.get("frame"))
                if not frames:
                    raise UsageError(f"{file} line {line}: no frame")
                items += [(int(aid), f) for f in frames]
        elif article_id is not None and frame:
            items = [(article_id, f) for f in parse_frames(frame)]
        else:
            raise UsageError("give ARTICLE_ID FRAME, or --file")
        added = add_labels(store, cb, items, origin="file" if file else "cli")
        total = store.execute(
            "SELECT count(*) FROM labels WHERE codebook_id = ?", [cb.id]
        ).fetchone()[0]
        store.publish_snapshot()
    out.print(f"added {added} label(s); {cb.id} now has {total}")


@app.command()
@handles_errors
def train(
    ctx: typer.Context,
    codebook: Annotated[str, typer.Option(help="Codebook id.")] = "geopolitics-tech",
    cv: Annotated[int, typer.Option(help="Folds for cross-validation.")] = 5,
    method: Annotated[
        str,
        typer.Option(
            help="linear, or finetune (tunes the encoder, minutes on CPU); supervised = linear."
        ),
    ] = "supervised",
) -> None:
    """Fit a framing model on the labels; the pipeline uses it from then on."""
    from framewatch.analysis.codebooks import resolve_codebook
    from framewatch.analysis.training import train as train_model
    from framewatch.progress import progress_for

    with ctx.obj.store() as store, progress_for("fine-tuning") as bar:
        cb = resolve_codebook(codebook, store)

        def tick(step: int, total: int) -> None:
            if step == 1:
                bar.start(total)  # held-out run, then the final model: one bar each
            bar.advance()

        m = train_model(store, cb, ctx.obj.settings.analysis, cv, method, on_progress=tick)
        store.publish_snapshot()
    out.print(f"model {m['model_id']} ({m['method']}) for {cb.id}: {m['n']} labelled articles, "
              f"{m['protocol']} macro-F1 {m['macro_f1']:.3f}, micro-F1 {m['micro_f1']:.3f}")  # fmt: skip
    print_table(["frame", "precision", "recall", "f1", "labels"],
                [(f, v["precision"], v["recall"], v["f1"], v["support"]) for f, v in m["per_frame"].items()])  # fmt: skip
    if m["skipped_frames"]:
        err.print(f"frames with too few labels, not predicted: {m['skipped_frames']}", markup=False)
    out.print("run `framewatch analyze` to re-frame the store with it")


@eval_app.command("framing")
@handles_errors
def eval_framing_cmd(
    ctx: typer.Context,
    file: Annotated[
        Path | None, typer.Argument(help="CSV/JSONL with text (or title) and frame(s).")
    ] = None,
    codebook: Annotated[
        str, typer.Option(help="Installed codebook id or a codebook file.")
    ] = "geopolitics-tech",
    method: Annotated[
        str, typer.Option(help="zero-shot, linear, finetune, or supervised (= linear).")
    ] = "zero-shot",
    train_file: Annotated[
        Path | None, typer.Option("--train", help="Train on FILE, test on the labelled file.")
    ] = None,
    cv: Annotated[int | None, typer.Option(help="Stratified K-fold on FILE itself.")] = None,
    few_shot: Annotated[
        int | None, typer.Option(help="Train on K rows a frame, test on the rest.")
    ] = None,
    label_map: Annotated[
        Path | None, typer.Option(help="CSV of label,frame to map the file's labels.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the splits and bootstrap.")] = 0,
    learning_curve: Annotated[
        bool, typer.Option("--learning-curve", help="Score at 2-40 labels a frame; plot a PNG.")
    ] = False,
    plot: Annotated[Path, typer.Option(help="Where --learning-curve writes its PNG.")] = Path(
        "learning-curve.png"
    ),
    sample: Annotated[
        bool, typer.Option("--sample", help="Use the bundled sample corpus.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
) -> None:
    """Scores of a framing method beside the majority class and a logistic regression."""
    from framewatch.analysis.codebooks import resolve_codebook
    from framewatch.analysis.framing_eval import eval_framing, plot_learning_curve
    from framewatch.analysis.label_files import read_label_map, read_labelled_file, sample_labelled

    if (file is None) == (not sample):
        raise UsageError("give a labelled FILE or --sample")
    if sum(x is not None for x in (train_file, cv, few_shot)) > 1:
        raise UsageError("--train, --cv and --few-shot exclude each other")
    cb = resolve_codebook(codebook)
    mapping = read_label_map(label_map) if label_map else None
    rows = sample_labelled() if sample else read_labelled_file(file, cb, mapping)
    train_rows = read_labelled_file(train_file, cb, mapping) if train_file else None
    sizes = [2, 5, 10, 20, 40] if learning_curve else None
    result = eval_framing(rows, cb, ctx.obj.settings.analysis, method, train_rows, cv,
                          few_shot, seed, sizes)  # fmt: skip
    if learning_curve:
        plot_learning_curve(result["learning_curve"], result["method"], plot)
        result["plot"] = str(plot)
    if as_json:
        print_json(result)
        return

    def line(name: str, r: dict) -> str:
        ci = r["ci95"]
        return (f"{name}: accuracy {r['accuracy']:.3f} [{ci['accuracy'][0]:.3f}-{ci['accuracy'][1]:.3f}], "
                f"micro-F1 {r['micro_f1']:.3f} [{ci['micro_f1'][0]:.3f}-{ci['micro_f1'][1]:.3f}], "
                f"macro-F1 {r['macro_f1']:.3f} [{ci['macro_f1'][0]:.3f}-{ci['macro_f1'][1]:.3f}]")  # fmt: skip

    out.print(
        f"{result['method']} on {result['n']} rows with {cb.id} ({result['protocol']}; 95% intervals)"
    )
    out.print(line(result["method"], result))
    for name, b in result["baselines"].items():
        if name != "protocol":
            out.print(line(f"baseline {name}", b))
    print_table(["frame", "precision", "recall", "f1", "support"],
                [(f, v["precision"], v["recall"], v["f1"], v["support"]) for f, v in result["per_frame"].items()])  # fmt: skip
    preds = sorted({p for row in result["confusion"].values() for p in row})
    print_table(["gold \\ predicted", *preds],
                [(g, *(row.get(p, "") for p in preds)) for g, row in result["confusion"].items()],
                title="confusion (rows with one frame or none)")  # fmt: skip
    if learning_curve:
        lc = result["learning_curve"]
        print_table(["labels a frame", "training rows", result["method"], "logistic regression"],
                    [(p["per_frame"], p["n_train"], p[result["method"]], p["logistic_regression"]) for p in lc],
                    title=f"learning curve ({lc[0]['metric']}, mean of 3 seeds); plot: {plot}")  # fmt: skip


# -- SQL access ---------------------------------------------------------------------
@app.command()
@handles_errors
def sql(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="A read-only SQL statement.")],
    fmt: Annotated[str, typer.Option("--format", help="table, csv, json or parquet.")] = "table",
    output: Annotated[
        Path | None, typer.Option(help="Write to FILE instead of the terminal.")
    ] = None,
    timeout: Annotated[float | None, typer.Option(help="Cancel after this many seconds.")] = None,
) -> None:
    """Query the store read-only (tables and views: see docs/schema.md)."""
    from framewatch.sql import QueryError, format_result, run_query, write_parquet

    limit = timeout if timeout is not None else ctx.obj.settings.sql_timeout_s
    if fmt not in ("table", "csv", "json", "parquet"):
        raise UsageError(f"unknown format {fmt!r}: use table, csv, json or parquet")
    con = _reader(ctx, sandbox=True)  # other people's SQL: no files, network or extensions
    try:
        if fmt == "parquet":
            if output is None:
                raise UsageError("--format parquet needs --output FILE")
            n = write_parquet(con, query, output, limit)
            out.print(f"wrote {n} rows to {output}")
            return
        res = run_query(con, query, limit)
    except QueryError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(EXIT_USAGE) from None
    finally:
        con.close()
    if fmt == "table" and output is None:
        print_table(res.columns, res.rows)
        return
    text = format_result(res, "csv" if fmt == "table" else fmt)
    if output is not None:
        output.write_text(text, encoding="utf-8")
        out.print(f"wrote {len(res.rows)} rows to {output}")
    else:
        sys.stdout.write(text)


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
) -> None:
    """The weekly digest: top stories, their framing, what changed."""
    from framewatch.dashboards.digest import build_message, deliver, merge_journal, render_html
    from framewatch.dashboards.digest_data import build_digest, latest_week

    if not (preview or eml or send):
        raise UsageError("give --preview FILE.html, --eml FILE.eml and/or --send")
    settings = ctx.obj.settings
    cb = codebook or settings.analysis.codebooks[0]
    con = _reader(ctx)
    try:
        week = week or latest_week(con)
        if preview or eml:
            d = build_digest(con, week, cb, compare=settings.compare)
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
    if any(r.status == "failed" for r in results):
        raise typer.Exit(EXIT_PARTIAL)


@app.command()
@handles_errors
def dashboard(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option(help="Address to bind; 0.0.0.0 exposes it to your network.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8501,
) -> None:
    """Start the journalists' dashboard (Streamlit) on the store's read-only snapshot."""
    from importlib import resources

    from framewatch.store import connect

    connect(ctx.obj.db).close()  # fail here, clearly, if there is no store to show
    app_path = resources.files("framewatch.dashboards") / "app.py"
    env = {**os.environ, "FRAMEWATCH_DB": str(Path(ctx.obj.db).resolve()),
           "FRAMEWATCH_SQL_TIMEOUT": str(ctx.obj.settings.sql_timeout_s)}  # fmt: skip
    if ctx.obj.config is not None:  # the dashboard's thresholds come from the same file
        env["FRAMEWATCH_CONFIG"] = str(Path(ctx.obj.config).resolve())
    cmd = [sys.executable, "-m", "streamlit", "run", str(app_path), "--server.address", host,
           "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
           "--global.developmentMode", "false", "--client.toolbarMode", "viewer"]  # fmt: skip
    out.print(f"dashboard on http://{host}:{port}  (Ctrl+C stops it)")
    sys.stdout.flush()
    sys.stderr.flush()
    # Become Streamlit (same process id): a signal to framewatch, SIGTERM from a service
    # manager or Ctrl+C, reaches the server itself and leaves no orphan behind.
    os.execve(sys.executable, cmd, env)


# -- outlet groups: attributes, blind spots, framing splits, watches -------------------
outlets_app = typer.Typer(
    help="Outlet attributes (lean, country, owner, ...).", no_args_is_help=True
)
app.add_typer(outlets_app, name="outlets")
watch_app = typer.Typer(help="Saved queries reported when new stories match.", no_args_is_help=True)
app.add_typer(watch_app, name="watch")


def _date(value: str | None, option: str):
    from datetime import date

    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option} must be a date like 2026-11-23, got {value!r}") from None


@outlets_app.command("set")
@handles_errors
def outlets_set(
    ctx: typer.Context,
    outlet: Annotated[str, typer.Argument(help="Outlet name, as in `outlets list`.")],
    assignments: Annotated[list[str], typer.Argument(help="key=value ... (key= removes it).")],
) -> None:
    """Set attributes of an outlet (a feed's name or an imported `source`)."""
    from framewatch.outlets import parse_assignments, set_outlet_attributes, similar_outlets

    attrs = parse_assignments(assignments)
    with ctx.obj.store() as store:
        with store.transaction():
            changed = set_outlet_attributes(store, outlet, attrs, "cli")
        near = similar_outlets(store, outlet)
        store.publish_snapshot()
    out.print(
        f"{outlet}: " + ", ".join(f"{k}={v}" if v else f"{k} removed" for k, v in changed.items()),
        markup=False,
    )
    if outlet not in near:
        hint = f" (did you mean: {', '.join(near)}?)" if near else ""
        err.print(f"note: no source or article is named {outlet!r} yet{hint}", markup=False)


@outlets_app.command("import")
@handles_errors
def outlets_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV: column `outlet`, one column per attribute.")],
) -> None:
    """Set attributes of many outlets from a CSV file (empty cells are left alone)."""
    from framewatch.outlets import import_attributes_csv

    with ctx.obj.store() as store:
        n, unknown = import_attributes_csv(store, file)
        store.publish_snapshot()
    out.print(f"set attributes of {n} outlets from {file}")
    if unknown:
        err.print(f"note: {len(unknown)} of them have no source or article yet: "
                  + ", ".join(unknown[:10]) + (" ..." if len(unknown) > 10 else ""), markup=False)  # fmt: skip


@outlets_app.command("list")
@handles_errors
def outlets_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """Outlets with their attributes and article counts."""
    from dataclasses import asdict

    from framewatch.outlets import list_outlet_attributes

    with ctx.obj.store() as store:
        rows = list_outlet_attributes(store.con)
    if as_json:
        print_json([asdict(r) for r in rows])
        return
    print_table(["outlet", "articles", "attributes"],
                [(r.outlet, r.articles, ", ".join(f"{k}={v}" for k, v in r.attributes.items()))
                 for r in rows])  # fmt: skip


@app.command()
@handles_errors
def blindspots(
    ctx: typer.Context,
    by: Annotated[str, typer.Option("--by", help="Outlet attribute to compare, e.g. lean.")],
    since: Annotated[str | None, typer.Option(help="Articles on or after DATE.")] = None,
    until: Annotated[str | None, typer.Option(help="Articles on or before DATE.")] = None,
    limit: Annotated[int, typer.Option(help="How many stories to show.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """Stories covered (almost) only by some values of an attribute, and who missed them."""
    from framewatch.analysis.blindspots import find_blind_spots
    from framewatch.outlets import require_attribute

    start, end = _date(since, "--since"), _date(until, "--until")
    con = _reader(ctx)
    try:
        require_attribute(con, by)
        spots = find_blind_spots(con, by, ctx.obj.settings.compare, start, end, limit)
    finally:
        con.close()
    if as_json:
        print_json([s.as_json() for s in spots])
        return
    c = ctx.obj.settings.compare
    out.print(f"{len(spots)} blind spots by {by} (at least {c.dominance:.0%} of a story's "
              f"articles from other values, {c.min_articles}+ articles)", markup=False)  # fmt: skip
    print_table(["story", "articles", "covered by", "missing", "days", "headline"],
                [(s.story_id, s.articles, ", ".join(f"{v} {n}" for v, n in s.covered_by.items()),
                  ", ".join(s.missing), f"{s.first_day} – {s.last_day}", s.headline) for s in spots])  # fmt: skip


@app.command()
@handles_errors
def splits(
    ctx: typer.Context,
    by: Annotated[str, typer.Option("--by", help="Outlet attribute to compare, e.g. lean.")],
    codebook: Annotated[
        str | None, typer.Option(help="Codebook id (default: the first configured).")
    ] = None,
    since: Annotated[str | None, typer.Option(help="Articles on or after DATE.")] = None,
    until: Annotated[str | None, typer.Option(help="Articles on or before DATE.")] = None,
    limit: Annotated[int, typer.Option(help="How many stories to show.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """Stories whose outlet groups frame them most differently (Jensen-Shannon divergence)."""
    from framewatch.analysis.splits import find_splits
    from framewatch.outlets import require_attribute

    start, end = _date(since, "--since"), _date(until, "--until")
    cb = codebook or ctx.obj.settings.analysis.codebooks[0]
    con = _reader(ctx)
    try:
        require_attribute(con, by)
        found = find_splits(con, by, cb, ctx.obj.settings.compare, start, end, limit=limit)
    finally:
        con.close()
    if as_json:
        print_json([s.as_json() for s in found])
        return
    for s in found:
        out.print(
            f"\nstory {s.story_id}: divergence {s.divergence:.3f} ({s.pair[0]} vs {s.pair[1]}) — {s.headline}",
            markup=False,
        )
        frames = sorted({f for g in s.groups.values() for f in g})
        print_table(["frame", *(f"{v} ({s.articles[v]})" for v in s.groups)],
                    [(f, *(f"{s.groups[v].get(f, 0):.0%}" for v in s.groups)) for f in frames])  # fmt: skip
        for v, evs in s.evidence.items():
            for e in evs:
                out.print(f"  {v} · {e.frame} · {e.outlet}: “{e.sentence}”", markup=False)
    if not found:
        out.print(f"no story is covered by two or more values of {by} with framed articles")


@watch_app.command("add")
@handles_errors
def watch_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A name for the watch.")],
    words: Annotated[list[str] | None, typer.Argument(help="Words that must all appear.")] = None,
    group: Annotated[str | None, typer.Option(help="Outlet group ATTRIBUTE=VALUE.")] = None,
    frame: Annotated[str | None, typer.Option(help="Primary frame id.")] = None,
    codebook: Annotated[str | None, typer.Option(help="Codebook of --frame and splits.")] = None,
    split_by: Annotated[
        str | None, typer.Option(help="Report framing splits by ATTRIBUTE (default: --group's).")
    ] = None,
) -> None:
    """Save a query: words in a story, an outlet group, a frame."""
    from framewatch.watches import add_watch

    cb = codebook or ctx.obj.settings.analysis.codebooks[0]
    with ctx.obj.store() as store:
        w = add_watch(
            store, name, words=words, group=group, frame=frame, codebook=cb, split_by=split_by
        )
        store.publish_snapshot()
    out.print(f"watch {w.id} {w.name}: {w.describe()}", markup=False)


@watch_app.command("list")
@handles_errors
def watch_list(ctx: typer.Context) -> None:
    """Saved watches."""
    from framewatch.watches import list_watches

    with ctx.obj.store() as store:
        rows = list_watches(store.con)
    print_table(["id", "name", "query"], [(w.id, w.name, w.describe()) for w in rows])


@watch_app.command("remove")
@handles_errors
def watch_remove(
    ctx: typer.Context, key: Annotated[str, typer.Argument(help="Id or name.")]
) -> None:
    """Delete a watch and what it reported."""
    from framewatch.watches import remove_watch

    with ctx.obj.store() as store:
        w = remove_watch(store, key)
        store.publish_snapshot()
    out.print(f"removed watch {w.id} ({w.name})", markup=False)


@watch_app.command("check")
@handles_errors
def watch_check(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """New matches and framing splits since the last check (each reported once)."""
    from dataclasses import asdict

    from framewatch.watches import check_watches

    with ctx.obj.store() as store:
        reports = check_watches(store, ctx.obj.settings.compare)
        store.publish_snapshot()
    if as_json:
        print_json([asdict(r) for r in reports])
        return
    for r in reports:
        out.print(
            f"{r.watch}: new {r.kind} — story {r.story_id}: {r.headline} ({r.detail})", markup=False
        )
    if not reports:
        out.print("nothing new")
