"""The crawler against a real HTTP server on loopback: each hostile case gets its behaviour."""

from __future__ import annotations

import asyncio
import gzip

import pytest
from conftest import LOREM, Route, article_html, rss

from framewatch.crawler.downloads import Fetcher, FetchError, RefusedAddress
from framewatch.crawler.fetch import discover_source, feed_state_of, fetch_due
from framewatch.sources import add_source


def _articles(store):
    return store.execute(
        "SELECT url, canonical_url, title, text, extraction, extraction_note FROM articles ORDER BY id"
    ).fetchall()


def _serve_article(srv, path, title, paras=LOREM, **kw):
    srv.routes[path] = Route(article_html(title, paras, **kw))


def test_rss_feed_end_to_end_strips_boilerplate_and_tracking(http_server, store, settings):
    srv = http_server
    _serve_article(srv, "/a1", "Council approves transport budget")
    _serve_article(srv, "/a2", "Harbour tram extension", LOREM[::-1])
    srv.routes["/feed.xml"] = Route(
        rss(
            [
                ("Budget", srv.url("/a1?utm_source=rss&utm_medium=x"), "sum 1"),
                ("Tram", "/a2", "sum 2"),
            ]
        ),  # fmt: skip
        headers={"Content-Type": "application/rss+xml"},
    )
    add_source(store, srv.url("/feed.xml"), name="Loopback")
    report = fetch_due(store, settings)
    assert report.new_articles == 2
    rows = _articles(store)
    assert {r[1] for r in rows} == {srv.url("/a1"), srv.url("/a2")}  # utm_* removed
    # The relative link "/a2" was resolved against the feed's URL and fetched.
    assert srv.hits("/a2")
    text = rows[0][3]
    assert "twelve bus routes" in text
    for furniture in ("Accept cookies", "Trending now", "Celebrity chef", "Copyright 2026"):
        assert furniture not in text
    assert rows[0][4] == "full"
    ua = srv.hits("/a1")[0]["user-agent"]
    assert ua.startswith("framewatch/")


def test_atom_feed_with_relative_links(http_server, store, settings):
    srv = http_server
    _serve_article(srv, "/news/story.html", "An Atom story")
    srv.routes["/atom.xml"] = Route(
        """<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
        <title>Atom News</title><id>urn:x</id><updated>2026-11-10T08:00:00Z</updated>
        <entry><title>An Atom story</title><link href="news/story.html"/><id>urn:1</id>
        <updated>2026-11-10T08:00:00Z</updated><summary>Summary</summary></entry></feed>""",
        headers={"Content-Type": "application/atom+xml"},
    )
    add_source(store, srv.url("/atom.xml"))
    assert fetch_due(store, settings).new_articles == 1
    assert _articles(store)[0][1] == srv.url("/news/story.html")
    published = store.execute("SELECT published_at FROM articles").fetchone()[0]
    assert published.isoformat() == "2026-11-10T08:00:00"


def test_broken_feed_keeps_parseable_entries_and_records_error(http_server, store, settings):
    srv = http_server
    _serve_article(srv, "/ok", "The good entry")
    srv.routes["/broken.xml"] = Route(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>B</title>'
        f"<item><title>The good entry</title><link>{srv.url('/ok')}</link></item>"
        f"<item><title>Broken & unterminated <link>",
        headers={"Content-Type": "application/rss+xml"},
    )
    sid = add_source(store, srv.url("/broken.xml"))
    report = fetch_due(store, settings)
    assert report.new_articles == 1
    assert report.sources[0].status == "partial"
    state = feed_state_of(store, sid)
    assert "malformed feed" in state["last_error"]


def test_not_a_feed_fails_cleanly_and_backs_off(http_server, store, settings):
    srv = http_server
    srv.routes["/nofeed"] = Route("<html><body>just a page</body></html>")
    sid = add_source(store, srv.url("/nofeed"))
    report = fetch_due(store, settings)
    assert report.sources[0].status == "failed"
    state = feed_state_of(store, sid)
    assert state["consecutive_failures"] == 1 and "not a feed" in state["last_error"]
    # Not due again right away: the failure pushed its next poll into the future.
    assert fetch_due(store, settings).sources == []


