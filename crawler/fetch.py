"""The fetch stage: poll due feeds, fetch new article pages, store them.

A source's new articles are committed in batches as their pages arrive, the last
batch together with the feed state (ETag, Last-Modified). A run killed before that
last commit leaves the old feed state, so the next run sees the same entries again
and skips those already stored by URL: nothing lost, nothing doubled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

from framewatch.articles import canonical_url, insert_articles, page_fingerprint
from framewatch.config import Settings
from framewatch.crawler import page_retries
from framewatch.crawler.downloads import Fetcher, FetchError, Response
from framewatch.crawler.feeds import FeedEntry, discover_feeds, looks_like_feed, parse_feed
from framewatch.crawler.health import feed_state_of, record_failure, record_success
from framewatch.crawler.pages import choose_text, read_page
from framewatch.sources import POLLED
from framewatch.store import Store, utcnow
from framewatch.words import word_count

log = logging.getLogger(__name__)
COMMIT_EVERY = 16  # pages per transaction: small enough that analysis starts early


@dataclass
class SourceReport:
    source_id: int
    name: str
    status: str = "ok"  # ok | not_modified | partial | failed
    entries: int = 0
    new_articles: int = 0
    summary_only: int = 0
    feed_text: int = 0  # stored with the full text the feed carries
    duplicates: int = 0
    pages_recovered: int = 0  # failed pages read on a later poll
    errors: list[str] = field(default_factory=list)


@dataclass
class FetchReport:
    sources: list[SourceReport] = field(default_factory=list)

    @property
    def new_articles(self) -> int:
        return sum(s.new_articles for s in self.sources)

    @property
    def failed_sources(self) -> list[SourceReport]:
        return [s for s in self.sources if s.status == "failed"]

    def counts(self) -> dict[str, int]:
        return {
            "sources_polled": len(self.sources),
            "sources_failed": len(self.failed_sources),
            "articles_new": self.new_articles,
            "articles_summary_only": sum(s.summary_only for s in self.sources),
            "articles_feed_text": sum(s.feed_text for s in self.sources),
            "pages_recovered": sum(s.pages_recovered for s in self.sources),
            "duplicates": sum(s.duplicates for s in self.sources),
        }


@dataclass
class _Candidate:
    entry: FeedEntry
    row: dict | None = None  # article row to insert
    log_outcome: str | None = None  # crawl_log outcome when not stored
    detail: str | None = None
    retry_error: str | None = None  # the page failed for a passing reason: try again later


class SourceDiscoveryError(ValueError):
    pass


async def discover_source(url: str, settings: Settings) -> tuple[str, str | None, str | None]:
    """The feed URL for a feed or web page URL, with the feed's title and site URL."""
    async with Fetcher(settings.crawl, settings.allow_private_networks) as f:

        async def get(u: str) -> Response:
            try:
                return await f.get(u)
            except FetchError as exc:
                raise SourceDiscoveryError(str(exc)) from exc

        resp = await get(url)
        if resp.status >= 400:
            raise SourceDiscoveryError(f"{url}: HTTP {resp.status}")
        if not looks_like_feed(resp.body, resp.content_type):
            feeds = discover_feeds(resp.body, resp.final_url)
            if not feeds:
                raise SourceDiscoveryError(
                    f"{url} is a web page that announces no feed (no <link rel=alternate>)"
                )
            url = feeds[0]
            resp = await get(url)
        parsed = parse_feed(resp.body, resp.final_url, resp.headers.get("content-type"))
        if not parsed.entries and parsed.error:
            raise SourceDiscoveryError(f"{url}: {parsed.error}")
        return url, parsed.title, parsed.site_url


@dataclass
class FetchEvents:
    """What work running alongside the fetch can wait on."""

    fresh: asyncio.Event = field(default_factory=asyncio.Event)  # new pages are coming
    done: asyncio.Event = field(default_factory=asyncio.Event)  # fetching has ended


