"""Article identity and insertion: canonical URLs, content fingerprints, one row per article.

The crawler, the importer and backfill all store articles through ``insert_articles``,
so an article is the same article whichever way it arrived.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from framewatch.language import with_language
from framewatch.store import utcnow

if TYPE_CHECKING:
    from framewatch.store import Store

TRACKING_PARAMS = {
    "fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid", "yclid",
    "ocid", "cmpid", "ref", "ref_src", "ref_url", "smid", "sr_share", "cmp", "_ga",
}  # fmt: skip


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, no default port, no fragment, no tracking parameters."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    netloc = (
        host
        if port is None or (scheme, port) in (("http", 80), ("https", 443))
        else f"{host}:{port}"
    )
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in TRACKING_PARAMS
    ]
    query.sort()
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))


_WS = re.compile(r"\s+")


def content_hash(text: str) -> str:
    """Whitespace- and case-insensitive fingerprint of an article's text."""
    norm = _WS.sub(" ", text).strip().lower()
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()


def page_fingerprint(text: str, title: str | None, extraction: str) -> str:
    """The content hash of a crawled or archived page's text. An article's own text
    (``full``, ``feed_content``) is its fingerprint; a stub or a summary is fingerprinted
    with its title, so one boilerplate line ("subscribe to read") over many articles does
    not make them copies of each other."""
    whole = extraction in ("full", "feed_content")
    return content_hash(text if whole else f"{title or ''}\n{text}")


def entry_key(feed_url: str, guid: str | None, content: str) -> str:
    """A stable key for a feed entry without a link: its guid within the feed, else its text.

    It stands in for the URL (``articles.url``), so the next poll finds the entry stored.
    """
    basis = f"guid\n{guid.strip()}" if guid and guid.strip() else f"text\n{content_hash(content)}"
    digest = hashlib.sha256(f"{feed_url}\n{basis}".encode()).hexdigest()[:40]
    return f"urn:framewatch:entry:{digest}"


ARTICLE_COLUMNS = (
    "source_id", "url", "canonical_url", "title", "author", "published_at", "language",
    "site_name", "text", "summary", "word_count", "content_hash", "extraction", "extraction_note",
    "language_confidence", "language_declared",
)  # fmt: skip


def insert_articles(
    store: Store, rows: list[dict]
) -> tuple[list[tuple[dict, int]], list[tuple[dict, int]]]:
    """Insert rows not already stored; returns (row, new id) and (row, existing id) exact copies.

    Call inside a transaction. A row whose canonical URL is already stored, or whose
    text its outlet (a source name) already has, or an earlier row of the batch, is not
    inserted again. The same text from another outlet is stored: a wire story carried by
    two outlets is both outlets' coverage (the story stage marks the later one as an exact
    copy, in the first one's story). An undated row is dated by when framewatch first saw it, marked as inferred, so every path that
    stores articles (crawl, import, backfill) clusters it the same way. A row's
    ``language`` is what its source declared; the stored language is detected from the
    text (see ``framewatch.language``), the declared one kept beside it.
    """
    if not rows:
        return [], []
    canons = [r["canonical_url"] for r in rows]
    hashes = [r["content_hash"] for r in rows]
    existing = store.execute(
        """SELECT a.canonical_url, s.name, a.content_hash, a.id
           FROM articles a LEFT JOIN sources s ON s.id = a.source_id
           WHERE a.canonical_url IN (SELECT unnest(?)) OR a.content_hash IN (SELECT unnest(?))
           ORDER BY a.id""",
        [canons, hashes],
    ).fetchall()
    by_canon = {c: i for c, _, _, i in existing}
    by_text: dict[tuple, int] = {}
    for _, outlet, h, i in existing:
        by_text.setdefault((outlet, h), i)
    # An outlet is a name: its World and Politics feeds listing one article under two
    # URLs are one outlet's repeat, not two outlets' coverage.
    outlet_of = dict(store.execute(
        "SELECT id, name FROM sources WHERE id IN (SELECT unnest(?))",
        [sorted({r["source_id"] for r in rows if r.get("source_id") is not None})],
    ).fetchall())  # fmt: skip
    new: list[tuple[dict, int]] = []
    copies: list[tuple[dict, int]] = []
    placeholders = ", ".join("?" for _ in ARTICLE_COLUMNS)
    sql = (
        f"INSERT INTO articles ({', '.join(ARTICLE_COLUMNS)}, fetched_at, published_at_inferred) "
        f"VALUES ({placeholders}, ?, ?) RETURNING id"
    )
    now = utcnow()
    for r in rows:
        if r["canonical_url"] in by_canon:
            continue
        text_key = (outlet_of.get(r.get("source_id")), r["content_hash"])
        if text_key in by_text:
            copies.append((r, by_text[text_key]))
            continue
        detected = with_language(r)
        values = [detected.get(c) for c in ARTICLE_COLUMNS]
        undated = r.get("published_at") is None
        if undated:
            values[ARTICLE_COLUMNS.index("published_at")] = now
        aid = store.execute(sql, [*values, now, undated]).fetchone()[0]
        by_canon[r["canonical_url"]] = by_text[text_key] = aid
        new.append((r, aid))
    return new, copies
