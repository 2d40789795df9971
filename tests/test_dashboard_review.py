"""The dashboard on stores that are not the tidy sample, and on malformed links (AppTest)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import REPO
from streamlit.testing.v1 import AppTest

APP = str(REPO / "dashboards" / "app.py")
TEXT = (
    "The harbour bridge in Port Alder collapsed into the river on Friday, cutting the town "
    "off from the mainland. Engineers had warned for years. "
) * 3
DE = (
    "Die Hafenbrücke in Port Alder ist am Freitag in den Fluss gestürzt und hat die Stadt "
    "vom Festland abgeschnitten. Ingenieure hatten jahrelang gewarnt. "
) * 3


def _import(db: Path, rows: list[dict], analyze: bool) -> Path:
    from typer.testing import CliRunner

    from framewatch.cli import app

    f = db.with_suffix(".jsonl")
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(app, ["--db", str(db), "import", str(f)]).exit_code == 0
    if analyze:
        assert runner.invoke(app, ["--db", str(db), "analyze"]).exit_code == 0
    return db


ROWS = [
    {"title": "Port Alder harbour bridge collapse leaves town cut off", "source": "Harbour Times",
     "published_at": "2026-11-20T12:00:00Z", "url": "https://h.example/1", "text": TEXT, "language": "en"},
    {"title": "Bridge in Port Alder falls into the river", "source": "Civic Wire",
     "published_at": "2026-11-20T14:00:00Z", "url": "https://c.example/1", "text": TEXT, "language": "en"},
    {"title": "Hafenbrücke in Port Alder eingestürzt", "source": "Der Kurier",
     "published_at": "2026-11-21T08:00:00Z", "url": "https://k.example/1", "text": DE, "language": "de"},
]  # fmt: skip


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> dict[str, Path]:
    """``raw``: articles in two languages, no analysis yet; ``one``: one analysed article."""
    folder = tmp_path_factory.mktemp("review")
    return {
        "raw": _import(folder / "raw.duckdb", ROWS, analyze=False),
        "one": _import(folder / "one.duckdb", ROWS[:1], analyze=True),
    }


@pytest.fixture(scope="module")
def two_languages(stores, tmp_path_factory) -> Path:
    """The raw store's articles, analysed."""
    db = tmp_path_factory.mktemp("two") / "two.duckdb"
    shutil.copy(stores["raw"], db)
    from typer.testing import CliRunner

    from framewatch.cli import app

    assert CliRunner().invoke(app, ["--db", str(db), "analyze"]).exit_code == 0
    return db


