"""Feed parsing (feedparser on bytes we fetched, JSON Feed by hand) and autodiscovery.

feedparser reads RSS, Atom and RDF but not JSON Feed (jsonfeed.org 1.0 and 1.1),
which is plain JSON and read here with the json module. Both yield the same
entries: an entry without a link is kept under a stable key (its guid/id, else a
hash of its content) so that the next poll recognises it, and the full text a
feed carries (content:encoded, Atom <content>, content_html) travels with it.
"""

from __future__ import annotations

import calendar
import codecs
import functools
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import charset_normalizer
import feedparser

from framewatch.articles import entry_key
from framewatch.language import normalise

FEED_TYPES = {
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/feed+json",
    "application/xml",
    "text/xml",
}
JSON_TYPES = {"application/feed+json", "application/json"}
JSON_FEED_VERSION = "https://jsonfeed.org/version/"
# feedparser flags these as "bozo" although the feed is fine.
_BENIGN = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
_WIDE_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)  # UTF-32's begin with these too
_XML_DECL = re.compile(r"<\?xml\s[^>]*\?>")
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_UTF8_DECL = '<?xml version="1.0" encoding="utf-8"?>'


@dataclass
class FeedEntry:
    url: str | None  # the entry's http(s) link; None when the feed gives none
    title: str | None
    summary: str | None
    published_at: datetime | None
    author: str | None
    guid: str | None
    content: str | None = None  # full text carried in the feed, as plain text
    key: str = ""  # identity across polls: the link, else a key from guid or content


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


def _entry_date(e: dict, language: str | None) -> datetime | None:
    """The entry's date. feedparser reads RFC 822 and ISO 8601; a date written in words
    of the feed's own language ("Пт, 25 окт 2024", "2024年12月5日 10:30") it drops, or
    misreads (that one as 1 December), so such a date is read by dateparser. A date of
    digits only ("01/02/2024") is left as feedparser reads it: its order is the page's
    to tell, not a guess's."""
    get = dict.get  # the stored keys only: feedparser's own get maps a missing "updated" to
    # "published" with a DeprecationWarning
    raw = str(get(e, "published") or get(e, "updated") or "").strip()
    parsed = _to_datetime(get(e, "published_parsed") or get(e, "updated_parsed"))
    if not raw or (parsed is not None and raw.isascii()) or not any(c.isalpha() for c in raw):
        return parsed
    return _worded_date(raw, language) or parsed


_DATE_SETTINGS = {
    "TIMEZONE": "UTC",
    "RETURN_AS_TIMEZONE_AWARE": True,
    "STRICT_PARSING": True,
    "PARSERS": ["custom-formats", "absolute-time"],
}  # fmt: skip  (no "2 hours ago")


@functools.lru_cache(maxsize=4096)  # a feed repeats its entries on every poll
def _worded_date(raw: str, language: str | None) -> datetime | None:
    import dateparser

    # The feed's language (with English, which many feeds date in); any language, which
    # loads every language's data (a second or two, once), only for a feed declaring none.
    tries = [[language, "en"] if language != "en" else ["en"]] if language else [None]
    for languages in tries:
        try:
            when = dateparser.parse(raw, languages=languages, settings=_DATE_SETTINGS)
        except Exception:  # an odd string costs its date, never the feed
            when = None
        if when is not None:
            return when.astimezone(timezone.utc).replace(tzinfo=None)
    return None


def _strip_html(text: str | None) -> str | None:
    """One line of plain text (titles, summaries)."""
    return " ".join((html_to_text(text) or "").split()) or None


_BLOCKS = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr",
           "section", "article", "pre", "figcaption"}  # fmt: skip


def html_to_text(text: str | None) -> str | None:
    """Plain text of feed HTML, one paragraph a line (sentences stay apart for framing)."""
    if not text:
        return None
    out: list[str] = []

    class _P(HTMLParser):
        skip = 0

        def handle_starttag(self, tag: str, attrs: object) -> None:
            if tag in ("script", "style"):
                self.skip += 1
            elif tag in _BLOCKS:
                out.append("\n")

        def handle_endtag(self, tag: str) -> None:
            if tag in ("script", "style"):
                self.skip = max(0, self.skip - 1)
            elif tag in _BLOCKS:
                out.append("\n")

        def handle_data(self, data: str) -> None:
            if not self.skip:
                out.append(data)

    p = _P(convert_charrefs=True)
    p.feed(text)
    p.close()
    lines = (" ".join(line.split()) for line in "".join(out).split("\n"))
    return "\n".join(line for line in lines if line) or None


