"""Canonical URLs and content fingerprints: the same article is stored once."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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


def entry_key(feed_url: str, guid: str | None, content: str) -> str:
    """A stable key for a feed entry without a link: its guid within the feed, else its text.

    It stands in for the URL (``articles.url``), so the next poll finds the entry stored.
    """
    basis = f"guid\n{guid.strip()}" if guid and guid.strip() else f"text\n{content_hash(content)}"
    digest = hashlib.sha256(f"{feed_url}\n{basis}".encode()).hexdigest()[:40]
    return f"urn:framewatch:entry:{digest}"
