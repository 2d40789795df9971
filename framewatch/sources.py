"""Sources (feeds) in the store: add, list, remove, sync from config and OPML."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from framewatch.store import Store

if TYPE_CHECKING:
    from framewatch.config import Settings


@dataclass
class Source:
    id: int
    url: str
    name: str
    site_url: str | None
    country: str | None
    language: str | None
    origin: str
    last_error: str | None = None
    consecutive_failures: int = 0
    articles: int = 0
    category: str | None = None
    next_poll_at: datetime | None = None
    last_success_at: datetime | None = None


def default_name(url: str) -> str:
    return urlsplit(url).hostname or url


def add_source(
    store: Store,
    url: str,
    *,
    name: str | None = None,
    site_url: str | None = None,
    country: str | None = None,
    language: str | None = None,
    origin: str = "cli",
    category: str | None = None,
    opml_attributes: dict[str, str] | None = None,
    rename: bool = False,
) -> int:
    """Insert or reactivate a source; given fields overwrite stored ones.

    Except the name, which is the outlet's identity (its attributes, subscribers' filters):
    only the origin that named a source renames it (the config file its own entries, an
    OPML list its own outlines, or ``rename``: `sources add --name`); an OPML list that
    titles a feed added by hand differently does not rename it.
    Country and language also become outlet attributes, so outlets can be grouped by them.
    """
    attrs = json.dumps(opml_attributes, ensure_ascii=False) if opml_attributes else None
    row = store.execute("SELECT id, origin FROM sources WHERE url = ?", [url]).fetchone()
    if row:
        if name is not None and origin != row[1] and not rename:
            name = None
        sid, outlet = store.execute(
            "UPDATE sources SET active = true, name = coalesce(?, name), site_url = coalesce(?, site_url),"
            " country = coalesce(?, country), language = coalesce(?, language),"
            " category = coalesce(?, category), opml_attributes = coalesce(?::JSON, opml_attributes)"
            " WHERE id = ? RETURNING id, name",
            [name, site_url, country, language, category, attrs, row[0]],
        ).fetchone()
    else:
        sid, outlet = store.execute(
            "INSERT INTO sources (url, name, site_url, country, language, origin, category, opml_attributes)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?::JSON) RETURNING id, name",
            [url, name or default_name(url), site_url, country, language, origin, category, attrs],
        ).fetchone()
    given = {k: v for k, v in (("country", country), ("language", language)) if v}
    if opml_attributes or category:
        from framewatch.outlets import opml_outlet_attributes

        given = {**opml_outlet_attributes({**(opml_attributes or {}), "category": category}),
                 **given}  # fmt: skip
    if given:
        from framewatch.outlets import sync_attributes

        sync_attributes(
            store, outlet, given, origin if origin in ("config", "opml", "demo") else "cli"
        )
    return sid


def source_urls(store: Store) -> set[str]:
    """Every source's URL, removed ones included: what an import would add anew."""
    return {r[0] for r in store.execute("SELECT url FROM sources").fetchall()}


# A source that is polled: outlets that came in by `import` or `backfill` (archives, WARC
# files) have no feed, and counting them would make every one a failing feed.
POLLED = "s.active AND s.origin <> 'import'"


def list_sources(store: Store) -> list[Source]:
    rows = store.execute(
        """SELECT s.id, s.url, s.name, s.site_url, s.country, s.language, s.origin,
                  f.last_error, coalesce(f.consecutive_failures, 0),
                  (SELECT count(*) FROM articles a WHERE a.source_id = s.id),
                  s.category, f.next_poll_at, f.last_success_at
           FROM sources s LEFT JOIN feed_state f ON f.source_id = s.id
           WHERE s.active ORDER BY s.id"""
    ).fetchall()
    return [Source(*r) for r in rows]


def remove_source(store: Store, key: str, configured: Collection[str] = ()) -> Source | None:
    """Stop polling a source (by id, URL or name); its articles stay in the store.

    A source the config file still lists (``configured``: its URLs) is refused: every
    command reads the file again and would bring it back, so it is removed there first.
    """
    from framewatch.errors import InputError

    for s in list_sources(store):
        if key in (str(s.id), s.url, s.name):
            if s.origin == "config" and s.url in configured:
                raise InputError(
                    f"source {s.id} ({s.name}) comes from the config file's [[sources]]:"
                    " take it out there, then remove it here (a running `framewatch serve`"
                    " stops polling it on SIGHUP)"
                )
            store.execute("UPDATE sources SET active = false WHERE id = ?", [s.id])
            return s
    return None


def forget_config_sources(store: Store, urls: Collection[str]) -> list[str]:
    """Stop polling config-file sources whose entries were taken out of the file; their
    names. Only sources that came from the config are touched."""
    if not urls:
        return []
    rows = store.execute(
        "UPDATE sources SET active = false WHERE origin = 'config' AND active AND list_contains(?, url)"
        " RETURNING name",
        [sorted(urls)],
    ).fetchall()
    return sorted(r[0] for r in rows)


def sync_config_sources(store: Store, settings: Settings) -> None:
    """The config file's ``[[sources]]`` and their outlet attributes, into the store."""
    from framewatch.outlets import sync_attributes

    for s in settings.sources:
        sid = add_source(
            store, s.url, name=s.name, country=s.country, language=s.language, origin="config"
        )
        if s.attributes:
            name = store.execute("SELECT name FROM sources WHERE id = ?", [sid]).fetchone()[0]
            sync_attributes(store, name, s.attributes)


def totals(store: Store) -> tuple[int, int]:
    """Polled feeds and stored articles: the figures a run's summary starts with."""
    n_sources = store.execute(f"SELECT count(*) FROM sources s WHERE {POLLED}").fetchone()[0]
    n_articles = store.execute("SELECT count(*) FROM articles").fetchone()[0]
    return n_sources, n_articles
