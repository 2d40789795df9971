"""A page captured more than once: the first capture that gives an article is stored.

A crawl often holds an address twice: first an app shell that renders nothing without
JavaScript (or an error page), later the article itself. The empty first capture used
to count as the address seen, and the good one was dropped. Each address still gives
one article, the first good capture's, also across partitions and after a killed run.
"""

from __future__ import annotations

import io
from pathlib import Path

import duckdb
import pytest
from conftest import article_html
from typer.testing import CliRunner

from framewatch.cli import app

warcio = pytest.importorskip("warcio")
from warcio.statusandheaders import StatusAndHeaders  # noqa: E402
from warcio.warcwriter import WARCWriter  # noqa: E402

runner = CliRunner()


def kill_after(monkeypatch, n: int) -> list[int]:
    """Kill the next backfill once its n-th partition is in the store, before its marker;
    ``monkeypatch.undo()`` lets the run after it load as usual. Returns the partitions
    loaded so far, one entry each."""
    from framewatch.backfill import load

    real, calls = load.Loader.load, []

    def killed(self, table):
        real(self, table)
        calls.append(1)
        if len(calls) == n:
            raise RuntimeError("killed")

    monkeypatch.setattr(load.Loader, "load", killed)
    return calls


SITE = "https://gazette.example"
SHELL = (  # a client-rendered page captured before it rendered: no main text at all
    "<!DOCTYPE html><html lang=en><head><title>Loading…</title></head><body>"
    '<div id="app"></div><script>window.boot()</script></body></html>'
)
PARAS = [
    "Dock workers returned to work on Thursday after a three-week strike over pay and "
    "safety at the port, the union said in a statement on its website.",
    "The agreement raises wages by six percent over two years and adds a safety officer "
    "to every night shift, according to a copy seen by reporters.",
    "Shipping companies said the backlog of containers would take a fortnight to clear, "
    "and several lines diverted vessels to other ports during the dispute.",
]


def story(title: str, first: str, canonical: str | None = None) -> str:
    """An article page of several paragraphs, told apart by its first sentence."""
    return article_html(title, [first, *PARAS], canonical)


def warc(path: Path, captures: list[tuple[str, str, str]]) -> Path:
    """A per-record .warc.gz of (url, status, body) responses, in this order."""
    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=True)
    for url, status, body in captures:
        data = body.encode()
        http = StatusAndHeaders(status, [("Content-Type", "text/html; charset=utf-8")],
                                protocol="HTTP/1.1")  # fmt: skip
        w.write_record(w.create_warc_record(url, "response", payload=io.BytesIO(data),
                                            length=len(data), http_headers=http))  # fmt: skip
    path.write_bytes(buf.getvalue())
    return path


def stored(db: Path) -> dict[str, list[tuple[str, str]]]:
    """url -> [(title, first line of the body)] of every stored article, in id order."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT url, title, text FROM articles ORDER BY id").fetchall()
    finally:
        con.close()
    out: dict[str, list[tuple[str, str]]] = {}
    for url, title, text in rows:
        out.setdefault(url.split("?")[0], []).append((title, text.split("\n")[1]))
    return out


def counts(db: Path, table: str) -> list[tuple[int, int]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(f"SELECT count(*), count(DISTINCT article_id) FROM {table}").fetchall()
    finally:
        con.close()


A, B, C, D = (f"{SITE}/2024/03/{s}" for s in ("strike", "ferry", "budget", "harbour"))
CAPTURES = [
    (A, "200 OK", SHELL),  # A: nothing to extract, then the article
    (B, "404 Not Found", story("Not found", "This page could not be found.")),
    (C, "200 OK", story("Budget passes", "The council passed the budget on Monday.")),
    (A + "?utm_source=rss", "200 OK", story("Port strike ends", "Port strike ends today.")),
    (B, "200 OK", story("Ferries resume", "Ferries resumed on Friday.")),  # B: error, then good
    # C again, rewritten and naming another canonical address: the first C stays
    (C, "200 OK", story("Budget revised", "The council revised the budget.", f"{SITE}/other")),
    (D, "200 OK", SHELL),  # D: never gives an article
    (D, "200 OK", SHELL),
    (A, "200 OK", story("Port strike over", "A later rewrite of the strike story.")),
]
WANT = {
    A: [("Port strike ends", "Port strike ends today.")],
    B: [("Ferries resume", "Ferries resumed on Friday.")],
    C: [("Budget passes", "The council passed the budget on Monday.")],
}


@pytest.mark.slow
@pytest.mark.parametrize("size", [500, 1])  # repeats in one partition, and in others
def test_the_first_capture_with_an_article_is_stored(tmp_path, size):
    db = tmp_path / "fw.duckdb"
    src = warc(tmp_path / "crawl.warc.gz", CAPTURES)
    res = runner.invoke(app, ["--db", str(db), "backfill", str(src),
                              "--partition-size", str(size)])  # fmt: skip
    assert res.exit_code == 3, res.output  # the empty captures are problems, as before
    assert stored(db) == WANT
    # A's and D's first captures are reported, each once; their repeats are not
    assert res.output.count("extraction found no main text") == 2, res.output
    assert "record 1 " in res.output and "record 7 " in res.output, res.output
    # C's and A's later good captures, and D's second shell, are counted as repeats
    assert "already stored: 3" in res.output, res.output
    assert counts(db, "embeddings") == [(3, 3)]
    assert counts(db, "article_framing") == [(3, 3)]


@pytest.mark.slow
def test_a_killed_backfill_resumes_with_each_address_once(tmp_path, monkeypatch):
    """Killed after loading A's and C's first good captures (before marking the last of
    them loaded): the resumed run stores neither address again."""
    db = tmp_path / "fw.duckdb"
    src = warc(tmp_path / "crawl.warc.gz", CAPTURES)
    args = ["--db", str(db), "backfill", str(src), "--partition-size", "1"]
    calls = kill_after(monkeypatch, 4)  # partition 3 (A's good capture) is in, but not marked
    first = runner.invoke(app, args)
    assert first.exit_code != 0 and len(calls) == 4, first.output
    monkeypatch.undo()
    res = runner.invoke(app, args)
    assert res.exit_code == 3, res.output
    assert stored(db) == WANT
    assert counts(db, "embeddings") == [(3, 3)]
    assert counts(db, "article_framing") == [(3, 3)]
