"""A stub the store held before the backfill (the crawler's consent wall), and the full
capture of its address in a WARC file under another spelling of the address: the other
scheme (the feed linked http://, the archive crawled https://) or a trailing slash."""

from __future__ import annotations

import pytest
from test_backfill_captures import (
    FULL_A,
    articles,
    backfill,
    copy_store,
    crawled_stub,
    found,
    warc,
)

pytest.importorskip("warcio")


@pytest.mark.slow(30)
def test_a_full_capture_under_https_and_a_slash_replaces_the_http_stub(
    tmp_path, http_server, settings
):
    """The crawler stored the wall of http://host/2024/03/strike; the archive has the page
    as https://host/2024/03/strike/. The stub was not matched: the full text went in as a
    second article of the address, beside the wall (found by search, counted twice)."""
    crawled, url, aid = crawled_stub(tmp_path, http_server, settings)
    assert url.startswith("http://")
    src = warc(tmp_path / "crawl.warc.gz", [("https://" + url[len("http://") :] + "/", FULL_A)])
    db = copy_store(crawled, tmp_path / "fw.duckdb")  # partitioning: test_backfill_captures
    res = backfill(db, src)
    assert res.exit_code == 0, res.output
    got = [(i, u, t, x.split("\n")[1], e) for i, u, t, x, e, _ in articles(db)]
    assert got == [(aid, url, "Port strike ends", "Port strike ends today.", "full")], got
    assert found(db, "deliver") == []  # the wall's words
    assert found(db, "dock") == ["Port strike ends"]
    again = backfill(db, src)  # the same archive once more
    assert again.exit_code == 0, again.output
    assert [r[:3] for r in articles(db)] == [(aid, url, "Port strike ends")]
