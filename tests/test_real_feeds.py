"""Feeds as they are in the wild, served on loopback: every entry that carries text is stored.

Fixtures of our own writing, shaped like real feeds: items without <link> (podcast-style
and "notes" feeds), items whose only text is content:encoded, Atom entries with <content>,
JSON Feed 1.0 and 1.1, undated items, and an article page that fails twice and then works.
"""

from __future__ import annotations

import asyncio
import json
import random
import tempfile
from pathlib import Path

from conftest import LOREM, Route, article_html
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from framewatch.crawler.feeds import parse_feed
from framewatch.crawler.fetch import discover_source, fetch_due
from framewatch.sources import add_source
from framewatch.store import connect, open_store, utcnow

RSS_NS = 'xmlns:content="http://purl.org/rss/1.0/modules/content/"'
LONG = [f"Paragraph {i}: " + " ".join(LOREM) for i in range(4)]  # about 270 words
LONG_HTML = "".join(f"<p>{p}</p>" for p in LONG)


def _rss(items: str, title: str = "Wild Feed") -> str:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" {RSS_NS}><channel>'
        f"<title>{title}</title><link>http://wild.example/</link>{items}</channel></rss>"
    )


def _rows(store):
    return {
        r[0]: r
        for r in store.execute(
            "SELECT url, title, text, extraction, extraction_note, published_at, id,"
            " published_at_inferred, fetched_at FROM articles ORDER BY id"
        ).fetchall()
    }


def _travel(store) -> None:
    """Time passes: every waiting page retry is due."""
    store.execute("UPDATE page_retries SET next_attempt_at = ?", [utcnow().replace(year=2000)])


def test_rss_link_less_content_encoded_and_undated_items_are_all_stored(
    http_server, store, settings
):
    srv = http_server
    srv.routes["/page"] = Route(article_html("A normal story", LOREM))
    srv.routes["/teaser"] = Route(
        article_html(
            "Teaser", ["Read the whole story about the harbour tram in our app today."]
        ).replace("<footer>", "<p>" + " ".join(LOREM[:2]) + "</p><footer>")
    )
    srv.routes["/down"] = Route(status=503)
    items = (
        f"<item><title>A normal story</title><link>{srv.url('/page')}</link>"
        "<description>short</description><pubDate>Tue, 10 Nov 2026 08:00:00 GMT</pubDate></item>"
        # No <link>, a non-permalink guid and the full text in content:encoded only.
        '<item><title>Notes from the harbour</title><guid isPermaLink="false">notes-2026-11-10</guid>'
        f"<content:encoded><![CDATA[{LONG_HTML}]]></content:encoded>"
        "<pubDate>Tue, 10 Nov 2026 09:00:00 GMT</pubDate></item>"
        # No <link>, no guid, no date: only a description.
        "<item><title>Undated brief</title><description>The ferry timetable changes on Monday "
        "for the winter season, the operator said.</description></item>"
        # The page is down but the feed carries the full text.
        f"<item><title>Down page</title><link>{srv.url('/down')}</link>"
        f"<content:encoded><![CDATA[<p>Down story.</p>{LONG_HTML}]]></content:encoded></item>"
        # The page extracts to a teaser; the feed's full text is clearly longer.
        f"<item><title>Teaser</title><link>{srv.url('/teaser')}</link>"
        f"<content:encoded><![CDATA[<p>Teaser story.</p>{LONG_HTML}]]></content:encoded></item>"
    )
    srv.routes["/feed.xml"] = Route(_rss(items), headers={"Content-Type": "application/rss+xml"})
    add_source(store, srv.url("/feed.xml"), name="Wild")
    settings.crawl.retries = 0
    report = fetch_due(store, settings)
    rows = _rows(store)
    # Before: the two link-less items were dropped (3 of 5 stored).
    assert report.new_articles == 5 and len(rows) == 5
    by_title = {r[1]: r for r in rows.values()}
    assert by_title["A normal story"][3] == "full"
    notes = by_title["Notes from the harbour"]
    assert notes[0].startswith("urn:framewatch:entry:")
    assert notes[3] == "feed_content" and "no link in the feed" in notes[4]
    assert notes[2].startswith("Paragraph 0:") and "\nParagraph 1:" in notes[2]
    brief = by_title["Undated brief"]
    assert brief[3] == "feed_summary" and "ferry timetable" in brief[2]
    # Undated: dated by when framewatch first saw it, and marked as inferred.
    assert brief[7] is True and brief[5] == brief[8]
    assert by_title["A normal story"][7] is False
    down = by_title["Down page"]
    assert down[3] == "feed_content" and "HTTP 503" in down[4] and "Down story." in down[2]
    teaser = by_title["Teaser"]
    assert teaser[3] == "feed_content" and "longer than the page's" in teaser[4]
    assert store.execute("SELECT url FROM page_retries").fetchall() == [(srv.url("/down"),)]

    # The next poll finds every entry stored, link-less ones included: nothing doubles.
    again = fetch_due(store, settings, force=True)
    assert again.new_articles == 0 and len(_rows(store)) == 5
    assert len(srv.hits("/page")) == 1