def test_unreachable_host_is_reported_and_others_still_fetched(http_server, store, settings):
    srv = http_server
    _serve_article(srv, "/a", "Reachable story")
    srv.routes["/feed.xml"] = Route(rss([("A", srv.url("/a"), "s")]))
    add_source(store, "http://127.0.0.1:9/feed.xml", name="Dead host")  # discard port: refused
    add_source(store, srv.url("/feed.xml"), name="Alive")
    report = fetch_due(store, settings)
    by_name = {s.name: s for s in report.sources}
    assert by_name["Dead host"].status == "failed"
    assert "ConnectError" in by_name["Dead host"].errors[0]
    assert by_name["Alive"].new_articles == 1


def test_conditional_get_304_costs_nothing_further(http_server, store, settings):
    srv = http_server
    _serve_article(srv, "/a", "Conditional story")

    def feed(handler):
        if handler.headers.get("If-None-Match") == '"v1"':
            return Route(status=304)
        return Route(rss([("A", srv.url("/a"), "s")]), headers={"ETag": '"v1"'})

    srv.routes["/feed.xml"] = Route(dynamic=feed)
    add_source(store, srv.url("/feed.xml"))
    assert fetch_due(store, settings).new_articles == 1
    report = fetch_due(store, settings, force=True)
    assert report.sources[0].status == "not_modified"
    assert srv.hits("/feed.xml")[-1]["if-none-match"] == '"v1"'
    assert len(srv.hits("/a")) == 1  # the article page was not fetched again
    # A server answering 304 to a request that named no earlier copy is broken: a failure
    # the feed's health shows, not a quiet healthy poll that never brings an article.
    srv.routes["/always304.xml"] = Route(status=304)
    add_source(store, srv.url("/always304.xml"), name="Stuck")
    stuck = next(s for s in fetch_due(store, settings).sources if s.name == "Stuck")
    assert (
        stuck.status == "failed"
        and "304 Not Modified to a request that named no" in (stuck.errors[0])
    )


def test_rerun_over_unchanged_feed_adds_nothing(http_server, store, settings):
    srv = http_server
    _serve_article(srv, "/a", "Stable story")
    srv.routes["/feed.xml"] = Route(rss([("A", srv.url("/a"), "s")]))
    add_source(store, srv.url("/feed.xml"))
    fetch_due(store, settings)
    fetch_due(store, settings, force=True)
    assert len(_articles(store)) == 1
    assert len(srv.hits("/a")) == 1


def test_redirects_followed_and_bounded(http_server, store, settings):
    srv = http_server
    _serve_article(srv, "/final", "Redirected story")
    srv.routes["/moved"] = Route(status=301, headers={"Location": "/final"})
    for i in range(10):
        srv.routes[f"/loop{i}"] = Route(status=302, headers={"Location": f"/loop{i + 1}"})
    srv.routes["/feed.xml"] = Route(
        rss(
            [
                ("Moved", srv.url("/moved"), "moved summary"),
                ("Loop", srv.url("/loop0"), "loop summary"),
            ]
        )
    )
    add_source(store, srv.url("/feed.xml"))
    fetch_due(store, settings)
    rows = {r[0]: r for r in _articles(store)}
    assert rows[srv.url("/moved")][1] == srv.url("/final")
    assert rows[srv.url("/moved")][4] == "full"
    loop = rows[srv.url("/loop0")]
    assert loop[4] == "feed_summary" and "redirects" in loop[5]
    assert loop[3] == "loop summary"
    assert not srv.hits(f"/loop{settings.crawl.max_redirects + 2}")


def test_429_retry_after_is_honoured(http_server, store, settings):
    srv = http_server
    calls = {"n": 0}

    def flaky(handler):
        calls["n"] += 1
        if calls["n"] == 1:
            return Route(status=429, headers={"Retry-After": "1"})
        return Route(article_html("Rate limited story", LOREM))

    srv.routes["/a"] = Route(dynamic=flaky)
    srv.routes["/feed.xml"] = Route(rss([("A", srv.url("/a"), "s")]))
    add_source(store, srv.url("/feed.xml"))
    fetch_due(store, settings)
    assert calls["n"] == 2
    assert _articles(store)[0][4] == "full"


def test_retry_after_beyond_limit_gives_up_with_reason(http_server, settings):
    srv = http_server
    srv.routes["/busy"] = Route(status=503, headers={"Retry-After": "3600"})

    async def go():
        async with Fetcher(settings.crawl) as f:
            await f.get(srv.url("/busy"))

    with pytest.raises(FetchError, match="retry after 3600s"):
        asyncio.run(go())
    assert len(srv.hits("/busy")) == 1