def _http_link(base: str, link: object) -> str | None:
    """An absolute http(s) link, or None (a javascript: or mailto: link is no article)."""
    if not isinstance(link, str) or not link.strip():
        return None
    try:
        url = urljoin(base, link.strip())
        parts = urlsplit(url)
        return url if parts.scheme in ("http", "https") and parts.hostname else None
    except ValueError:
        return None


def _keyed(entry: FeedEntry, key_base: str) -> FeedEntry | None:
    """Give the entry its identity; None when it has neither link nor anything to store."""
    if entry.url:
        entry.key = entry.url
    else:
        stuff = entry.content or entry.summary or entry.title
        if not stuff and not entry.guid:
            return None
        entry.key = entry_key(key_base, entry.guid, stuff or "")
    return entry


def is_json_feed(body: bytes, content_type: str | None = None) -> bool:
    ct = (content_type or "").split(";")[0].strip().lower()
    head = body[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"{") and (ct in JSON_TYPES or b"jsonfeed.org" in head)


def _declared_encodings(body: bytes, content_type: str | None) -> list[str]:
    """The encodings the HTTP header and the XML declaration name, the header's first."""
    header = _CHARSET.search(content_type or "")
    decl = _XML_ENCODING.match(body[:500])
    names = [header.group(1)] if header else []
    names += [decl.group(1).decode("ascii")] if decl else []
    # gb2312 and gbk feeds use gb18030's characters too (feedparser reads them so).
    return ["gb18030" if n.lower() in ("gb2312", "gbk") else n for n in names]


def _decoded_as(body: bytes, encoding: str) -> str | None:
    """The body in a declared encoding; None for a declaration that cannot be right:
    unknown, not fitting the bytes, or not ASCII-based (UTF-16 named in ASCII bytes)."""
    try:
        if "<?xml".encode(encoding) != b"<?xml":
            return None
        return body.decode(encoding)
    except (LookupError, UnicodeError):
        return None


def feed_text(body: bytes, content_type: str | None) -> str | None:
    """The feed's characters; None where feedparser should read the bytes itself
    (UTF-16/32 by their BOM, and bytes nothing here can read).

    Bytes that are valid UTF-8 are UTF-8, whatever the header or declaration says: a
    Russian feed in UTF-8 served as ``charset=windows-1251`` decodes to mojibake in
    cp1251, and cp1251, GBK or Shift-JIS text is never valid UTF-8. Other bytes are
    read in the encoding they declare; UTF-8 with a stray byte (a summary cut inside
    a character) stays UTF-8, that byte replaced; the rest in the encoding
    charset_normalizer detects (feedparser would guess Latin-1 and garble every title).
    """
    if body.startswith(_WIDE_BOMS) or b"\x00" in body[:4]:
        return None
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    for encoding in _declared_encodings(body, content_type):
        text = _decoded_as(body, encoding)
        if text is not None:
            return text
    if _mostly_utf8(body):
        return body.decode("utf-8-sig", "replace")
    return _detected(body)


