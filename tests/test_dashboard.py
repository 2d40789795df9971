"""The dashboard: every page in-process (AppTest), and one real headless Chromium run."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
from conftest import (
    REPO,
    launch_chromium,
    needs_chromium,
    process_group,
    start_dashboard,
    stop_dashboard,
)
from streamlit.testing.v1 import AppTest

APP = str(REPO / "dashboards" / "app.py")


def _app(db, monkeypatch, **query) -> AppTest:
    monkeypatch.setenv("FRAMEWATCH_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _page(at: AppTest, name: str) -> AppTest:
    at.sidebar.radio(key="page").set_value(name).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _story_id(db, like: str) -> int:
    con = duckdb.connect(str(db) + ".snapshot", read_only=True)
    sid = con.execute("SELECT id FROM stories WHERE label ILIKE ?", [f"%{like}%"]).fetchone()[0]
    con.close()
    return sid


def _names_codebook(at: AppTest) -> bool:
    """A page that shows frames says, in its body, which codebook they come from."""
    return any("codebook **Technology and geopolitics**" in c.value for c in at.main.caption)


def test_overview_ranks_stories_with_frame_mix(hostile_db, monkeypatch):
    at = _app(hostile_db, monkeypatch)
    assert at.title[0].value == "Stories by coverage"
    table = at.dataframe[0].value
    assert len(table) == 7 and set(table.columns) >= {
        "label",
        "headline",
        "articles",
        "outlets",
        "coverage",
    }
    assert table.iloc[0]["articles"] == 6
    assert _names_codebook(at)
    assert any(c.value.startswith("7 stories between") for c in at.caption)
    links = " ".join(m.value for m in at.markdown)
    assert "?page=Story&story=" in links and "kestrel" in links.lower()
    # Hostile feed text arrives escaped: no live HTML tag reaches the page's Markdown.
    assert "\\<script\\>" in links
    assert not re.search(r"(?<!\\)<", links), "an unescaped < reached the Markdown"


def test_counts_and_shares_mean_what_their_labels_say(hostile_db):
    """The caption counts every story of the period, not the listed top; a frame-mix bar
    and a heatmap row add up to all of their sentences, those that frame nothing included."""
    from datetime import date

    from framewatch.dashboards import compare_queries as cq
    from framewatch.dashboards import queries as q

    con = duckdb.connect(str(hostile_db) + ".snapshot", read_only=True)
    try:
        span = (date(2026, 1, 1), date(2026, 12, 31))
        top = q.top_stories(con, *span, None, limit=2)
        assert len(top) == 2 and set(top["stories_in_period"]) == {7}
        # A filter (the stories in the picked languages) applies before the limit and the
        # count: the smallest story is listed and counted alone, not cut by bigger ones.
        smallest = int(q.top_stories(con, *span, None)["story"].iloc[-1])
        only = q.top_stories(con, *span, None, limit=2, only={smallest})
        assert list(only["story"]) == [smallest] and set(only["stories_in_period"]) == {1}
        mix = q.outlet_mix(con, ["Civic Wire", "Frontier Tech Review"], "geopolitics-tech", *span)
        assert q.NO_FRAME in set(mix["frame"])
        assert mix.groupby("outlet")["share"].sum().round(6).eq(1.0).all()
        sid = _story_id(hostile_db, "kestrel")
        cells = cq.outlet_frame_matrix(con, sid, "geopolitics-tech", "country")
        assert cells.groupby("outlet")["share"].sum().round(6).eq(1.0).all()
        # Frame trends keep to the sidebar's period: three weeks in all, one in a week's span.
        assert q.weekly_trends(con, "geopolitics-tech", None, None)["week"].nunique() == 3
        one = q.weekly_trends(
            con, "geopolitics-tech", None, None, date(2026, 11, 10), date(2026, 11, 12)
        )
        assert one["week"].nunique() == 1
    finally:
        con.close()


def test_story_page_shows_articles_frames_and_evidence(hostile_db, monkeypatch):
    sid = _story_id(hostile_db, "kestrel")
    at = _app(hostile_db, monkeypatch, page="Story", story=str(sid))
    assert "kestrel" in at.title[0].value.lower()
    arts = next(d.value for d in at.dataframe if "headline" in d.value.columns)
    assert len(arts) == 6 and set(arts["outlet"]) >= {"Civic Wire", "The Northern Ledger"}
    assert {"threat", "regulation", "opportunity"} <= {
        p.lower().split()[0] for p in arts["primary_frame"] if p
    }
    assert len(at.expander) == 6
    assert _names_codebook(at)
    evidence = " ".join(m.value for e in at.expander for m in e.markdown)
    assert "Threat" in evidence and "danger to national security" in evidence


def test_outlet_comparison_and_blind_spots(hostile_db, monkeypatch):
    at = _page(_app(hostile_db, monkeypatch), "Outlets")
    at.multiselect(key="compare").set_value(["Civic Wire", "Frontier Tech Review"]).run()
    spots = at.dataframe[0].value
    assert "glasslock" in " ".join(spots["label"]).lower()
    assert set(spots["outlet"]) == {"Civic Wire"}
    assert _names_codebook(at)


def test_a_link_to_a_missing_story_says_so_and_links_keep_the_view(hostile_db, monkeypatch):
    at = _app(hostile_db, monkeypatch, page="Story", story="999")
    assert "No story 999 here" in at.warning[0].value
    later = _app(hostile_db, monkeypatch, **{"from": "2030-01-01", "to": "2030-02-01"})
    assert any(
        "the link's dates 2030-01-01 and 2030-02-01 were moved" in w.value
        for w in later.sidebar.warning
    )
    assert not _app(hostile_db, monkeypatch, **{"from": "2026-11-10"}).sidebar.warning
    at = _app(hostile_db, monkeypatch, codebook="geopolitics-tech", by="country")
    links = " ".join(m.value for m in at.markdown)
    assert (
        "page=Story&story=" in links
        and "codebook=geopolitics-tech" in links
        and "by=country" in links
    )


def test_frame_trends_and_sql_pages(hostile_db, monkeypatch):
    at = _page(_app(hostile_db, monkeypatch), "Frame trends")
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == 3  # three weeks
    assert _names_codebook(at)  # on the page, not only in the sidebar's picker
    at.radio(key="trend_mode").set_value("One outlet").run()
    assert not at.exception
    assert at.query_params["for"] == "outlet" and at.query_params["trend_outlet"]
    # The link opens the same view.
    shared = _app(hostile_db, monkeypatch, page="Frame trends", **{"for": "outlet"},
                  trend_outlet="Civic Wire")  # fmt: skip
    assert shared.radio(key="trend_mode").value == "One outlet"
    assert shared.selectbox(key="trend_outlet").value == "Civic Wire"
    _page(at, "SQL")
    at.text_area(key="sql").set_value("DELETE FROM articles").run()
    at.button(key="run_sql").click().run()
    assert "read-only" in at.error[0].value
    at.text_area(key="sql").set_value("SELECT count(*) AS n FROM articles").run()
    at.button(key="run_sql").click().run()
    assert at.dataframe[0].value.iloc[0]["n"] == 37
    assert at.get("download_button")


def test_every_page_renders_on_an_empty_store(tmp_path, monkeypatch):
    from framewatch.store import open_store

    db = tmp_path / "empty.duckdb"
    with open_store(db) as st:
        st.publish_snapshot()
    at = _app(db, monkeypatch)
    assert "no articles yet" in at.info[0].value
    for name in ("Story", "Outlets", "Frame trends", "SQL"):
        _page(at, name)
        assert "no articles yet" in at.info[0].value


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_sigterm_to_dashboard_leaves_no_process(demo_db):
    proc = start_dashboard(demo_db)
    assert len(process_group(proc.pid)) >= 1
    stop_dashboard(proc)


@pytest.mark.slow
@needs_chromium
def test_dashboard_in_a_real_browser(hostile_db, tmp_path):
    from playwright.sync_api import sync_playwright

    proc = start_dashboard(hostile_db)
    port = proc.port
    base = f"http://127.0.0.1:{port}"
    try:
        with sync_playwright() as pw:
            browser = launch_chromium(pw)
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(base, wait_until="domcontentloaded")
            page.get_by_text("Stories by coverage").wait_for(timeout=60_000)
            link = page.locator("a[href*='story=']").filter(has_text="kestrel").first
            link.wait_for(timeout=30_000)
            page.get_by_text("Frame mix per story").wait_for(timeout=30_000)
            page.wait_for_timeout(1500)  # let the charts draw before the screenshot
            page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)
            page.goto(
                base + "/" + link.get_attribute("href").lstrip("/"), wait_until="domcontentloaded"
            )
            page.get_by_text("Who framed it how", exact=False).first.wait_for(timeout=60_000)
            page.get_by_text("Frontier Tech Review — Halvard Labs").first.wait_for(timeout=30_000)
            page.get_by_text("The Northern Ledger — Kestrel-4 misused").first.click()
            # The visible evidence line: the same words also sit in the articles table's
            # hidden grid cells, which came first in the page once and were never shown.
            page.get_by_text("danger to national security", exact=False).filter(
                visible=True
            ).first.wait_for(timeout=60_000)  # a rerun on a loaded machine can take 30 s
            page.screenshot(path=str(tmp_path / "story.png"), full_page=True)
            assert page.evaluate("window.__pwned === undefined")
            # The hostile story renders as text, and its javascript: link is not a link.
            page.goto(
                base + "/?page=Story&story=" + str(_story_id(hostile_db, "bridge")),
                wait_until="domcontentloaded",
            )
            page.get_by_text("Who framed it how", exact=False).first.wait_for(timeout=60_000)
            page.wait_for_timeout(1500)
            assert page.evaluate("window.__pwned === undefined")
            assert page.locator("a[href^='javascript:']").count() == 0
            # Addresses in feed text stay text: GFM would link www., https:// and a@b.c.
            assert page.locator("a[href*='evil.example']").count() == 0
            assert page.get_by_text("evil.example/b", exact=False).count() >= 1
            page.screenshot(path=str(tmp_path / "hostile.png"), full_page=True)
            # The SQL page answers the store's views but refuses to read the server's files.
            page.goto(base + "/?page=SQL", wait_until="domcontentloaded")
            box = page.get_by_label("Query")
            box.wait_for(timeout=60_000)
            box.fill("SELECT * FROM read_text('/etc/passwd')")
            box.press("Control+Enter")
            page.wait_for_timeout(1000)
            page.get_by_role("button", name="Run").click()
            page.get_by_text("refused", exact=False).first.wait_for(timeout=30_000)
            assert "root:" not in page.content()
            page.screenshot(path=str(tmp_path / "sql.png"), full_page=True)
            browser.close()
        assert (tmp_path / "story.png").stat().st_size > 10_000
    finally:
        stop_dashboard(proc)