def fetch_due(
    store: Store,
    settings: Settings,
    *,
    force: bool = False,
    on_source: Callable[[SourceReport], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    alongside: Callable[[FetchEvents], Awaitable[None]] | None = None,
    rng: random.Random | None = None,
) -> FetchReport:
    """Poll every due source (all of them with ``force``) and store new articles.

    ``alongside(events)`` runs in the same event loop while sources are fetched (the
    pipeline analyses committed articles there). ``rng`` draws the backoff jitter.
    Sources are polled concurrently and each commits its own articles, so a slow or
    dead feed delays no other.
    """
    now = utcnow()
    rows = store.execute(
        f"""SELECT s.id, s.url, s.name, s.language, f.etag, f.last_modified
           FROM sources s LEFT JOIN feed_state f ON f.source_id = s.id
           WHERE {POLLED} AND (? OR f.next_poll_at IS NULL OR f.next_poll_at <= ?)
           ORDER BY s.id""",
        [force, now],
    ).fetchall()
    if on_start:
        on_start(len(rows))
    rng = rng or random.Random()
    with asyncio.Runner() as runner:
        with _signals_held():  # a SIGTERM then would leave a half-built loop behind
            runner.get_loop()
        return runner.run(_fetch_all(store, settings, rows, on_source, alongside, rng))


@contextlib.contextmanager
def _signals_held():
    """SIGINT and SIGTERM wait while the event loop is built: serve's SIGTERM raises
    KeyboardInterrupt wherever it lands, and inside the loop's constructor it left an object
    whose __del__ printed a traceback (and a never-awaited coroutine) into serve's log.
    Delivered on leaving, the stop is the same, with the loop whole and closed."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only
        return
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


async def _fetch_all(store, settings, rows, on_source, alongside, rng) -> FetchReport:
    report = FetchReport()
    events = FetchEvents()
    side = asyncio.create_task(alongside(events)) if alongside else None
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="extract") as pool:
        async with Fetcher(settings.crawl, settings.allow_private_networks) as fetcher:

            async def one(row):
                rep = await _fetch_source(
                    store, settings, fetcher, pool, *row, events=events, rng=rng
                )
                report.sources.append(rep)
                if on_source:
                    on_source(rep)

            try:
                await asyncio.gather(*(one(r) for r in rows))
            except BaseException:
                if side:
                    side.cancel()
                raise
            finally:
                events.done.set()
            if side:
                await side
    return report


def _seen_urls(store: Store, urls: list[str]) -> set[str]:
    if not urls:
        return set()
    rows = store.execute(
        """SELECT url FROM articles WHERE url IN (SELECT unnest(?))
           UNION SELECT canonical_url FROM articles WHERE canonical_url IN (SELECT unnest(?))
           UNION SELECT url FROM crawl_log WHERE url IN (SELECT unnest(?))
                 AND outcome IN ('exact_duplicate', 'refused')""",
        [urls, urls, urls],
    ).fetchall()
    return {r[0] for r in rows}


async def _fetch_source(
    store, settings, fetcher, pool, source_id, url, name, language, etag, lm, events=None,
    rng=None,
):  # fmt: skip
    rep = SourceReport(source_id, name)
    rng = rng or random.Random()
    try:
        resp = await fetcher.get(url, etag=etag, last_modified=lm)
    except FetchError as exc:
        rep.status = "failed"
        rep.errors.append(str(exc))
        record_failure(store, settings, source_id, None, str(exc), rng)
        return rep
    if resp.not_modified and not (etag or lm):  # nothing to compare with: a broken server
        rep.status = "failed"
        msg = f"{url}: HTTP 304 Not Modified to a request that named no earlier copy"
        rep.errors.append(msg)
        record_failure(store, settings, source_id, resp.status, msg, rng)
        return rep
    if resp.not_modified:
        rep.status = "not_modified"
        rep.pages_recovered = await _retry_pages(store, settings, fetcher, pool, source_id)
        record_success(store, settings, source_id, resp.status, None, etag, lm)
        return rep
    if resp.status >= 400:
        rep.status = "failed"
        msg = f"{url}: HTTP {resp.status}"
        rep.errors.append(msg)
        record_failure(store, settings, source_id, resp.status, msg, rng)
        return rep
    # In the extraction pool, not on the event loop: a large feed takes feedparser a
    # second or more, and every other download would wait on it (and could time out).
    parsed = await asyncio.get_running_loop().run_in_executor(
        pool, partial(parse_feed, resp.body, resp.final_url, resp.headers.get("content-type"),
                      key_base=url),
    )  # fmt: skip
    if parsed.error:
        rep.errors.append(parsed.error)
        if not parsed.entries:
            rep.status = "failed"
            record_failure(store, settings, source_id, resp.status, f"{url}: {parsed.error}", rng)
            return rep
        rep.status = "partial"
    rep.entries = len(parsed.entries)
    language = language or parsed.language
    # Entries unseen by canonical URL (or key, for link-less ones); the same twice counts once.
    by_canon: dict[str, FeedEntry] = {}
    for e in parsed.entries:
        ident = canonical_url(e.url) if e.url else e.key
        if ident not in by_canon or not (by_canon[ident].content or by_canon[ident].summary):
            by_canon[ident] = e  # the first entry with text wins
    seen = _seen_urls(store, list(by_canon) + [e.key for e in by_canon.values()])
    fresh = [e for c, e in by_canon.items() if c not in seen and e.key not in seen]
    if fresh and events:
        events.fresh.set()
    tasks = [
        asyncio.ensure_future(_fetch_entry(fetcher, pool, settings, e, source_id, language))
        for e in fresh
    ]
    cands: list[_Candidate] = []
    try:
        for task in tasks:  # all pages in flight at once, stored in feed order
            cands.append(await task)
            if len(cands) == COMMIT_EVERY:
                with store.transaction():  # articles reach the analysis while the rest downloads
                    _store_batch(store, settings, cands, rep)
                cands = []
    finally:
        for task in tasks:
            task.cancel()
        # Let them end before the client closes (a run stopped by SIGTERM or Ctrl+C),
        # and collect what they raised, so none is reported as never retrieved.
        await asyncio.gather(*tasks, return_exceptions=True)
    rep.pages_recovered = await _retry_pages(store, settings, fetcher, pool, source_id)
    with store.transaction():
        _store_batch(store, settings, cands, rep)
        record_success(
            store, settings, source_id, resp.status, parsed.error,
            resp.headers.get("etag"), resp.headers.get("last-modified"),
        )  # fmt: skip
    return rep


async def _retry_pages(store, settings, fetcher, pool, source_id) -> int:
    counts = await page_retries.retry_due_pages(store, settings, fetcher, pool, source_id)
    return counts.recovered


async def _fetch_entry(
    fetcher, pool, settings, entry: FeedEntry, source_id, language
) -> _Candidate:
    cand = _Candidate(entry)
    page = await read_page(fetcher, pool, settings, entry.url) if entry.url else None
    if page is not None and page.refused:
        cand.log_outcome, cand.detail = "refused", page.refused
        return cand
    text, extraction, note = choose_text(entry, page)
    if not text.strip():
        cand.log_outcome, cand.detail = "failed", note or "no text in page or feed"
        return cand
    extracted = page.extracted if page else None
    if entry.url:
        canon = canonical_url(
            extracted.canonical_url if extracted and extracted.canonical_url else page.final_url
        )
    else:
        canon = entry.key
    if page is not None and page.transient and extraction != "full":
        cand.retry_error = page.note
    published = entry.published_at or (extracted.date if extracted else None)
    title = entry.title or (extracted.title if extracted else None)
    cand.row = {
        "source_id": source_id,
        "url": entry.url or entry.key,
        "canonical_url": canon,
        "title": title,
        "author": entry.author or (extracted.author if extracted else None),
        "published_at": published,
        "language": (extracted.language if extracted else None) or language,
        "site_name": extracted.site_name if extracted else None,
        "text": text,
        "summary": entry.summary,
        "word_count": word_count(text),
        "content_hash": page_fingerprint(text, title, extraction),
        # full: the page's main text; feed_content: the feed's own full text (no page,
        # page failed, or the page's text was clearly shorter); feed_summary: the
        # feed's summary; stub: a short page kept because the feed had nothing better.
        "extraction": extraction,
        "extraction_note": note,
    }
    return cand


def _store_batch(
    store: Store, settings: Settings, cands: list[_Candidate], rep: SourceReport
) -> None:
    rows = [c.row for c in cands if c.row]
    new, copies = insert_articles(store, rows)
    rep.new_articles += len(new)
    rep.summary_only += sum(1 for r, _ in new if r["extraction"] == "feed_summary")
    rep.feed_text += sum(1 for r, _ in new if r["extraction"] == "feed_content")
    rep.duplicates += len(copies)
    retry = {id(c.row): c.retry_error for c in cands if c.row and c.retry_error}
    for r, aid in new:
        if id(r) in retry:
            page_retries.schedule(store, settings, aid, r["source_id"], r["url"], retry[id(r)])
    for r, original in copies:
        store.execute(
            "INSERT INTO crawl_log (url, source_id, outcome, article_id, detail) VALUES (?, ?, ?, ?, ?)",
            [r["url"], r["source_id"], "exact_duplicate", original, "same text as an article already stored"],
        )  # fmt: skip
    for c in cands:
        if c.log_outcome:
            store.execute(
                "INSERT INTO crawl_log (url, source_id, outcome, detail) VALUES (?, ?, ?, ?)",
                [c.entry.url or c.entry.key, rep.source_id, c.log_outcome, c.detail],
            )
            rep.errors.append(c.detail or c.log_outcome)
        elif c.row and c.row["extraction_note"]:
            log.info("%s: %s", c.row["url"], c.row["extraction_note"])


__all__ = [
    "fetch_due", "discover_source", "feed_state_of", "FetchReport", "SourceReport",
]  # fmt: skip
