"""Main-text and metadata extraction with trafilatura."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

import trafilatura
from trafilatura.settings import set_date_params

from framewatch.words import word_count

PAYWALL_MARKERS = (
    "subscribe to continue",
    "subscribe to read",
    "this article is for subscribers",
    "to continue reading",
    "already a subscriber",
    "sign in to read",
    "create a free account to continue",
)
_LANG = re.compile(rb"<html[^>]*\slang=[\"']?([A-Za-z]{2,3})", re.IGNORECASE)


@dataclass
class Extracted:
    text: str
    title: str | None
    author: str | None
    date: datetime | None
    language: str | None
    site_name: str | None
    canonical_url: str | None


def _date_params() -> dict:
    """htmldate's defaults (its latest date is today's, so made per page: serve runs for
    weeks), with the time of day: an archived page (backfill's WARC) has no feed date,
    and "article:published_time" 17:25+01:00 is not midnight. Without its extensive
    search: that reads a page's free text and took a footer's "© 2024" for 1 January
    2024, where the capture time is far closer; the page's metadata, <time> elements and
    URL date are still read."""
    return {**set_date_params(extensive=False), "outputformat": "%Y-%m-%dT%H:%M:%S%z"}


def extract_article(html: bytes, url: str) -> Extracted | None:
    """The article's main text and metadata, or None when there is no main text."""
    try:
        doc = trafilatura.bare_extraction(
            html,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=False,
            date_extraction_params=_date_params(),
        )
    except Exception:  # trafilatura raises assorted errors on hostile markup
        return None
    if doc is None or not (doc.text or "").strip():
        return None
    date = None
    if doc.date:
        try:
            date = datetime.fromisoformat(doc.date)
        except ValueError:
            date = None
        if date is not None and date.tzinfo is not None:  # stored as naive UTC, as feeds' are
            date = date.astimezone(timezone.utc).replace(tzinfo=None)
    lang = doc.language
    if not lang:
        m = _LANG.search(html[:5000])
        lang = m.group(1).decode().lower() if m else None
    return Extracted(
        text=doc.text.strip(),
        title=doc.title,
        author=doc.author,
        date=date,
        language=lang,
        site_name=doc.sitename,
        canonical_url=doc.url if doc.url and doc.url.startswith("http") else None,
    )


def paywall_reason(text: str, min_words: int) -> str | None:
    """Why this text is not the article (a stub), or None if it looks like one.

    Words as ``word_count`` counts them, so a Chinese or Thai article (no spaces
    between words) is not taken for a stub of a few "words"."""
    words = word_count(text)
    lower = text.lower()
    if any(m in lower for m in PAYWALL_MARKERS) and words < 4 * min_words:
        return "paywall stub"
    if words < min_words:
        return f"extracted only {words} words"
    return None
