"""A desk that keeps to its language: blind spots, splits, trends, the dashboard's pages,
stories and the digest over the articles in some languages only."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import duckdb
import pytest
from test_outlet_groups import CB, LEANS, Newsroom, fw


def digest_page(tmp_path: Path, db: str, *lang: str) -> str:
    """The HTML digest of 2026-W46, for the languages given (none: every language)."""
    out = tmp_path / "digest.html"
    r = fw("digest", "--preview", str(out), "--week", "2026-W46", "--codebook", CB, *lang, db=db)
    assert r.exit_code == 0, r.output
    return out.read_text(encoding="utf-8")


def test_a_desk_keeps_blind_spots_splits_and_trends_to_its_languages(tmp_path):
    # The English coverage of the budget vote (story 1) is balanced; its German coverage is
    # left-only while the right's outlets kept writing in German (story 2): a blind spot of
    # the German desk only. Story 3, English and left-only, is a blind spot in English.
    n = Newsroom(tmp_path / "desk.duckdb")
    for i, outlet in enumerate(["Left One", "Left Two", "Left One"]):
        n.article(outlet, 1, "2026-11-10", f"Haushalt beschlossen ({i})", {"economic_cost": 1.0},
                  {"economic_cost": "Die Kosten steigen.", "regulation": "Die Regeln werden strenger."},
                  language="de")  # fmt: skip
    for outlet in ["Left One", "Left Two", "Right One", "Right Two"]:
        n.article(outlet, 1, "2026-11-10", f"Budget vote passes ({outlet})", {"regulation": 1.0},
                  {"regulation": "The rules get stricter."} if outlet == "Left Two" else None,
                  language="en")  # fmt: skip
    n.article("Right One", 2, "2026-11-11", "Hafenstreik", {"threat": 1.0},
              {"threat": "Eine Gefahr für die Versorgung."}, language="de")  # fmt: skip
    n.article("Right Two", 2, "2026-11-11", "Streik im Hafen", {"threat": 1.0}, language="de")
    n.article("Left Two", 2, "2026-11-11", "Der Hafen steht still", {"opportunity": 1.0},
              {"opportunity": "Eine Chance für die Bahn."}, language="de")  # fmt: skip
    n.article("Right Two", 2, "2026-11-11", "Live: 3-1", {"threat": 1.0})  # language unknown
    for i, outlet in enumerate(["Left One", "Left Two", "Left One"]):
        n.article(outlet, 3, "2026-11-11", f"Rail fares rise ({i})", {"economic_cost": 1.0},
                  language="en")  # fmt: skip
    db = n.close()
    csv_file = tmp_path / "leans.csv"
    csv_file.write_text(LEANS)
    assert fw("outlets", "import", str(csv_file), db=db).exit_code == 0

    def spots(*lang):
        r = fw("blindspots", "--by", "lean", "--all", "--json", *lang, db=db)
        assert r.exit_code == 0, r.output
        return {s["story_id"]: s for s in json.loads(r.stdout)}

    assert list(spots()) == [3]  # story 1: 5 left of 7 articles, not one-sided
    german = spots("--lang", "de")
    assert list(german) == [1]
    assert german[1]["covered_by"] == {"left": 3} and german[1]["missing"] == ["right"]
    # Measured against what the right wrote in German around it (2 of 3), not in all languages.
    assert german[1]["gaps"]["right"]["usual_share"] == pytest.approx(2 / 3, abs=1e-4)
    assert list(spots("--lang", "en")) == [3]
    assert spots("--lang", "German", "--lang", "en", "--lang", "?").keys() == spots().keys()

    def splits(*lang):
        r = fw("splits", "--by", "lean", "--codebook", CB, "--all", "--json", *lang, db=db)
        assert r.exit_code == 0, r.output
        return {s["story_id"]: s for s in json.loads(r.stdout)}

    assert splits()[1]["articles"] == {"left": 5, "right": 2}
    # Without --all the JSON lists what holds up; stderr says how many were looked at.
    held = fw("splits", "--by", "lean", "--codebook", CB, "--json", db=db)
    assert "of 2 stories with framed articles from two or more values of lean" in held.stderr
    assert len(json.loads(held.stdout)) <= 2
    in_german = splits("--lang", "de")
    assert list(in_german) == [2]  # story 1 in German: one group only
    assert in_german[2]["articles"] == {"left": 1, "right": 2}
    said = {v: [e["sentence"] for e in ev] for v, ev in in_german[2]["evidence"].items()}
    assert said == {
        "left": ["Eine Chance für die Bahn."],
        "right": ["Eine Gefahr für die Versorgung."],
    }
    assert splits("--lang", "de", "--lang", "?")[2]["articles"] == {"left": 1, "right": 3}
    english = splits("--lang", "en")
    assert list(english) == [1] and english[1]["articles"] == {"left": 2, "right": 2}
    assert english[1]["divergence"] == 0.0  # all framed it as regulation, in English
    # The evidence is the English desk's own sentence, not the German one (an older article).
    assert [e["sentence"] for e in english[1]["evidence"]["left"]] == ["The rules get stricter."]
    # ... and reads the story under its first English headline, not the German one it has.
    assert english[1]["headline"] == "Budget vote passes (Left One)"
    assert splits()[1]["headline"] == german[1]["headline"] == "Haushalt beschlossen (0)"
    assert spots("--lang", "en")[3]["headline"] == "Rail fares rise (0)"
    # A language the store does not hold is a mistake, not "no results".
    bad = fw("splits", "--by", "lean", "--codebook", CB, "--lang", "fr", db=db)
    assert bad.exit_code == 2 and "store's languages: en, de, ?" in bad.output
    assert fw("blindspots", "--by", "lean", "--lang", "xx-yy-zz", db=db).exit_code == 2

    # A desk's digest: its languages' articles only, blind spots and splits included.
    def digest(*lang) -> str:
        return digest_page(tmp_path, db, *lang)

    everything, german_digest = digest(), digest("--lang", "de")
    assert "14 articles framed" in everything and "Rail fares rise" in everything
    assert "6 articles framed" in german_digest and "Articles in de only" in german_digest
    assert "Rail fares rise" not in german_digest and "Hafenstreik" in german_digest
    assert "Blind spots, splits, framing shifts and watches compare the articles in de only" in (
        german_digest
    )
    sending = fw("digest", "--send", "--lang", "de", db=db)
    assert sending.exit_code == 2 and "set in the config" in sending.output
    bad_cfg = tmp_path / "bad.toml"
    bad_cfg.write_text('[[subscribers]]\nemail = "desk@example.org"\nlanguages = ["Deutsch"]\n')
    bad = fw("digest", "--preview", str(tmp_path / "x.html"), db=db, config=bad_cfg)
    assert (
        bad.exit_code == 2
        and "subscribers[0].languages: 'Deutsch' is not a language code" in bad.output
    )
    unknown = fw("stories", "--lang", "?", db=db)  # the stories with a ticker line in them
    assert unknown.exit_code == 0 and "Hafenstreik" in unknown.output
    assert "Rail fares" not in unknown.output and "Budget" not in unknown.output
    # Frame trends over some languages count what frame_trends counts, over those only.
    from framewatch.dashboards.queries import weekly_trends

    with duckdb.connect(str(db) + ".snapshot", read_only=True) as con:
        view = weekly_trends(con, CB, None, None)
        every = weekly_trends(con, CB, None, None, languages=["de", "en", "?"])
        de = weekly_trends(con, CB, None, None, languages=["de"])
        right_one = weekly_trends(con, CB, "Right One", None, languages=["en"])
    cols = ["week", "frame", "share", "articles"]
    assert every[cols].to_dict("records") == view[cols].to_dict("records")
    assert dict(zip(de["frame"], de["articles"], strict=True)) == {
        "Threat": 2, "Opportunity": 1, "Economic cost": 3}  # fmt: skip
    assert right_one[cols].to_dict("records") == [
        {"week": "2026-W46", "frame": "Regulation and control", "share": 1.0, "articles": 1}]  # fmt: skip
    # The dashboard's Languages filter narrows the comparison and trend pages; none picked
    # means every language.
    from streamlit.testing.v1 import AppTest

    def page(name: str, **query) -> AppTest:
        at = AppTest.from_file(str(Path(__file__).parents[1] / "dashboards" / "app.py"),
                               default_timeout=60)  # fmt: skip
        for k, v in {"page": name, "by": "lean", "all": "1", **query}.items():
            at.query_params[k] = v
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    def told(at: AppTest) -> str:
        return " ".join(m.value for m in at.markdown)

    os.environ["FRAMEWATCH_DB"] = db
    try:
        every_page = told(page("Blind spots"))
        assert "Rail fares rise" in every_page and "Haushalt" not in every_page
        german_page = page("Blind spots", language="de")
        assert german_page.sidebar.multiselect(key="languages").value == ["de"]
        assert "covered by left 3; missed by **right**" in told(german_page)
        assert "Rail fares" not in told(german_page)
        assert any("Articles in de only" in c.value for c in german_page.caption)
        assert sorted(page("Framing splits").dataframe[0].value["story"]) == [1, 2]
        assert list(page("Framing splits", language="de").dataframe[0].value["story"]) == [2]
        outlets = page("Outlets", language="de")
        outlets.multiselect(key="compare").set_value(["Left One", "Right One"]).run()
        only_one = outlets.dataframe[0].value  # stories one of the two wrote, in German
        assert dict(zip(only_one["story"], only_one["outlet"], strict=True)) == {
            1: "Left One", 2: "Right One"}  # fmt: skip
        trend = page("Frame trends", language="de").dataframe[0].value
        assert list(trend.columns) == ["Economic cost", "Opportunity", "Threat"]
    finally:
        del os.environ["FRAMEWATCH_DB"]


def test_a_desks_digest_reports_how_its_languages_framing_moved(tmp_path):
    # Over all languages the story moved to regulation (its English coverage); the German
    # coverage moved away from economic cost. The German desk reads the German move.
    n = Newsroom(tmp_path / "shifts.duckdb")
    for day, en, de in [
        ("2026-11-03", {"regulation": 0.2, "threat": 0.8}, {"economic_cost": 0.9, "threat": 0.1}),
        ("2026-11-10", {"regulation": 0.9, "threat": 0.1}, {"economic_cost": 0.3, "threat": 0.7}),
    ]:
        n.article("Left One", 7, day, f"Port deal ({day})", en, language="en")
        n.article("Right One", 7, day, f"Hafenvertrag ({day})", de, language="de")
    for i in range(2):  # English news of another kind in the second week
        n.article("Left One", 8, "2026-11-11", f"Rail fares rise ({i})", language="en")
    n.article("Left One", 9, "2026-11-18", "Ferry strike", language="en")  # English only, W47
    db = n.close()
    # The German desk's digest is of its latest week, not of a week it has no article in.
    latest = fw("digest", "--preview", str(tmp_path / "d.html"), "--lang", "de", db=db)
    assert latest.exit_code == 0 and "week 2026-W46" in latest.output
    assert "week 2026-W47" in fw("digest", "--preview", str(tmp_path / "d.html"), db=db).output

    def page(*lang) -> str:
        return digest_page(tmp_path, db, *lang)

    def shifts(*lang) -> str:
        html = page(*lang)
        return html[html.index("Framing shifts against last week") :]

    assert "Regulation and control 20% → 90%" in shifts()

    # The story is headlined by its first (English) article; the German desk reads it under
    # its own German headline.
    def headlines(html: str) -> list[str]:
        return re.findall(r'<div style="font-size:16px;font-weight:bold">([^<]*)</div>', html)

    assert headlines(page())[0] == "Port deal (2026-11-03)"
    assert headlines(page("--lang", "de")) == ["Hafenvertrag (2026-11-10)"]
    assert "Regulation and control 20% → 90%" in shifts("--week", "2026-w46")  # any spelling
    german = shifts("--lang", "de")
    assert "Economic cost 90% → 30%" in german and "Regulation" not in german.split("</ul>")[0]
    # A desk that follows some outlets reads their move, as its frame moves already do.
    from framewatch.dashboards.digest_data import build_digest

    with duckdb.connect(str(db) + ".snapshot", read_only=True) as con:
        right_one = build_digest(con, "2026-W46", CB, outlets=["Right One"])
    assert right_one.week == "2026-W46"
    assert [s[1:] for s in right_one.shifts] == [("Economic cost", 0.9, 0.3)]
    # A watch in the desk's digest counts the desk's languages: the German coverage of the
    # port kept all of the German news (1 of 1 both weeks); over every language its share
    # fell from 2 of 2 to 2 of 4.
    from datetime import date

    from framewatch.analysis.compare.watches import week_attention, week_reports
    from framewatch.config import CompareSettings

    assert fw("watch", "add", "port", "Hafenvertrag OR port", db=db).exit_code == 0
    with duckdb.connect(str(db) + ".snapshot", read_only=True) as con:
        week = date(2026, 11, 9)
        (every,) = week_attention(con, week)
        (german,) = week_attention(con, week, languages=["de"])
        reports = {lang: week_reports(con, date(2026, 11, 2), CompareSettings(),
                                      [lang] if lang else None) for lang in ("", "de")}  # fmt: skip
    assert (every.articles, every.total, every.articles_before, every.total_before) == (2, 4, 2, 2)
    assert (german.articles, german.total, german.articles_before, german.total_before) == (
        1, 1, 1, 1)  # fmt: skip
    assert [r.detail for r in reports[""]] == ["2 matching article(s)"]
    assert [r.detail for r in reports["de"]] == ["1 matching article(s)"]
