"""Comparisons that hold up: counts, intervals, permutation tests and the FDR.

Stores built row by row (test_outlet_groups.Newsroom), so each expectation is known:
a split told by six outlets a side holds up, the same divergence from one article a
side does not; a story twelve outlets covered without any of the eight right-leaning
ones is a blind spot that holds up, a two-article story missing a side is not.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import REPO
from scipy.stats import false_discovery_control
from test_outlet_groups import CB, Newsroom, fw

from framewatch.analysis.compare import stats
from framewatch.analysis.intervals import jeffreys_interval

SIDES = ["left", "center", "right"]


def _outlets_csv(tmp_path, leans: dict[str, str]):
    f = tmp_path / "leans.csv"
    f.write_text("outlet,lean\n" + "".join(f"{o},{v}\n" for o, v in leans.items()))
    return f


def test_benjamini_hochberg_and_jeffreys_match_their_definitions():
    p = [0.001, 0.04, 0.03, 0.5, 0.02, 0.9, 0.04]
    assert stats.bh_adjust(p) == pytest.approx(list(false_discovery_control(p, method="bh")))
    assert stats.bh_adjust([]) == []
    lo, hi = jeffreys_interval(0, 2)
    assert lo == 0.0 and 0.5 < hi < 0.65  # two articles say little
    lo, hi = jeffreys_interval(10, 40)
    assert lo < 0.25 < hi and hi - lo < 0.25


def test_permutation_test_is_exact_and_counts_outlets_not_articles():
    # Two outlets a side, every article one frame: 6 relabellings, 2 as extreme.
    mass = np.array([[1.0, 0], [1.0, 0], [0, 1.0], [0, 1.0]])
    arts = np.ones(4)
    rng = np.random.default_rng(0)
    obs, p = stats.permutation_p(mass, arts, np.array([0, 0, 1, 1]), 2.0, rng, 2000)
    assert p == pytest.approx(2 / 6) and obs > 0
    # One prolific outlet a side: one relabelling of two outlets is the observed one
    # swapped, as extreme: p = 1 however many articles each wrote.
    obs, p = stats.permutation_p(
        np.array([[9.0, 0], [0, 9.0]]), np.array([9.0, 9.0]), np.array([0, 1]), 2.0, rng, 2000
    )
    assert p == 1.0
    # Many outlets: Monte Carlo, seeded, the same every time.
    big = np.array([[1.0, 0]] * 12 + [[0, 1.0]] * 12)
    labels = np.array([0] * 12 + [1] * 12)
    runs = {stats.permutation_p(big, np.ones(24), labels, 2.0, np.random.default_rng([23, 5]), 500)
            for _ in range(2)}  # fmt: skip
    assert len(runs) == 1 and next(iter(runs))[1] == pytest.approx(1 / 501)
    # The seeded draws are part of what a store shows: a p-value published before stays
    # the same (162 of the 500 draws and the observed labelling, with these seeds).
    gen = np.random.default_rng(3)
    mixed = gen.dirichlet(np.ones(4), size=14)
    _, p = stats.permutation_p(mixed, gen.integers(1, 4, size=14).astype(float),
                               np.array([0] * 5 + [1] * 5 + [2] * 4), 2.0,
                               np.random.default_rng([23, 9]), 500)  # fmt: skip
    assert p == pytest.approx(162 / 501)


def _split_store(tmp_path):
    """Story 1: six outlets a side framing it oppositely; story 2: one article a side."""
    n = Newsroom(tmp_path / "split.duckdb")
    leans = {}
    for i in range(6):
        leans[f"Left {i}"], leans[f"Right {i}"] = "left", "right"
        n.article(f"Left {i}", 1, "2026-11-10", f"Chip plant opens ({i}L)",
                  {"threat": 0.7, "none": 0.3}, {"threat": f"A danger to security, says {i}."})  # fmt: skip
        n.article(f"Right {i}", 1, "2026-11-10", f"Chip plant opens ({i}R)",
                  {"opportunity": 0.6, "competition": 0.1, "none": 0.3},
                  {"opportunity": f"Thousands of jobs, says {i}."})  # fmt: skip
    n.article("Left 0", 2, "2026-11-11", "Ferry fares rise", {"economic_cost": 1.0})
    n.article("Right 0", 2, "2026-11-11", "Ferry fares to rise", {"regulation": 1.0})
    db = n.close()
    assert fw("outlets", "import", str(_outlets_csv(tmp_path, leans)), db=db).exit_code == 0
    return db


def test_a_watch_reports_a_split_that_holds_up_once_and_never_one_article_a_side(tmp_path):
    db = _split_store(tmp_path)
    assert fw("watch", "add", "chips", "chip OR ferry", "--split-by", "lean", db=db).exit_code == 0
    first = json.loads(fw("watch", "check", "--json", db=db).stdout)
    assert sorted((m["kind"], m["story_id"]) for m in first) == [
        ("match", 1), ("match", 2), ("split", 1)]  # fmt: skip
    detail = next(m["detail"] for m in first if m["kind"] == "split")
    assert "between" in detail and "6 and 6 outlets" in detail and "p = " in detail
    assert json.loads(fw("watch", "check", "--json", db=db).stdout) == []


def test_only_splits_that_hold_up_are_listed_with_counts_and_intervals(tmp_path):
    db = _split_store(tmp_path)
    r = fw("splits", "--by", "lean", "--json", db=db)
    assert r.exit_code == 0, r.output
    held = json.loads(r.stdout)
    assert [s["story_id"] for s in held] == [1]
    s = held[0]
    assert s["holds_up"] and s["q_value"] <= 0.1
    assert s["p_value"] == pytest.approx(2 / math.comb(12, 6), abs=1e-4)  # exact test
    assert s["articles"] == {"left": 6, "right": 6} and s["outlets"] == {"left": 6, "right": 6}
    lo, hi = s["divergence_interval"]
    assert 0 < lo <= s["divergence_shrunk"] <= hi <= 1
    assert s["divergence_shrunk"] < s["divergence"] == pytest.approx(1.0)
    for v, shares in s["groups"].items():
        for f, share in shares.items():
            lo, hi = s["intervals"][v][f]
            assert lo <= share <= hi
    # A frame the right never used still has an interval: zero, give or take.
    assert s["intervals"]["right"]["threat"][0] == 0.0 < s["intervals"]["right"]["threat"][1]
    # --all: story 2 too (raw divergence 1.0 from one article a side), ranked below by the
    # shrunk divergence, with a p-value of 1 and a wide interval.
    every = json.loads(fw("splits", "--by", "lean", "--all", "--json", db=db).stdout)
    assert [x["story_id"] for x in every] == [1, 2]
    two = every[1]
    assert two["divergence"] == pytest.approx(1.0) and not two["holds_up"]
    assert two["p_value"] == 1.0 and two["articles"] == {"left": 1, "right": 1}
    assert two["divergence_interval"][1] - two["divergence_interval"][0] > 0.3
    for x in every:  # each interval is about the figure shown beside it
        assert x["divergence_interval"][0] <= x["divergence_shrunk"] <= x["divergence_interval"][1]
    assert every[0]["divergence_shrunk"] > two["divergence_shrunk"]
    text = fw("splits", "--by", "lean", db=db).output
    assert "1 of 2 stories" in text and "--all" in text and "6 art., 6 outl." in text
    assert "Ferry" not in text
    # Deterministic: the same answer twice.
    assert json.loads(fw("splits", "--by", "lean", "--all", "--json", db=db).stdout) == every


def _blind_store(tmp_path):
    """24 outlets, 8 a side, all writing that week. Story 1: twelve left and centre outlets,
    no right one. Story 2: one left and one centre article. Story 3: everyone."""
    n = Newsroom(tmp_path / "blind.duckdb")
    leans = {f"{side.title()} {i}": side for side in SIDES for i in range(8)}
    for i in range(6):
        for side in ("left", "center"):
            n.article(f"{side.title()} {i}", 1, "2026-11-10", f"Harbour strike spreads ({side}{i})")
    n.article("Left 7", 2, "2026-11-11", "Mayor resigns over expenses")
    n.article("Center 7", 2, "2026-11-11", "Mayor resigns")
    for o in leans:
        n.article(o, 3, "2026-11-11", f"Budget vote passes ({o})")
    db = n.close()
    assert fw("outlets", "import", str(_outlets_csv(tmp_path, leans)), db=db).exit_code == 0
    return db


def test_only_blind_spots_that_hold_up_are_listed_with_their_odds(tmp_path):
    from scipy.stats import hypergeom

    db = _blind_store(tmp_path)
    cfg = tmp_path / "fw.toml"
    cfg.write_text("[compare]\nmin_articles = 2\n")
    every = json.loads(
        fw("blindspots", "--by", "lean", "--all", "--json", db=db, config=cfg).stdout
    )
    assert [s["story_id"] for s in every] == [1, 2]
    one, two = every
    assert one["missing"] == ["right"] and one["holds_up"]
    gap = one["gaps"]["right"]
    assert gap["articles"] == 0 and gap["outlets"] == 0 and gap["active_outlets"] == 8
    assert gap["p_value"] == pytest.approx(hypergeom.cdf(0, 24, 8, 12), rel=1e-3)
    assert gap["share_interval"][0] == 0.0 < gap["share_interval"][1] < 0.2
    assert gap["usual_share"] == pytest.approx(8 / 26, abs=0.01)
    assert one["outlets"] == {"center": 6, "left": 6}
    # Two outlets missing a third of the outlets: that happens by chance half the time.
    assert two["missing"] == ["right"] and not two["holds_up"]
    assert two["gaps"]["right"]["p_value"] > 0.4
    assert two["gaps"]["right"]["share_interval"][1] > 0.5
    held = json.loads(fw("blindspots", "--by", "lean", "--json", db=db, config=cfg).stdout)
    assert [s["story_id"] for s in held] == [1]
    text = fw("blindspots", "--by", "lean", db=db, config=cfg).output
    assert "1 of 2 blind spots" in text and "Harbour strike" in text and "Mayor" not in text


def test_fdr_and_prior_are_settings(tmp_path):
    db = _split_store(tmp_path)
    cfg = tmp_path / "fw.toml"
    cfg.write_text("[compare]\nfalse_discovery_rate = 0.001\n")
    assert json.loads(fw("splits", "--by", "lean", "--json", db=db, config=cfg).stdout) == []
    cfg.write_text("[compare]\nfalse_discovery_rate = 2\n")
    r = fw("splits", "--by", "lean", db=db, config=cfg)
    assert r.exit_code == 2 and "false_discovery_rate" in r.output


def _house_style_store(tmp_path, seed: int = 7):
    """30 outlets, each with a house style (its own mix of frames), 40 stories covered by
    6 to 12 of them with one to three articles each. Outlet lean is assigned later."""
    rng = np.random.default_rng(seed)
    frames = ["threat", "competition", "opportunity", "regulation", "economic_cost", "milestone"]
    outlets = [f"Outlet {i:02d}" for i in range(30)]
    house = {o: rng.dirichlet(np.full(len(frames), 0.4)) for o in outlets}
    n = Newsroom(tmp_path / "house.duckdb")
    with n.store.transaction():  # one commit, not one per row
        for story in range(1, 41):
            day = f"2026-11-{1 + story % 28:02d}"
            for o in rng.choice(outlets, size=int(rng.integers(6, 13)), replace=False):
                for k in range(int(rng.integers(1, 4))):
                    mix = rng.dirichlet(house[o] * 20 + 0.05)
                    shares = {f: round(float(x) * 0.8, 4) for f, x in zip(frames, mix, strict=True)}
                    n.article(
                        str(o), story, day, f"Story {story} by {o} ({k})", {**shares, "none": 0.2}
                    )
    return n.close(), outlets, house, frames


@pytest.mark.slow  # about 25 s on a quiet 2-core machine: 600 articles, 21 labellings
def test_shuffled_outlet_labels_yield_almost_no_splits_or_blind_spots(tmp_path):
    """Random lean labels, 20 times: at most 5% of the stories are listed, although outlets
    have house styles (an article-level test would call those splits)."""
    import duckdb

    from framewatch.analysis.compare.blindspots import find_blind_spots
    from framewatch.analysis.compare.splits import find_splits
    from framewatch.config import CompareSettings

    db, outlets, house, frames = _house_style_store(tmp_path)
    rng = np.random.default_rng(2026)
    sides = np.array(SIDES * 10)
    shuffles = [rng.permutation(sides) for _ in range(20)]
    # Labels that follow the house style: outlets that see more threat than opportunity.
    styled = {o: "left" if house[o][0] > house[o][2] else "right" for o in outlets}
    f = tmp_path / "shuffled.csv"
    f.write_text("outlet,styled," + ",".join(f"s{i}" for i in range(20)) + "\n" + "".join(
        f"{o},{styled[o]}," + ",".join(str(s[j]) for s in shuffles) + "\n"
        for j, o in enumerate(outlets)))  # fmt: skip
    assert fw("outlets", "import", str(f), db=db).exit_code == 0
    con = duckdb.connect(db + ".snapshot", read_only=True)
    cfg = CompareSettings(min_articles=2, permutations=500)
    try:
        rates = []
        for i in range(20):
            every = find_splits(con, f"s{i}", CB, cfg, limit=None, evidence_per_group=0)
            spots = find_blind_spots(con, f"s{i}", cfg)
            assert len(every) == 40
            rates.append((sum(s.holds_up for s in every) / 40, sum(s.holds_up for s in spots) / 40))
            # Without the test, random labels look like splits and blind spots everywhere.
            assert max(s.divergence for s in every) > 0.3
        assert max(r[0] for r in rates) <= 0.05, rates
        assert max(r[1] for r in rates) <= 0.05, rates
        # The same stories with labels that follow the outlets' styles: the splits are real,
        # and many of them hold up, with six to twelve outlets a story.
        real = find_splits(con, "styled", CB, cfg, limit=None, evidence_per_group=0)
        assert sum(s.holds_up for s in real) >= 8, [s.p_value for s in real]
    finally:
        con.close()


def test_codebook_suggested_for_technology_news_is_geopolitics_tech(demo_db):
    r = fw("codebooks", "suggest", db=demo_db)
    assert r.exit_code == 0, r.output
    assert "suggested for these 35 articles: geopolitics-tech; it already runs" in r.output
    assert "policy-frames" in r.output and "framed share" in r.output


def test_codebook_suggestion_needs_articles(tmp_path):
    from framewatch.store import open_store

    with open_store(tmp_path / "empty.duckdb") as st:
        st.publish_snapshot()
    r = fw("codebooks", "suggest", db=tmp_path / "empty.duckdb")
    assert r.exit_code == 2 and "no articles yet" in r.output and "Traceback" not in r.output


def test_frame_trends_show_weekly_intervals(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from framewatch.dashboards.compare_queries import with_share_intervals

    db = _split_store(tmp_path)
    monkeypatch.setenv("FRAMEWATCH_DB", str(db))
    at = AppTest.from_file(str(REPO / "dashboards" / "app.py"), default_timeout=60)
    at.query_params["page"] = "Frame trends"
    at.run()
    assert not at.exception
    cells = at.dataframe[0].value
    assert cells.stack().str.contains(r"\d+% \(\d+%–\d+%, n=\d+\)").all()
    assert "90% Jeffreys" in " ".join(c.value for c in at.caption)
    import pandas as pd

    few, many = with_share_intervals(pd.DataFrame({"share": [0.5, 0.5], "articles": [4, 400]}))[
        ["low", "high"]
    ].to_numpy()
    assert few[1] - few[0] > 3 * (many[1] - many[0])


def test_digest_lists_the_split_that_holds_up_with_its_interval_escaped(tmp_path):
    hostile = '<img src=x onerror="alert(1)"> left'
    n = Newsroom(tmp_path / "digest.duckdb")
    leans = {}
    for i in range(6):
        leans[f"Left {i}"], leans[f"Right {i}"] = hostile, "right"
        n.article(f"Left {i}", 1, "2026-11-10", f"Chip plant opens ({i}L)", {"threat": 1.0},
                  {"threat": f"A danger to security, says {i}."})  # fmt: skip
        n.article(f"Right {i}", 1, "2026-11-10", f"Chip plant opens ({i}R)", {"opportunity": 1.0})
    n.article("Left 0", 2, "2026-11-11", "Ferry fares rise", {"economic_cost": 1.0})
    n.article("Right 0", 2, "2026-11-11", "Ferry fares to rise", {"regulation": 1.0})
    db = n.close()
    f = tmp_path / "leans.csv"
    f.write_text(
        "outlet,lean\n"
        + "".join(f'{o},"{v.replace(chr(34), chr(34) * 2)}"\n' for o, v in leans.items())
    )
    assert fw("outlets", "import", str(f), db=db).exit_code == 0
    page = tmp_path / "d.html"
    r = fw("digest", "--week", "2026-W46", "--preview", str(page), db=db)
    assert r.exit_code == 0, r.output
    html = page.read_text()
    splits = html.split("Biggest framing splits</h2>", 1)[1].split("</tr>", 1)[0]
    assert "Chip plant opens" in splits and "Ferry" not in splits
    assert "90% interval" in splits and "&lt;img src=x" in splits and "right 6" in splits
    assert "<img" not in html


def test_each_divergence_lies_inside_its_own_interval_on_the_demo(demo_db):
    every = json.loads(
        fw("splits", "--by", "country", "--all", "--limit", "0", "--json", db=demo_db).stdout
    )
    assert len(every) >= 3
    for (
        s
    ) in every:  # small groups: posterior draws differ by noise alone; the figure still sits inside
        lo, hi = s["divergence_interval"]
        assert 0 <= lo <= s["divergence_shrunk"] <= hi <= 1, s["story_id"]
