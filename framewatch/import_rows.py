"""How an export's columns become an article's fields: which column is which, and a
value made clean text or a URL.

Kept apart from the file readers (``framewatch.importer``): exports name the same field a
dozen ways and nest or list values, and that mapping changes for reasons a CSV or JSON
reader never does.
"""

from __future__ import annotations

import ast
import functools
import io
import logging
import re
import tokenize
from collections.abc import Iterable
from typing import Any
from urllib.parse import urljoin, urlsplit

from framewatch.errors import InputError

# Each field's column names (compared without case, spaces, _ or -), best first: a row
# takes the first that has a value, so text wins over description and summary, a
# published date over a crawl date, and a column read for one field is not another's.
FIELDS: dict[str, tuple[str, ...]] = {
    "title": ("title", "headline", "heading", "headlinetext", "webtitle"),
    "text": ("text", "content", "contenthtml", "contenttext", "bodytext", "body", "article",
             "maintext", "fulltext", "articletext", "articlebody", "description",
             "shortdescription", "summary", "leadparagraph", "lead", "abstract"),
    "url": ("url", "link", "articleurl", "weburl", "permalink", "canonicalurl",
            "documentidentifier"),
    "source": ("source", "outlet", "publication", "publisher", "medianame", "sourcename",
               "sitename", "sourcehostname", "sourcecommonname", "domain", "sourcedomain",
               "site"),
    "published_at": ("publishedat", "publisheddate", "webpublicationdate", "publishdate",
                     "publicationdate", "datepublished", "datepublish", "datetimepub",
                     "published", "pubdate", "dategmt", "datetime", "date", "seendate",
                     "timestamp"),
    "language": ("language", "lang", "languagecode", "langcode"),
    "author": ("author", "authors", "byline", "creator"),
}  # fmt: skip
# The row's site, read only to resolve a relative URL ("/news/1") against: Media Cloud's
# media_url, a source_url, site or domain column (a domain also names the outlet).
BASE = ("sourceurl", "mediaurl", "siteurl", "baseurl", "site", "website", "homepage",
        "domain", "sourcedomain")  # fmt: skip


def _norm(name: str) -> str:
    return re.sub(r"[\s_.-]+", "", name.lower())


_FIELD_OF = {n: f for f, names in FIELDS.items() for n in names}  # each name is one field's
_READ = set(_FIELD_OF) | set(BASE)


# Tables holding a picture's or a video's own title and URL, never the article's.
_MEDIA = {"image", "images", "thumbnail", "thumbnails", "media", "multimedia", "logo", "video",
          "videos", "photo", "photos", "enclosure", "enclosures", "icon"}  # fmt: skip
# An API's links to itself (WordPress's and HAL's ``_links``: its "author" is a user's
# endpoint), never lifted: they would hide ``_embedded``'s author.
_LINKS = {"links"}
_NOT_LIFTED = _READ | _MEDIA | _LINKS


def _user_id(key: Any, value: Any) -> bool:
    """An author column holding a number: WordPress's user id, so the row has no author
    of its own and ``_embedded.author`` (``?_embed``) may give one."""
    return _FIELD_OF.get(_norm(str(key))) == "author" and _number(value)


def lifted(rec: dict[str, Any]) -> dict[str, Any]:
    """A row with the keys of its nested tables beside its own where they fill a field the
    row lacks: the Guardian puts the text in ``fields: {bodyText, byline}``, WordPress the
    author's name in ``_embedded`` beside its id. A table under a field's own name
    (NewsAPI's ``source: {id, name}``) stays whole, a picture's table or an API's links
    are never read, and only one level is lifted."""
    nested = [k for k, v in rec.items() if isinstance(v, dict)
              and _norm(str(k)) not in _NOT_LIFTED]  # fmt: skip
    if not nested:
        return rec
    own, _ = resolve([k for k in rec if k not in nested and not _user_id(k, rec[k])])
    out = dict(rec)
    taken = {_norm(str(k)) for k in out if not _user_id(k, out[k])}
    for k in nested:
        for inner, value in rec[k].items():
            if not isinstance(inner, str) or _norm(inner) in taken:
                continue
            field_ = _FIELD_OF.get(_norm(inner))
            if field_ is not None and not own[field_]:
                out[inner] = value
                taken.add(_norm(inner))
    return out


