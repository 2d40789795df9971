"""Misbehaving news feeds on loopback, on a clock the soak harness moves.

Each of ``n_feeds`` outlets publishes real-length articles (benchmarks.corpus, grown
from the sample corpus) over simulated days; the harness sets ``tick`` and the site
shows what was published by then. Faults are mixed in the way real servers produce
them: timeouts, 429 and 5xx bursts (with Retry-After), slow-drip bodies, malformed and
truncated XML, pages rewritten after publication, and a feed that dies and comes back.
Faults depend on a seeded generator and the request, never on which run asks, so an
interrupted run and an uninterrupted one see the same site.
"""

from __future__ import annotations

import random
import sys
import threading
import time
import zlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from benchmarks.corpus import long_articles
from framewatch.sample_site import SampleArticle, render_feed, render_page

START = datetime(2026, 11, 2, 0, 0)  # a Monday, UTC


@dataclass
class Published:
    feed: int
    tick: int
    art: SampleArticle
    rewritten: bool  # the page changes two ticks after publication


@dataclass
class Faults:
    timeout: float = 0.03  # share of requests answered only after the client gave up
    slow_drip: float = 0.05  # share of bodies sent in small pieces over a second or two
    malformed: float = 0.03  # share of feed answers that are not XML at all
    truncated: float = 0.03  # share of feed answers cut off mid-document
    burst_ticks: float = 0.08  # share of (feed, tick) pairs that start with a 429/503 burst
    burst_len: int = 3  # requests refused in a burst
    dead_feed: int = 0  # this feed answers 503 ...
    dead_ticks: tuple[int, int] = (3, 5)  # ... from the first tick up to (not including) the second
    hang_s: float = 5.0  # how long a "timeout" answer stalls (beyond the client's limit)


