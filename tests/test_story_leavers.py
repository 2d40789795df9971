"""An article clustered by a stand-in text (a feed's teaser while its page was down)
moves to the story of its real text once the page is read, and its old story is redone."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from conftest import Route, article_html, write_jsonl
from typer.testing import CliRunner

from framewatch.analysis.embedding.stage import write_embeddings
from framewatch.analysis.stories import leavers
from framewatch.analysis.stories.stage import assign_stories
from framewatch.cli import app
from framewatch.config import AnalysisSettings
from framewatch.crawler.fetch import fetch_due
from framewatch.crawler.text_derived import drop_text_derived
from framewatch.importer import import_file
from framewatch.sources import add_source
from framewatch.store import Store, open_store, utcnow

DAY = "Tue, 03 Mar 2026"
STRIKE = {
    "harbour": ("Dockworkers walk out at the container port", [
        "Dockworkers at the city's container port walked out on Monday after talks on pay broke down.",
        "The union said the strike would last until the port operator improved its offer on wages.",
        "Ships queued outside the harbour as cranes stood still and lorries were turned away.",
    ]),
    "coast": ("Port shut as dock strike spreads", [
        "The container port closed on Monday as a strike by dockworkers over pay spread to every terminal.",
        "Union leaders said members would stay out until the operator raised its wage offer.",
        "Shipping lines diverted vessels to other harbours while the cranes stood idle.",
    ]),
}  # fmt: skip
# What the harbour's briefing page says once it answers: the strike, in other words.
BRIEFING_PAGE = [
    "The walkout by dockworkers at the container port entered its first day with no talks planned.",
    "Pay is at the heart of the dispute, union officials said, and the operator has not moved.",
    "Freight companies warned that ships waiting outside the harbour would delay deliveries.",
]
# The feeds' teasers for their morning newsletters: all a summary-only item gives.
TEASER = {
    "harbour": "Sign up for our morning newsletter and get the day's top stories, weather "
    "and puzzles in your inbox before breakfast.",
    "coast": "Sign up for our morning newsletter and get the day's top stories, weather "
    "and puzzles in your inbox before breakfast every day.",
}  # the same newsletter blurb, all but: the coast's is a near copy of the harbour's


def _feed(srv, outlet: str, title: str, hour: int) -> None:
    items = [
        (STRIKE[outlet][0], srv.url(f"/{outlet}/strike"), ""),
        ("Morning briefing", srv.url(f"/{outlet}/briefing"), TEASER[outlet]),
    ]
    body = "".join(
        f"<item><title>{t}</title><link>{u}</link><pubDate>{DAY} {hour:02}:00:00 GMT</pubDate>"
        f"<description>{d}</description></item>"
        for t, u, d in items
    )
    srv.routes[f"/{outlet}/feed.xml"] = Route(
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}'
        f"</title><link>{srv.url(f'/{outlet}/')}</link>{body}</channel></rss>"
    )
    srv.routes[f"/{outlet}/strike"] = Route(article_html(*STRIKE[outlet]))


def _stories(db) -> dict[int, list[str]]:
    with open_store(db) as store:
        rows = store.execute(
            """SELECT m.story_id, regexp_extract(a.url, '/([a-z]+/[a-z]+)$', 1) FROM story_members m
               JOIN articles a ON a.id = m.article_id ORDER BY 1, 2"""
        ).fetchall()
    out: dict[int, list[str]] = {}
    for sid, who in rows:
        out.setdefault(sid, []).append(who)
    return out


def _copies(db) -> list[tuple[str, str]]:
    with open_store(db) as store:
        return store.execute(
            "SELECT regexp_extract(a.url, '/([a-z]+/[a-z]+)$', 1), d.kind FROM article_duplicates d "
            "JOIN articles a ON a.id = d.article_id ORDER BY 1"
        ).fetchall()


def test_an_article_whose_page_came_later_joins_its_story_and_leaves_the_teasers(
    http_server, tmp_path, settings, monkeypatch
):
    srv = http_server
    settings.crawl.retries = 0
    _feed(srv, "harbour", "Harbour Post", 6)
    _feed(srv, "coast", "Coast Times", 7)  # later: the coast's teaser is the copy
    calls = {"n": 0}

    def harbour_briefing(handler):  # down on the first poll, then the page
        calls["n"] += 1
        if calls["n"] == 1:
            return Route(status=503)
        return Route(article_html("Morning briefing", BRIEFING_PAGE))

    srv.routes["/harbour/briefing"] = Route(dynamic=harbour_briefing)
    srv.routes["/coast/briefing"] = Route(status=503)  # never comes back: the teaser stays
    db = tmp_path / "fw.duckdb"
    with open_store(db) as store:
        for outlet in ("harbour", "coast"):
            add_source(store, srv.url(f"/{outlet}/feed.xml"))
        fetch_due(store, settings)
    runner = CliRunner()
    assert runner.invoke(app, ["--db", str(db), "analyze"]).exit_code == 0
    before = _stories(db)
    harbour_teaser = "harbour/briefing"
    (teasers,) = [sid for sid, who in before.items() if harbour_teaser in who]
    assert before[teasers] == ["coast/briefing", harbour_teaser], before
    assert _copies(db) == [("coast/briefing", "near")]

    with open_store(db) as store:  # time passes; the next poll reads the page
        store.execute("UPDATE page_retries SET next_attempt_at = ?", [utcnow().replace(year=2000)])
        assert fetch_due(store, settings, force=True).counts()["pages_recovered"] == 1
    killed = tmp_path / "killed.duckdb"
    shutil.copy(db, killed)
    res = runner.invoke(app, ["--db", str(db), "analyze"])
    assert res.exit_code == 0, res.output
    after = _stories(db)
    (strike,) = [sid for sid, who in after.items() if harbour_teaser in who]
    assert strike != teasers
    assert after[strike] == ["coast/strike", harbour_teaser, "harbour/strike"], after
    assert after[teasers] == ["coast/briefing"]  # the story is redone
    with open_store(db) as store:
        size, headline, centroid = store.execute(
            "SELECT s.size, a.url, s.centroid FROM stories s "
            "JOIN articles a ON a.id = s.headline_article_id WHERE s.id = ?",
            [teasers],
        ).fetchone()
        (vector,) = store.execute(
            """SELECT e.vector FROM embeddings e JOIN story_members m ON m.article_id = e.article_id
               WHERE m.story_id = ?""",
            [teasers],
        ).fetchone()
        assert store.execute("SELECT count(*) FROM story_leavers").fetchone() == (0,)
    assert (size, headline) == (1, srv.url("/coast/briefing"))
    assert _copies(db) == []  # a copy of the teaser the harbour's article no longer is
    assert np.allclose(centroid, vector, atol=1e-6)  # the teaser alone, not the page's text

    # Killed after the article was clustered again, before its note was settled: the next
    # run does not take it out a second time, and ends as the unbroken run did.
    def kill(store):
        raise RuntimeError("killed")

    monkeypatch.setattr(leavers, "settle", kill)
    assert runner.invoke(app, ["--db", str(killed), "analyze"]).exit_code != 0
    monkeypatch.undo()
    rerun = runner.invoke(app, ["--db", str(killed), "analyze"])
    assert rerun.exit_code == 0, rerun.output
    assert "articles clustered: 0" in " ".join(rerun.output.split())  # not taken out again
    assert _stories(killed) == after
    assert _copies(killed) == _copies(db) == []
    with open_store(killed) as store:
        assert store.execute("SELECT count(*) FROM story_leavers").fetchone() == (0,)


def _walls(tmp: Path, with_first: bool) -> Store:
    """An article and a consent wall three outlets ran (the first, Courier's, optional):
    the later walls are exact copies of the first, in the article's story."""
    rows = [{"title": "Alpha", "text": "Alpha text about a thing.", "source": "Herald",
             "published_at": "2026-01-05T08:00:00Z"}]  # fmt: skip
    outlets = (["Courier"] if with_first else []) + ["Gazette", "Post"]
    rows += [{"title": "Wall", "text": "Accept cookies to continue.", "source": o,
              "published_at": f"2026-01-05T{9 + k:02}:00:00Z"} for k, o in enumerate(outlets)]  # fmt: skip
    store = open_store(tmp / "fw.duckdb")
    import_file(store, write_jsonl(tmp / "in.jsonl", rows))
    for title, v in (("Alpha", [1.0, 0, 0, 0]), ("Wall", [0.8, 0.6, 0, 0])):
        ids = [
            i
            for (i,) in store.execute("SELECT id FROM articles WHERE title = ?", [title]).fetchall()
        ]
        write_embeddings(store, "m", [(i,) for i in ids], np.array([v] * len(ids), np.float32))
    assign_stories(store, AnalysisSettings(), "m")
    return store


def test_a_story_redone_after_a_leaver_has_the_centroid_a_store_without_it_has(tmp_path):
    """The clusterer never sees exact copies, so a story's mean leaves them out; the story
    the first wall left is redone the same way, not weighted towards the wall."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    store, fresh = _walls(tmp_path / "a", True), _walls(tmp_path / "b", False)
    try:
        (courier,) = store.execute(
            "SELECT a.id FROM articles a JOIN sources s ON s.id = a.source_id WHERE s.name = 'Courier'"
        ).fetchone()
        with store.transaction():  # its page read on a later try: another text, vector
            store.execute("UPDATE articles SET text = 'A harbour strike.', content_hash = 'x' "
                          "WHERE id = ?", [courier])  # fmt: skip
            drop_text_derived(store, courier)
        write_embeddings(store, "m", [(courier,)], np.array([[0, 0, 1.0, 0]], np.float32))
        assign_stories(store, AnalysisSettings(), "m")
        q = ("SELECT s.size, s.copies, s.centroid FROM stories s JOIN story_members m "
             "ON m.story_id = s.id JOIN articles a ON a.id = m.article_id WHERE a.title = 'Alpha'")  # fmt: skip
        got, want = store.execute(q).fetchone(), fresh.execute(q).fetchone()
        assert got[:2] == want[:2] == (2, 1)  # Alpha and the Gazette's wall; the Post's a copy
        assert np.allclose(got[2], want[2], atol=1e-6), (got[2], want[2])
    finally:
        store.close()
        fresh.close()


def test_topics_are_made_again_from_the_stories_they_keep(tmp_path, monkeypatch):
    """A topic follows its stories, even when the run that changed them was killed before
    the topics were redone: one that lost an article is averaged from what it keeps and
    labelled from it; one whose only story was emptied keeps its id, and the next story
    like it joins it (its links and ``topic:`` queries keep working)."""
    from framewatch.analysis.stories import stage

    rows = [{"title": t, "text": f"{t} text.", "source": s, "published_at": f"2026-01-05T{h}:00:00Z"}
            for t, s, h in (("Harbour dredging approved", "Herald", "08"),
                            ("Subscribe to our newsletter", "Gazette", "09"),
                            ("Orchard frost losses", "Post", "10"),
                            ("Ferry timetable", "Courier", "11"))]  # fmt: skip
    store = open_store(tmp_path / "fw.duckdb")
    try:
        import_file(store, write_jsonl(tmp_path / "in.jsonl", rows))
        ids = dict(store.execute("SELECT title, id FROM articles").fetchall())
        harbour, teaser, orchard, ferry = (ids[r["title"]] for r in rows)
        e = np.eye(5)
        vecs = {harbour: e[0], teaser: 0.8 * e[0] + 0.6 * e[1], orchard: e[3], ferry: e[4]}
        write_embeddings(store, "m", [(i,) for i in vecs], np.array([*vecs.values()], np.float32))
        assign_stories(store, AnalysisSettings(), "m")

        def topic_of(aid: int) -> int:
            return store.execute(
                "SELECT x.topic_id FROM story_topics x JOIN story_members m "
                "ON m.story_id = x.story_id WHERE m.article_id = ?",
                [aid],
            ).fetchone()[0]

        harbour_topic, orchard_topic, ferry_topic = map(topic_of, (harbour, orchard, ferry))
        assert topic_of(teaser) == harbour_topic
        # Three pages read on a later try: new texts. The orchard piece's is still about
        # frost; the ferry's is about something else.
        new = {teaser: e[2], orchard: 0.1 * e[1] + 0.995 * e[3], ferry: -e[4]}
        with store.transaction():
            for aid in new:
                store.execute("UPDATE articles SET text = 'Page text.', content_hash = ? "
                              "WHERE id = ?", [str(aid), aid])  # fmt: skip
                drop_text_derived(store, aid)
        write_embeddings(store, "m", [(i,) for i in new], np.array([*new.values()], np.float32))

        def killed(*args):
            raise RuntimeError("killed")

        # killed once the stories are changed, before their labels and topics are redone
        monkeypatch.setattr(stage, "refresh_stories", killed)
        with pytest.raises(RuntimeError):
            assign_stories(store, AnalysisSettings(), "m")
        monkeypatch.undo()
        assign_stories(store, AnalysisSettings(), "m")  # the next run: nothing to cluster
        topics = {k: (n, c, label) for k, n, c, label in
                  store.execute("SELECT id, stories, centroid, label FROM topics").fetchall()}  # fmt: skip
        n, centroid, label = topics[harbour_topic]
        assert n == 1 and np.allclose(centroid, e[0], atol=1e-6)
        assert "newsletter" not in label and "harbour" in label.lower()
        # The orchard story was emptied and deleted; the article's new story joins its topic,
        # which becomes that story's alone (not averaged with the story that went).
        assert topic_of(orchard) == orchard_topic
        n, centroid, _ = topics[orchard_topic]
        assert n == 1 and np.allclose(centroid, new[orchard] / np.linalg.norm(new[orchard]))
        # The ferry's topic holds nothing now; its row, centroid and label stay.
        assert topics[ferry_topic][0] == 0 and topic_of(ferry) != ferry_topic
        assert np.allclose(topics[ferry_topic][1], e[4]) and "ferry" in topics[ferry_topic][2]
        held = store.execute(
            "SELECT x.topic_id, count(*) FROM story_topics x GROUP BY 1 ORDER BY 1"
        ).fetchall()
        assert held == sorted((k, n) for k, (n, _, _) in topics.items() if n)
        assert store.execute("SELECT count(*) FROM topic_refresh").fetchone() == (0,)
        # Weeks later a story like the ferry's: it joins the emptied topic, which becomes its
        # alone, span included.
        later = {"title": "Ferry fares", "text": "Ferry fares rise.", "source": "Courier",
                 "published_at": "2026-02-20T09:00:00Z"}  # fmt: skip
        import_file(store, write_jsonl(tmp_path / "later.jsonl", [later]))
        (fares,) = store.execute("SELECT id FROM articles WHERE title = 'Ferry fares'").fetchone()
        write_embeddings(store, "m", [(fares,)], np.array([0.2 * e[2] + 0.98 * e[4]], np.float32))
        assign_stories(store, AnalysisSettings(), "m")
        assert topic_of(fares) == ferry_topic
        n, first, last = store.execute(
            "SELECT stories, first_seen, last_seen FROM topics WHERE id = ?", [ferry_topic]
        ).fetchone()
        assert (n, first, last) == (1, datetime(2026, 2, 20, 9), datetime(2026, 2, 20, 9))
    finally:
        store.close()


def test_topics_of_two_models_of_other_sizes_are_redone_together(tmp_path):
    """After a model switch without a recluster, a run may redo topics of both models: each
    is averaged in its own model's space (a store upgraded to schema 22 redoes them all)."""
    from framewatch.analysis.stories.topics import refresh_topics

    titles = ("Harbour dredging", "Orchard frost", "Ferry fares", "Rail strike")
    rows = [{"title": t, "text": f"{t}.", "source": "Herald", "published_at": "2026-01-05T08:00:00Z"}
            for t in titles]  # fmt: skip
    store = open_store(tmp_path / "fw.duckdb")
    try:
        import_file(store, write_jsonl(tmp_path / "in.jsonl", rows))
        ids = [i for (i,) in store.execute("SELECT id FROM articles ORDER BY id").fetchall()]
        # the first two clustered with the small model, the next two after the switch
        for model, some, vecs in (("small", ids[:2], [[3.0, 4, 0], [0, 0, 2]]),
                                  ("big", ids[2:], np.eye(5)[:2] * 2)):  # fmt: skip
            write_embeddings(store, model, [(i,) for i in some], np.array(vecs, np.float32))
            assign_stories(store, AnalysisSettings(), model)
        store.execute("INSERT INTO topic_refresh SELECT id FROM topics")
        assert len(refresh_topics(store)) == 4
        got = sorted((m, tuple(np.round(c, 6))) for m, c in
                     store.execute("SELECT model, centroid FROM topics").fetchall())  # fmt: skip
        assert got == [("big", (0, 1, 0, 0, 0)), ("big", (1, 0, 0, 0, 0)),
                       ("small", (0, 0, 1)), ("small", (0.6, 0.8, 0))]  # fmt: skip
    finally:
        store.close()
