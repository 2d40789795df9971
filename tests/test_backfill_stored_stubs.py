"""A stub the store held before the backfill (the crawler's consent wall, analysed): the
full capture of its address replaces it, with any partitioning and after a kill, and
under another spelling of the address too: the other scheme (the feed linked http://,
the archive crawled https://) or a trailing slash."""

from __future__ import annotations

import re
import shutil
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pytest
from conftest import article_html
from test_backfill_captures import (
    CONSENT,
    FULL_A,
    B,
    app,
    articles,
    backfill,
    derived_from_the_text,
    runner,
    warc,
)
from test_backfill_repeats import kill_after, story

from framewatch.dashboards.queries import topics

pytest.importorskip("warcio")


def crawled_stub(tmp_path: Path, srv, settings) -> tuple[Path, str, int]:
    """A store in which the crawler stored a page's consent wall as a stub (its feed item
    has no text of its own), then `analyze` gave it a vector, framing and search entry."""
    from conftest import Route

    from framewatch.crawler.fetch import fetch_due
    from framewatch.sources import add_source
    from framewatch.store import open_store

    srv.routes["/2024/03/strike"] = Route(CONSENT)
    url = srv.url("/2024/03/strike")
    srv.routes["/feed.xml"] = Route(
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Gazette'
        f"</title><link>{srv.url('/')}</link><item><title>Port strike</title><link>{url}"
        "</link></item></channel></rss>"
    )
    db = tmp_path / "crawled.duckdb"
    with open_store(db) as store:
        add_source(store, srv.url("/feed.xml"))
        fetch_due(store, settings)
        rows = store.execute("SELECT id, url, extraction FROM articles").fetchall()
    assert [r[1:] for r in rows] == [(url, "stub")], rows
    assert runner.invoke(app, ["--db", str(db), "analyze"]).exit_code == 0
    return db, url, rows[0][0]


