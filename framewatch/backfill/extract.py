"""A WARC page made into the article row the crawler would store for the same page.

The crawler's own pieces do the work (trafilatura via ``extract_article``, its stub
test, canonical URLs and content hashes), so a page read from an archive and the same
page fetched live are stored with the same text, canonical URL and fingerprint.
"""

from __future__ import annotations

from datetime import datetime

from framewatch.articles import canonical_url, page_fingerprint
from framewatch.crawler.extract import extract_article, paywall_reason
from framewatch.words import word_count


def page_article(url: str, html: bytes, captured_at: datetime | None, min_words: int) -> dict | str:
    """The article row's fields, or why the page has none (the crawler's wording)."""
    extracted = extract_article(html, url)
    if extracted is None:
        return "extraction found no main text"
    note = paywall_reason(extracted.text, min_words)
    text = extracted.text
    extraction = "stub" if note else "full"
    return {
        "url": url,
        "canonical_url": canonical_url(extracted.canonical_url or url),
        "title": extracted.title,
        "author": extracted.author,
        # an archive has no feed date: the page's own, else when it was captured
        "published_at": extracted.date or captured_at,
        "language": extracted.language,
        "site_name": extracted.site_name,
        "text": text,
        "word_count": word_count(text),
        "content_hash": page_fingerprint(text, extracted.title, extraction),
        "extraction": extraction,
        "extraction_note": note,
    }