class SoakSite:
    """The site; ``with SoakSite(...) as site:`` serves it on 127.0.0.1."""

    def __init__(self, n_feeds: int = 30, days: float = 3.5, tick_hours: float = 6.0,
                 per_feed_day: float = 2.0, seed: int = 5, faults: Faults | None = None):  # fmt: skip
        self.n_feeds, self.tick_hours, self.seed = n_feeds, tick_hours, seed
        self.ticks = int(days * 24 / tick_hours)
        self.faults = faults if faults is not None else Faults()
        self.tick = 0
        rng = random.Random(seed)
        n = int(n_feeds * days * per_feed_day)
        self.outlets = [{"id": f"o{i:02d}", "name": f"Soak Outlet {i:02d}", "tagline": "News",
                         "feed": "atom" if i % 3 == 0 else "rss"} for i in range(n_feeds)]  # fmt: skip
        self.items: list[Published] = []
        for i, art in enumerate(long_articles(n, seed=seed)):
            tick = min(self.ticks - 1, i * self.ticks // n)
            feed = rng.randrange(n_feeds)
            when = START + timedelta(
                hours=tick * tick_hours, minutes=rng.randrange(int(tick_hours * 60))
            )
            art = replace(art, outlet=self.outlets[feed]["id"], outlet_name=self.outlets[feed]["name"],
                          published=when)  # fmt: skip
            self.items.append(Published(feed, tick, art, rng.random() < 0.1))
        self.by_slug = {p.art.slug: p for p in self.items}
        self._counts: dict[tuple, int] = {}
        self._lock = threading.Lock()
        self.requests = 0
        self.faults_served: dict[str, int] = {}
        self.server = _QuietServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    # -- what the harness reads ------------------------------------------------------
    def feed_url(self, i: int) -> str:
        return f"{self.base}/{self.outlets[i]['id']}/feed.xml"

    def published(self, tick: int | None = None) -> list[Published]:
        t = self.tick if tick is None else tick
        return [p for p in self.items if p.tick <= t]

    def feed_up(self, feed: int, tick: int) -> bool:
        f = self.faults
        return not (feed == f.dead_feed and f.dead_ticks[0] <= tick < f.dead_ticks[1])

    # -- serving ---------------------------------------------------------------------
    def _fault(self, kind: str) -> None:
        self.faults_served[kind] = self.faults_served.get(kind, 0) + 1

    def _roll(self, *key) -> random.Random:
        """A generator for this request: the n-th ask of one URL in one tick rolls the same."""
        with self._lock:
            self.requests += 1
            n = self._counts[key] = self._counts.get(key, 0) + 1
        return random.Random(_seed(self.seed, *key, n)), n

    def answer(self, path: str) -> tuple[int, dict[str, str], bytes, str]:
        """(status, headers, body, how to send it: "plain" | "drip" | "hang")."""
        parts = path.strip("/").split("/")
        if len(parts) != 2 or not parts[0].startswith("o") or not parts[0][1:].isdigit():
            return 404, {}, b"not found", "plain"
        feed = int(parts[0][1:])
        if feed >= self.n_feeds:
            return 404, {}, b"not found", "plain"
        tick, f = self.tick, self.faults
        rng, n = self._roll(path, tick)
        if not self.feed_up(feed, tick):
            self._fault("dead")
            return 503, {}, b"service unavailable", "plain"
        if parts[1] == "feed.xml":
            burst = random.Random(_seed(self.seed, feed, tick)).random() < f.burst_ticks
            if burst and n <= f.burst_len:
                self._fault("burst")
                code = 429 if feed % 2 else 503
                return code, {"Retry-After": "1"}, b"slow down", "plain"
            outlet = self.outlets[feed]
            arts = sorted((p.art for p in self.published() if p.feed == feed),
                          key=lambda a: a.published, reverse=True)[:40]  # fmt: skip
            if not arts:  # nothing published yet: an empty, valid feed
                return 200, _xml(), _empty_feed(outlet, self.base).encode(), "plain"
            body = render_feed(outlet, arts, self.base).encode()
            r = rng.random()
            if r < f.malformed:
                self._fault("malformed")
                return 200, _xml(), b"<html><body>Gateway error <b>unclosed", "plain"
            if r < f.malformed + f.truncated:
                self._fault("truncated")
                return 200, _xml(), body[: len(body) // 2], "plain"
            return 200, _xml(), body, self._delivery(rng)
        slug = parts[1].removesuffix(".html")
        p = self.by_slug.get(slug)
        if p is None or p.feed != feed or p.tick > tick:
            return 404, {}, b"not found", "plain"
        art = p.art
        if p.rewritten and tick >= p.tick + 2:  # edited after publication
            self._fault("rewritten")
            art = replace(art, title=art.title + " (updated)",
                          body="Update: this article was corrected.\n\n" + art.body)  # fmt: skip
        others = [q.art for q in self.items[:5]]
        page = render_page(self.outlets[feed], art, others, self.base).encode()
        return 200, {"Content-Type": "text/html; charset=utf-8"}, page, self._delivery(rng)

    def _delivery(self, rng: random.Random) -> str:
        r = rng.random()
        if r < self.faults.timeout:
            self._fault("timeout")
            return "hang"
        if r < self.faults.timeout + self.faults.slow_drip:
            self._fault("slow_drip")
            return "drip"
        return "plain"

    def __enter__(self) -> SoakSite:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """A client killed mid-request (the soak kills it on purpose) is no server error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _seed(*key: object) -> int:
    return zlib.crc32(repr(key).encode())


def _xml() -> dict[str, str]:
    return {"Content-Type": "application/xml; charset=utf-8"}


def _empty_feed(outlet: dict, base: str) -> str:
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f'<title>{outlet["name"]}</title><link>{base}/{outlet["id"]}/</link>'
            f"<description>News</description></channel></rss>")  # fmt: skip


def _handler(site: SoakSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            status, headers, body, how = site.answer(self.path.split("?")[0])
            try:
                if how == "hang":
                    time.sleep(site.faults.hang_s)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if how == "drip":  # about 1.5 s for the whole body, in 20 pieces
                    step = max(1, len(body) // 20)
                    for i in range(0, len(body), step):
                        self.wfile.write(body[i : i + step])
                        self.wfile.flush()
                        time.sleep(0.075)
                else:
                    self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up, as it should on a hang

        def log_message(self, *args: object) -> None:
            pass

    return Handler