def test_atom_entries_without_link_and_with_content(http_server, store, settings):
    srv = http_server
    srv.routes["/gone"] = Route(status=404)
    srv.routes["/atom.xml"] = Route(
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>Atom Wild</title><id>urn:feed</id><updated>2026-11-10T08:00:00Z</updated>"
        "<entry><title>Linkless atom</title><id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id>"
        f'<updated>2026-11-10T08:00:00Z</updated><content type="html">{_esc(LONG_HTML)}</content></entry>'
        f'<entry><title>Gone page</title><link href="{srv.url("/gone")}"/><id>urn:2</id>'
        f'<updated>2026-11-10T09:00:00Z</updated><content type="html">{_esc("<p>Gone.</p>" + LONG_HTML)}</content></entry>'
        "</feed>",
        headers={"Content-Type": "application/atom+xml"},
    )
    add_source(store, srv.url("/atom.xml"))
    assert fetch_due(store, settings).new_articles == 2
    by_title = {r[1]: r for r in _rows(store).values()}
    assert by_title["Linkless atom"][3] == "feed_content"
    assert by_title["Linkless atom"][5].isoformat() == "2026-11-10T08:00:00"
    gone = by_title["Gone page"]
    assert gone[3] == "feed_content" and "HTTP 404" in gone[4]
    # A 404 is not worth another try; only passing failures are retried.
    assert store.execute("SELECT count(*) FROM page_retries").fetchone()[0] == 0
    assert fetch_due(store, settings, force=True).new_articles == 0


def _esc(html: str) -> str:
    return html.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


JSON_FEED_10 = {
    "version": "https://jsonfeed.org/version/1",
    "title": "JSON One",
    "home_page_url": "https://json-one.example/",
    "author": {"name": "Feed Author"},
    "items": [
        {"id": "1", "url": "/p1", "title": "Linked JSON item",
         "content_html": "<p>Short.</p>", "date_published": "2026-11-10T08:00:00+01:00"},
        {"id": 2, "title": "Linkless JSON item", "content_html": LONG_HTML,
         "date_modified": "2026-11-10T10:30:00Z"},
    ],
}  # fmt: skip
JSON_FEED_11 = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "JSON Eleven",
    "language": "de-DE",
    "authors": [{"name": "Redaktion"}],
    "items": [
        {"id": "a", "content_text": "Plain text item without title or date. " * 5},
        {"id": "b", "external_url": "https://elsewhere.example/x", "title": "External link only",
         "summary": "A summary", "content_text": " ".join(LOREM),
         "authors": [{"name": "Ada"}, {"name": "Ben"}]},
        {"id": "c"},  # nothing to store
        "not an item",
    ],
}  # fmt: skip


def test_json_feed_1_0_and_1_1_are_read_and_polled_without_doubles(http_server, store, settings):
    srv = http_server
    settings.crawl.allow_hosts = ["127.0.0.1", "elsewhere.example"]
    settings.crawl.retries = 0
    srv.routes["/p1"] = Route(article_html("Linked JSON item", LOREM))
    srv.routes["/one.json"] = Route(
        json.dumps(JSON_FEED_10), headers={"Content-Type": "application/feed+json"}
    )
    # Served as application/json, as many servers do: detected by its content.
    srv.routes["/eleven.json"] = Route(
        json.dumps(JSON_FEED_11), headers={"Content-Type": "application/json"}
    )
    a = add_source(store, srv.url("/one.json"))
    b = add_source(store, srv.url("/eleven.json"))
    report = fetch_due(store, settings)
    by_source = {s.source_id: s for s in report.sources}
    assert by_source[a].status == "ok" and by_source[a].new_articles == 2
    # "c" has no text and the non-object item is reported: the feed is partial, not failed.
    assert by_source[b].status == "partial" and by_source[b].new_articles == 2
    rows = store.execute(
        "SELECT title, author, published_at, language, extraction, text, published_at_inferred"
        " FROM articles ORDER BY id"
    ).fetchall()
    by_title = {r[0]: r for r in rows}
    linked = by_title["Linked JSON item"]
    assert linked[4] == "full" and linked[1] == "Feed Author"
    assert linked[2].isoformat() == "2026-11-10T07:00:00"  # +01:00 stored as UTC
    assert by_title["Linkless JSON item"][4] == "feed_content"
    assert by_title["Linkless JSON item"][2].isoformat() == "2026-11-10T10:30:00"
    plain = by_title[None]
    assert plain[1] == "Redaktion" and plain[6] is True and plain[3] == "de"
    assert linked[6] is False
    external = by_title["External link only"]
    assert external[1] == "Ada, Ben" and external[4] == "feed_content"
    assert fetch_due(store, settings, force=True).new_articles == 0
    assert store.execute("SELECT count(*) FROM articles").fetchone()[0] == 4


