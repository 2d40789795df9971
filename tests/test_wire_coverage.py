"""An outlet that ran another outlet's wire text covered the story.

Stores built row by row (test_outlet_groups.Newsroom), with the copy marked in
``article_duplicates`` as the story stage marks it (test_stories.py runs that stage on
real imports), so each expectation is known exactly.
"""

from __future__ import annotations

import json

import duckdb
from test_outlet_groups import CB, LEANS, Newsroom, fw

from framewatch.dashboards import queries


def _copy(n: Newsroom, outlet: str, story: int, day: str, of: int, kind: str = "exact",
          more: str = "") -> int:  # fmt: skip
    title, text, frames, evidence = n.store.execute(
        """SELECT a.title, a.text,
                  (SELECT map(list(frame_id), list(share)) FROM article_frames WHERE article_id = a.id),
                  (SELECT map(list(frame_id), list(sentence)) FROM frame_evidence WHERE article_id = a.id)
           FROM articles a WHERE a.id = ?""",
        [of],
    ).fetchone()  # fmt: skip
    aid = n.article(outlet, story, day, title, frames=dict(frames), evidence=dict(evidence or {}),
                    text=text + more)  # fmt: skip
    n.store.execute("INSERT INTO article_duplicates VALUES (?, ?, 1.0, ?)", [aid, of, kind])
    return aid


def _wire_store(tmp_path) -> str:
    """Story 1: the left wrote it, and Right One ran Left One's text word for word (and
    Left One ran its own text twice). Story 2: every side, so the right and the centre
    are active around story 1."""
    n = Newsroom(tmp_path / "wire.duckdb")
    first = n.article("Left One", 1, "2026-11-10", "Harbour strike spreads to rail depots",
                      frames={"threat": 1.0}, evidence={"threat": "Strikers threaten the port."})  # fmt: skip
    n.article("Left Two", 1, "2026-11-10", "Rail depots join the harbour strike")
    _copy(n, "Right One", 1, "2026-11-11", first)
    _copy(
        n, "Left One", 1, "2026-11-11", first, kind="near", more=" (Updated.)"
    )  # its own repeat: once
    for outlet in ["Left One", "Right One", "Right Two", "Centre One", "Left Two"]:
        n.article(outlet, 2, "2026-11-11", f"Budget vote passes after all-night session ({outlet})")
    db = n.close()
    leans = tmp_path / "leans.csv"
    leans.write_text(LEANS)
    assert fw("outlets", "import", str(leans), db=db).exit_code == 0
    return db


def test_a_wire_copy_is_its_outlets_coverage_in_blind_spots_and_splits(tmp_path):
    db = _wire_store(tmp_path)
    spots = json.loads(fw("blindspots", "--by", "lean", "--all", "--json", db=db).stdout)
    assert [s["story_id"] for s in spots] == [1]
    # The right ran the text: only the centre is missing, and Left One counts once.
    assert spots[0]["covered_by"] == {"left": 2, "right": 1}
    assert spots[0]["missing"] == ["center"]
    splits = json.loads(
        fw("splits", "--by", "lean", "--all", "--limit", "0", "--json", db=db).stdout
    )
    one = next(s for s in splits if s["story_id"] == 1)
    assert one["groups"]["right"] == {"threat": 1.0}  # the copy's framing is the wire's
    assert one["articles"] == {"left": 2, "right": 1}
    con = duckdb.connect(db, read_only=True)
    coverage = dict(
        con.execute(
            """SELECT value, outlets FROM story_coverage_by_attribute
               WHERE story_id = 1 AND attribute = 'lean'"""
        ).fetchall()
    )
    assert coverage == {"left": 2, "right": 1}
    # The text is still counted once where texts are counted.
    assert con.execute("SELECT count(*) FROM article_facts WHERE story_id = 1").fetchone() == (2,)
    # The dashboard: an outlet that only ran copies is an outlet, and a story the left
    # broke is not "only Left One's" when the right ran it too.
    assert "Right One" in queries.outlets(con)
    only = queries.blind_spots(con, ["Left One", "Right One"], *queries.bounds(con))
    assert 1 not in set(only["story"])
    con.close()


def test_the_story_page_shows_the_copys_outlet_with_the_wires_frame(tmp_path):
    from framewatch.dashboards.compare_queries import cell_evidence, outlet_frame_matrix

    db = _wire_store(tmp_path)
    con = duckdb.connect(db, read_only=True)
    m = outlet_frame_matrix(con, 1, CB, "lean")
    right = m[(m["outlet"] == "Right One") & (m["frame"] == "Threat")]
    assert list(right["group"]) == ["right"] and list(right["evidence"]) == [
        "Strikers threaten the port."
    ]
    assert list(m[m["outlet"] == "Left One"]["articles"].unique()) == [1]
    assert list(cell_evidence(con, 1, CB, "Right One", "Threat")["sentence"]) == [
        "Strikers threaten the port."
    ]
    con.close()