def stories(db: Path) -> dict[int, list[str]]:
    """Each story's member titles, by story id."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            "SELECT m.story_id, a.title FROM story_members m JOIN articles a ON a.id = "
            "m.article_id ORDER BY 1, 2"
        ).fetchall()
    finally:
        con.close()
    out: dict[int, list[str]] = {}
    for sid, title in rows:
        out.setdefault(sid, []).append(title)
    return out


def copy_store(db: Path, to: Path) -> Path:
    shutil.copy(db, to)
    return to


def found(db: Path, word: str) -> list[str]:
    """The titles `framewatch search` finds for a word."""
    from framewatch.analysis.search.engine import Searcher
    from framewatch.store import connect

    con = connect(db)
    try:
        ids = [int(i) for i in Searcher(con, db).run(word).ids]
        return [con.execute("SELECT title FROM articles WHERE id = ?", [i]).fetchone()[0]
                for i in ids]  # fmt: skip
    finally:
        con.close()


@pytest.mark.slow(30)
def test_a_full_capture_under_https_and_a_slash_replaces_the_http_stub(
    tmp_path, http_server, settings
):
    """The crawler stored the wall of http://host/2024/03/strike; the archive has the page
    as https://host/2024/03/strike/. The stub was not matched: the full text went in as a
    second article of the address, beside the wall (found by search, counted twice)."""
    crawled, url, aid = crawled_stub(tmp_path, http_server, settings)
    assert url.startswith("http://")
    src = warc(tmp_path / "crawl.warc.gz", [("https://" + url[len("http://") :] + "/", FULL_A)])
    db = copy_store(crawled, tmp_path / "fw.duckdb")  # partitioning: the test below
    res = backfill(db, src)
    assert res.exit_code == 0, res.output
    got = [(i, u, t, x.split("\n")[1], e) for i, u, t, x, e, _ in articles(db)]
    assert got == [(aid, url, "Port strike ends", "Port strike ends today.", "full")], got
    assert found(db, "deliver") == []  # the wall's words
    assert found(db, "dock") == ["Port strike ends"]
    again = backfill(db, src)  # the same archive once more
    assert again.exit_code == 0, again.output
    assert [r[:3] for r in articles(db)] == [(aid, url, "Port strike ends")]


@pytest.mark.slow(60)
def test_a_full_capture_replaces_a_stub_the_crawler_stored(
    tmp_path, http_server, settings, monkeypatch
):
    """The crawler stored a page's consent wall; a backfill brings the page's full
    capture. The stub gives way as one stored by the backfill itself does: the same id
    and URL with the full text, its vector, framing and search entry made from that text;
    alike with any partitioning and after a killed run."""

    crawled, url, aid = crawled_stub(tmp_path, http_server, settings)
    assert found(crawled, "deliver") == ["Port strike"]  # the wall's words
    (wall,) = [sid for sid, titles in stories(crawled).items() if titles == ["Port strike"]]
    captures = [
        (url, CONSENT),  # the wall again: the stub stays until the article comes
        (url + "?utm_source=rss", FULL_A),
        (B, story("Ferries resume", "Ferries resumed on Friday.")),
    ]
    src = warc(tmp_path / "crawl.warc.gz", captures)
    fresh = tmp_path / "fresh.duckdb"  # the vectors a store without the stub gets
    assert backfill(fresh, src).exit_code == 0
    reference = derived_from_the_text(fresh)
    want = [
        (aid, url, "Port strike ends", "Port strike ends today.", "full"),
        (aid + 1, B, "Ferries resume", "Ferries resumed on Friday.", "full"),
    ]

    def check(db: Path) -> None:
        got = [(i, u, t, x.split("\n")[1], e) for i, u, t, x, e, _ in articles(db)]
        assert got == want
        derived = derived_from_the_text(db)
        one_each = [("Ferries resume", 1), ("Port strike ends", 1)]
        assert derived["embeddings"] == derived["framings"] == one_each
        for title, v in derived["vectors"].items():  # the full text's, not the wall's
            assert np.allclose(v, reference["vectors"][title], atol=1e-4), title
        assert found(db, "deliver") == []  # the wall's words are gone from the index
        assert sorted(found(db, "dock")) == ["Ferries resume", "Port strike ends"]
        # clustered by the full text, as a store that never had the wall; the wall's story
        # (the stub alone) is gone, and its id leads to the article's story
        assert sorted(stories(db).values()) == sorted(stories(fresh).values())
        con = duckdb.connect(str(db), read_only=True)
        try:
            assert con.execute("SELECT count(*) FROM stories WHERE id = ?", [wall]).fetchone() == (
                0,
            )
            assert con.execute(
                "SELECT r.new_id = m.story_id, r.reason FROM story_redirects r, story_members m "
                "WHERE r.old_id = ? AND m.article_id = ?",
                [wall, aid],
            ).fetchone() == (True, "text replaced")
            (now_in,) = con.execute(
                "SELECT story_id FROM story_members WHERE article_id = ?", [aid]
            ).fetchone()
            # the dashboard's topics count the stories there are, the wall's no more
            listed = [label for _, label in topics(con)]
            held = sum(int(re.search(r"\((\d+) stor(?:y|ies)\)$", t)[1]) for t in listed)
            assert held == len(stories(db)), listed
        finally:
            con.close()
        said = runner.invoke(app, ["--db", str(db), "story", str(wall)]).output
        assert (
            f"story {wall} was emptied when its article got its full text, now in story {now_in}"
            in said
        )

    for size in ("500", "1"):
        db = copy_store(crawled, tmp_path / f"fw{size}.duckdb")
        res = backfill(db, src, "--partition-size", size)
        assert res.exit_code == 0, res.output
        said = " ".join(res.output.split())
        assert "articles new: 1" in said and "already stored: 2" in said, said
        check(db)

    # killed after the full capture's partition went in, before it was marked loaded
    db = copy_store(crawled, tmp_path / "resumed.duckdb")
    calls = kill_after(monkeypatch, 2)
    assert backfill(db, src, "--partition-size", "1").exit_code != 0 and len(calls) == 2
    monkeypatch.undo()
    res = backfill(db, src, "--partition-size", "1")
    assert res.exit_code == 0, res.output
    check(db)


def crawled_summary(
    tmp_path: Path, srv, settings, wall_too: bool = False
) -> tuple[Path, str, list[int]]:
    """A store in which the crawler kept a feed item's summary, its page failing (503:
    retried on later polls), then `analyze` gave it a vector, framing and search entry.
    ``wall_too``: a second feed of the outlet links the page as ``.../strike/``, which
    gave a consent wall (a stub)."""
    from conftest import Route

    from framewatch.crawler.fetch import fetch_due
    from framewatch.sources import add_source
    from framewatch.store import open_store

    srv.routes["/2024/03/strike"] = Route("Service unavailable", status=503)
    srv.routes["/2024/03/strike/"] = Route(CONSENT)
    url = srv.url("/2024/03/strike")

    def feed(path: str, link: str, more: str) -> str:
        srv.routes[path] = Route(
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Gazette'
            f"</title><link>{srv.url('/')}</link><item><title>Port strike</title><link>{link}"
            f"</link>{more}</item></channel></rss>"
        )
        return srv.url(path)

    said = "<description>Walkout at the harbour enters its third week.</description>"
    feeds = [feed("/feed.xml", url, said + "<pubDate>Fri, 01 Mar 2024 08:00:00 GMT</pubDate>")]
    if wall_too:
        feeds.append(feed("/world.xml", url + "/", ""))
    db = tmp_path / "crawled.duckdb"
    with open_store(db) as store:
        for f in feeds:
            add_source(store, f)
            fetch_due(store, settings)
        rows = store.execute("SELECT id, url, extraction FROM articles ORDER BY id").fetchall()
        retries = store.execute("SELECT article_id FROM page_retries").fetchall()
    want = [(url, "feed_summary")] + [(url + "/", "stub")] * wall_too
    assert [r[1:] for r in rows] == want and retries == [(rows[0][0],)], rows
    assert runner.invoke(app, ["--db", str(db), "analyze"]).exit_code == 0
    return db, url, [r[0] for r in rows]


@pytest.mark.slow(30)
def test_a_full_capture_replaces_the_feed_summary_the_crawler_kept(tmp_path, http_server, settings):
    """The page failed when the crawler came, so the article is the feed's one-line
    summary; an archive holds the page. A consent wall captured there leaves the summary
    as it is; the page's full capture takes over the row, and the crawler stops trying
    the page. Before, the address was known, so the backfill skipped its capture."""
    db, url, (aid,) = crawled_summary(tmp_path, http_server, settings)
    assert found(db, "walkout") == ["Port strike"]
    wall = backfill(db, warc(tmp_path / "wall.warc.gz", [(url, CONSENT)]))
    assert wall.exit_code == 0, wall.output
    kept = [(i, u, t, x, e) for i, u, t, x, e, _ in articles(db)]
    assert kept == [
        (aid, url, "Port strike", "Walkout at the harbour enters its third week.", "feed_summary")
    ]
    res = backfill(db, warc(tmp_path / "crawl.warc.gz", [(url, CONSENT), (url, FULL_A)]))
    assert res.exit_code == 0, res.output
    got = [(i, u, t, "Port strike ends today." in x, e) for i, u, t, x, e, _ in articles(db)]
    assert got == [(aid, url, "Port strike ends", True, "full")], got
    assert found(db, "walkout") == [] and found(db, "dock") == ["Port strike ends"]
    assert derived_from_the_text(db)["embeddings"] == [("Port strike ends", 1)]
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM page_retries").fetchone() == (0,)
        # the feed's date stays: the archive's is when it captured the page, days later
        assert con.execute("SELECT published_at FROM articles").fetchone() == (
            datetime(2024, 3, 1, 8, 0),
        )
    finally:
        con.close()


@pytest.mark.slow(20)
def test_of_a_summary_and_a_stub_of_one_address_the_stub_is_completed(
    tmp_path, http_server, settings
):
    """Two feeds of the outlet link one page as http://host/a (it failed: the summary is
    kept) and http://host/a/ (a consent wall: a stub). The stub holds the canonical URL
    the page names, so it takes the page's text. Given to the summary first, the text was
    refused (another article has its canonical URL) and stored nowhere."""
    db, url, (summary, wall) = crawled_summary(tmp_path, http_server, settings, wall_too=True)
    res = backfill(db, warc(tmp_path / "crawl.warc.gz", [(url + "/", FULL_A)]))
    assert res.exit_code == 0, res.output
    got = [(i, t, e) for i, _, t, _, e, _ in articles(db)]
    assert got == [(summary, "Port strike", "feed_summary"), (wall, "Port strike ends", "full")]


@pytest.mark.slow(25)
def test_a_whole_capture_replaces_a_page_an_earlier_backfill_stored_cut_short(tmp_path):
    """One month's crawl cut the page at its size limit; the next month's crawl has it
    whole. Before, the second backfill found the address stored and skipped it, so the
    article kept the text that lacks its end."""
    from test_backfill_captures import CUT_URL, LONG, cut_page, whole_texts

    db = tmp_path / "fw.duckdb"
    cut = warc(tmp_path / "march.warc.gz", [(CUT_URL, cut_page(b"</p><p"), "length")])
    assert backfill(db, cut).exit_code == 0
    assert [t[2] for t in whole_texts(db)] == [False]
    full = warc(tmp_path / "april.warc.gz", [(CUT_URL, article_html("Harbour works resume", LONG))])
    res = backfill(db, full)
    assert res.exit_code == 0, res.output
    assert whole_texts(db) == [(CUT_URL, "Harbour works resume", True, None)]
    assert derived_from_the_text(db)["embeddings"] == [("Harbour works resume", 1)]
    again = backfill(db, copy_store(cut, tmp_path / "may.warc.gz"))  # cut again: stays whole
    assert again.exit_code == 0 and whole_texts(db)[0][2]