def test_json_feed_is_found_by_autodiscovery(http_server, settings):
    srv = http_server
    srv.routes["/"] = Route(
        '<html><head><link rel="alternate" type="application/feed+json" href="/feed.json"'
        ' title="JSON"></head><body>Home</body></html>'
    )
    srv.routes["/feed.json"] = Route(
        json.dumps(JSON_FEED_11), headers={"Content-Type": "application/feed+json"}
    )
    url, title, _ = asyncio.run(discover_source(srv.url("/"), settings))
    assert url == srv.url("/feed.json") and title == "JSON Eleven"


def test_json_that_is_not_a_json_feed_fails_with_a_clear_error(http_server, store, settings):
    srv = http_server
    srv.routes["/api.json"] = Route(
        '{"data": [1, 2]}', headers={"Content-Type": "application/json"}
    )
    add_source(store, srv.url("/api.json"))
    report = fetch_due(store, settings, rng=random.Random(1))
    assert report.sources[0].status == "failed"
    assert "jsonfeed.org" in report.sources[0].errors[0]


def test_page_that_fails_twice_then_succeeds_replaces_the_feed_text(http_server, store, settings):
    srv = http_server
    settings.crawl.retries = 0  # no retry inside a poll: each poll tries the page once
    calls = {"n": 0}

    def flaky(handler):
        calls["n"] += 1
        if calls["n"] <= 2:
            return Route(status=503)
        return Route(article_html("Flaky story", LOREM))

    srv.routes["/flaky"] = Route(dynamic=flaky)
    srv.routes["/feed.xml"] = Route(
        _rss(f"<item><title>Flaky story</title><link>{srv.url('/flaky')}</link>"
             "<description>The feed's one-line summary.</description></item>")
    )  # fmt: skip
    add_source(store, srv.url("/feed.xml"))

    fetch_due(store, settings)  # try 1: HTTP 503
    (aid, text, how, note) = store.execute(
        "SELECT id, text, extraction, extraction_note FROM articles"
    ).fetchone()
    assert how == "feed_summary" and text == "The feed's one-line summary." and "503" in note
    first_wait = store.execute("SELECT next_attempt_at FROM page_retries").fetchone()[0]
    assert first_wait > utcnow()
    # Framing of the summary exists; it must go when the text changes.
    store.execute(
        "INSERT INTO article_framing VALUES (?, 'cb', 'f', 0.5, 0.5, 1, 'zero-shot', 'v', now())",
        [aid],
    )

    fetch_due(store, settings, force=True)  # the retry's wait is not over: not fetched
    assert calls["n"] == 1

    _travel(store)
    fetch_due(store, settings, force=True)  # try 2: HTTP 503 again, a longer wait
    assert calls["n"] == 2
    attempts, wait2 = store.execute("SELECT attempts, next_attempt_at FROM page_retries").fetchone()
    assert attempts == 2 and wait2 - utcnow() > first_wait - utcnow()

    _travel(store)
    report = fetch_due(store, settings, force=True)  # try 3: the page answers
    assert calls["n"] == 3 and report.counts()["pages_recovered"] == 1
    rows = store.execute("SELECT id, text, extraction, extraction_note FROM articles").fetchall()
    assert len(rows) == 1
    assert rows[0][0] == aid and rows[0][2] == "full" and "twelve bus routes" in rows[0][1]
    assert rows[0][3] == "page read on try 3"
    assert store.execute("SELECT count(*) FROM page_retries").fetchone()[0] == 0
    assert store.execute("SELECT count(*) FROM article_framing").fetchone()[0] == 0

    _travel(store)
    fetch_due(store, settings, force=True)
    assert calls["n"] == 3  # done: never fetched again


