"""The bundled sample corpus, served as real feeds and article pages on loopback.

The demo and the tests crawl it with the real crawler, so the pages carry the
furniture real news pages have (navigation, cookie banner, most-read lists,
footer) for extraction to strip.
"""

from __future__ import annotations

import contextlib
import html
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources

import tomllib


@dataclass
class SampleArticle:
    outlet: str
    outlet_name: str
    story: str
    frame: str
    published: datetime
    author: str
    title: str
    body: str
    slug: str

    @property
    def paragraphs(self) -> list[str]:
        return [p.strip() for p in self.body.strip().split("\n\n") if p.strip()]

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:70]


def load_outlets() -> list[dict]:
    data = (resources.files("framewatch") / "sample" / "outlets.toml").read_text("utf-8")
    return tomllib.loads(data)["outlets"]


def load_corpus() -> list[SampleArticle]:
    """The sample articles with their gold story and frame, in publication order."""
    names = {o["id"]: o["name"] for o in load_outlets()}
    data = (resources.files("framewatch") / "sample" / "corpus.toml").read_text("utf-8")
    out = []
    for a in tomllib.loads(data)["articles"]:
        published = datetime.fromisoformat(a["published"].replace("Z", "+00:00")).replace(
            tzinfo=None
        )
        out.append(
            SampleArticle(
                outlet=a["outlet"],
                outlet_name=names[a["outlet"]],
                story=a["story"],
                frame=a["frame"],
                published=published,
                author=a["author"],
                title=a["title"],
                body=a["body"],
                slug=_slug(a["title"]),
            )  # fmt: skip
        )
    return sorted(out, key=lambda a: a.published)


_e = html.escape


def render_page(outlet: dict, art: SampleArticle, others: list[SampleArticle], base: str) -> str:
    nav = " ".join(
        f'<li><a href="/{outlet["id"]}/section/{s}">{s.title()}</a></li>'
        for s in ("world", "business", "technology", "politics", "science", "opinion", "sport")
    )
    most_read = "".join(
        f'<li><a href="/{o.outlet}/{o.slug}.html">{_e(o.title)}</a></li>' for o in others[:5]
    )
    paras = "".join(f"<p>{_e(p)}</p>" for p in art.paragraphs)
    url = f"{base}/{outlet['id']}/{art.slug}.html"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{_e(art.title)} | {_e(outlet["name"])}</title>
<link rel="canonical" href="{url}">
<link rel="alternate" type="application/{"atom" if outlet["feed"] == "atom" else "rss"}+xml" href="/{outlet["id"]}/feed.xml">
<meta name="author" content="{_e(art.author)}">
<meta property="og:site_name" content="{_e(outlet["name"])}">
<meta property="og:title" content="{_e(art.title)}">
<meta property="article:published_time" content="{art.published.isoformat()}Z">
</head><body>
<div class="cookie-banner">We use cookies to improve your experience. <button>Accept all</button> <button>Manage preferences</button></div>
<header><div class="logo">{_e(outlet["name"])}</div><div class="tagline">{_e(outlet["tagline"])}</div>
<nav><ul>{nav}</ul></nav><a href="/subscribe">Subscribe</a> <a href="/login">Sign in</a></header>
<main><article>
<h1>{_e(art.title)}</h1>
<div class="byline">By {_e(art.author)} · {art.published:%d %B %Y %H:%M} UTC</div>
{paras}
</article>
<aside class="share">Share this article: Facebook · X · LinkedIn · Email</aside>
<aside class="most-read"><h2>Most read</h2><ol>{most_read}</ol></aside>
</main>
<footer><div class="newsletter">Get our morning briefing in your inbox. <input placeholder="Email address"> <button>Sign up</button></div>
<p>© 2026 {_e(outlet["name"])}. All rights reserved. <a href="/terms">Terms</a> · <a href="/privacy">Privacy</a> · <a href="/contact">Contact us</a> · <a href="/advertise">Advertise</a></p></footer>
</body></html>"""


def render_feed(outlet: dict, arts: list[SampleArticle], base: str) -> str:
    """RSS 2.0 with absolute (tracked) links, or Atom with relative links."""
    oid = outlet["id"]
    if outlet["feed"] == "atom":
        entries = "".join(
            f"""<entry><title>{_e(a.title)}</title><link href="{a.slug}.html"/>
<id>tag:{oid}.example,2026:{a.slug}</id><updated>{a.published.isoformat()}Z</updated>
<published>{a.published.isoformat()}Z</published><author><name>{_e(a.author)}</name></author>
<summary>{_e(a.paragraphs[0])}</summary></entry>"""
            for a in arts
        )
        return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en"><title>{_e(outlet["name"])}</title>
<link href="{base}/{oid}/"/><id>tag:{oid}.example,2026:feed</id>
<updated>{max(a.published for a in arts).isoformat()}Z</updated>{entries}</feed>"""
    items = "".join(
        f"""<item><title>{_e(a.title)}</title>
<link>{base}/{oid}/{a.slug}.html?utm_source=rss&amp;utm_medium=feed</link>
<guid isPermaLink="false">{oid}-{a.slug}</guid><pubDate>{format_datetime(a.published.replace(tzinfo=None), usegmt=False)}</pubDate>
<dc:creator>{_e(a.author)}</dc:creator><description>{_e(a.paragraphs[0])}</description></item>"""
        for a in arts
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
<title>{_e(outlet["name"])}</title><link>{base}/{oid}/</link><language>en</language>
<description>{_e(outlet["tagline"])}</description>{items}</channel></rss>"""


DEMO_PORT = 8716


class SampleSite:
    def __init__(self, server: ThreadingHTTPServer):
        self.server = server
        host, port = server.server_address[:2]
        self.base = f"http://{host}:{port}"
        self.outlets = load_outlets()

    def feed_url(self, outlet: dict) -> str:
        return f"{self.base}/{outlet['id']}/feed.xml"


def _handler(pages: dict[str, tuple[str, str]]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            path = self.path.split("?")[0]
            if path not in pages:
                self.send_error(404)
                return
            ctype, body = pages[path]
            data = body.encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextlib.contextmanager
def serve_sample_site(host: str = "127.0.0.1", port: int | None = None) -> Iterator[SampleSite]:
    """Serve every outlet's feed and pages until the block ends.

    Without a port, the demo's fixed port is tried first so that a second demo run
    over the same store sees the same URLs; a random free port is the fallback.
    """
    corpus = load_corpus()
    pages: dict[str, tuple[str, str]] = {}
    server = None
    for p in [port] if port is not None else [DEMO_PORT, 0]:
        try:
            server = ThreadingHTTPServer((host, p), _handler(pages))
            break
        except OSError:
            continue
    if server is None:
        raise OSError(f"cannot serve the sample site on {host}:{port}")
    server.daemon_threads = True
    site = SampleSite(server)
    pages["/robots.txt"] = ("text/plain", "User-agent: *\nDisallow: /private/\n")
    for outlet in site.outlets:
        arts = [a for a in corpus if a.outlet == outlet["id"]]
        others = [a for a in corpus if a.outlet != outlet["id"]]
        ctype = "application/atom+xml" if outlet["feed"] == "atom" else "application/rss+xml"
        pages[f"/{outlet['id']}/feed.xml"] = (ctype, render_feed(outlet, arts, site.base))
        for a in arts:
            pages[f"/{outlet['id']}/{a.slug}.html"] = (
                "text/html; charset=utf-8",
                render_page(outlet, a, others, site.base),
            )
    thread = threading.Thread(target=server.serve_forever, name="sample-site", daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