def test_5xx_retried_with_backoff_then_summary_kept(http_server, store, settings):
    srv = http_server
    srv.routes["/down"] = Route(status=500)
    srv.routes["/feed.xml"] = Route(rss([("Down", srv.url("/down"), "the feed summary of it")]))
    add_source(store, srv.url("/feed.xml"))
    fetch_due(store, settings)
    assert len(srv.hits("/down")) == settings.crawl.retries + 1
    row = _articles(store)[0]
    assert row[4] == "feed_summary" and "HTTP 500" in row[5] and row[3] == "the feed summary of it"


def test_slow_response_times_out(http_server, store, settings):
    srv = http_server
    settings.crawl.timeout_s = 0.5
    settings.crawl.retries = 0
    srv.routes["/slow"] = Route(article_html("Slow", LOREM), delay=3)
    srv.routes["/feed.xml"] = Route(rss([("Slow", srv.url("/slow"), "slow summary")]))
    add_source(store, srv.url("/feed.xml"))
    fetch_due(store, settings)
    row = _articles(store)[0]
    assert row[4] == "feed_summary" and "timed out" in row[5]


def test_huge_body_and_gzip_bomb_are_cut_off(http_server, settings):
    srv = http_server
    srv.routes["/huge"] = Route(b"x" * 3_000_000)
    bomb = gzip.compress(b"\0" * 200_000_000, compresslevel=9)
    assert len(bomb) < 300_000
    srv.routes["/bomb"] = Route(bomb, headers={"Content-Encoding": "gzip"})

    async def go(path):
        async with Fetcher(settings.crawl) as f:
            await f.get(srv.url(path))

    for path in ("/huge", "/bomb"):
        with pytest.raises(FetchError, match="limit"):
            asyncio.run(go(path))


def test_gzip_page_is_decoded(http_server, store, settings):
    srv = http_server
    srv.routes["/gz"] = Route(
        gzip.compress(article_html("Compressed story", LOREM).encode()),
        headers={"Content-Encoding": "gzip"},
    )
    srv.routes["/feed.xml"] = Route(rss([("Gz", srv.url("/gz"), "s")]))
    add_source(store, srv.url("/feed.xml"))
    fetch_due(store, settings)
    assert "twelve bus routes" in _articles(store)[0][3]


def test_non_html_content_keeps_feed_summary(http_server, store, settings):
    srv = http_server
    srv.routes["/report.pdf"] = Route(
        b"%PDF-1.7 binary", headers={"Content-Type": "application/pdf"}
    )
    srv.routes["/feed.xml"] = Route(rss([("PDF", srv.url("/report.pdf"), "a pdf report summary")]))
    add_source(store, srv.url("/feed.xml"))
    fetch_due(store, settings)
    row = _articles(store)[0]
    assert row[4] == "feed_summary" and "application/pdf" in row[5]


def test_paywall_stub_keeps_feed_summary(http_server, store, settings):
    srv = http_server
    _serve_article(
        srv, "/paid", "Paid story", ["The first line only.", "Subscribe to continue reading."]
    )
    srv.routes["/feed.xml"] = Route(
        rss([("Paid", srv.url("/paid"), "A longer summary the feed gives away for free.")])
    )
    add_source(store, srv.url("/feed.xml"))
    fetch_due(store, settings)
    row = _articles(store)[0]
    assert row[4] == "feed_summary" and row[5] == "paywall stub"
    assert row[3] == "A longer summary the feed gives away for free."


def test_two_entries_for_one_paywalled_page_are_stored_and_counted_once(
    http_server, store, settings
):
    srv = http_server
    _serve_article(
        srv, "/paid", "Paid story", ["The first line only.", "Subscribe to continue reading."]
    )
    srv.routes["/r1"] = Route(status=301, headers={"Location": "/paid"})
    srv.routes["/r2"] = Route(status=301, headers={"Location": "/paid"})
    srv.routes["/feed.xml"] = Route(
        rss(
            [
                ("One", srv.url("/r1"), "First summary of it."),
                ("Two", srv.url("/r2"), "Second summary."),
            ]
        )
    )
    add_source(store, srv.url("/feed.xml"))
    report = fetch_due(store, settings)
    assert len(_articles(store)) == 1
    assert report.new_articles == 1 and report.sources[0].summary_only == 1


