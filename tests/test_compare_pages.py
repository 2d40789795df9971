"""Blind spots, framing splits and the Story comparison in the dashboard and the digest.

The demo store plus the hostile story, with a `lean` attribute whose values and outlet
names try to inject markup: every page must show them as text.
"""

from __future__ import annotations

import csv
import re
import shutil

import pytest
from conftest import (
    HOSTILE_OUTLET,
    REPO,
    launch_chromium,
    needs_chromium,
    start_dashboard,
    stop_dashboard,
)
from streamlit.testing.v1 import AppTest
from test_dashboard import _story_id
from typer.testing import CliRunner

from framewatch.cli import app

APP = str(REPO / "dashboards" / "app.py")
HOSTILE_VALUE = '<img src=x onerror="window.__pwned=1"> far *right*'
LEANS = {
    "The Northern Ledger": "right", "Harbor Business Daily": "right", "The Meridian Post": "center",
    "Civic Wire": "left", "Pacific Signal": "center", "Frontier Tech Review": HOSTILE_VALUE,
    HOSTILE_OUTLET: "right",
}  # fmt: skip


@pytest.fixture(scope="module")
def groups_db(hostile_db, tmp_path_factory):
    folder = tmp_path_factory.mktemp("groups")
    db = folder / "groups.duckdb"
    shutil.copy(hostile_db, db)
    shutil.copy(str(hostile_db) + ".snapshot", str(db) + ".snapshot")
    with (folder / "leans.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["outlet", "lean"])
        w.writerows(LEANS.items())
    r = CliRunner().invoke(app, ["--db", str(db), "outlets", "import", str(folder / "leans.csv")])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, ["--db", str(db), "watch", "add", "<b>bridges</b>", "bridge"])
    assert r.exit_code == 0, r.output
    return db


