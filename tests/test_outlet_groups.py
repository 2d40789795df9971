"""Outlet attributes, blind spots, framing splits and watches, on stores built row by row.

The stores here hold what the pipeline would have written (sources, articles, stories,
frame shares, evidence) for a handful of constructed stories, so each expectation is
known exactly; the pipeline itself runs in test_compare_allsides.py on real coverage.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from framewatch.cli import app
from framewatch.store import open_store

CB = "geopolitics-tech"


class Newsroom:
    """Writes a store the way the pipeline leaves it, one article at a time."""

    def __init__(self, path):
        from framewatch.analysis.framing.codebook import register, resolve_codebook

        self.path = path
        self.store = open_store(path)
        with self.store.transaction():
            register(self.store, resolve_codebook(CB))
        self.stories: dict[int, list] = {}
        self.sources: dict[str, int] = {}

    def article(self, outlet: str, story: int | None, day: str, title: str,
                frames: dict[str, float] | None = None, evidence: dict[str, str] | None = None,
                text: str = "", language: str | None = None) -> int:  # fmt: skip
        from framewatch.sources import add_source

        st = self.store
        if outlet not in self.sources:
            self.sources[outlet] = add_source(st, f"import:{outlet}", name=outlet, origin="import")
        sid = self.sources[outlet]
        body = text or f"{title}. Officials spoke about it on {day}."
        h = hashlib.sha256(f"{outlet}{title}{body}".encode()).hexdigest()
        aid = st.execute(
            """INSERT INTO articles (source_id, url, canonical_url, title, published_at, text,
                                     content_hash, extraction, language)
               VALUES (?, ?, ?, ?, ?, ?, ?, 'imported', ?) RETURNING id""",
            [sid, f"https://news.example/{h[:12]}", f"https://news.example/{h[:12]}", title,
             datetime.fromisoformat(day + "T09:00:00"), body, h, language],
        ).fetchone()[0]  # fmt: skip
        if story is not None:
            st.execute(
                "INSERT INTO story_members (article_id, story_id) VALUES (?, ?)", [aid, story]
            )
            self.stories.setdefault(story, []).append((day, title, outlet, aid))
        frames = frames or {"report": 1.0}
        primary = max(frames, key=lambda f: (frames[f], f))
        # One statement a table, not one a row (a big store is hundreds of articles);
        # unnest over lists of equal length pairs them up row by row.
        st.execute(
            "INSERT INTO article_frames SELECT ?, ?, unnest(?), unnest(?), 0.5, unnest(?),"
            " 'zero-shot', 'test', now()",
            [aid, CB, list(frames), list(frames.values()), [f == primary for f in frames]],
        )
        st.execute(
            "INSERT INTO article_framing VALUES (?, ?, ?, 0.5, 0.0, 4, 'zero-shot', 'test', now())",
            [aid, CB, primary],
        )
        if evidence:
            st.execute(
                "INSERT INTO frame_evidence SELECT ?, ?, unnest(?), 1, unnest(?), 0.7",
                [aid, CB, list(evidence), list(evidence.values())],
            )
        return aid

    def close(self) -> str:
        for sid, members in self.stories.items():  # headlined by the first article written
            days = sorted(d for d, *_ in members)
            self.store.execute(
                """INSERT INTO stories (id, model, label, headline, headline_article_id, first_seen,
                                        last_seen, size, outlets, centroid)
                   VALUES (?, 'test', ?, ?, ?, ?, ?, ?, ?, [0.0]) ON CONFLICT DO NOTHING""",
                [sid, f"story{sid}", members[0][1], members[0][3], days[0], days[-1],
                 len(members), len({m[2] for m in members})],
            )  # fmt: skip
        self.store.publish_snapshot()
        self.store.close()
        return str(self.path)


def fw(*args, db=None, config=None):
    pre = (["--db", str(db)] if db else []) + (["--config", str(config)] if config else [])
    return CliRunner().invoke(app, [*pre, *args], env={"COLUMNS": "200"})


LEANS = "outlet,lean,owner\nLeft One,left,Alpha\nLeft Two,left,Beta\nRight One,right,Gamma\nRight Two,right,Gamma\nCentre One,center,\n"


@pytest.fixture
def newsroom(tmp_path):
    """Three stories in one week: one only the left covered, one balanced, one scoop."""
    n = Newsroom(tmp_path / "groups.duckdb")
    for i, outlet in enumerate(["Left One", "Left Two", "Left One"]):
        n.article(outlet, 1, "2026-11-10", f"Harbour strike spreads to rail depots ({i})")
    for outlet in ["Left One", "Right One", "Right Two", "Centre One", "Left Two"]:
        n.article(outlet, 2, "2026-11-11", f"Budget vote passes after all-night session ({outlet})")
    n.article("Right One", 3, "2026-11-11", "Local mayor resigns over expenses")
    return n


def _attrs(db, outlet):
    con = duckdb.connect(str(db), read_only=True)
    rows = dict(con.execute(
        "SELECT attribute, value FROM outlet_attributes WHERE outlet = ?", [outlet]).fetchall())  # fmt: skip
    con.close()
    return rows


def test_attributes_from_config_opml_cli_and_csv_apply_to_feeds_and_imports(tmp_path):
    from framewatch.outlets import set_outlet_attributes

    db = tmp_path / "attrs.duckdb"
    cfg = tmp_path / "framewatch.toml"
    cfg.write_text(
        '[[sources]]\nurl = "https://beacon.example/feed.xml"\nname = "Daily Beacon"\n'
        'country = "GB"\nlean = "right"\nowner = "Beacon Media Group"\n'
    )
    # 1. the config file: extra keys of a [[sources]] entry; country is an attribute too
    listed = fw("outlets", "list", "--json", db=db, config=cfg)
    assert listed.exit_code == 0, listed.output
    beacon = next(o for o in json.loads(listed.stdout) if o["outlet"] == "Daily Beacon")
    assert beacon["attributes"] == {"country": "GB", "lean": "right", "owner": "Beacon Media Group"}
    # 2. OPML: an outline's whole attribute dict; the feed's own attributes are not kept
    with open_store(db) as store:
        set_outlet_attributes(
            store, "Harbour Radio",
            {"text": "Harbour Radio", "xmlUrl": "https://radio.example/rss", "type": "rss",
             "htmlUrl": "https://radio.example/", "lean": "center", "public": "yes"},
            "opml",
        )  # fmt: skip
    assert _attrs(db, "Harbour Radio") == {"lean": "center", "public": "yes"}
    # 3. the command line, on the source name of imported articles
    rows = tmp_path / "mine.jsonl"
    rows.write_text(json.dumps({"title": "Port reopens", "text": "The port reopened today after repairs.",
                                "source": "Coast Courier", "published_at": "2026-11-10"}) + "\n")  # fmt: skip
    assert fw("import", str(rows), db=db).exit_code == 0
    r = fw("outlets", "set", "Coast Courier", "lean=left", "owner=Coast Media Ltd", db=db)
    assert r.exit_code == 0, r.output
    assert _attrs(db, "Coast Courier") == {"lean": "left", "owner": "Coast Media Ltd"}
    assert fw("outlets", "set", "Coast Courier", "owner=", db=db).exit_code == 0
    assert _attrs(db, "Coast Courier") == {"lean": "left"}
    # One value, one spelling: "CENTER" joins Harbour Radio's "center", not a group of its own.
    assert fw("outlets", "set", "Coast Courier", "lean=CENTER", db=db).exit_code == 0
    assert _attrs(db, "Coast Courier") == {"lean": "center"}
    assert fw("outlets", "set", "Coast Courier", "lean=left", db=db).exit_code == 0
    typo = fw("outlets", "set", "Coast courier", "lean=left", db=db)
    assert typo.exit_code == 0 and "did you mean: Coast Courier" in typo.output
    # 4. a CSV; an empty cell leaves the attribute alone
    csv_file = tmp_path / "outlets.csv"
    csv_file.write_text(
        "outlet,owner,lean\nCoast Courier,Coast Media Ltd,\nDaily Beacon,,far-right\n"
    )
    r = fw("outlets", "import", str(csv_file), db=db, config=cfg)
    assert r.exit_code == 0 and "set attributes of 2 outlets" in r.output, r.output
    assert _attrs(db, "Coast Courier") == {"lean": "left", "owner": "Coast Media Ltd"}
    # The imported article's outlet is grouped through SQL like any feed's.
    con = duckdb.connect(str(db), read_only=True)
    joined = con.execute(
        """SELECT x.title, oa.value FROM article_facts x
           JOIN outlet_attributes oa ON oa.outlet = x.outlet AND oa.attribute = 'lean'"""
    ).fetchall()
    con.close()
    assert joined == [("Port reopens", "left")]
    # Bad input: one clear line, exit 2, nothing lost.
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("name,lean\nX,left\n")
    r = fw("outlets", "import", str(bad_csv), db=db)
    assert r.exit_code == 2 and "needs an 'outlet' column (found: name, lean;" in r.output
    # A German Excel export: semicolons, a sep= line, the outlet column capitalised.
    excel = tmp_path / "excel.csv"
    excel.write_text("sep=;\nOutlet;owner\nDaily Beacon;Beacon Group\n", encoding="utf-8-sig")
    r = fw("outlets", "import", str(excel), db=db)
    assert r.exit_code == 0, r.output
    assert _attrs(db, "Daily Beacon")["owner"] == "Beacon Group"
    excel.write_text("sep=;\nOutlet;owner\nDaily Beacon;A\nDaily Beacon;B\n", encoding="utf-8")
    r = fw("outlets", "import", str(excel), db=db)
    assert r.exit_code == 2 and "lines 3 and 4: 'Daily Beacon' has owner" in r.output
    twice = tmp_path / "twice.csv"
    twice.write_text("outlet,lean\nCoast Courier,right\nCoast Courier,center\n")
    r = fw("outlets", "import", str(twice), db=db)
    assert (
        r.exit_code == 2
        and "lines 2 and 3: 'Coast Courier' has lean = 'right' and 'center'" in r.output
    )
    assert fw("outlets", "set", "Coast Courier", "lean", db=db).exit_code == 2
    assert fw("outlets", "set", "Coast Courier", "9lives=x", db=db).exit_code == 2
    cfg.write_text('[[sources]]\nurl = "https://beacon.example/feed.xml"\nlean = ["right"]\n')
    r = fw("outlets", "list", db=db, config=cfg)
    assert r.exit_code == 2 and "sources[0].lean" in r.output
    assert _attrs(db, "Coast Courier") == {"lean": "left", "owner": "Coast Media Ltd"}


def test_blind_spots_list_a_one_sided_story_not_a_balanced_one(newsroom, tmp_path):
    csv_file = tmp_path / "leans.csv"
    csv_file.write_text(LEANS)
    db = newsroom.close()
    assert fw("outlets", "import", str(csv_file), db=db).exit_code == 0
    # Five outlets are too few for a gap to hold up against chance (test_compare_stats.py
    # has one that does): by default nothing is listed; --all shows the candidates.
    r = fw("blindspots", "--by", "lean", "--json", db=db)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == []
    # Dates swapped: a slip named, not an empty answer.
    for cmd in ("blindspots", "splits"):
        r = fw(cmd, "--by", "lean", "--since", "2026-05-01", "--until", "2026-04-01", db=db)
        assert r.exit_code == 2 and "--since 2026-05-01 is after --until 2026-04-01" in r.output
    r = fw("blindspots", "--by", "lean", "--all", "--json", db=db)
    spots = json.loads(r.stdout)
    assert [s["story_id"] for s in spots] == [1]  # not the balanced story 2, not the scoop 3
    assert spots[0]["covered_by"] == {"left": 3}
    assert spots[0]["missing"] == ["center", "right"]
    assert spots[0]["headline"].startswith("Harbour strike")
    # The period filter: the one-sided story is before --since.
    later = json.loads(
        fw("blindspots", "--by", "lean", "--since", "2026-11-11", "--all", "--json", db=db).stdout
    )
    assert later == []
    table = fw("blindspots", "--by", "lean", "--all", db=db)
    assert "Harbour strike" in table.output and "right" in table.output
    # A threshold is a setting: with a minimum of 4 articles the story is too small.
    cfg = tmp_path / "fw.toml"
    cfg.write_text("[compare]\nmin_articles = 4\n")
    assert (
        json.loads(fw("blindspots", "--by", "lean", "--all", "--json", db=db, config=cfg).stdout)
        == []
    )
    r = fw("blindspots", "--by", "leaning", db=db)
    assert r.exit_code == 2 and "attributes: lean, owner" in r.output
    # --limit 0 lists all, as in search; a cut list says so (on stderr, so JSON stays a list).
    assert (
        len(
            json.loads(
                fw("blindspots", "--by", "lean", "--all", "--limit", "0", "--json", db=db).stdout
            )
        )
        == 1
    )
    story2 = fw("splits", "--by", "lean", "--all", "--limit", "0", "--json", db=db)
    assert story2.exit_code == 0 and len(json.loads(story2.stdout)) == 1
    every = json.loads(
        fw("splits", "--by", "owner", "--all", "--limit", "0", "--json", db=db).stdout
    )
    cut = fw("splits", "--by", "owner", "--all", "--limit", "1", "--json", db=db)
    assert len(every) == 2 and json.loads(cut.stdout) == every[:1]
    assert "note: showing 1 of 2; --limit 0 lists all" in cut.stderr
    assert fw("splits", "--by", "lean", "--limit", "-1", db=db).exit_code == 2
    unframed = fw("splits", "--by", "lean", "--codebook", "policy-frames", db=db)
    assert unframed.exit_code == 2 and "has not framed this store" in unframed.output
    assert fw("blindspots", "--by", "lean", "--since", "last week", db=db).exit_code == 2


def test_a_multilingual_outlet_counts_in_each_language_it_wrote(tmp_path):
    # Language belongs to the article: DW's English piece is English coverage, not German.
    n = Newsroom(tmp_path / "languages.duckdb")
    for outlet, lang, frames in [("DW", "en", {"milestone": 1.0}), ("Reuters", "en", {"milestone": 1.0}),
                                 ("DW", "de", {"milestone": 0.4, "threat": 0.6}), ("Spiegel", "de", {"threat": 1.0})]:  # fmt: skip
        said = {"milestone": "A historic milestone." if lang == "en" else "Ein Meilenstein."}
        n.article(
            outlet, 1, "2026-11-10", f"Launch ({outlet}, {lang})", frames, said, language=lang
        )
    # One outlet told story 2 in two languages: still a story covered by two languages.
    n.article("DW", 2, "2026-11-11", "Flood warning", {"threat": 1.0}, language="en")
    n.article("DW", 2, "2026-11-11", "Hochwasserwarnung", {"report": 1.0}, language="de")
    db = n.close()
    r = fw("splits", "--by", "language", "--codebook", CB, "--all", "--json", db=db)
    assert r.exit_code == 0, r.output
    found = {s["story_id"]: s for s in json.loads(r.stdout)}
    assert found[1]["articles"] == {"de": 2, "en": 2} and found[1]["outlets"] == {"de": 2, "en": 2}
    assert found[1]["groups"] == {"de": {"milestone": 0.2, "threat": 0.8}, "en": {"milestone": 1.0}}
    # The story page's "who framed it how": DW has a row per language, each with its own
    # language's strongest sentence, marked with that language.
    import duckdb

    from framewatch.dashboards.compare_queries import outlet_frame_matrix

    with duckdb.connect(str(db) + ".snapshot", read_only=True) as con:
        cells = outlet_frame_matrix(con, 1, CB, "language")
    dw = cells[(cells["outlet"] == "DW") & (cells["evidence"] != "")]
    assert sorted(zip(dw["group"], dw["language"], dw["evidence"], strict=True)) == [
        ("de", "de", "Ein Meilenstein."), ("en", "en", "A historic milestone.")]  # fmt: skip
    assert found[2]["articles"] == {"de": 1, "en": 1}


def _jsd(p: list[float], q: list[float]) -> float:
    """Jensen-Shannon divergence in bits, written out (the code uses scipy)."""
    m = [(a + b) / 2 for a, b in zip(p, q, strict=True)]

    def kl(x):
        return sum(a * math.log2(a / b) for a, b in zip(x, m, strict=True) if a > 0)

    return (kl(p) + kl(q)) / 2


def test_splits_are_ordered_by_divergence_with_groups_and_evidence(tmp_path):
    n = Newsroom(tmp_path / "splits.duckdb")
    # story 1: the left sees a threat, the right an opportunity (divergence 1)
    n.article("Left One", 1, "2026-11-10", "Chip plant opens", {"threat": 0.8, "none": 0.2},
              {"threat": "The plant is a danger to national security."})  # fmt: skip
    n.article("Right One", 1, "2026-11-10", "Chip plant opens its doors", {"opportunity": 0.6, "none": 0.4},
              {"opportunity": "The plant will create thousands of jobs."})  # fmt: skip
    # story 2: nearly the same mix
    n.article(
        "Left One", 2, "2026-11-11", "Ferry fares rise", {"economic_cost": 0.5, "regulation": 0.5}
    )
    n.article(
        "Right One",
        2,
        "2026-11-11",
        "Ferry fares to rise",
        {"economic_cost": 0.6, "regulation": 0.4},
    )
    # story 3: somewhere between
    n.article(
        "Left One", 3, "2026-11-12", "Satellite launch", {"milestone": 0.5, "competition": 0.5}
    )
    n.article(
        "Right Two", 3, "2026-11-12", "Satellite launched", {"milestone": 0.9, "competition": 0.1}
    )
    # story 4: one group only: no split
    n.article("Left Two", 4, "2026-11-12", "Bridge closes", {"report": 1.0})
    db = n.close()
    csv_file = tmp_path / "leans.csv"
    csv_file.write_text(LEANS)
    assert fw("outlets", "import", str(csv_file), db=db).exit_code == 0
    # One article a side: no split holds up against chance (by default none is listed);
    # --all ranks them all, by the divergence shrunk towards each story's framing.
    r = fw("splits", "--by", "lean", "--codebook", CB, "--json", db=db)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == []
    found = json.loads(
        fw("splits", "--by", "lean", "--codebook", CB, "--all", "--json", db=db).stdout
    )
    assert [s["story_id"] for s in found] == [1, 3, 2]
    assert found[0]["divergence"] == pytest.approx(1.0)
    assert found[1]["divergence"] == pytest.approx(_jsd([0.5, 0.5], [0.9, 0.1]), abs=1e-5)
    assert found[2]["divergence"] == pytest.approx(_jsd([0.5, 0.5], [0.6, 0.4]), abs=1e-5)
    assert found[0]["groups"] == {"left": {"threat": 1.0}, "right": {"opportunity": 1.0}}
    assert (
        found[0]["evidence"]["left"][0]["sentence"] == "The plant is a danger to national security."
    )
    assert found[0]["evidence"]["right"][0]["outlet"] == "Right One"
    text = fw("splits", "--by", "lean", "--all", db=db).output
    assert text.index("story 1:") < text.index("story 3:") < text.index("story 2:")
    assert "thousands of jobs" in text
    assert fw("splits", "--by", "lean", "--codebook", "nope", db=db).exit_code == 2


def test_a_watch_reports_a_new_match_once_not_twice(newsroom, tmp_path):
    from framewatch.analysis.compare.watches import week_reports
    from framewatch.config import CompareSettings
    from framewatch.dashboards.digest_data import parse_week

    db = newsroom.close()
    csv_file = tmp_path / "leans.csv"
    csv_file.write_text(LEANS)
    assert fw("outlets", "import", str(csv_file), db=db).exit_code == 0
    r = fw("watch", "add", "strikes on the left", "strike", "--group", "lean=left", db=db)
    assert r.exit_code == 0, r.output
    assert fw("watch", "add", "budget", "budget", "vote", db=db).exit_code == 0
    assert "strikes on the left" in fw("watch", "list", db=db).output
    first = json.loads(fw("watch", "check", "--json", db=db).stdout)
    assert sorted((m["watch"], m["kind"], m["story_id"]) for m in first) == [
        ("budget", "match", 2), ("strikes on the left", "match", 1)]  # fmt: skip
    second = fw("watch", "check", db=db)
    assert second.exit_code == 0 and "nothing new" in second.output
    # A new story that matches is reported, the old ones are not reported again.
    with open_store(db) as store:
        n = Newsroom.__new__(Newsroom)
        n.store, n.stories, n.sources, n.path = store, {}, {}, db
        n.article("Left Two", 7, "2026-11-18", "Strike ends at the rail depots")
        n.article("Right One", 7, "2026-11-18", "Rail strike is over")
        for sid, members in n.stories.items():
            store.execute(
                "INSERT INTO stories (id, model, label, headline, first_seen, last_seen, size, outlets, centroid)"
                " VALUES (?, 'test', 'rail', ?, '2026-11-18', '2026-11-18', 2, 2, [0.0])",
                [sid, members[0][1]],
            )
        store.publish_snapshot()
    third = json.loads(fw("watch", "check", "--json", db=db).stdout)
    assert [(m["watch"], m["story_id"]) for m in third] == [("strikes on the left", 7)]
    assert json.loads(fw("watch", "check", "--json", db=db).stdout) == []
    # The digest reports a match in the week of its first matching article only.
    con = duckdb.connect(db + ".snapshot", read_only=True)
    w46 = week_reports(con, parse_week("2026-W46"), CompareSettings())
    w47 = week_reports(con, parse_week("2026-W47"), CompareSettings())
    con.close()
    assert {(r.watch, r.story_id) for r in w46} == {("strikes on the left", 1), ("budget", 2)}
    assert {(r.watch, r.story_id) for r in w47} == {("strikes on the left", 7)}
    assert fw("watch", "remove", "budget", db=db).exit_code == 0
    assert fw("watch", "remove", "budget", db=db).exit_code == 2
    assert fw("watch", "add", "nothing", db=db).exit_code == 2
    assert fw("watch", "add", "bad", "--group", "lean", db=db).exit_code == 2
    # An attribute no outlet has could never match: refused, as search refuses it.
    r = fw("watch", "add", "party", "strike", "--group", "party=right", db=db)
    assert r.exit_code == 2 and "no outlet has the attribute 'party'" in r.output
    assert fw("watch", "add", "by party", "strike", "--split-by", "party", db=db).exit_code == 2
    # A mistyped --db is an error, not a new empty store that has nothing new forever.
    typo = Path(db).with_name("grups.duckdb")
    for args in (["watch", "check"], ["watch", "list"]):
        r = fw(*args, db=typo)
        assert r.exit_code != 0 and "no store at" in r.output and not typo.exists()


def test_digest_names_an_outlet_framing_differently_only_when_its_articles_show_it(tmp_path):
    from framewatch.dashboards.digest_data import build_digest

    n = Newsroom(tmp_path / "lean.duckdb")
    threat, economic = {"threat": 0.8, "economic": 0.2}, {"economic": 0.7, "threat": 0.1}
    for i in range(8):  # eight articles, mostly threat, where everyone else is economic
        n.article("Alarm Daily", None, "2026-11-10", f"Danger ahead, part {i}", threat)
    for i in range(12):
        n.article(f"Market Wire {i % 4}", None, "2026-11-11", f"Prices move, part {i}", economic)
    n.article("One Shot Post", None, "2026-11-12", "A single alarming piece", {"threat": 1.0})
    db = n.close()
    con = duckdb.connect(db + ".snapshot", read_only=True)
    d = build_digest(con, "2026-W46", CB)
    con.close()
    # One article's frame is not an outlet's framing: One Shot Post is not named.
    assert [u.outlet for u in d.unusual_outlets] == ["Alarm Daily"]
    u = d.unusual_outlets[0]
    assert u.frame == "Threat" and u.articles == 8 and u.interval[0] > u.others
    assert "Alarm Daily leans on Threat: 80% (90% interval" in u.describe()
    assert "8 articles) against" in u.describe()
    # A trace of a frame nobody else uses (2% of 30 articles against 0%) is noise, not a lean.
    n = Newsroom(tmp_path / "trace.duckdb")
    for i in range(30):
        n.article(
            "Steady Times",
            None,
            "2026-11-10",
            f"Steady {i}",
            {"economic": 0.98, "opportunity": 0.02},
        )
        n.article(
            "Other Post", None, "2026-11-10", f"Other {i}", {"economic": 0.98, "threat": 0.02}
        )
    with duckdb.connect(n.close() + ".snapshot", read_only=True) as con:
        assert build_digest(con, "2026-W46", CB).unusual_outlets == []