def test_paywall_stub_without_feed_summary_is_kept_and_marked(http_server, store, settings):
    srv = http_server
    _serve_article(
        srv, "/paid", "Paid story", ["The first line only.", "Subscribe to continue reading."]
    )
    srv.routes["/feed.xml"] = Route(rss([("Paid", srv.url("/paid"), "")]))
    add_source(store, srv.url("/feed.xml"))
    fetch_due(store, settings)
    row = _articles(store)[0]
    assert row[4] == "stub" and row[5] == "paywall stub" and "first line only" in row[3]


def test_robots_txt_disallowed_page_is_not_fetched(http_server, store, settings):
    srv = http_server
    srv.routes["/robots.txt"] = Route(
        "User-agent: *\nDisallow: /private/\n", headers={"Content-Type": "text/plain"}
    )
    _serve_article(srv, "/private/secret", "Secret")
    _serve_article(srv, "/public", "Public")
    srv.routes["/feed.xml"] = Route(
        rss(
            [
                ("Secret", srv.url("/private/secret"), "secret summary"),
                ("Public", srv.url("/public"), "p"),
            ]
        )
    )
    add_source(store, srv.url("/feed.xml"))
    fetch_due(store, settings)
    assert not srv.hits("/private/secret")
    assert srv.hits("/public")
    rows = {r[0]: r for r in _articles(store)}
    assert "robots.txt disallows" in rows[srv.url("/private/secret")][5]


def test_entry_pointing_at_private_address_is_refused(http_server, store, settings):
    srv = http_server
    srv.routes["/feed.xml"] = Route(
        rss(
            [
                ("Metadata", "http://169.254.169.254/latest/meta-data/", "creds"),
                ("Internal", "http://10.0.0.7/admin", "internal"),
                ("Localhost", f"http://localhost:{srv.port}/x", "local"),
            ]
        )  # fmt: skip
    )
    srv.routes["/redir"] = Route(status=302, headers={"Location": "http://127.0.0.2/admin"})
    add_source(store, srv.url("/feed.xml"))
    report = fetch_due(store, settings)
    assert report.new_articles == 0
    refused = store.execute(
        "SELECT url, detail FROM crawl_log WHERE outcome = 'refused'"
    ).fetchall()
    assert len(refused) == 3
    assert all("non-public address" in d for _, d in refused)
    assert not srv.hits("/x")

    async def go():
        async with Fetcher(settings.crawl) as f:
            await f.get(srv.url("/redir"))

    with pytest.raises(RefusedAddress):  # a redirect hop is checked too
        asyncio.run(go())


def test_private_networks_refused_by_default_allowed_by_setting(http_server, settings):
    srv = http_server
    srv.routes["/ok"] = Route("fine")
    settings.crawl.allow_hosts = []

    async def go(allow):
        async with Fetcher(settings.crawl, allow_private_networks=allow) as f:
            return await f.get(srv.url("/ok"))

    with pytest.raises(RefusedAddress, match="allow_private_networks"):
        asyncio.run(go(False))
    assert asyncio.run(go(True)).status == 200


def test_per_host_concurrency_is_limited(http_server, store, settings):
    srv = http_server
    settings.crawl.per_host_concurrency = 2
    items = []
    for i in range(8):
        srv.routes[f"/p{i}"] = Route(
            article_html(f"Story {i}", [f"Story number {i}. "] + LOREM), delay=0.2
        )
        items.append((f"S{i}", srv.url(f"/p{i}"), "s"))
    srv.routes["/feed.xml"] = Route(rss(items))
    add_source(store, srv.url("/feed.xml"))
    fetch_due(store, settings)
    assert len(_articles(store)) == 8
    # All pages share one host: requests overlap, but never more than two at once.
    assert srv.peak_in_flight == 2


