"""Fuzz targets: each parser of untrusted input, fed arbitrary bytes.

A target returns quietly or raises one of the errors its parser promises (a clear
message for the user); anything else is a crash that `make fuzz` reports. Adding a
parser is one line in TARGETS: its name, the function, and the errors it may raise.
"""

from __future__ import annotations

import contextlib
import json
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from framewatch.errors import InputError

_SCRATCH = Path(tempfile.mkdtemp(prefix="framewatch-fuzz-"))


def feeds(data: bytes) -> None:
    """The feed reader never raises: a broken feed costs the feed, never the run."""
    from framewatch.crawler.feeds import discover_feeds, parse_feed

    kinds = [None, "application/rss+xml", "application/atom+xml", "application/feed+json",
             "text/html", "application/json"]  # fmt: skip
    kind = kinds[data[0] % len(kinds)] if data else None
    parsed = parse_feed(data[1:], "https://news.example/feed.xml", kind)
    for e in parsed.entries:
        assert e.key, "every entry needs a key"
        assert e.url is None or e.url.startswith(("http://", "https://")), e.url
    discover_feeds(data, "https://news.example/")


def opml(data: bytes) -> None:
    """The OPML importer: every readable feed, the rest named by line."""
    from framewatch.crawler.opml import parse_opml

    result = parse_opml(data)
    for s in result.sources:
        parts = urlsplit(s.url)
        assert parts.scheme in ("http", "https"), s.url
        assert re.fullmatch(r"[\w.-]+|[0-9a-f:.]+", parts.hostname or ""), s.url
    assert len({s.url for s in result.sources}) == len(result.sources), "a feed imported twice"


def importer(data: bytes) -> None:
    """The corpus importer (JSONL, CSV or Parquet chosen by the first byte): rows or row errors."""
    from framewatch.importer import read_records, validate

    suffix = [".jsonl", ".csv", ".parquet"][data[0] % 3] if data else ".jsonl"
    path = _SCRATCH / f"input{suffix}"
    path.write_bytes(data[1:])
    good, _errors = validate(read_records(path))
    for a in good:
        assert a.title or a.text


def codebook(data: bytes) -> None:
    """The codebook parser, as `codebooks add/validate` reads a file."""
    from framewatch.analysis.framing.codebook import load_codebook_file

    path = _SCRATCH / "codebook.toml"
    path.write_bytes(data)
    cb = load_codebook_file(path)
    assert cb.frames


def query(data: bytes) -> None:
    """The search query language, as `search`, `attention`, watches and SQL's search() read it."""
    from framewatch.analysis.search.parser import describe, parse

    text = data.decode("utf-8", errors="replace")
    node = parse(text)
    assert parse(describe(node)) == node, "a parsed query must read back the same"


# name -> (target, errors it may raise).
TARGETS: dict[str, tuple[Callable[[bytes], None], tuple[type[BaseException], ...]]] = {
    "feeds": (feeds, ()),
    "opml": (opml, (InputError,)),
    "importer": (importer, (InputError,)),
    "codebook": (codebook, (InputError,)),
    "query": (query, (InputError,)),
}


def run_one(name: str, data: bytes) -> None:
    """Run a target on one input; the errors it promises count as a clean answer."""
    fn, allowed = TARGETS[name]
    with contextlib.suppress(*allowed):
        fn(data)


def seeds(name: str) -> list[bytes]:
    """Real-shaped inputs to start from: the sample corpus's feeds, codebooks, a corpus file."""
    from importlib import resources

    from framewatch.crawler.opml import OpmlSource, write_opml
    from framewatch.sample_site import load_corpus, load_outlets, render_feed

    arts = load_corpus()
    if name == "feeds":
        out = []
        for outlet in load_outlets()[:3]:
            mine = [a for a in arts if a.outlet == outlet["id"]][:3]
            body = render_feed(outlet, mine, "https://news.example").encode("utf-8")
            out.append(b"\x01" + body)
        items = [{"id": a.slug, "title": a.title, "content_text": a.text[:400],
                  "date_published": "2026-11-20T10:00:00Z"} for a in arts[:3]]  # fmt: skip
        feed = {"version": "https://jsonfeed.org/version/1.1", "title": "Wire", "items": items}
        out.append(b"\x03" + json.dumps(feed).encode("utf-8"))
        page = '<html><head><link rel="alternate" type="application/rss+xml" href="/rss"></head></html>'
        out.append(b"\x04" + page.encode("utf-8"))
        return out
    if name == "opml":
        path = _SCRATCH / "seed.opml"
        write_opml(path, [OpmlSource(url=f"https://news{i}.example/rss", name=f"News {i} & Co",
                                     site_url=f"https://news{i}.example/", category="World",
                                     language="en", line=i) for i in range(3)])  # fmt: skip
        return [path.read_bytes()]
    if name == "importer":
        rows = [{"title": a.title, "text": a.text[:300], "source": a.outlet,
                 "published_at": "2026-11-20T10:00:00Z", "url": f"https://news.example/{a.slug}"}
                for a in arts[:4]]  # fmt: skip
        jsonl = "\n".join(json.dumps(r) for r in rows).encode("utf-8")
        csv_rows = ["title,text,source,published_at,url"] + [
            f'"{r["title"]}","{r["text"][:80]}",{r["source"]},{r["published_at"]},{r["url"]}'
            for r in rows
        ]
        return [b"\x00" + jsonl, b"\x01" + "\n".join(csv_rows).encode("utf-8")]
    if name == "codebook":
        folder = resources.files("framewatch.analysis.framing") / "codebooks"
        return [(folder / f).read_bytes() for f in ("geopolitics-tech.toml", "policy-frames.toml")]
    if name == "query":
        return [q.encode("utf-8") for q in (
            'vaccine AND (mandate OR mandates) NOT booster lean:right',
            '"supreme court" AND abortion from:2021-06-01 to:2021-06-30',
            '~"open-weight AI models"', 'lang:de Waffengesetz OR "Müller"', 'frame:threat story:3',
        )]  # fmt: skip
    return [b""]