def tables_read(rows: Iterable[dict[str, Any]]) -> set[str]:
    """The nested tables ``lifted`` took a field from in some row (the Guardian's
    ``fields``, Webz.io's ``thread``): read, so not named among the columns not read."""
    read: set[str] = set()
    for rec in rows:
        for k, v in rec.items():
            if (
                k not in read
                and isinstance(v, dict)
                and any(isinstance(i, str) and rec.get(i) is x for i, x in v.items())
            ):
                read.add(k)
    return read


def _answers_to(col: str) -> list[tuple[str, int]]:
    """The names a column answers to, with a rank (lower wins among one name's columns).
    A flattened column (``fields.bodyText``, ``headline.main``, as pandas' json_normalize
    writes nested JSON to CSV) answers to its first part when that names a field and its
    last is a name-like key (``source.title`` is the outlet, not a title), else to its last
    part unless the first is a picture's (``image.url`` is no article's URL)."""
    names = [(_norm(col), 0)]
    parts = [p for p in re.split(r"[./]", col) if p.strip()]
    if len(parts) > 1:
        first, last = _norm(parts[0]), _norm(parts[-1])
        if first in _READ:
            if last in _NAME_KEYS:  # source.name before source.id, as a table is read
                names.append((first, 1 + _NAME_KEYS.index(last)))
        elif first not in _MEDIA:
            names.append((last, 1))
    return names


def _rank(col: str, names: tuple[str, ...]) -> tuple[bool, int, int]:
    """Columns named plainly first, then better names; a flattened one after them all."""
    flat = _norm(col) not in names
    return min((flat, names.index(n), r) for n, r in _answers_to(col) if n in names)


def resolve(columns: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """Each field's columns, best first (and "base": the site columns), and the columns
    nothing reads (in file order)."""
    keys, unread = _resolve(tuple(columns))
    return {f: list(c) for f, c in keys.items()}, list(unread)


@functools.lru_cache(maxsize=256)  # rows of one file share their columns: resolved once
def _resolve(columns: tuple) -> tuple[dict[str, list[str]], list[str]]:
    keys: dict[str, list[str]] = {f: [] for f in (*FIELDS, "base")}
    unread: list[str] = []
    for col in columns:
        if not isinstance(col, str):
            continue
        said = [n for n, _ in _answers_to(col)]
        field_ = next((f for f, names in FIELDS.items() if any(n in names for n in said)), None)
        site = any(n in BASE for n in said)
        if site:
            keys["base"].append(col)
        if field_:
            keys[field_].append(col)
        elif not site:
            unread.append(col)
    for f, names in (*FIELDS.items(), ("base", BASE)):
        keys[f].sort(key=lambda c, names=names: _rank(c, names))
    return keys, unread


# The key holding a nested field's text: NewsAPI's source {"id", "name"}, Event
# Registry's {"uri", "title"}, the NYT Archive's headline {"main", "kicker"} and byline
# {"original": "By ...", "person": [...]}, WordPress's title and content {"rendered": ...}.
_NAME_KEYS = ("name", "main", "title", "id", "uri", "original", "rendered")
# NewsAPI cuts `content` to 200 characters and says how many more there were.
_CUT_MARK = re.compile(r"\s*(?:…|\.\.\.)?\s*\[\+\d+ chars\]\s*$")


# What an API writes in a field a free plan does not get: NewsData.io's "ONLY AVAILABLE
# IN PAID PLANS" (and "... IN PROFESSIONAL AND CORPORATE PLANS"), NewsDataHub's
# "Available on paid plan". The whole value only: an article about plans is text.
_PLAN_ONLY = re.compile(
    r"\s*(?:only\s+)?available\s+(?:in|on|for|with)\s+(?:\w+\s+)*plans?\W*", re.I
)


# What exports write for "no value": pandas' nan/NaT/None/<NA> (``astype(str)``), R's NA,
# SQL's NULL, and NewsAPI's "[Removed]" (an article taken down: every field says so).
_NO_VALUE = {"nan", "nat", "none", "<na>", "na", "n/a", "null", "[removed]"}


def blank(value: Any) -> bool:
    """Whether a value says nothing: none, empty, a missing-value marker, or a paid plan's
    placeholder (stored as the text, it would beat the row's own description)."""
    if value is None or value == "":
        return True
    if not isinstance(value, str) or len(value) >= 80:
        return False
    return value.strip().lower() in _NO_VALUE or _PLAN_ONLY.fullmatch(value) is not None


# A page's address where the outlet's name goes: trafilatura's JSON output writes the
# article's URL as "source" (and the site's name as "source-hostname").
_PAGE_URL = re.compile(r"https?://[^/\s]+/\S+", re.I)
# PowerShell's ConvertTo-Json below its depth writes a table as "@{id=bbc-news; name=BBC}".
_PS_TABLE = re.compile(r"@\{(.*)\}", re.S)


def outlet_text(rec: dict[str, Any], keys: list[str]) -> tuple[str | None, str | None]:
    """The outlet's name, and a page's URL found where a name was looked for (the row's
    URL when it has none of its own); with no name beside it, the page's host is the
    outlet, not the file's name."""
    page = None
    for key in keys:
        value = cell_text(rec, [key])
        if value and _PAGE_URL.fullmatch(value):
            page = page or value
        elif value:
            return value, page
    return (urlsplit(page).hostname if page else None), page


def _ps_table(value: str) -> dict[str, str] | None:
    m = _PS_TABLE.fullmatch(value.strip())
    if not m:
        return None
    pairs = [p.split("=", 1) for p in m.group(1).split(";") if "=" in p]
    return {k.strip(): v.strip() for k, v in pairs} or None


def cell_text(rec: dict[str, Any], keys: list[str], names: tuple[str, ...] = _NAME_KEYS) -> str:
    """A field as clean text: numbers become text, lists are refused, a table gives the
    text of its name-like key (``names``: a text's table has only WordPress's "rendered",
    never an id)."""
    for key in keys:
        value = rec.get(key)
        if isinstance(value, str) and value.startswith("@{"):
            value = _ps_table(value) or value
        if isinstance(value, dict):  # a table of names all blank says nothing, as a blank
            told = any(k in value for k in names)
            value = next(
                (value[k] for k in names if not blank(value.get(k))), None if told else value
            )
        if blank(value):
            continue
        if isinstance(value, (dict, list)):
            raise InputError(
                f"{key} must be text, not a {'list' if isinstance(value, list) else 'table'}"
            )
        return _CUT_MARK.sub("", _storable(str(value))).strip()
    return ""


# Markup in a text column (the Guardian's `body`, WordPress's `content.rendered`, a CMS
# dump): a closing tag or a line break, not merely something shaped like an opening tag
# ("<p.smith@att.com>", "a[i]<b[i] and x>0", "the <p> element" are text).
_MARKUP = re.compile(
    r"</(?:p|div|span|a|b|i|strong|em|h[1-6]|ul|ol|li|figure|blockquote|section|table)\s*>"
    r"|<br\s*/?>",
    re.I,
)
# Only well-formed entities, each once: "&copy=1" in a URL is no entity.
_ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-f]+|[a-z]+\d*);", re.I)  # &#8217; &amp; &nbsp;


