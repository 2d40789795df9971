"""Blind spots and framing splits on real coverage: AllSides story roundups (2021).

Each AllSides roundup tells one story from left, center and right outlets. We drop one
side's article from some stories, run the real pipeline (import, embed, cluster,
frame) and expect the blind spots to name the side we dropped. Skipped without
../shared.
"""

from __future__ import annotations

import csv
import json

import pytest
from conftest import REPO
from typer.testing import CliRunner

from framewatch.cli import app

DATA = REPO.parent / "shared" / "dev-data" / "allsides_neus_stories" / "stories.jsonl"
SIDE = {
    "left": "left",
    "lean left": "left",
    "center": "center",
    "lean right": "right",
    "right": "right",
}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not DATA.exists(), reason="../shared/dev-data is not available"),
]


def dropped_side(story: str) -> str | None:
    """One story in six loses its right-hand article, another in six its left-hand one."""
    return {0: "right", 3: "left"}.get(int(story.split("-")[1]) % 6)


@pytest.fixture(scope="module")
def allsides(tmp_path_factory):
    folder = tmp_path_factory.mktemp("allsides")
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if "2021-06-01" <= r["story_date"][:10] <= "2021-06-10"]
    kept, truth, outlets = [], {}, {}
    for r in rows:
        side = SIDE.get(r["allsides_bias"])
        outlets[r["source"]] = side
        if side and side == dropped_side(r["story"]):
            truth[r["story"]] = side
            continue
        kept.append(r)
    (folder / "articles.jsonl").write_text("".join(json.dumps(r) + "\n" for r in kept))
    with (folder / "outlets.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["outlet", "side"])
        w.writerows((o, s or "") for o, s in sorted(outlets.items()))
    # AllSides stories have two or three articles: after a drop, two.
    cfg = folder / "framewatch.toml"
    cfg.write_text('[analysis]\ncodebooks = ["policy-frames"]\n\n[compare]\nmin_articles = 2\n')
    db = folder / "allsides.duckdb"
    run = CliRunner()
    for args in (["import", str(folder / "articles.jsonl")], ["analyze"],
                 ["outlets", "import", str(folder / "outlets.csv")]):  # fmt: skip
        r = run.invoke(app, ["--db", str(db), "--config", str(cfg), *args])
        assert r.exit_code == 0, r.output
    return db, cfg, {r["url"]: r["story"] for r in kept}, truth


def _json(db, cfg, *args):
    r = CliRunner().invoke(app, ["--db", str(db), "--config", str(cfg), *args, "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def _members(db) -> dict[int, set[str]]:
    import duckdb

    con = duckdb.connect(str(db) + ".snapshot", read_only=True)
    rows = con.execute(
        "SELECT m.story_id, a.url FROM story_members m JOIN articles a ON a.id = m.article_id"
    ).fetchall()
    con.close()
    out: dict[int, set[str]] = {}
    for sid, url in rows:
        out.setdefault(sid, set()).add(url)
    return out


def test_blind_spots_name_the_side_that_was_dropped(allsides):
    db, cfg, story_of, truth = allsides
    # Roundups of two or three articles: no gap holds up against chance (two outlets of
    # forty miss a third of them half the time), so by default nothing is listed; the
    # candidates (--all) still name the side we cut.
    assert _json(db, cfg, "blindspots", "--by", "side") == []
    spots = _json(db, cfg, "blindspots", "--by", "side", "--all")
    members = _members(db)
    right = [
        s for s in spots
        if set(s["missing"]) & {truth.get(story_of[u]) for u in members[s["story_id"]]}
    ]  # fmt: skip
    found = {story_of[u] for s in right for u in members[s["story_id"]]} & set(truth)
    # Clustering splits or merges some roundups; most blind spots must still be right,
    # and a good part of the stories we cut must be found.
    assert len(spots) >= 4 and len(right) / len(spots) >= 0.6, spots
    assert len(found) / len(truth) >= 0.3, (len(found), len(truth))
    for s in spots:
        assert sum(s["covered_by"].values()) == s["articles"] >= 2
        assert set(s["missing"]) <= {"left", "center", "right"}
        assert set(s["gaps"]) == set(s["missing"]) and not s["holds_up"]
        for g in s["gaps"].values():
            assert g["share_interval"][0] <= g["share"] <= g["share_interval"][1]
            assert 0 < g["p_value"] <= g["q_value"] <= 1


def test_framing_splits_on_real_coverage(allsides):
    db, cfg, _, _ = allsides
    args = ("splits", "--by", "side", "--codebook", "policy-frames", "--limit", "100")
    held = _json(db, cfg, *args)
    found = _json(db, cfg, *args, "--all")
    assert len(found) >= 10
    # What is listed by default is the part of the ranking that survives the test.
    assert [s["story_id"] for s in held] == [s["story_id"] for s in found if s["holds_up"]]
    assert all(s["q_value"] <= 0.1 for s in held)
    divergences = [s["divergence_shrunk"] for s in found]  # ranked by the shrunk divergence
    assert divergences == sorted(divergences, reverse=True)
    assert 0 <= min(divergences) < max(divergences) <= 1
    for s in found:
        lo, hi = s["divergence_interval"]
        assert 0 <= lo <= s["divergence_shrunk"] <= hi <= 1 and sum(s["articles"].values()) >= 2
        assert set(s["articles"]) == set(s["outlets"]) == set(s["intervals"]) == set(s["groups"])
    for s in found:
        assert len(s["groups"]) >= 2 and set(s["pair"]) <= set(s["groups"])
        for shares in s["groups"].values():
            assert sum(shares.values()) == pytest.approx(1, abs=0.01)
    # Groups bring their own evidence: the sentence comes from one of the group's outlets.
    with_evidence = [s for s in found if all(s["evidence"].values())]
    assert with_evidence and all(
        e["sentence"] for s in with_evidence for evs in s["evidence"].values() for e in evs
    )


def test_shuffled_sides_list_almost_nothing(allsides):
    """Outlet sides shuffled at random across outlets, 20 times: splits and blind spots
    list at most 5% of the stories, where the rules alone flag most of them."""
    import duckdb
    import numpy as np

    from framewatch.analysis.compare.blindspots import find_blind_spots
    from framewatch.analysis.compare.splits import find_splits
    from framewatch.config import load_settings

    db, cfg, _, _ = allsides
    con = duckdb.connect(str(db) + ".snapshot", read_only=True)
    rows = con.execute(
        "SELECT outlet, value FROM outlet_attributes WHERE attribute = 'side' ORDER BY outlet"
    ).fetchall()
    con.close()
    rng = np.random.default_rng(23)
    shuffles = [rng.permutation([v for _, v in rows]) for _ in range(20)]
    f = db.parent / "shuffled.csv"
    with f.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["outlet", *(f"s{i}" for i in range(20))])
        w.writerows([o, *(s[j] for s in shuffles)] for j, (o, _) in enumerate(rows))
    r = CliRunner().invoke(
        app, ["--db", str(db), "--config", str(cfg), "outlets", "import", str(f)]
    )
    assert r.exit_code == 0, r.output
    settings = load_settings(cfg).compare
    con = duckdb.connect(str(db) + ".snapshot", read_only=True)
    try:
        listed, flagged = [], []
        for i in range(20):
            splits = find_splits(con, f"s{i}", "policy-frames", settings, limit=None,
                                 evidence_per_group=0)  # fmt: skip
            spots = find_blind_spots(con, f"s{i}", settings)
            stories = len(splits)
            assert stories >= 10
            listed.append((sum(s.holds_up for s in splits) / stories,
                           sum(s.holds_up for s in spots) / stories))  # fmt: skip
            flagged.append(len(spots) / stories)
        assert max(a for a, _ in listed) <= 0.05 and max(b for _, b in listed) <= 0.05, listed
        assert np.mean(flagged) > 0.3  # the descriptive rules alone: a blind spot in most
    finally:
        con.close()


def test_codebook_suggested_for_general_news_is_policy_frames(allsides):
    """AllSides is US politics, not technology: the policy-frames codebook fits it."""
    db, cfg, _, _ = allsides
    r = CliRunner().invoke(app, ["--db", str(db), "--config", str(cfg), "codebooks", "suggest",
                                 "--sample", "60", "--json"])  # fmt: skip
    assert r.exit_code == 0, r.output
    got = json.loads(r.stdout)
    assert got["suggested"] == "policy-frames" and got["sample"] == 60
    fits = {f["codebook"]: f for f in got["codebooks"]}
    assert fits["policy-frames"]["framed_share"] > fits["geopolitics-tech"]["framed_share"]