def _app(db, monkeypatch, **query) -> AppTest:
    monkeypatch.setenv("FRAMEWATCH_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=90)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _said(at: AppTest) -> str:
    """Every message on the page and in the sidebar."""
    found = [*at.info, *at.warning, *at.error]
    found += [*at.sidebar.info, *at.sidebar.warning, *at.sidebar.error]
    return " | ".join(e.value for e in found)


def test_articles_not_analysed_yet_say_so_on_every_page(stores, monkeypatch):
    """Framing splits raised the analysis' InputError as a traceback; the Overview said
    "No stories in this period" of a store that has no stories at all."""
    for page in ("Overview", "Story", "Outlets", "Blind spots", "Framing splits", "Frame trends"):
        at = _app(stores["raw"], monkeypatch, page=page)
        assert "not analysed yet: run `framewatch analyze`" in _said(at), page


@pytest.mark.parametrize(
    ("page", "query"),
    [
        ("Story", {"story": "²"}),
        ("Frame trends", {"for": "story", "trend_story": "²"}),
        ("Framing splits", {"min_group": "²", "story": "³"}),
    ],
)
def test_a_number_parameter_that_is_not_a_number_is_refused_not_raised(
    two_languages, monkeypatch, page, query
):
    """'²'.isdigit() is true but int('²') raises: a link could crash three pages."""
    at = _app(two_languages, monkeypatch, page=page, **query)
    assert at.title[0].value == page or page == "Story"  # a story page: the story's label


def test_a_missing_story_says_so_and_a_one_article_story_reads_right(stores, monkeypatch):
    at = _app(stores["one"], monkeypatch, page="Story", story="²")
    assert "No story ² here" in at.warning[0].value
    assert any(c.value.startswith("1 article (0 near-duplicate copies) from 1 outlet,")
               for c in at.caption)  # fmt: skip
    assert (
        "No story abc here"
        in _app(stores["one"], monkeypatch, page="Story", story="abc").warning[0].value
    )


def test_malformed_dates_and_pages_in_a_link_are_named(stores, monkeypatch):
    at = _app(stores["one"], monkeypatch, page="Nonexistent", **{"from": "2026-13-01"})
    said = _said(at)
    assert "No page Nonexistent here; showing the Overview" in said
    assert "2026\\-13\\-01 is not a date" in said
    assert at.title[0].value == "Stories by coverage"
    assert not _said(
        _app(stores["one"], monkeypatch, page="frame-trends", **{"from": "2026-11-20"})
    )


def test_a_language_the_store_lacks_is_named_and_links_keep_the_languages(
    two_languages, monkeypatch
):
    at = _app(two_languages, monkeypatch, language="de")
    assert at.sidebar.multiselect(key="languages").value == ["de"]
    links = " ".join(m.value for m in at.markdown)
    assert "page=Story" in links and "language=de" in links  # KEPT said "lang"
    at = _app(two_languages, monkeypatch, language="fr")
    assert "no articles in fr" in _said(at)


def test_a_huge_search_query_is_refused_at_once(stores, monkeypatch):
    """A link's 200,000-letter q= kept the server busy for minutes (the engine's time
    grows with the square of a word's length); a malformed query is an error line."""
    at = _app(stores["one"], monkeypatch, page="Search", q="x" * 200_000)
    assert "200,000 characters" in at.error[0].value
    at = _app(stores["one"], monkeypatch, page="Search", q="AND OR (")
    assert "malformed query" in at.error[0].value


def test_a_link_to_the_sql_page_tells_a_visitor_who_is_no_admin_why(stores, monkeypatch):
    monkeypatch.setenv("FRAMEWATCH_AUTH", "password")  # the gate signed in no admin
    said = _said(_app(stores["one"], monkeypatch, page="SQL"))
    assert "The SQL page is for admins; showing the Overview" in said


def test_a_links_unknown_outlet_codebook_or_attribute_is_named_not_dropped(
    tmp_path, stores, monkeypatch
):
    """A renamed outlet or a misspelt ?by= in a shared link showed other numbers than the
    link's author saw, without a word."""
    from typer.testing import CliRunner

    from framewatch.cli import app

    db = tmp_path / "lean.duckdb"
    shutil.copy(stores["one"], db)
    r = CliRunner().invoke(app, ["--db", str(db), "outlets", "set", "Harbour Times", "lean=left"])
    assert r.exit_code == 0, r.output
    at = _app(db, monkeypatch, outlet=["Harbour Times", "Harbor Times"], codebook="polcy-frames",
              by="leen")  # fmt: skip
    said = _said(at)
    assert "no outlet Harbor Times: the link's outlet filter leaves it out" in said
    assert "no codebook polcy\\-frames; showing geopolitics\\-tech" in said
    assert "No outlet has the attribute leen; comparing by lean" in said
    assert at.sidebar.multiselect(key="outlets").value == ["Harbour Times"]
    assert not _said(_app(db, monkeypatch, outlet="Harbour Times", by="lean"))


def test_a_headlines_emoji_shortcode_stays_text():
    """Streamlit draws ':fire:' as an emoji in any Markdown, so "Crisis: a :fire: sale"
    showed a flame. A word joiner after the first colon keeps it text (seen in Chromium);
    here: no ':word:' is left whole, and a reader sees the same characters."""
    import re

    from framewatch.dashboards.markup import safe

    for title in ["Crisis: a :fire: sale", "a :+1: and :-1: vote", ":thumbs_up: from readers",
                  "Talks resume at 10:30am", "Ratio 3:2:1"]:  # fmt: skip
        shown = safe(title)
        assert not re.search(r":(?:\w|\\[+\-_])+:", shown), shown
        assert shown.replace("\u2060", "").replace("\\", "") == title
