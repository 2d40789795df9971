"""Pages that failed for a reason that may pass, fetched again on later polls.

The article was stored with the feed's text when its page timed out or the server
failed (5xx). Each later poll of its source fetches the page again once its wait is
over, with the wait doubling after each failure, at most ``crawl.page_retries``
times. When the page is finally read, the article keeps its id and its text is
replaced by the page's, and what was made from the feed's text (its vector, framing
and search entry: ``text_derived``) is dropped, so the next analysis embeds, frames and
indexes the full text. Nothing is stored twice.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import timedelta

from framewatch.articles import content_hash
from framewatch.config import Settings
from framewatch.crawler.downloads import Fetcher
from framewatch.crawler.pages import CLEARLY_LONGER, PageRead, read_page, words
from framewatch.crawler.text_derived import drop_text_derived
from framewatch.store import Store, utcnow


@dataclass
class RetryCounts:
    tried: int = 0
    recovered: int = 0
    gave_up: int = 0


def schedule(
    store: Store, settings: Settings, article_id: int, source_id: int, url: str, error: str
) -> None:
    """Remember a failed page (attempt 1); call in the transaction that stored the article."""
    wait = timedelta(minutes=settings.crawl.page_retry_after_min)
    store.execute(
        "INSERT INTO page_retries (article_id, source_id, url, attempts, last_error, next_attempt_at)"
        " VALUES (?, ?, ?, 1, ?, ?) ON CONFLICT DO NOTHING",
        [article_id, source_id, url, error, utcnow() + wait],
    )


async def retry_due_pages(
    store: Store, settings: Settings, fetcher: Fetcher, pool: Executor, source_id: int
) -> RetryCounts:
    """Fetch the source's failed pages whose wait is over; apply what came back."""
    due = store.execute(
        """SELECT r.article_id, r.url, r.attempts, a.text, a.extraction
           FROM page_retries r JOIN articles a ON a.id = r.article_id
           WHERE r.source_id = ? AND r.next_attempt_at <= ? ORDER BY r.article_id""",
        [source_id, utcnow()],
    ).fetchall()
    counts = RetryCounts(tried=len(due))
    if not due:
        return counts
    reads = await asyncio.gather(*(read_page(fetcher, pool, settings, r[1]) for r in due))
    with store.transaction():
        for row, page in zip(due, reads, strict=True):
            outcome = _apply(store, settings, *row, page)
            counts.recovered += outcome == "recovered"
            counts.gave_up += outcome == "gave_up"
    return counts


def _apply(store, settings, article_id, url, attempts, text, extraction, page: PageRead) -> str:
    tries = attempts + 1
    ext = page.extracted
    if ext is not None and not page.stub:
        _done(store, article_id)
        if extraction == "feed_content" and words(text) >= CLEARLY_LONGER * words(ext.text):
            _note(store, article_id, f"page read on try {tries}; the feed's full text is longer")
            return "kept"
        digest = content_hash(ext.text)
        other = store.execute(  # the outlet already has this text under another URL
            """SELECT o.id FROM articles o JOIN sources os ON os.id = o.source_id,
                      articles a JOIN sources s ON s.id = a.source_id
               WHERE a.id = ? AND o.content_hash = ? AND o.id <> a.id AND os.name = s.name
               ORDER BY o.id LIMIT 1""",
            [article_id, digest],
        ).fetchone()
        if other:
            _note(store, article_id, f"page read on try {tries}: same text as article {other[0]}")
            return "kept"
        store.execute(
            """UPDATE articles SET text = ?, word_count = ?, content_hash = ?, extraction = 'full',
                   extraction_note = ?, site_name = coalesce(site_name, ?),
                   language = coalesce(language, ?) WHERE id = ?""",
            [ext.text, words(ext.text), digest, f"page read on try {tries}", ext.site_name,
             ext.language, article_id],
        )  # fmt: skip
        drop_text_derived(store, article_id)  # recomputed by the next `analyze`
        return "recovered"
    if page.transient and tries <= settings.crawl.page_retries:
        wait = settings.crawl.page_retry_after_min * 2 ** (tries - 1)
        store.execute(
            "UPDATE page_retries SET attempts = ?, last_error = ?, next_attempt_at = ?"
            " WHERE article_id = ?",
            [tries, page.note or page.refused, utcnow() + timedelta(minutes=wait), article_id],
        )
        return "waiting"
    _done(store, article_id)
    reason = page.refused or page.note or "no main text"
    _note(store, article_id, f"{reason}; gave up on the page after {tries} tries")
    return "gave_up"


def _done(store: Store, article_id: int) -> None:
    store.execute("DELETE FROM page_retries WHERE article_id = ?", [article_id])


def _note(store: Store, article_id: int, note: str) -> None:
    store.execute("UPDATE articles SET extraction_note = ? WHERE id = ?", [note, article_id])
