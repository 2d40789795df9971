"""An entry's article page: fetch it, extract it, and choose the text the article keeps.

The text an article keeps comes from the page when the page gives a real article,
else from the feed: the full text a feed carries (``feed_content``), else its
summary (``feed_summary``). The feed's full text also wins when it is clearly longer
than what extraction got (a page that extracts to a teaser, a gallery, a stub).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor
from dataclasses import dataclass

from framewatch.config import Settings
from framewatch.crawler.charsets import html_as_utf8
from framewatch.crawler.downloads import (
    Disallowed,
    Fetcher,
    FetchError,
    RefusedAddress,
    TransientFetchError,
)
from framewatch.crawler.extract import Extracted, extract_article, paywall_reason
from framewatch.crawler.feeds import FeedEntry
from framewatch.words import word_count

HTML_TYPES = {"text/html", "application/xhtml+xml", ""}
CLEARLY_LONGER = 1.5  # the feed's text wins at this many times the extracted words


@dataclass
class PageRead:
    final_url: str
    extracted: Extracted | None = None  # the page's main text, when there is one
    note: str | None = None  # why the page's text is not (all) the article
    stub: bool = False  # the extraction is a paywall stub or too short
    transient: bool = False  # failed for a reason that may pass: worth another try
    refused: str | None = None  # the address is not one framewatch contacts


async def read_page(fetcher: Fetcher, pool: Executor, settings: Settings, url: str) -> PageRead:
    """Fetch and extract one article page; every failure becomes a note, never an exception."""
    try:
        page = await fetcher.get(url, robots=True)
    except RefusedAddress as exc:
        return PageRead(url, refused=str(exc))
    except Disallowed as exc:
        return PageRead(url, note=str(exc))
    except FetchError as exc:
        transient = isinstance(exc, TransientFetchError)
        return PageRead(url, note=f"page fetch failed: {exc}", transient=transient)
    read = PageRead(page.final_url)
    if page.status >= 400:
        read.note = f"page fetch failed: HTTP {page.status}"
        read.transient = page.status >= 500 or page.status in (408, 429)
    elif page.content_type not in HTML_TYPES:
        read.note = f"not an HTML page ({page.content_type})"
    else:
        loop = asyncio.get_running_loop()
        ctype = page.headers.get("content-type", "")
        read.extracted = await loop.run_in_executor(
            pool, _extract, page.body, ctype, read.final_url
        )
        if read.extracted is None:
            read.note = "extraction found no main text"
        else:
            reason = paywall_reason(read.extracted.text, settings.crawl.min_words)
            if reason:
                read.note, read.stub = reason, True
    return read


def _extract(body: bytes, content_type: str, url: str) -> Extracted | None:
    """In the extraction pool: decoding a page is work for it, not for the event loop."""
    return extract_article(html_as_utf8(body, content_type), url)


def words(text: str | None) -> int:
    """The text's words in any script (``framewatch.words``), 0 for none."""
    return word_count(text)


def choose_text(entry: FeedEntry, page: PageRead | None) -> tuple[str, str, str | None]:
    """(text, extraction, note) for an entry; text is '' when neither page nor feed has any.

    extraction: ``full`` (the page), ``feed_content`` (the feed's full text),
    ``feed_summary`` (the feed's summary) or ``stub`` (a short page and nothing better).
    """
    ext = page.extracted if page else None
    feed_text = entry.content
    if ext is not None and not page.stub:
        ew, fw = words(ext.text), words(feed_text)
        if fw and fw >= CLEARLY_LONGER * ew:
            note = f"the feed's full text ({fw} words) is longer than the page's ({ew} words)"
            return feed_text, "feed_content", note
        return ext.text, "full", None
    why = page.note if page else "no link in the feed"
    if feed_text:
        return feed_text, "feed_content", f"{why}; the feed's full text is kept"
    if entry.summary:
        return entry.summary, "feed_summary", why
    if ext is not None:
        return ext.text, "stub", why
    return "", "", why