def _open(db, monkeypatch, **query) -> AppTest:
    """The app as a shared link opens it: the query string is all it gets."""
    monkeypatch.setenv("FRAMEWATCH_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _inert(markdown: str) -> None:
    assert not re.search(r"(?<!\\)<", markdown), "an unescaped < reached the Markdown"


def test_page_links_open_their_page_whatever_the_case(groups_db, monkeypatch):
    for value, page in [("Frame trends", "Frame trends"), ("frame-trends", "Frame trends"),
                        ("sql", "SQL"), ("Blind spots", "Blind spots"), ("framing_splits", "Framing splits")]:  # fmt: skip
        at = _open(groups_db, monkeypatch, page=value)
        assert at.sidebar.radio(key="page").value == page
        assert at.query_params["page"] == [page] or at.query_params["page"] == page


def test_story_page_compares_groups_with_evidence_from_its_link(groups_db, monkeypatch):
    sid = _story_id(groups_db, "kestrel")
    at = _open(groups_db, monkeypatch, page="Story", story=str(sid), by="lean",
               **{"from": "2026-11-10", "to": "2026-11-21"})  # fmt: skip
    assert "kestrel" in at.title[0].value.lower()
    assert at.sidebar.selectbox(key="by").value == "lean"
    assert (
        str(at.sidebar.date_input(key="period").value)
        == "(datetime.date(2026, 11, 10), datetime.date(2026, 11, 21))"
    )
    ev = next(d.value for d in at.dataframe if "evidence" in d.value.columns)
    ledger = ev[ev["outlet"] == "The Northern Ledger"]
    assert set(ledger["group"]) == {"right"}
    assert any("danger to national security" in s for s in ledger["evidence"])
    assert set(ev["group"]) >= {"left", "center", "right", HOSTILE_VALUE}
    texts = " ".join(m.value for m in at.markdown)
    assert "Divergence" in " ".join(c.value for c in at.caption)
    assert "\\<img src=x" in texts  # the hostile group name, escaped
    _inert(texts)
    # The view's filters are in the URL, so the link can be shared as it is.
    assert at.query_params["story"] in (str(sid), [str(sid)])
    assert at.query_params["by"] in ("lean", ["lean"])


def test_blind_spots_page_from_its_link(groups_db, monkeypatch):
    # Six outlets: no gap holds up against chance, so by default the page says so ...
    at = _open(groups_db, monkeypatch, page="Blind spots", by="lean")
    assert "holds up against chance" in at.info[0].value and not at.dataframe
    # ... and the switch (all=1 in the link) shows the candidates.
    at = _open(groups_db, monkeypatch, page="Blind spots", by="lean", all="1")
    assert at.title[0].value == "Blind spots"
    table = at.dataframe[0].value
    assert list(table["story"]) == [_story_id(groups_db, "glasslock")]
    assert table.iloc[0]["missing"] == HOSTILE_VALUE
    texts = " ".join(m.value for m in at.markdown)
    assert "?page=Story&story=" in texts and "by=lean" in texts
    _inert(texts)
    later = _open(groups_db, monkeypatch, page="Blind spots", by="lean", all="1", **{"from": "2026-11-03", "to": "2026-11-12"})  # fmt: skip
    # Up to 12 November the left had not covered Kestrel-4 yet; GlassLock had not happened.
    spots = later.dataframe[0].value
    assert list(spots["story"]) == [_story_id(groups_db, "kestrel")]
    assert list(spots["missing"]) == ["left"]


def test_splits_page_from_its_link(groups_db, monkeypatch):
    sid = _story_id(groups_db, "lithography")
    at = _open(groups_db, monkeypatch, page="Framing splits", by="lean", story=str(sid))
    assert "holds up against chance" in at.info[0].value  # one or two articles a side
    assert "Technology and geopolitics" in " ".join(c.value for c in at.caption)  # its codebook
    at = _open(groups_db, monkeypatch, page="Framing splits", by="lean", story=str(sid), all="1")
    assert at.title[0].value == "Framing splits"
    table = at.dataframe[0].value
    assert list(table["divergence"]) == sorted(table["divergence"], reverse=True)
    assert not table["holds up"].any() and table["90% interval"].str.contains("–").all()
    assert at.selectbox(key="split_story").value == sid
    texts = " ".join(m.value for m in at.markdown)
    _inert(texts)
    assert "lithography" in texts.lower()


def test_digest_has_blind_spots_splits_and_watches_escaped(groups_db, tmp_path):
    html_file, eml_file = tmp_path / "d.html", tmp_path / "d.eml"
    r = CliRunner().invoke(app, ["--db", str(groups_db), "digest", "--week", "2026-W47",
                                 "--preview", str(html_file), "--eml", str(eml_file)])  # fmt: skip
    assert r.exit_code == 0, r.output
    page = html_file.read_text()
    # On six outlets nothing holds up against chance; the digest says so and how much it
    # looked at (a digest that lists some: test_compare_stats.py).
    blind = page.split("Blind spots</h2>", 1)[1].split("</tr>", 1)[0]
    assert "None this week holds up against chance (2 candidates" in blind
    splits = page.split("Biggest framing splits</h2>", 1)[1].split("</tr>", 1)[0]
    assert "None this week holds up against chance" in splits and "stories looked at" in splits
    watches = page.split("Watches</h2>", 1)[1].split("</tr>", 1)[0]
    assert "&lt;b&gt;bridges&lt;/b&gt;" in watches and "&lt;script&gt;alert" in watches
    assert "<img" not in page and "<script" not in page.lower()
    text = eml_file.read_text()
    assert "BLIND SPOTS" in text and "BIGGEST FRAMING SPLITS" in text
    older = CliRunner().invoke(app, ["--db", str(groups_db), "digest", "--week", "2026-W46",
                                     "--preview", str(html_file)])  # fmt: skip
    assert older.exit_code == 0
    w46 = html_file.read_text().split("Watches</h2>", 1)[1].split("</tr>", 1)[0]
    assert "bridges" not in w46  # the match was new in W47, reported there only


def _sentence(tooltip: str) -> str | None:
    """The evidence sentence a heatmap tooltip shows, if it shows one."""
    lines = [x.strip() for x in tooltip.splitlines() if x.strip()]
    if "strongest sentence" in lines[:-1]:
        text = lines[lines.index("strongest sentence") + 1]
        return text if len(text) > 20 else None
    return None


@pytest.mark.slow
@needs_chromium
def test_comparison_pages_in_a_real_browser(groups_db, tmp_path):
    from playwright.sync_api import sync_playwright

    proc = start_dashboard(groups_db)
    port = proc.port
    base = f"http://127.0.0.1:{port}"
    try:
        with sync_playwright() as pw:
            browser = launch_chromium(pw)
            page = browser.new_page(viewport={"width": 1400, "height": 1100})

            def inert() -> None:
                assert page.evaluate("window.__pwned === undefined")
                assert page.locator("img[src='x']").count() == 0

            # Blind spots, opened from its link; the hostile value shows as text.
            page.goto(base + "/?page=Blind+spots&by=lean&all=1", wait_until="domcontentloaded")
            page.get_by_text("missed by", exact=False).filter(visible=True).first.wait_for(
                timeout=60_000
            )
            page.get_by_text(HOSTILE_VALUE, exact=False).filter(visible=True).first.wait_for(
                timeout=30_000
            )
            page.wait_for_timeout(1500)
            inert()
            page.screenshot(path=str(tmp_path / "blind.png"), full_page=True)
            # Its story link opens the Story page grouped by the same attribute.
            link = page.locator("a[href*='page=Story']").first
            page.goto(
                base + "/" + link.get_attribute("href").lstrip("/"), wait_until="domcontentloaded"
            )
            page.get_by_text("Who framed it how: outlets by lean").wait_for(timeout=60_000)
            page.get_by_text("GlassLock", exact=False).filter(visible=True).first.wait_for(
                timeout=30_000
            )
            inert()
            # Kestrel-4 by lean: hovering a heatmap cell shows its strongest sentence,
            # clicking it lists all of that outlet's sentences for the frame.
            sid = _story_id(groups_db, "kestrel")
            page.goto(base + f"/?page=Story&story={sid}&by=lean", wait_until="domcontentloaded")
            page.get_by_text("Who framed it how: outlets by lean").wait_for(timeout=60_000)
            chart = page.locator("[data-testid='stVegaLiteChart']").first
            chart.wait_for(timeout=30_000)
            page.wait_for_timeout(2000)
            box, tip, at = chart.bounding_box(), page.locator("#vg-tooltip-element"), None
            for fy in (0.45, 0.55, 0.65, 0.75, 0.85):
                for fx in (0.3, 0.4, 0.5, 0.6, 0.7):
                    at = (box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
                    page.mouse.move(*at)
                    page.wait_for_timeout(300)
                    if tip.count() and tip.is_visible() and _sentence(tip.inner_text()):
                        break
                else:
                    continue
                break
            lines = [x.strip() for x in tip.inner_text().splitlines() if x.strip()]
            assert _sentence(tip.inner_text()), lines
            outlet, frame = lines[lines.index("outlet") + 1], lines[lines.index("frame") + 1]
            page.mouse.click(*at)
            page.get_by_text(f"{outlet} · {frame}").wait_for(timeout=30_000)
            page.get_by_text("score 0.", exact=False).filter(visible=True).first.wait_for(
                timeout=30_000
            )
            inert()
            # The hostile outlet's story: its name is text in the comparison.
            sid = _story_id(groups_db, "bridge")
            page.goto(base + f"/?page=Story&story={sid}&by=lean", wait_until="domcontentloaded")
            page.get_by_text("Who framed it how: outlets by lean").wait_for(timeout=60_000)
            page.get_by_text(HOSTILE_OUTLET, exact=False).filter(visible=True).first.wait_for(
                timeout=30_000
            )
            page.wait_for_timeout(1500)
            inert()
            page.screenshot(path=str(tmp_path / "story.png"), full_page=True)
            # Framing splits, opened from its link, one story chosen in the URL.
            sid = _story_id(groups_db, "lithography")
            page.goto(
                base + f"/?page=Framing+splits&by=lean&story={sid}&all=1",
                wait_until="domcontentloaded",
            )
            # Visible text only: "Divergence" and the headline sit in the table's hidden
            # grid cells too, and when the table renders first, .first alone waits on a
            # cell never shown (CI at stop 36 failed so).
            page.get_by_text("Divergence", exact=False).filter(visible=True).first.wait_for(
                timeout=60_000
            )
            page.get_by_text("Trade ministers agree", exact=False).filter(
                visible=True
            ).first.wait_for(timeout=30_000)
            page.wait_for_timeout(1500)
            inert()
            page.screenshot(path=str(tmp_path / "splits.png"), full_page=True)
            assert "page=Framing+splits" in page.url or "page=Framing%20splits" in page.url
            browser.close()
        assert (tmp_path / "splits.png").stat().st_size > 10_000
    finally:
        stop_dashboard(proc)
