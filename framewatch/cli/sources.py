"""`framewatch sources ...`: the feeds framewatch polls."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from framewatch.cli.base import (
    EXIT_FAILURE,
    EXIT_PARTIAL,
    EXIT_USAGE,
    Ctx,
    UsageError,
    err,
    handles_errors,
    out,
    print_table,
)

sources_app = typer.Typer(help="Manage the feeds framewatch polls.", no_args_is_help=True)


@sources_app.command("add")
@handles_errors
def sources_add(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="A feed URL, or a web page that announces one.")],
    name: Annotated[str | None, typer.Option(help="Outlet name shown everywhere.")] = None,
    country: Annotated[str | None, typer.Option(help="ISO country code, e.g. GB.")] = None,
    language: Annotated[str | None, typer.Option(help="ISO language code, e.g. en.")] = None,
    no_discover: Annotated[
        bool, typer.Option("--no-discover", help="Store the URL as given, offline.")
    ] = False,
) -> None:
    """Add a source; a web page URL is resolved to the feed it announces."""
    from framewatch.crawler.downloads import RefusedAddress
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
            # A refused (private) address is the user's to allow; a dead host is a failure.
            refused = isinstance(exc.__cause__, RefusedAddress)
            raise typer.Exit(EXIT_USAGE if refused else EXIT_FAILURE) from None
    with c.store() as store:
        sid = add_source(
            store, feed_url, name=name or title, site_url=site, country=country,
            language=language, rename=name is not None,
        )  # fmt: skip
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

    configured = {c.url for c in ctx.obj.settings.sources}
    with ctx.obj.store() as store:
        s = remove_source(store, key, configured)
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
    from framewatch.sources import add_source, source_urls

    result = read_opml(file)
    with ctx.obj.store() as store, store.transaction():
        known = source_urls(store)
        for e in result.sources:
            add_source(
                store, e.url, name=e.name, site_url=e.site_url, language=e.language,
                category=e.category, opml_attributes=e.attributes, origin="opml",
            )  # fmt: skip
    with ctx.obj.store() as store:
        store.publish_snapshot()
    new = len({e.url for e in result.sources} - known)
    out.print(f"imported {len(result.sources)} ({new} new, {len(result.sources) - new} already"
              f" sources), skipped {len(result.skipped)} from {file}")  # fmt: skip
    for s in result.skipped:
        err.print(f"  skipped line {s.line}: {s.reason}", markup=False)
    if result.skipped:
        raise typer.Exit(EXIT_PARTIAL)


@sources_app.command("export-opml")
@handles_errors
def sources_export_opml(ctx: typer.Context, file: Path) -> None:
    """Write all sources to an OPML file."""
    from framewatch.crawler.opml import OpmlSource, write_opml
    from framewatch.outlets import list_outlet_attributes
    from framewatch.sources import list_sources

    with ctx.obj.store() as store:
        rows = list_sources(store)
        attrs = {o.outlet: o.attributes for o in list_outlet_attributes(store.con)}
    write_opml(file, [OpmlSource(s.url, s.name, s.site_url, s.category, s.language,
                                 attributes=attrs.get(s.name, {})) for s in rows])  # fmt: skip
    out.print(f"wrote {len(rows)} sources to {file}")
