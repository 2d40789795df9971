"""Real coverage (../shared/seeds) wrapped in page furniture survives extraction intact."""

from __future__ import annotations

import pytest
from conftest import SEEDS, Route, article_html, rss

from framewatch.crawler.fetch import fetch_due
from framewatch.sources import add_source

pytestmark = pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds is not present")


def seed_texts() -> list[tuple[str, str]]:
    return [(p.stem, p.read_text(encoding="utf-8")) for p in sorted(SEEDS.glob("*.txt"))]


def test_seed_pages_are_extracted_without_boilerplate(http_server, store, settings):
    srv = http_server
    items = []
    for stem, text in seed_texts():
        paras = [line for line in text.splitlines() if line.strip()]
        srv.routes[f"/{stem}.html"] = Route(article_html(paras[0][:80], paras))
        items.append((paras[0][:80], srv.url(f"/{stem}.html"), paras[0][:200]))
    srv.routes["/feed.xml"] = Route(rss(items))
    add_source(store, srv.url("/feed.xml"))
    report = fetch_due(store, settings)
    assert report.new_articles == len(items) == 5
    rows = store.execute("SELECT url, text, extraction FROM articles").fetchall()
    by_stem = {url.rsplit("/", 1)[1].removesuffix(".html"): (t, e) for url, t, e in rows}
    for stem, text in seed_texts():
        stored, how = by_stem[stem]
        assert how == "full"
        body_lines = [line.strip() for line in text.splitlines() if len(line.split()) > 12]
        kept = sum(1 for line in body_lines if line in stored)
        assert kept / len(body_lines) > 0.9, (
            f"{stem}: only {kept}/{len(body_lines)} body lines kept"
        )
        for furniture in ("Accept cookies", "Trending now", "Celebrity chef", "Loopback News Ltd"):
            assert furniture not in stored
