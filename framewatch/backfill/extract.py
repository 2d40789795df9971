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

CUT_SHORT = "cut short by the crawler (WARC-Truncated: "
STUB, CUT, WHOLE = 0, 1, 2  # what a capture gave, least first (``capture_rank``)


def capture_rank(extraction: str | None, note: str | None) -> int:
    """How much of its article a capture gave: a STUB, an article the crawler CUT short
    (it may lack its end), or the WHOLE article. A later capture of the address that
    gives more takes the earlier one's place. An article the crawler stored with its
    feed's summary (its page failed or was a wall) ranks as a stub: the page's capture
    in an archive gives its text."""
    if extraction in ("stub", "feed_summary"):
        return STUB
    return CUT if note and CUT_SHORT in note else WHOLE


def page_article(
    url: str, html: bytes, captured_at: datetime | None, min_words: int,
    truncated: str | None = None,
) -> dict | str:  # fmt: skip
    """The article row's fields, or why the page has none (the crawler's wording).

    ``truncated`` is a WARC-Truncated value: the crawler kept the page's first bytes
    only, and the body may end anywhere (inside a tag, inside a UTF-8 character). Its
    article is stored all the same, as ``full`` or ``stub`` by the same stub test,
    with a note saying the text may lack its end."""
    extracted = extract_article(html, url)
    if extracted is None:
        if truncated:
            return ("extraction found no main text in the part the crawler kept (the page "
                    f"was cut short: WARC-Truncated: {truncated})")  # fmt: skip
        return "extraction found no main text"
    stub = paywall_reason(extracted.text, min_words)
    text = extracted.text
    extraction = "stub" if stub else "full"
    note = stub
    if truncated:
        cut = f"{CUT_SHORT}{truncated}); the text may lack its end"
        note = f"{stub}; {cut}" if stub else cut
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