def unescaped(text: str) -> str:
    """HTML entities as their letters (``Sch&#252;ler``), each well-formed one once. A
    title gets no more: a headline with a tag in it is shown as written, escaped."""
    if not _ENTITY.search(text):
        return text
    import html

    return _ENTITY.sub(lambda m: html.unescape(m.group()), text)


def plain_text(text: str) -> str:
    """Text with its markup read as a page's text (paragraphs and headings kept apart,
    tags gone), so framing never reads ``<p>`` as words; HTML entities as their letters."""
    if not _MARKUP.search(text):
        return unescaped(text)
    import lxml.html
    import trafilatura

    quiet = logging.getLogger("trafilatura")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # "ERROR empty HTML tree" on a lone <p> is no failure
    try:
        found = trafilatura.extract(
            text, favor_recall=True, include_comments=False, include_formatting=False
        )
    finally:
        quiet.setLevel(level)
    if not found:  # too little for trafilatura: the elements' text, blocks on their own lines
        root = lxml.html.fromstring(text)
        for el in root.iter("p", "div", "br", "li", "h1", "h2", "h3", "h4", "blockquote"):
            el.tail = "\n" + (el.tail or "")
        found = root.text_content()
    return "\n".join(" ".join(line.split()) for line in found.splitlines()).strip()


def _storable(text: str) -> str:
    """Lone surrogates (from JSON escapes) cannot be stored; NULs end strings elsewhere."""
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")


_BY = re.compile(r"^by\s+", re.I)


