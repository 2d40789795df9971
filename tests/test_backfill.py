"""framewatch backfill: same stores as import + analyze, WARC pages as the crawler stores
them, resumable after SIGKILL (the same plan on Ray: test_backfill_ray.py)."""

from __future__ import annotations

import gzip
import io
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from conftest import REPO, Route, rss, write_jsonl
from typer.testing import CliRunner

from framewatch.cli import app
from framewatch.sample_site import load_corpus, load_outlets, render_page

runner = CliRunner()


def sample_rows(variants: int = 1) -> list[dict]:
    """The sample corpus as an archive export; ``variants`` > 1 adds shortened rewrites,
    each set a week later than the last (beyond the story window), with its own URLs."""
    rows = []
    for k in range(variants):
        for a in load_corpus():
            paras = a.paragraphs
            if k:
                r = k % len(paras)
                paras = (paras[r:] + paras[:r])[:2]
            rows.append({
                "title": a.title if not k else f"{a.title} ({k})",
                "text": "\n".join(paras), "source": a.outlet_name,
                "published_at": (a.published + timedelta(days=7 * k)).isoformat() + "Z",
                "url": f"https://{a.outlet}.example/{a.slug}-{k}.html?utm_source=rss",
            })  # fmt: skip
    return rows


def results(db: Path) -> dict:
    """What a researcher reads: articles with their ids, stories, duplicates, primary frames."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        q = lambda sql: con.execute(sql).fetchall()  # noqa: E731
        return {
            "articles": q("SELECT id, canonical_url, title, text, published_at, source_id FROM articles ORDER BY id"),
            "stories": q("SELECT id, size, copies, outlets, label FROM stories ORDER BY id"),
            "members": q("SELECT article_id, story_id FROM story_members ORDER BY article_id"),
            "duplicates": q("SELECT article_id, duplicate_of FROM article_duplicates ORDER BY 1"),
            "frames": q("SELECT article_id, codebook_id, primary_frame, method FROM article_framing ORDER BY 1, 2"),
            "embedded": q("SELECT count(*), count(DISTINCT article_id) FROM embeddings"),
        }  # fmt: skip
    finally:
        con.close()


def import_and_analyze(tmp_path: Path, name: str, rows: list[dict]) -> dict:
    db = tmp_path / f"{name}.duckdb"
    f = write_jsonl(tmp_path / f"{name}.jsonl", rows)
    assert runner.invoke(app, ["--db", str(db), "import", str(f)]).exit_code == 0
    assert runner.invoke(app, ["--db", str(db), "analyze"]).exit_code == 0
    return results(db)


def cli_backfill(db: Path, *args: str) -> object:
    return runner.invoke(app, ["--db", str(db), "backfill", *args])


@pytest.mark.slow
def test_backfill_jsonl_gives_the_same_store_as_import_and_analyze(tmp_path):
    # 105 articles (the sample corpus and 2 rewrites of it, a week apart) in 7 partitions:
    # enough for stories and story ids to cross partitions; more only costs suite time.
    rows = sample_rows(variants=3)
    expected = import_and_analyze(tmp_path, "ref", rows)
    src = write_jsonl(tmp_path / "archive.jsonl", rows)
    db = tmp_path / "bf.duckdb"
    res = cli_backfill(db, str(src), "--partition-size", "16")
    assert res.exit_code == 0, res.output
    got = results(db)
    assert len(got["articles"]) == len(rows)
    assert len({s for _, s in got["members"]}) > 20  # many stories, not one blob
    for key in expected:
        assert got[key] == expected[key], key
    assert not (tmp_path / "bf.duckdb.backfill").exists()  # work folder removed after success
    con = duckdb.connect(str(db), read_only=True)
    run = con.execute(
        "SELECT command, status, counts FROM runs ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert run[:2] == ("backfill", "ok")
    assert json.loads(run[2])["articles_new"] == len(rows)
    con.close()
    # again: everything is already stored, nothing doubles
    res = cli_backfill(db, str(src))
    assert res.exit_code == 0, res.output
    assert results(db) == got


def test_an_excel_export_in_cp1252_backfills_with_its_encoding_named(tmp_path):
    excel = tmp_path / "export.csv"
    excel.write_bytes("title;text;source\nBundestag berät über Gebührenerhöhung;Der Ausschuss"
                      " tagt am Montag.;Tagblatt\n".encode("cp1252"))  # fmt: skip
    db = tmp_path / "bf.duckdb"
    refused = cli_backfill(db, str(excel))
    assert refused.exit_code == 2, refused.output
    assert "line 2: not UTF-8 text (byte 0xe4)" in refused.output
    assert "--encoding cp1252 (import and backfill take it)" in refused.output
    assert cli_backfill(db, str(excel), "--encoding", "cp1252").exit_code == 0
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT title FROM articles").fetchall() == [
        ("Bundestag berät über Gebührenerhöhung",)
    ]
    con.close()


def test_a_wire_story_in_two_outlets_backfills_as_import_stores_it(tmp_path):
    # One agency text run by two outlets is two articles (each outlet's coverage); the
    # same outlet's repeat under a tracked URL is one. Backfill decides as import does.
    a = load_corpus()[0]
    wire = {"title": a.title, "text": "\n".join(a.paragraphs),
            "published_at": a.published.isoformat() + "Z"}  # fmt: skip
    rows = [{**wire, "source": "Herald", "url": "https://herald.example/wire"},
            {**wire, "source": "Courier", "url": "https://courier.example/wire"},
            {**wire, "source": "Courier", "url": "https://courier.example/wire-2"}]  # fmt: skip
    expected = import_and_analyze(tmp_path, "ref", rows)
    db = tmp_path / "bf.duckdb"
    res = cli_backfill(db, str(write_jsonl(tmp_path / "archive.jsonl", rows)))
    assert res.exit_code == 0, res.output
    got = results(db)
    assert [r[1] for r in got["articles"]] == [
        "https://herald.example/wire",
        "https://courier.example/wire",
    ]
    assert got["stories"][0][1:4] == (1, 1, 2)  # one text, counted once, two outlets
    for key in expected:
        assert got[key] == expected[key], key


def write_warc(
    path: Path, pages: list[tuple[str, bytes]], corrupt_after: int | set[int] | None = None,
    noise: bool = True, gz: bool = True,
) -> Path:  # fmt: skip
    """A WARC.gz as a crawler writes one: request/response pairs, plus the noise real
    archives carry (a redirect, a 404, an image), and optionally corrupt records."""
    corrupt = {corrupt_after} if isinstance(corrupt_after, int) else corrupt_after or set()
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=gz)

    def response(url: str, status: str, ctype: str, body: bytes, extra=()) -> None:
        http = StatusAndHeaders(status, [("Content-Type", ctype), *extra], protocol="HTTP/1.1")
        w.write_record(
            w.create_warc_record(
                url, "response", payload=io.BytesIO(body), length=len(body), http_headers=http
            )  # fmt: skip
        )

    w.write_record(w.create_warcinfo_record(path.name, {"software": "test-crawler/1.0"}))
    for n, (url, html) in enumerate(pages):
        req = StatusAndHeaders(
            f"GET {url} HTTP/1.1", [("User-Agent", "test")], is_http_request=True
        )
        w.write_record(w.create_warc_record(url, "request", http_headers=req))
        response(url, "200 OK", "text/html; charset=utf-8", html)
        if n in corrupt:
            buf.write(
                gzip.compress(
                    b"HTTP/1.1 200 OK\r\n\r\n<html>a response without its WARC header</html>"
                )
            )
    if noise:
        response(pages[0][0] + "/old", "301 Moved Permanently", "text/html", b"",
                 [("Location", pages[0][0])])  # fmt: skip
        response(pages[0][0] + "/missing", "404 Not Found", "text/html", b"<html>gone</html>")
        response(pages[0][0] + "/logo.png", "200 OK", "image/png", b"\x89PNG\r\n\x1a\n")
    path.write_bytes(buf.getvalue())
    return path


def sample_pages(base: str, count: int) -> list[tuple[str, bytes]]:
    outlets = {o["id"]: o for o in load_outlets()}
    arts = load_corpus()[:count]
    pages = []
    for a in arts:
        html = render_page(outlets[a.outlet], a, arts, base)
        pages.append((f"{base}/{a.outlet}/{a.slug}.html", html.encode()))
    return pages


def test_warc_pages_are_stored_as_the_crawler_stores_them(http_server, tmp_path, settings):
    from framewatch.backfill import BackfillOptions, backfill
    from framewatch.crawler.fetch import fetch_due
    from framewatch.pipeline.runs import recorded_run
    from framewatch.sources import add_source
    from framewatch.store import open_store

    srv = http_server
    pages = sample_pages(srv.base, 6)
    for url, html in pages:
        srv.routes[url[len(srv.base) :]] = Route(html, headers={"Content-Type": "text/html"})
    srv.routes["/feed.xml"] = Route(
        rss([("t", url, "s") for url, _ in pages]), headers={"Content-Type": "application/rss+xml"}
    )
    crawled = open_store(tmp_path / "crawl.duckdb")
    add_source(crawled, srv.url("/feed.xml"), name="Loopback")
    assert fetch_due(crawled, settings).new_articles == len(pages)
    want = crawled.execute(
        "SELECT canonical_url, text, content_hash, extraction FROM articles ORDER BY 1"
    ).fetchall()
    crawled.close()

    # the same pages in an archive, one of them twice (a tracked link to the same page)
    dup = (pages[1][0] + "?utm_source=twitter", pages[1][1])
    warc = write_warc(tmp_path / "cc-news.warc.gz", [*pages[:3], dup, *pages[3:]], corrupt_after=2)
    # and an export of other articles with a broken line (the archive's pages, as rows,
    # would be exact copies: same title and text)
    rewrites = sample_rows(variants=2)[-4:]
    bad_rows = write_jsonl(tmp_path / "rows.jsonl", rewrites[:3])
    with bad_rows.open("a") as fh:
        fh.write('{"title": "half a row", "text": \n')
        fh.write(json.dumps(rewrites[3]) + "\n")
    db = tmp_path / "bf.duckdb"
    store = open_store(db)
    with recorded_run(store, "backfill") as rec:
        report = backfill(store, settings, [str(warc), str(bad_rows)], tmp_path / "work",
                          BackfillOptions(partition_size=4), rec)  # fmt: skip
    got = store.execute(
        "SELECT canonical_url, text, content_hash, extraction FROM articles WHERE url LIKE 'http://%' ORDER BY 1"
    ).fetchall()
    assert got == want
    assert store.execute("SELECT count(*) FROM articles").fetchone()[0] == len(pages) + 4, (
        rec.counts,
        report,
    )
    assert store.execute("SELECT count(*) FROM story_members").fetchone()[0] == len(pages) + 4
    assert store.execute("SELECT count(*) FROM article_framing").fetchone()[0] == len(pages) + 4
    store.close()
    assert len(report.problems) == 2, report.problems
    assert report.problems[0].startswith("cc-news.warc.gz record 8 (offset ")
    assert "unreadable record" in report.problems[0]
    assert report.problems[1].startswith("rows.jsonl line 4: not valid JSON")


def test_each_corrupt_record_costs_itself_only_and_a_cut_off_last_page_is_named(tmp_path):
    from framewatch.backfill.warc import WarcPage, read_pages

    pages = sample_pages("http://news.example", 6)
    warc = write_warc(tmp_path / "two.warc.gz", pages, corrupt_after={1, 3})
    items = list(read_pages(warc))
    assert [i.url for i in items if isinstance(i, WarcPage)] == [u for u, _ in pages]
    problems = [str(i) for i in items if not isinstance(i, WarcPage)]
    assert len(problems) == 2 and all("unreadable record" in p for p in problems)
    raw = warc.read_bytes()
    for p in problems:  # the offsets name where the bad records are, in the file's bytes
        offset = int(p.split("(offset ")[1].split(")")[0])
        assert raw[offset : offset + 3] == b"\x1f\x8b\x08"
        assert b"without its WARC header" in gzip.decompress(raw[offset:])[:200]
        assert len(p) < 200 and p.isprintable()  # no binary first line in the message
    # A download cut short, compressed or not, inside the last page's body or its header:
    # it is named, not stored as a page that stops mid-sentence nor lost without a word.
    for name in ("whole.warc.gz", "whole.warc"):
        whole = write_warc(tmp_path / name, pages[:3], noise=False, gz=name.endswith(".gz"))
        data = whole.read_bytes()
        last = data.rfind(b"\x1f\x8b\x08" if name.endswith(".gz") else b"WARC/1.")
        for keep in (len(data) - 40, last + 30):
            cut = tmp_path / f"cut-{keep}-{name}"
            cut.write_bytes(data[:keep])
            items = list(read_pages(cut))
            assert [i.url for i in items if isinstance(i, WarcPage)] == [u for u, _ in pages[:2]]
            assert "the file ends inside it" in str(items[-1]), (name, keep)
        assert len([i for i in read_pages(whole) if isinstance(i, WarcPage)]) == 3


def _wait_for(pred, timeout: float) -> None:
    end = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.2)


@pytest.mark.slow(40)
def test_backfill_killed_midway_resumes_with_every_article_once(tmp_path):
    # The corpus's 35 short rewrites in 12 partitions of 3 (was 70 articles in 14 of 5):
    # about as many partitions to kill between, for half the analysis.
    rows = sample_rows(variants=2)[35:]
    src = write_jsonl(tmp_path / "archive.jsonl", rows)
    db = tmp_path / "bf.duckdb"
    cmd = [sys.executable, "-m", "framewatch", "--db", str(db), "backfill", str(src),
           "--partition-size", "3"]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    work = tmp_path / "bf.duckdb.backfill"
    try:
        _wait_for(lambda: len(list(work.glob("*/out/*.loaded"))) >= 3, 240)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    loaded = len(list(work.glob("*/out/*.loaded")))
    assert loaded < len(rows) / 3  # killed mid-way
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stderr
    got = results(db)
    assert sorted(r[2] for r in got["articles"]) == sorted(r["title"] for r in rows)
    assert got["embedded"] == [(len(rows), len(rows))]
    assert len(got["members"]) == len(rows)
    assert len(got["frames"]) == len(rows)
    assert [r[0] for r in got["articles"]] == sorted(r[0] for r in got["articles"])
    assert [r[2] for r in got["articles"]] == [r["title"] for r in rows]  # input order kept


def test_a_plan_that_gets_no_resources_fails_with_a_clear_message():
    import threading

    from framewatch.backfill.engines import PlanStalled
    from framewatch.backfill.engines._local import LocalEngine

    never = threading.Event()

    def results():  # an engine whose workers never get a CPU: nothing ever comes back
        never.wait()
        yield {}

    engine = LocalEngine(1, stall_s=0.5)
    with pytest.raises(PlanStalled, match=r"finished no partition in 0.5 s; 2 actors asking"):
        engine.watched(results, lambda r: None, "2 actors asking for 1 CPU each")
    never.set()


def test_an_archived_page_keeps_its_time_of_publication():
    """A WARC page has no feed date: its own article:published_time, 17:25 at +01:00, is
    stored as 16:25 UTC, not as the day's midnight (a review found every page at 00:00)."""
    from framewatch.backfill.extract import page_article

    body = "Dock workers returned to work on Thursday after a three-week strike. " * 6
    html = (
        '<html><head><meta property="article:published_time" content="2024-12-05T17:25:00'
        f'+01:00"><title>Port strike ends</title></head><body><article><h1>Port strike ends'
        f"</h1><p>{body}</p></article></body></html>"
    ).encode()
    got = page_article("https://gazette.example/port", html, datetime(2025, 1, 1), 20)
    assert got["published_at"] == datetime(2024, 12, 5, 16, 25)
