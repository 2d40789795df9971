"""OPML import and export of sources, the format every feed reader speaks.

Published OPML lists are often not well-formed XML: a bare ``&`` in a URL or a
description, an unescaped quote inside a title, a file cut off mid-tag. A strict
parser refuses the whole file for one such character. Here the file is read with
lxml's recovering parser after bare ampersands are escaped (libxml2's recovery
would silently drop ``&x`` from a URL), and every ``<outline`` tag is also read by
a tolerant scanner, so a tag lxml had to give up on still yields its feed. An
outline that cannot be read is reported with its line and the reason.
"""

from __future__ import annotations

import html
import html.entities
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from lxml import etree

from framewatch.errors import InputError
from framewatch.language import normalise


class OpmlError(InputError):
    pass


@dataclass
class OpmlSource:
    url: str
    name: str | None
    site_url: str | None
    category: str | None = None
    language: str | None = None
    line: int | None = None
    # Every attribute of the outline as written (xmlUrl, text, description, custom ones).
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass
class SkippedOutline:
    line: int
    reason: str


@dataclass
class OpmlImport:
    sources: list[OpmlSource] = field(default_factory=list)
    skipped: list[SkippedOutline] = field(default_factory=list)


_XML_ENTITIES = {"amp", "lt", "gt", "quot", "apos"}
_AMP = re.compile(r"&(#[0-9]+;|#[xX][0-9a-fA-F]+;|[A-Za-z][A-Za-z0-9]*;)?")
_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_DECLARED = re.compile(r"""^(\ufeff?\s*<\?xml[^>]*?encoding\s*=\s*["'])[^"']*""")
_TAG = re.compile(r"<outline\b", re.IGNORECASE)
_ATTR = re.compile(
    r"""([A-Za-z_][\w:.-]*)\s*=\s*(?:(["'])(.*?)\2(?=\s+[A-Za-z_][\w:.-]*\s*=|\s*/?\s*>|\s*/?\s*$)"""
    r"""|([^\s"'<>]+))""",
    re.DOTALL,
)
_FEED_TYPES = {"rss", "atom", "feed", "rdf", "json", "jsonfeed"}


def _decode(data: bytes) -> str:
    if data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        enc = "utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    else:
        m = _ENCODING.match(data[:200])
        enc = m.group(1).decode("ascii") if m else "utf-8"
    try:
        return data.decode(enc, "replace")
    except LookupError:
        return data.decode("utf-8", "replace")


def _fix_ampersands(text: str) -> str:
    """Escape bare '&'; turn HTML-only entities (&nbsp;) into their characters."""

    def sub(m: re.Match[str]) -> str:
        ref = m.group(1)
        if ref is None:
            return "&amp;"
        if ref.startswith("#") or ref[:-1] in _XML_ENTITIES:
            return m.group(0)
        char = html.entities.html5.get(ref)
        if char is None:
            return "&amp;" + ref
        return html.escape(char, quote=True)

    return _AMP.sub(sub, text)


def _feed_url(attrs: dict[str, str]) -> str | None:
    low = {k.lower(): v for k, v in attrs.items()}
    url = low.get("xmlurl")
    if url is None and low.get("type", "").lower() in _FEED_TYPES:
        url = low.get("url")
    return None if url is None else url.strip()


# A host name (letters of any script, digits, '-', '.', '_') or an IP address.
_HOST = re.compile(r"[\w.-]+|[0-9A-Fa-f:.]+")


def _valid_url(url: str) -> str | None:
    """The feed URL to store, or None when it is not an http(s) URL."""
    for prefix in ("feed://", "feed:"):
        if url.lower().startswith(prefix):
            url = url[len(prefix) :]
            if not url.lower().startswith(("http://", "https://")):
                url = "http://" + url
            break
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return None  # urlsplit would quietly drop some of these and read another URL
    try:
        parts = urlsplit(url)
        ok = parts.scheme.lower() in ("http", "https") and bool(
            _HOST.fullmatch(parts.hostname or "")
        )
    except ValueError:
        return None
    if not ok:
        return None
    return parts.scheme.lower() + url[len(parts.scheme) :]  # HTTPS://x and https://x are one feed


def _scan_tags(text: str) -> list[tuple[int, dict[str, str], bool, bool]]:
    """Every ``<outline`` tag: (line, attributes read tolerantly, cut off by end of file,
    names an xmlUrl)."""
    out = []
    line, pos = 1, 0
    for m in _TAG.finditer(text):
        line += text.count("\n", pos, m.start())
        pos = m.start()
        start = m.end()
        nxt = text.find("<", start)
        body = text[start:] if nxt < 0 else text[start:nxt]
        end = body.rfind(">")
        truncated = nxt < 0 and end < 0
        if end >= 0:
            body = body[:end]
        attrs: dict[str, str] = {}
        body = body.rstrip()
        for a in _ATTR.finditer(body):
            value = a.group(3) if a.group(2) else a.group(4)
            if not a.group(2) and a.end() == len(body) and value.endswith("/"):
                value = value[:-1]  # the "/" of a self-closing tag, not of the value
            attrs.setdefault(a.group(1), html.unescape(value or ""))
        out.append((line, attrs, truncated, "xmlurl" in body.lower()))
    return out


def _category(el, attrs: dict[str, str]) -> str | None:
    """The outline's own category attribute, else the folder outlines around it."""
    for k, v in attrs.items():
        if k.lower() == "category" and v.strip():
            return v.strip()
    folders = []
    parent = el.getparent() if el is not None else None
    while parent is not None and parent.tag == "outline":
        label = parent.get("title") or parent.get("text")
        if label and label.strip():
            folders.append(label.strip())
        parent = parent.getparent()
    return "/".join(reversed(folders)) or None