def author_text(rec: dict[str, Any], keys: list[str]) -> str | None:
    """The author or authors as one text ("Ann Lee, Bo Kim"), or None: NewsAPI writes a
    string, NewsData.io a list of names, Event Registry a list of {"name": ...}, the NYT
    {"original": "By ..."}; a byline's leading "By" is not part of a name."""
    for key in keys:
        value = rec.get(key)
        if isinstance(value, str) and (listed := _listed(value)) is not None:
            value = listed
        names: list[str] = []
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                item = next((item[k] for k in _NAME_KEYS if not blank(item.get(k))), None)
            if blank(item) or _number(item) or _PAGE_URL.fullmatch(str(item).strip()):
                continue  # none, NaN, WordPress's user id ("author": 12), a profile's URL
            if isinstance(item, (dict, list)):
                raise InputError(f"{key} must be a name or a list of names")
            name = _BY.sub("", " ".join(_storable(str(item)).split()))
            if name and name not in names:
                names.append(name)
        if names:
            return ", ".join(names)
    return None


def _number(value: Any) -> bool:
    """Whether an author's value is a number (NaN too): an id, never a person's name."""
    if isinstance(value, str):
        return value.strip().isdecimal()
    return isinstance(value, (int, float))


def _listed(cell: str) -> list[Any] | None:
    """The names in a list column as pandas writes it to CSV: strings ("['Ann Lee', 'Bo
    Kim']", numpy's "['Ann Lee' 'Bo Kim']" too) or tables (a flattened WordPress
    ``_embedded.author``: "[{'id': 12, 'name': 'Ann Lee', 'avatar_urls': {...}}]"), read as a Python
    literal, never run; None when the cell is anything else (text)."""
    text = cell.strip()
    if not text or text[0] not in "[(" or text[-1] not in "])" or len(text) > 10_000:
        return None
    try:
        value = ast.literal_eval(text)
        strings = [t.string for t in tokenize.generate_tokens(io.StringIO(text).readline)
                   if t.type == tokenize.STRING]  # fmt: skip
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError, tokenize.TokenError):
        return None
    if not isinstance(value, (list, tuple)):
        return None
    if all(isinstance(v, str) for v in value):
        # numpy writes no commas, and Python joins neighbouring literals: two names, not one
        return [ast.literal_eval(s) for s in strings] if len(strings) > len(value) else list(value)
    return list(value) if all(isinstance(v, dict) for v in value) else None


# What exports write for "no URL" beyond "no value"; each would make all such rows one
# article.
NO_URL = _NO_VALUE | {"-", "--", "nil", "#", "about:blank"}
# a page's name (story.html, index.php) is a relative URL, not a host
_BARE_HOST = re.compile(
    r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?!(?:s?html?|php\d?|aspx?|jsp|cgi)(?:[/?#]|$))"
    r"[a-z]{2,}(?::\d+)?(?:[/?#]|$)",
    re.I,
)


def clean_url(value: str) -> str | None:
    """A URL as stored: None for a placeholder, https:// before a bare host
    (www.cnn.com/2020/x), which would otherwise be stored as a path."""
    if value.lower() in NO_URL or not value:
        return None
    if value.startswith("//"):
        return f"https:{value}"
    return f"https://{value}" if "://" not in value and _BARE_HOST.match(value) else value


def absolute_url(
    url: str | None, rec: dict[str, Any], base_keys: list[str]
) -> tuple[str | None, str | None]:
    """(the URL to store, a relative URL left unresolved). A relative URL is resolved
    against the row's site; without one it is no URL (one outlet's "/news/1" is not
    another's, and not a link), and the caller says so."""
    try:
        if url is None or urlsplit(url).scheme:
            return url, None
    except ValueError:  # e.g. "http://[::1": left to the URL check to refuse
        return url, None
    for key in base_keys:
        site = clean_url(cell_text(rec, [key]))
        try:
            parts = urlsplit(site) if site else None
        except ValueError:
            continue
        if parts and parts.scheme in ("http", "https") and parts.hostname:
            return urljoin(site if parts.path else f"{site}/", url), None
    return None, url


def column_names(columns: Iterable[str]) -> str:
    """Columns as a user reads them, an export's nameless index column too."""
    return ", ".join(c.strip() or "(unnamed)" for c in columns)


def first_value(rec: dict[str, Any], keys: list[str]) -> tuple[str, Any]:
    """The first of ``keys`` with a value, and that value (a date is read as written)."""
    return next(((k, rec[k]) for k in keys if not blank(rec.get(k))), ("", None))