def _mostly_utf8(body: bytes) -> bool:
    """UTF-8 text with a few bad bytes: its characters beyond ASCII decode, all but a
    hundredth of them (text in a single-byte code page decodes as almost none)."""
    text = body.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    good = sum(1 for c in text if c > "\x7f") - bad
    return good > 0 and bad <= max(3, good // 100)


def _detected(body: bytes) -> str | None:
    """The body in the encoding charset_normalizer finds likeliest; None when none fits.

    Western text fits several code pages about equally (Italian "lunedì" in cp1258 is
    "luned" and an accent): where the likeliest reads as Latin letters only and
    windows-1252, the web's default for such text, reads the bytes, windows-1252 wins."""
    best = charset_normalizer.from_bytes(body).best()
    if best is None:
        return None
    text = str(best)
    try:
        western = body.decode("cp1252")
    except UnicodeDecodeError:
        return text
    return western if _latin_only(text) and _latin_only(western) else text


def _latin_only(text: str) -> bool:
    """No letter of another script than Latin (marks, digits, punctuation aside)."""
    return all(
        unicodedata.name(c, "").startswith("LATIN") for c in set(text) if c > "\x7f" and c.isalpha()
    )


def _as_utf8(text: str, content_type: str | None) -> tuple[bytes, str | None]:
    """The text as UTF-8 bytes and a content type that both say so, for feedparser."""
    text = text.lstrip("\ufeff \t\r\n")
    decl = _XML_DECL.match(text)
    text = _UTF8_DECL + (text[decl.end() :] if decl else "\n" + text)
    media = (content_type or "").split(";")[0].strip()
    return text.encode("utf-8"), f"{media}; charset=utf-8" if media else None


def parse_feed(
    body: bytes, url: str, content_type: str | None = None, key_base: str | None = None
) -> ParsedFeed:
    """Parse what is parseable; a broken feed yields its good entries plus an error.

    ``key_base`` (the source's URL) scopes the keys of link-less entries.
    """
    key_base = key_base or url
    if is_json_feed(body, content_type):
        return parse_json_feed(body, url, key_base)
    text = feed_text(body, content_type)
    if text is not None:
        body, content_type = _as_utf8(text, content_type)
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    try:
        parsed = feedparser.parse(body, response_headers=headers)
    except Exception as exc:  # hostile bytes must cost the feed, never the run
        return ParsedFeed(None, None, None, "", error=f"unreadable feed ({type(exc).__name__})")
    error = None
    if parsed.bozo and not isinstance(parsed.get("bozo_exception"), _BENIGN):
        error = f"malformed feed: {parsed.get('bozo_exception')}"
    version = parsed.get("version") or ""
    if not version and not parsed.entries:
        error = error or "not a feed (no RSS or Atom content found)"
    feed = parsed.feed
    out = ParsedFeed(
        title=feed.get("title"),
        site_url=urljoin(url, feed["link"]) if feed.get("link") else None,
        language=normalise(feed.get("language")),  # "Russian", "ger", "de-DE": ISO 639-1
        version=version,
        error=error,
    )
    for e in parsed.entries:
        contents = [c.get("value") or "" for c in e.get("content") or [] if isinstance(c, dict)]
        content = html_to_text(max(contents, key=len)) if contents else None
        entry = _keyed(
            FeedEntry(
                url=_http_link(url, e.get("link")),
                title=_strip_html(e.get("title")),
                summary=_strip_html(e.get("summary")),
                published_at=_entry_date(e, out.language),
                author=e.get("author"),
                guid=e.get("id") or None,
                content=content,
            ),
            key_base,
        )
        if entry is not None:
            out.entries.append(entry)
    return out


def _str(v: object) -> str | None:
    return v.strip() or None if isinstance(v, str) else None


def _json_date(v: object) -> datetime | None:
    if not isinstance(v, str):
        return None
    try:
        d = datetime.fromisoformat(v.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if d.tzinfo is not None:
        d = d.astimezone(timezone.utc).replace(tzinfo=None)
    return d


def _json_author(item: dict, feed: dict) -> str | None:
    for holder in (item, feed):
        authors = holder.get("authors")  # 1.1
        if isinstance(authors, list):
            names = [a.get("name") for a in authors if isinstance(a, dict)]
            names = [n.strip() for n in names if isinstance(n, str) and n.strip()]
            if names:
                return ", ".join(names)
        author = holder.get("author")  # 1.0
        if isinstance(author, dict) and _str(author.get("name")):
            return _str(author.get("name"))
    return None


def parse_json_feed(body: bytes, url: str, key_base: str | None = None) -> ParsedFeed:
    """A JSON Feed 1.0 or 1.1 document; anything else is an error, never an exception."""
    key_base = key_base or url
    empty = ParsedFeed(None, None, None, "", error=None)
    try:
        doc = json.loads(body.decode("utf-8-sig", "replace"))
    except (ValueError, RecursionError) as exc:
        empty.error = f"malformed JSON feed: {exc}"
        return empty
    version = doc.get("version") if isinstance(doc, dict) else None
    if not isinstance(version, str) or not version.startswith(JSON_FEED_VERSION):
        empty.error = "not a feed (JSON without a jsonfeed.org version)"
        return empty
    items = doc.get("items")
    out = ParsedFeed(
        title=_strip_html(_str(doc.get("title"))),
        site_url=_http_link(url, doc.get("home_page_url")),
        language=normalise(_str(doc.get("language"))),
        version="json" + version[len(JSON_FEED_VERSION) :].strip("/").replace(".", ""),
        error=None if isinstance(items, list) else "malformed JSON feed: no items list",
    )
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            out.error = out.error or "malformed JSON feed: an item is not an object"
            continue
        raw_id = item.get("id")
        guid = str(raw_id) if isinstance(raw_id, (str, int)) and str(raw_id).strip() else None
        html_body = _str(item.get("content_html"))
        content = html_to_text(html_body) if html_body else _str(item.get("content_text"))
        summary = _str(item.get("summary"))
        entry = _keyed(
            FeedEntry(
                url=_http_link(url, item.get("url")) or _http_link(url, item.get("external_url")),
                title=_strip_html(_str(item.get("title"))),
                summary=_strip_html(summary) if summary else content,
                published_at=_json_date(item.get("date_published"))
                or _json_date(item.get("date_modified")),
                author=_json_author(item, doc),
                guid=guid,
                content=content,
            ),
            key_base,
        )
        if entry is not None:
            out.entries.append(entry)
    return out


def looks_like_feed(body: bytes, content_type: str) -> bool:
    if content_type in FEED_TYPES or is_json_feed(body, content_type):
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