def _source(url: str, attrs: dict[str, str], line: int, el) -> OpmlSource:
    low = {k.lower(): v.strip() for k, v in attrs.items()}
    return OpmlSource(
        url=url,
        name=low.get("title") or low.get("text") or None,
        site_url=low.get("htmlurl") or None,
        category=_category(el, attrs),
        language=normalise(low.get("language")),  # "Russian", "ger", "de-DE": ISO 639-1
        line=line,
        attributes=dict(attrs),
    )


def parse_opml(data: bytes) -> OpmlImport:
    """Every readable feed of an OPML document; unreadable outlines are listed by line."""
    text = _fix_ampersands(_decode(data))
    parser = etree.XMLParser(
        recover=True, resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        # The text is decoded already: tell lxml it is UTF-8, whatever the file declared.
        root = etree.fromstring(_DECLARED.sub(r"\g<1>utf-8", text, 1).encode("utf-8"), parser)
    except (etree.XMLSyntaxError, ValueError):
        root = None
    parsed: dict[int, list] = {}  # line -> lxml outline elements on it
    if root is not None:
        for el in root.iter("outline"):
            parsed.setdefault(el.sourceline or 0, []).append(el)

    result = OpmlImport()
    seen: dict[str, int] = {}

    def add(url_raw: str | None, attrs: dict[str, str], line: int, el) -> None:
        url = _valid_url(url_raw) if url_raw else None
        if url is None:
            result.skipped.append(SkippedOutline(line, f"xmlUrl {url_raw!r} is not an http(s) URL"))
        elif url in seen:
            result.skipped.append(SkippedOutline(line, f"same feed as line {seen[url]}"))
        else:
            seen[url] = line
            result.sources.append(_source(url, attrs, line, el))

    used: set[int] = set()
    for line, attrs, truncated, names_url in _scan_tags(text):
        els = parsed.get(line, [])
        scanned_url = _feed_url(attrs)
        # lxml's reading wins where it agrees with the scanner (its entity handling is exact).
        match = next(
            (
                e
                for e in els
                if id(e) not in used
                and _feed_url(_attrs(e)) is not None
                and (scanned_url is None or _feed_url(_attrs(e)) == scanned_url)
            ),
            None,
        )
        if match is not None:
            used.add(id(match))
            add(_feed_url(_attrs(match)), _attrs(match), line, match)
            continue
        folder = next((e for e in els if id(e) not in used and len(e)), None)
        if scanned_url is not None and not truncated:
            # A tag lxml lost or misread: its parent folder is still the one lxml saw.
            near = next((e for e in els if id(e) not in used), None)
            if near is not None:
                used.add(id(near))
            add(scanned_url, attrs, line, near)
        elif truncated:
            if names_url:
                result.skipped.append(SkippedOutline(line, "the file ends inside this outline"))
        elif folder is not None:
            used.add(id(folder))
        elif names_url:
            result.skipped.append(SkippedOutline(line, "its xmlUrl attribute cannot be read"))
        elif _raw_mentions_feed(attrs):
            result.skipped.append(SkippedOutline(line, "a feed outline without xmlUrl"))
        elif not _is_folder(els):
            label = attrs.get("text") or attrs.get("title")
            result.skipped.append(
                SkippedOutline(line, "no xmlUrl (not a feed)" + (f": {label!r}" if label else ""))
            )
    result.skipped.sort(key=lambda s: s.line)
    return result


def _attrs(el) -> dict[str, str]:
    """An lxml element's attributes with namespaced names written as prefix:name."""
    prefixes = {ns: p for p, ns in (el.nsmap or {}).items() if p}
    out = {}
    for k, v in el.attrib.items():
        if k.startswith("{"):
            ns, local = k[1:].split("}", 1)
            k = f"{prefixes[ns]}:{local}" if ns in prefixes else local
        out[k] = v
    return out


def _raw_mentions_feed(attrs: dict[str, str]) -> bool:
    return attrs.get("type", "").lower() in _FEED_TYPES


def _is_folder(els: list) -> bool:
    """An outline on this line that has children: a folder, not a skipped feed."""
    return any(len(e) for e in els)


def read_opml(path: Path) -> OpmlImport:
    """Read an OPML file; only an unreadable file or one without any feed is refused."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise OpmlError(f"{path}: {exc.strerror}") from exc
    result = parse_opml(data)
    if not result.sources:
        detail = "; ".join(f"line {s.line}: {s.reason}" for s in result.skipped[:5])
        raise OpmlError(
            f"{path}: not valid OPML: no readable <outline xmlUrl=...> feed"
            + (f" ({detail})" if detail else "")
        )
    return result


def write_opml(path: Path, sources: list[OpmlSource], title: str = "framewatch sources") -> None:
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    body = ET.SubElement(root, "body")
    for s in sources:
        attrs = {"type": "rss", "text": s.name or s.url, "title": s.name or s.url, "xmlUrl": s.url}
        if s.site_url:
            attrs["htmlUrl"] = s.site_url
        if s.category:
            attrs["category"] = s.category
        if s.language:
            attrs["language"] = s.language
        # The outlet's attributes (lean="right" country="GB"), as import-opml reads them.
        attrs |= {k: v for k, v in sorted(s.attributes.items()) if k not in attrs and v}
        ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