def test_page_that_never_comes_back_is_tried_a_bounded_number_of_times(
    http_server, store, settings
):
    srv = http_server
    settings.crawl.retries = 0
    settings.crawl.page_retries = 2
    srv.routes["/dead"] = Route(status=500)
    srv.routes["/feed.xml"] = Route(
        _rss(f"<item><title>Dead</title><link>{srv.url('/dead')}</link>"
             "<description>Only the summary.</description></item>")
    )  # fmt: skip
    add_source(store, srv.url("/feed.xml"))
    for _ in range(5):
        fetch_due(store, settings, force=True)
        _travel(store)
    assert len(srv.hits("/dead")) == 3  # the first try and two retries
    text, note = store.execute("SELECT text, extraction_note FROM articles").fetchone()
    assert text == "Only the summary." and "gave up on the page after 3 tries" in note


# -- property-based: whatever a feed contains, nothing raises and nothing doubles ------
@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000))
def test_parse_feed_never_raises_on_arbitrary_bytes(data):
    for ct in (None, "application/rss+xml", "application/feed+json", "application/json"):
        parsed = parse_feed(data, "http://feed.example/x", ct)
        assert all(e.key for e in parsed.entries)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300), st.text(max_size=60))
def test_json_feed_with_arbitrary_html_never_raises(html, title):
    doc = {"version": "https://jsonfeed.org/version/1", "title": title,
           "items": [{"id": title, "content_html": html, "url": title, "title": html}]}  # fmt: skip
    raw = json.dumps(doc).encode()
    for data in (raw, raw[: len(raw) // 2]):
        parsed = parse_feed(data, "http://feed.example/x", "application/feed+json")
        assert all(e.key and (e.url is None or e.url.startswith("http")) for e in parsed.entries)


_text = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=40)
_item = st.fixed_dictionaries(
    {
        "title": _text,
        "guid": st.one_of(st.none(), st.sampled_from(["g1", "g2", "g3"]), _text),
        "body": st.one_of(st.none(), _text, st.sampled_from(LOREM)),
        "link": st.sampled_from([None, None, "/missing"]),
    }
)


def _xml_escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _random_feed(items, kind: str, base: str) -> bytes:
    if kind == "json":
        return json.dumps(
            {
                "version": "https://jsonfeed.org/version/1.1",
                "items": [
                    {
                        k: v
                        for k, v in {
                            "id": it["guid"],
                            "title": it["title"],
                            "content_text": it["body"],
                            "url": it["link"],
                        }.items()
                        if v is not None
                    }
                    for it in items
                ],
            }  # fmt: skip
        ).encode()
    parts = []
    for it in items:
        p = f"<item><title>{_xml_escape(it['title'])}</title>"
        if it["guid"] is not None:
            p += f'<guid isPermaLink="false">{_xml_escape(it["guid"])}</guid>'
        if it["body"] is not None:
            p += f"<content:encoded>{_xml_escape(it['body'])}</content:encoded>"
        if it["link"]:
            p += f"<link>{base}{it['link']}</link>"
        parts.append(p + "</item>")
    return _rss("".join(parts)).encode()


@settings(  # two polls an example; the parsers get 150 examples above and `make fuzz`
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(_item, max_size=6), st.sampled_from(["rss", "json"]), st.integers(0, 4000))
def test_polling_any_feed_twice_stores_each_entry_once(http_server, settings, items, kind, cut):
    srv = http_server
    settings.crawl.retries = 0
    body = _random_feed(items, kind, srv.base)
    srv.routes["/missing"] = Route(status=404)
    with tempfile.TemporaryDirectory() as d:
        store = open_store(Path(d) / "fw.duckdb")
        try:
            srv.routes["/feed.xml"] = Route(body)
            sid = add_source(store, srv.url("/feed.xml"))
            fetch_due(store, settings, force=True)
            stored = store.execute("SELECT count(*) FROM articles").fetchone()[0]
            fetch_due(store, settings, force=True)
            assert store.execute("SELECT count(*) FROM articles").fetchone()[0] == stored
            # Every entry that carries text is stored once, or logged as a copy of one.
            parsed = parse_feed(body, srv.url("/feed.xml"), key_base=srv.url("/feed.xml"))
            keys = {e.key for e in parsed.entries if e.content or e.summary}
            copies = store.execute(
                "SELECT count(DISTINCT url) FROM crawl_log WHERE outcome = 'exact_duplicate'"
            ).fetchone()[0]
            assert stored + copies == len(keys)
            # A truncated copy of the feed: whatever it yields, a second poll adds nothing.
            srv.routes["/feed.xml"] = Route(body[:cut])
            fetch_due(store, settings, force=True)
            after = store.execute("SELECT count(*) FROM articles").fetchone()[0]
            fetch_due(store, settings, force=True)
            assert store.execute("SELECT count(*) FROM articles").fetchone()[0] == after
            assert sid
        finally:
            store.close()


def _page_on_the_second_try(srv, settings) -> None:
    """A feed whose one item's page answers 503 first (its summary is stored), then the
    page: "Bus plan", with a summary about kestrels and a page about trams."""
    settings.crawl.retries = 0
    calls = {"n": 0}

    def flaky(handler):
        calls["n"] += 1
        return Route(status=503) if calls["n"] == 1 else Route(article_html("Bus plan", LOREM))

    srv.routes["/flaky"] = Route(dynamic=flaky)
    srv.routes["/feed.xml"] = Route(
        _rss(f"<item><title>Bus plan</title><link>{srv.url('/flaky')}</link>"
             "<description>Kestrels nest on the depot roof.</description></item>")
    )  # fmt: skip


def test_a_page_read_on_a_later_try_drops_the_feed_texts_vector_and_search_entry(
    http_server, tmp_path, settings
):
    """What `analyze` and search made from the feed's summary goes with it: the next
    `analyze` embeds only articles without a vector, so the summary's vector would stay
    the article's for good; and a reader brings the search index up to date only for
    articles it has no row for, so a search would find the summary's words."""
    import numpy as np

    from framewatch.analysis.embedding.stage import count_pending, write_embeddings
    from framewatch.analysis.search.engine import Searcher
    from framewatch.analysis.search.index import index_pending

    srv = http_server
    _page_on_the_second_try(srv, settings)
    db = tmp_path / "fw.duckdb"
    model = settings.analysis.model

    def found(word: str) -> list[int]:  # as `framewatch search` reads: on the snapshot
        con = connect(db)
        try:
            return sorted(int(i) for i in Searcher(con, db, model=model).run(word).ids)
        finally:
            con.close()

    with open_store(db) as store:
        add_source(store, srv.url("/feed.xml"))
        fetch_due(store, settings)  # try 1: HTTP 503, the summary is stored
        (aid,) = store.execute("SELECT id FROM articles").fetchone()
        # `analyze` of the summary: its vector and its search entry
        write_embeddings(store, model, [(aid,)], np.ones((1, 4), np.float32))
        index_pending(store)
        store.publish_snapshot()
    assert found("kestrels") == [aid] and found("tram") == []

    with open_store(db) as store:
        _travel(store)
        report = fetch_due(store, settings, force=True)  # try 2: the page answers
        assert report.counts()["pages_recovered"] == 1
        assert count_pending(store, model) == 1  # the next `analyze` embeds the full text
        store.publish_snapshot()
    assert found("kestrels") == [] and found("tram") == [aid]


def test_a_page_read_on_a_later_try_is_no_longer_counted_as_a_copy(http_server, tmp_path, settings):
    """The feed's summary was marked a near copy of another outlet's (article_duplicates),
    and the story stage looks at an article once: the full page kept being a copy, left
    out of its story's size."""
    srv = http_server
    _page_on_the_second_try(srv, settings)
    db = tmp_path / "fw.duckdb"
    with open_store(db) as store:
        add_source(store, srv.url("/feed.xml"))
        fetch_due(store, settings)  # try 1: HTTP 503, the summary is stored
        (aid,) = store.execute("SELECT id FROM articles").fetchone()
        sid = store.execute(  # clustered with another outlet's summary, as its near copy
            "INSERT INTO stories (model, first_seen, last_seen, size, copies, centroid) VALUES "
            "('m', now(), now(), 1, 1, [1.0]) RETURNING id"
        ).fetchone()[0]
        store.execute("INSERT INTO story_members VALUES (?, ?, 1, now()), (?, ?, 1, now())",
                      [aid + 100, sid, aid, sid])  # fmt: skip
        store.execute(
            "INSERT INTO article_duplicates VALUES (?, ?, 0.97, 'near')", [aid, aid + 100]
        )
    with open_store(db) as store:
        _travel(store)
        report = fetch_due(store, settings, force=True)  # try 2: the page answers
        assert report.counts()["pages_recovered"] == 1
        assert store.execute("SELECT count(*) FROM article_duplicates").fetchone()[0] == 0
        got = store.execute("SELECT size, copies FROM stories WHERE id = ?", [sid]).fetchone()
        assert got == (1, 0)  # the other outlet's summary is not an article here: one member
