"""Feed parsing (feedparser on bytes we fetched) and feed autodiscovery."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from urllib.parse import urljoin

import feedparser

FEED_TYPES = {
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/feed+json",
    "application/xml",
    "text/xml",
}
# feedparser flags these as "bozo" although the feed is fine.
_BENIGN = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)


@dataclass
class FeedEntry:
    url: str
    title: str | None
    summary: str | None
    published_at: datetime | None
    author: str | None
    guid: str | None


@dataclass
class ParsedFeed:
    title: str | None
    site_url: str | None
    language: str | None
    version: str
    entries: list[FeedEntry] = field(default_factory=list)
    error: str | None = None  # what was wrong with the feed, if anything


def _to_datetime(struct: object) -> datetime | None:
    if not struct:
        return None
    try:
        return datetime.utcfromtimestamp(calendar.timegm(struct))  # type: ignore[arg-type]
    except (OverflowError, ValueError, TypeError):
        return None


def _strip_html(text: str | None) -> str | None:
    if not text:
        return text
    out: list[str] = []

    class _P(HTMLParser):
        def handle_data(self, data: str) -> None:
            out.append(data)

    p = _P()
    p.feed(text)
    return " ".join("".join(out).split()) or None


def parse_feed(body: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse what is parseable; a broken feed yields its good entries plus an error."""
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(body, response_headers=headers)
    error = None
    if parsed.bozo and not isinstance(parsed.get("bozo_exception"), _BENIGN):
        error = f"malformed feed: {parsed.get('bozo_exception')}"
    if not parsed.version and not parsed.entries:
        error = error or "not a feed (no RSS or Atom content found)"
    feed = parsed.feed
    out = ParsedFeed(
        title=feed.get("title"),
        site_url=urljoin(url, feed["link"]) if feed.get("link") else None,
        language=(feed.get("language") or "").split("-")[0].lower() or None,
        version=parsed.version or "",
        error=error,
    )
    for e in parsed.entries:
        link = e.get("link")
        if not link:
            continue
        out.entries.append(
            FeedEntry(
                url=urljoin(url, link),
                title=_strip_html(e.get("title")),
                summary=_strip_html(e.get("summary")),
                published_at=_to_datetime(e.get("published_parsed") or e.get("updated_parsed")),
                author=e.get("author"),
                guid=e.get("id"),
            )
        )
    return out


def looks_like_feed(body: bytes, content_type: str) -> bool:
    if content_type in FEED_TYPES:
        return True
    head = body[:2000].lstrip().lower()
    return head.startswith(b"<?xml") or b"<rss" in head or b"<feed" in head or b"<rdf:rdf" in head


class _LinkFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "link":
            return
        a = {k.lower(): (v or "") for k, v in attrs}
        rels = a.get("rel", "").lower().split()
        if "alternate" in rels and a.get("type", "").lower() in FEED_TYPES and a.get("href"):
            self.links.append((a["href"], a.get("title", "")))


def discover_feeds(html: bytes, page_url: str) -> list[str]:
    """Feed URLs a page announces with <link rel="alternate" type="...rss+xml">."""
    finder = _LinkFinder()
    finder.feed(html.decode("utf-8", "replace"))
    return [urljoin(page_url, href) for href, _ in finder.links]