def test_the_digests_watch_attention_counts_as_the_attention_command_does(tmp_path):
    from datetime import date

    from framewatch.analysis.compare.watches import week_attention

    db = _wire_store(tmp_path)
    assert fw("watch", "add", "harbour", "harbour", db=db).exit_code == 0
    cli = json.loads(fw("attention", "harbour", "--json", db=db).stdout)
    with duckdb.connect(db + ".snapshot", read_only=True) as con:
        (digest,) = week_attention(con, date(2026, 11, 9))
    # Four articles carry the word (the right's copy and Left One's repeat among them) of
    # the week's nine, in both.
    assert (cli["matched"], cli["total"]) == (digest.articles, digest.total) == (4, 9)


def test_an_outlets_repeat_counts_once_and_a_chain_of_copies_is_one_text(tmp_path):
    # Right One's wire text; Left One runs it word for word, then an updated version
    # (both marked as copies of Right One's, as the story stage marks them); the Centre
    # runs the update (a copy of a copy).
    n = Newsroom(tmp_path / "chain.duckdb")
    wire = n.article("Right One", 5, "2026-11-12", "Dockers vote to strike at dawn")
    _copy(n, "Left One", 5, "2026-11-12", wire)
    update = _copy(n, "Left One", 5, "2026-11-13", wire, kind="near", more=" Talks failed.")
    _copy(n, "Centre One", 5, "2026-11-13", update, kind="near", more=" Talks failed. Ports shut.")
    db = n.close()
    leans = tmp_path / "leans.csv"
    leans.write_text(LEANS)
    assert fw("outlets", "import", str(leans), db=db).exit_code == 0
    with duckdb.connect(db, read_only=True) as con:
        rows = con.execute(
            """SELECT value, articles, outlets FROM story_coverage_by_attribute
               WHERE story_id = 5 AND attribute = 'lean' ORDER BY value"""
        ).fetchall()
        assert rows == [("center", 1, 1), ("left", 1, 1), ("right", 1, 1)]
        story = queries.top_stories(con, *queries.bounds(con), None)
        assert list(story["articles"]) == [1] and list(story["outlets"]) == [3]
        assert list(story["coverage"][0]) == [1, 0]  # one text, on the day it first ran
    # A watch on the left's coverage finds the story the left carried as copies.
    assert fw("watch", "add", "left docks", "dockers", "--group", "lean=left", db=db).exit_code == 0
    checked = fw("watch", "check", db=db)
    assert checked.exit_code == 0 and "Dockers vote to strike" in checked.output, checked.output


def test_a_digest_following_an_outlet_gets_the_wire_stories_it_ran(tmp_path):
    from framewatch.dashboards.digest_data import build_digest

    db = _wire_store(tmp_path)
    with duckdb.connect(db + ".snapshot", read_only=True) as con:
        everyone = build_digest(con, "2026-W46", CB)
        right = build_digest(con, "2026-W46", CB, outlets=["Right One"])
    harbour = next(s for s in everyone.stories if s.id == 1)
    # Two texts (the wire's and Left Two's), from the three outlets that ran them.
    assert (harbour.articles, harbour.outlets) == (2, 3)
    assert everyone.total_articles == 7  # texts: each once
    # Right One ran the wire's text: its follower reads that story, framed as the wire.
    mine = next(s for s in right.stories if s.id == 1)
    assert (mine.articles, mine.outlets, mine.dominant) == (1, 1, "threat")
    assert [outlet for outlet, *_ in mine.links] == ["Right One"]


def test_an_outlet_that_runs_only_wire_copies_has_the_wires_framing(tmp_path):
    db = _wire_store(tmp_path)
    con = duckdb.connect(db, read_only=True)
    # Right One's threat text is its copy of Left One's story (its own text is a report).
    right = con.execute(
        """SELECT frame_id, articles FROM outlet_frames
           WHERE outlet = 'Right One' AND iso_week IS NULL AND codebook_id = ?""",
        [CB],
    ).fetchall()
    assert sorted(right) == [("report", 1), ("threat", 1)]
    weekly = con.execute(
        """SELECT frame_id, articles FROM frame_trends WHERE granularity = 'week'
           AND outlet = 'Left One' AND codebook_id = ?""",
        [CB],
    ).fetchall()
    assert sorted(weekly) == [("report", 1), ("threat", 1)]  # its repeat is not counted again
    # Over all outlets and per story a text is still framed once.
    all_threat = con.execute(
        """SELECT articles FROM frame_trends WHERE granularity = 'week' AND codebook_id = ?
           AND frame_id = 'threat' AND source_id IS NULL AND story_id IS NULL""",
        [CB],
    ).fetchall()
    assert all_threat == [(1,)]
    start, end = queries.bounds(con)
    mix = queries.outlet_mix(con, ["Right One"], CB, start, end)
    assert dict(zip(mix["frame"], mix["articles"], strict=True)) == {
        "Threat": 1,
        "Neutral report": 1,
    }
    trend = queries.weekly_trends(con, CB, "Right One", None, start, end)
    assert dict(zip(trend["frame"], trend["articles"], strict=True)) == {
        "Threat": 1,
        "Neutral report": 1,
    }
    by_story = queries.story_frame_mix(con, [1], CB, start, end, ["Right One"])
    assert list(by_story["frame"]) == ["Threat"]
    con.close()