def test_exact_copy_under_another_url_is_stored_once_and_logged(http_server, store, settings):
    srv = http_server
    _serve_article(srv, "/wire/1", "Wire copy")
    _serve_article(srv, "/partner/1", "Wire copy")
    srv.routes["/feed.xml"] = Route(
        rss([("W", srv.url("/wire/1"), "s"), ("P", srv.url("/partner/1"), "s")])
    )
    add_source(store, srv.url("/feed.xml"))
    report = fetch_due(store, settings)
    assert report.new_articles == 1 and report.sources[0].duplicates == 1
    (url, aid) = store.execute(
        "SELECT url, article_id FROM crawl_log WHERE outcome = 'exact_duplicate'"
    ).fetchone()
    assert aid == store.execute("SELECT id FROM articles").fetchone()[0]
    fetch_due(store, settings, force=True)  # the copy is not fetched again either
    assert len(srv.hits("/partner/1")) == 1


def test_a_wire_story_two_outlets_carry_is_stored_for_each(http_server, store, settings):
    # The same agency text on two outlets' sites is both outlets' coverage: a blind-spot
    # or outlet count must see the second outlet, not a duplicate dropped at the door.
    srv = http_server
    _serve_article(srv, "/herald/wire-1", "Wire copy")
    _serve_article(srv, "/courier/wire-1", "Wire copy")
    srv.routes["/herald.xml"] = Route(rss([("W", srv.url("/herald/wire-1"), "s")]))
    srv.routes["/courier.xml"] = Route(rss([("W", srv.url("/courier/wire-1"), "s")]))
    # the Herald's politics feed links the same text under another URL: the Herald's repeat
    _serve_article(srv, "/herald/politics/wire-1", "Wire copy")
    srv.routes["/herald-politics.xml"] = Route(
        rss([("W", srv.url("/herald/politics/wire-1"), "s")])
    )
    add_source(store, srv.url("/herald.xml"), name="Herald")
    add_source(store, srv.url("/courier.xml"), name="Courier")
    add_source(store, srv.url("/herald-politics.xml"), name="Herald")
    report = fetch_due(store, settings)
    assert report.new_articles == 2
    rows = store.execute(
        """SELECT s.name, a.content_hash FROM articles a JOIN sources s ON s.id = a.source_id
           ORDER BY 1"""
    ).fetchall()
    assert [r[0] for r in rows] == ["Courier", "Herald"] and rows[0][1] == rows[1][1]
    # Feeds are polled concurrently, each committing as it goes: the Herald URL whose feed
    # answers first is stored, the other logged as its repeat.
    herald = {srv.url("/herald/wire-1"), srv.url("/herald/politics/wire-1")}
    stored = {u for (u,) in store.execute("SELECT url FROM articles").fetchall()} & herald
    logged = store.execute("SELECT url, outcome FROM crawl_log").fetchall()
    assert len(stored) == 1 and logged == [((herald - stored).pop(), "exact_duplicate")]


def test_entries_sharing_one_boilerplate_summary_are_each_stored(http_server, store, settings):
    # Pages that cannot be read leave the feed's summary, and some feeds give every entry
    # the same line: the articles differ by title, so none is a copy of another.
    srv = http_server
    srv.routes["/feed.xml"] = Route(
        rss([("Council approves budget", srv.url("/gone/1"), "Read the full story on our site."),
             ("Harbour tram delayed", srv.url("/gone/2"), "Read the full story on our site.")])
    )  # fmt: skip
    add_source(store, srv.url("/feed.xml"))
    assert fetch_due(store, settings).new_articles == 2
    rows = store.execute("SELECT title, extraction FROM articles ORDER BY title").fetchall()
    assert rows == [("Council approves budget", "feed_summary"),
                    ("Harbour tram delayed", "feed_summary")]  # fmt: skip


def test_rel_canonical_is_honoured(http_server, store, settings):
    srv = http_server
    _serve_article(srv, "/amp/story", "AMP story", canonical=srv.url("/story"))
    srv.routes["/feed.xml"] = Route(rss([("A", srv.url("/amp/story"), "s")]))
    add_source(store, srv.url("/feed.xml"))
    fetch_due(store, settings)
    assert _articles(store)[0][1] == srv.url("/story")


def test_autodiscovery_from_a_web_page(http_server, settings):
    srv = http_server
    srv.routes["/"] = Route(
        '<html><head><link rel="alternate" type="application/rss+xml" href="/rss" title="All">'
        "</head><body>Home</body></html>"
    )
    srv.routes["/rss"] = Route(rss([("A", "/a", "s")], title="Discovered News"))
    url, title, _ = asyncio.run(discover_source(srv.url("/"), settings))
    assert url == srv.url("/rss") and title == "Discovered News"
