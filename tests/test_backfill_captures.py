"""Captures that used to lose an article: a page the crawler cut short, and a stub (a
consent wall, a paywall) captured before the page's full article.

A page with ``WARC-Truncated`` (Common Crawl cuts at 1 MiB, Heritrix on time) was
refused whole, though its article text sits in the part kept. And of an address whose
first capture was a stub and a later one the full article, the stub was stored and the
article dropped. Checked through the CLI, on real WARC files written with warcio.
"""

from __future__ import annotations

import io
from pathlib import Path

import duckdb
import numpy as np
import pytest
from conftest import article_html
from test_backfill_repeats import PARAS, SITE, counts, kill_after, story
from typer.testing import CliRunner

from framewatch.cli import app

warcio = pytest.importorskip("warcio")
from warcio.statusandheaders import StatusAndHeaders  # noqa: E402
from warcio.warcwriter import WARCWriter  # noqa: E402

runner = CliRunner()


def warc(path: Path, captures: list[tuple]) -> Path:
    """A per-record .warc.gz of (url, body[, WARC-Truncated]) 200 responses, in order."""
    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=True)
    for url, body, *cut in captures:
        data = body.encode() if isinstance(body, str) else body
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")],
                                protocol="HTTP/1.1")  # fmt: skip
        extra = {"WARC-Truncated": cut[0]} if cut else {}
        w.write_record(w.create_warc_record(url, "response", payload=io.BytesIO(data),
                                            length=len(data), http_headers=http,
                                            warc_headers_dict=extra))  # fmt: skip
    path.write_bytes(buf.getvalue())
    return path


def backfill(db: Path, src: Path, *args: str):
    return runner.invoke(app, ["--db", str(db), "backfill", str(src), *args])


def articles(db: Path) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(
            "SELECT id, url, title, text, extraction, extraction_note FROM articles ORDER BY id"
        ).fetchall()
    finally:
        con.close()


# --- a page the crawler cut short -------------------------------------------------------

LONG = [  # a long report: the first paragraphs are the article a reader came for
    f"Paragraph {k}: the harbour authority in Zürich-Wollishofen said the café and ferry "
    f"terminal works would resume next week, after the council approved the revised "
    f"budget of {k} million francs for the lakeside renovation."
    for k in range(1, 41)
]
CUT_URL = f"{SITE}/2024/03/harbour-works"


def cut_page(
    where: bytes, title: str = "Harbour works resume", paras: list[str] = LONG,
    canonical: str | None = None,
) -> bytes:  # fmt: skip
    """The page's first bytes, up to and including the first ``where`` after the 12th
    paragraph: mid-article, after most of its main text, as a crawler's limit cuts it."""
    page = article_html(title, paras, canonical).encode()
    at = page.index(b"Paragraph 12:")
    return page[: page.index(where, at) + len(where)]


@pytest.mark.slow
def test_a_page_cut_short_by_the_crawler_is_stored_with_a_note(tmp_path):
    mid_tag = cut_page(b"</p><p")  # ends inside a tag
    mid_char = cut_page("ü".encode())[:-1]  # ends inside a two-byte UTF-8 character
    assert mid_char.endswith(b"Z\xc3")
    page = article_html("Harbour works resume", LONG).encode()
    banner = page[: page.index(b"<header>")]  # the cookie banner kept, not the article
    head = page[: page.index(b"<body>")]  # nothing kept but the <head>
    src = warc(tmp_path / "cc.warc.gz", [
        (CUT_URL, mid_tag, "length"),
        (CUT_URL + "-2", mid_char, "time"),
        (CUT_URL + "-3", head, "length"),
        (CUT_URL + "-4", banner, "length"),
    ])  # fmt: skip
    db = tmp_path / "fw.duckdb"
    res = backfill(db, src)
    assert res.exit_code == 3, res.output  # stored, with the empty one as a problem
    got = articles(db)
    assert [(url, title, extraction) for _, url, title, _, extraction, _ in got] == [
        (CUT_URL, "Harbour works resume", "full"),
        (CUT_URL + "-2", "Harbour works resume", "full"),
        (CUT_URL + "-4", "Harbour works resume", "stub"),  # as the stub test decides
    ]
    for (*_, text, _, note), cut in zip(got, ("length", "time"), strict=False):
        assert all(p in text for p in LONG[:11]), text  # the main text kept is all there
        assert LONG[20] not in text  # the part the crawler did not keep is not
        assert note == (
            f"cut short by the crawler (WARC-Truncated: {cut}); the text may lack its end"
        )
    assert got[2][5] == (
        "extracted only 9 words; cut short by the crawler (WARC-Truncated: length); "
        "the text may lack its end"
    )
    # the page with nothing kept but its head: a problem that says it was cut
    said = " ".join(res.output.split())
    assert "cc.warc.gz record 3 (offset" in said, said
    assert "extraction found no main text in the part the crawler kept" in said, said
    assert "(the page was cut short: WARC-Truncated: length)" in said, said
    assert "problems: 1" in said, said
    assert counts(db, "embeddings") == [(3, 3)]
    assert counts(db, "article_framing") == [(3, 3)]


CUT_NOTE = "cut short by the crawler (WARC-Truncated: "
QUAY = [p.replace("harbour authority", "quay office") for p in LONG]
QUAY_URL = f"{SITE}/2024/03/quay-reopens"
PIER = [p.replace("harbour authority", "pier trust") for p in LONG]
PIER_URL = f"{SITE}/2024/03/pier-opens"
CUT_FIRST = [
    (CUT_URL, cut_page(b"</p><p"), "length"),  # cut short, then captured whole: replaced
    (QUAY_URL, article_html("Quay reopens", QUAY)),  # whole, then cut short: kept
    (CUT_URL, article_html("Harbour works resume", LONG)),
    (QUAY_URL, cut_page(b"</p><p", "Quay reopens", QUAY), "length"),
    (CUT_URL, cut_page(b"</p><p"), "time"),  # cut again, after the whole one: dropped
    (PIER_URL, article_html("Pier opens", PIER).encode().split(b"Scroll to")[0], "length"),
    (PIER_URL, article_html("Pier opens", PIER)),  # cut after its article: the same text
]


def whole_texts(db: Path) -> list[tuple]:
    return [(url, title, any(p[39] in text for p in (LONG, QUAY, PIER)), note)
            for _, url, title, text, _, note in articles(db)]  # fmt: skip


@pytest.mark.slow(25)
def test_a_page_cut_short_gives_way_to_a_later_whole_capture(tmp_path, monkeypatch):
    """Common Crawl captures a busy address in several crawls: the one its crawler cut
    short is stored only until a whole one comes, with any partitioning and after a kill."""

    src = warc(tmp_path / "crawls.warc.gz", CUT_FIRST)
    want = [(CUT_URL, "Harbour works resume", True, None), (QUAY_URL, "Quay reopens", True, None),
            (PIER_URL, "Pier opens", True, None)]  # fmt: skip
    whole = tmp_path / "whole.duckdb"
    res = backfill(whole, src)
    assert res.exit_code == 0, res.output
    assert whole_texts(whole) == want
    reference = derived_from_the_text(whole)
    assert (
        reference["embeddings"]
        == reference["framings"]
        == [("Harbour works resume", 1), ("Pier opens", 1), ("Quay reopens", 1)]
    )  # the whole text's, not the cut one's
    assert "articles new: 3" in " ".join(res.output.split()), res.output
    apart = tmp_path / "apart.duckdb"
    assert backfill(apart, src, "--partition-size", "1").exit_code == 0
    assert whole_texts(apart) == want
    resumed = tmp_path / "resumed.duckdb"
    kill_after(monkeypatch, 1)  # the cut page loaded, the run killed before the whole one
    assert backfill(resumed, src, "--partition-size", "1").exit_code != 0
    assert whole_texts(resumed) == [(CUT_URL, "Harbour works resume", False,
                                     f"{CUT_NOTE}length); the text may lack its end")]  # fmt: skip
    monkeypatch.undo()
    assert backfill(resumed, src, "--partition-size", "1").exit_code == 0
    assert whole_texts(resumed) == want
    for db in (apart, resumed):
        got = derived_from_the_text(db)
        assert {k: v for k, v in got.items() if k != "vectors"} == {
            k: v for k, v in reference.items() if k != "vectors"}  # fmt: skip
        for title, v in got["vectors"].items():
            assert np.allclose(v, reference["vectors"][title], atol=1e-4), title


# --- a stub first, the full article later ------------------------------------------------

CONSENT = (  # the consent wall a crawler without cookies captures: a stub, not the article
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Before you continue'
    "</title></head><body><main><article><h1>Before you continue</h1><p>We use cookies and "
    "data to deliver our services. Accept all to continue reading.</p></article></main>"
    "</body></html>"
)
A, B, C, D = (f"{SITE}/2024/03/{s}" for s in ("strike", "ferry", "budget", "harbour"))
FULL_A = story("Port strike ends", "Port strike ends today.")
STUB_FIRST = [
    (A, CONSENT),  # A: a consent wall, then the article twice
    (B, story("Ferries resume", "Ferries resumed on Friday.")),
    (C, CONSENT),  # the same wall as A's: an exact copy of A's stub, not stored
    (A + "?utm_source=rss", FULL_A),  # A's article takes the place of its wall
    (D, CONSENT),  # a copy of A's wall still, though A's article replaced it: not stored
    (C, story("Budget passes", "The council passed the budget on Monday.")),  # C: stored
    (A, story("Port strike over", "A later rewrite of the strike story.")),  # dropped
    (D, CONSENT),  # dropped
]
WANT = [  # (url, title, first line, extraction) in id order: A keeps its wall's place
    (A, "Port strike ends", "Port strike ends today.", "full"),
    (B, "Ferries resume", "Ferries resumed on Friday.", "full"),
    (C, "Budget passes", "The council passed the budget on Monday.", "full"),
]


def summary(db: Path) -> list[tuple]:
    return [
        (url, title, text.split("\n")[1] if extraction == "full" else None, extraction)
        for _, url, title, text, extraction, _ in articles(db)
    ]


def derived_from_the_text(db: Path) -> dict:
    """Each article's vector and framing, by title: made from the stored text or not."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            "embeddings": con.execute(
                "SELECT a.title, count(*) FROM embeddings e JOIN articles a ON a.id = "
                "e.article_id GROUP BY ALL ORDER BY 1"
            ).fetchall(),
            "framings": con.execute(
                "SELECT a.title, count(*) FROM article_framing f JOIN articles a ON a.id = "
                "f.article_id GROUP BY ALL ORDER BY 1"
            ).fetchall(),
            "members": con.execute("SELECT count(DISTINCT article_id) FROM story_members")
            .fetchall(),
            "vectors": dict(con.execute(
                "SELECT a.title, e.vector FROM embeddings e JOIN articles a ON a.id = "
                "e.article_id ORDER BY 1"
            ).fetchall()),
        }  # fmt: skip
    finally:
        con.close()


def check_stub_first(db: Path, res, reference: dict | None = None, whole: bool = True) -> dict:
    """The store an unbroken run gives (with its counts, if ``whole``: a resumed run
    counts only what it did itself)."""
    assert res.exit_code == 0, res.output  # a stub is an article: no problem
    assert [(u.split("?")[0], t, f, e) for u, t, f, e in summary(db)] == WANT
    got = derived_from_the_text(db)
    one_each = [("Budget passes", 1), ("Ferries resume", 1), ("Port strike ends", 1)]
    assert got["embeddings"] == got["framings"] == one_each
    assert got["members"] == [(3,)]
    said = " ".join(res.output.split()) if whole else ""
    # A's wall (its article in its place), B's and C's articles; C's and D's walls copies
    # of A's; A's later captures and D's repeat dropped
    if whole:
        assert "articles new: 3" in said and "exact copies: 2" in said, said
        assert "already stored: 3" in said, said
    if reference is not None:  # the same vectors: the full text's, not the stub's
        vectors, want = got.pop("vectors"), reference["vectors"]
        assert got == {k: v for k, v in reference.items() if k != "vectors"}
        assert vectors.keys() == want.keys()
        for title, v in vectors.items():
            assert np.allclose(v, want[title], atol=1e-4), title
        got["vectors"] = vectors
    return got


@pytest.mark.slow
def test_a_full_capture_replaces_an_earlier_stub_of_its_address(tmp_path):
    """With repeats in one partition and each capture in its own partition (the stub
    already stored when the article comes): the same store."""
    src = warc(tmp_path / "crawl.warc.gz", STUB_FIRST)
    whole, apart = tmp_path / "whole.duckdb", tmp_path / "apart.duckdb"
    res = backfill(whole, src)
    reference = check_stub_first(whole, res)
    check_stub_first(apart, backfill(apart, src, "--partition-size", "1"), reference)


@pytest.mark.slow
def test_a_killed_backfill_resumes_to_the_full_capture(tmp_path, monkeypatch):
    """Killed right after the full capture replaced the stub, before that partition was
    marked loaded; and killed after the stub alone was loaded: both resume to the store
    an unbroken run gives."""

    src = warc(tmp_path / "crawl.warc.gz", STUB_FIRST)
    reference = check_stub_first(tmp_path / "ref.duckdb",
                                 backfill(tmp_path / "ref.duckdb", src, "--partition-size", "2"))  # fmt: skip
    for n, db in ((2, tmp_path / "a.duckdb"), (1, tmp_path / "b.duckdb")):
        calls = kill_after(monkeypatch, n)  # partition n-1 is in the store, but not marked loaded
        first = backfill(db, src, "--partition-size", "2")
        assert first.exit_code != 0 and len(calls) == n, first.output
        monkeypatch.undo()
        check_stub_first(db, backfill(db, src, "--partition-size", "2"), reference, whole=False)


def test_the_consent_wall_is_a_stub_and_the_article_is_full():
    """What the tests above rest on: the crawler's own stub test tells them apart."""
    from framewatch.backfill.extract import page_article

    stub = page_article(A, CONSENT.encode(), None, 20)
    full = page_article(A, FULL_A.encode(), None, 20)
    assert isinstance(stub, dict) and stub["extraction"] == "stub", stub
    assert full["extraction"] == "full" and PARAS[0] in full["text"]


def consent(title: str) -> str:
    """A consent wall naming the site's consent page as its canonical address."""
    return CONSENT.replace("<title>Before you continue", f"<title>{title}").replace(
        "</head>", '<link rel="canonical" href="https://consent.gazette.example/"></head>'
    )


@pytest.mark.slow
@pytest.mark.parametrize("size", [500, 1])
def test_each_address_gets_its_own_article_when_walls_share_a_canonical_url(tmp_path, size):
    """Walls that all name one consent page as canonical: only the first is stored (the
    address is taken); a later full capture of another address is that address's article,
    never written over the first wall's row."""
    src = warc(tmp_path / "crawl.warc.gz", [
        (A, consent("Port strike: before you continue")),
        (C, consent("Budget: before you continue")),
        (C, story("Budget passes", "The council passed the budget on Monday.")),
        (A, FULL_A),
    ])  # fmt: skip
    db = tmp_path / "fw.duckdb"
    res = backfill(db, src, "--partition-size", str(size))
    assert res.exit_code == 0, res.output
    assert summary(db) == [
        (A, "Port strike ends", "Port strike ends today.", "full"),
        (C, "Budget passes", "The council passed the budget on Monday.", "full"),
    ]
    con = duckdb.connect(str(db), read_only=True)
    try:
        canon = con.execute("SELECT canonical_url FROM articles ORDER BY id").fetchall()
    finally:
        con.close()
    assert canon == [(A,), (C,)]  # the page's own address, not the consent page's
    assert counts(db, "embeddings") == [(2, 2)]
    assert counts(db, "article_framing") == [(2, 2)]


# --- a full capture naming another canonical URL than its stub ---------------------------

A2 = f"{SITE}/2024/03/port-strike-ends"  # the canonical URL A's full page names
MOVED = [
    (A, CONSENT),  # stored under A, its own address
    (A, story("Port strike ends", "Port strike ends today.", A2)),  # takes A's row, as A2
    (B, story("Ferries resume", "Ferries resumed on Friday.")),
]
MOVED_WANT = [
    (A, "Port strike ends", "Port strike ends today.", "full"),
    (B, "Ferries resume", "Ferries resumed on Friday.", "full"),
]


def canonical_urls(db: Path) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT canonical_url FROM articles ORDER BY id").fetchall()
    finally:
        con.close()


@pytest.mark.slow
def test_a_resumed_run_does_not_store_a_replaced_stub_again(tmp_path, monkeypatch):
    """Killed after the partition in which A's full capture replaced its stub went in,
    before its marker: loaded again, the stub (whose canonical URL is free again, the
    row moved to the full page's) is not stored as a second article of A."""

    src = warc(tmp_path / "crawl.warc.gz", MOVED)
    db = tmp_path / "fw.duckdb"
    calls = kill_after(monkeypatch, 1)
    assert backfill(db, src, "--partition-size", "2").exit_code != 0 and calls == [1]
    monkeypatch.undo()
    res = backfill(db, src, "--partition-size", "2")
    assert res.exit_code == 0, res.output
    assert summary(db) == MOVED_WANT
    assert canonical_urls(db) == [(A2,), (B,)]
    assert counts(db, "embeddings") == [(2, 2)]
    assert counts(db, "article_framing") == [(2, 2)]


@pytest.mark.slow
def test_a_second_backfill_of_the_same_captures_does_not_store_the_stub_again(tmp_path):
    """A later backfill whose inputs hold the same WARC again (with another file, so a
    new plan): A's address has its article, the full text under A2; its stub is not
    stored as a second article of A."""
    src = warc(tmp_path / "crawl.warc.gz", MOVED)
    more = warc(tmp_path / "more.warc.gz", [(C, story("Budget passes", "The council passed."))])
    db = tmp_path / "fw.duckdb"
    assert backfill(db, src).exit_code == 0
    assert summary(db) == MOVED_WANT
    res = backfill(db, src, str(more))
    assert res.exit_code == 0, res.output
    assert [row[0] for row in summary(db)] == [A, B, C]
    assert canonical_urls(db) == [(A2,), (B,), (C,)]
    assert counts(db, "embeddings") == [(3, 3)]


@pytest.mark.slow
def test_a_wall_before_the_full_capture_is_decided_alike_with_any_partitioning(tmp_path):
    """A's wall is not stored (an older address, E, names A as its canonical URL), so
    D's identical wall, captured before A's full page, is D's own stub: with one
    partition as with one capture per partition (the full capture came after it, so D's
    wall is no copy of a replaced stub)."""
    E = f"{SITE}/2024/03/strike-old"
    src = warc(tmp_path / "crawl.warc.gz", [
        (E, story("Port strike", "Port strike talks continue.", A)),
        (A, CONSENT),  # canonical URL A: E's article has it, so not stored
        (D, CONSENT),  # the same wall: D's own stub, as no article has its text
        (A, story("Port strike ends", "Port strike ends today.", A2)),
    ])  # fmt: skip
    got = {}
    for size in ("500", "1"):
        db = tmp_path / f"fw{size}.duckdb"
        res = backfill(db, src, "--partition-size", size)
        assert res.exit_code == 0, res.output
        got[size] = summary(db)
    assert got["500"] == got["1"]
    assert [url for url, *_ in got["1"]] == [E, D, A]


@pytest.mark.slow(45)
@pytest.mark.parametrize("canonical", [None, f"{SITE}/news/harbour-works"])
def test_a_wall_then_a_cut_page_then_the_whole_page_ends_whole(tmp_path, monkeypatch, canonical):
    """The cut page takes the wall's place and gives way in turn to the whole capture,
    with any partitioning and after a kill; also when the page names a canonical URL
    other than the wall's address. Before, a stub replaced once was never replaced
    again, and the article kept the text that lacks its end."""

    captures = [
        (CUT_URL, CONSENT),  # a wall, then the page cut short, then whole: the whole text wins
        (QUAY_URL, article_html("Quay reopens", QUAY)),
        (CUT_URL, cut_page(b"</p><p", canonical=canonical), "length"),
        (CUT_URL, article_html("Harbour works resume", LONG, canonical)),
        (CUT_URL, cut_page(b"</p><p", canonical=canonical), "length"),  # cut again: dropped
    ]
    src = warc(tmp_path / "crawls.warc.gz", captures)
    ref = tmp_path / "ref.duckdb"  # the whole captures alone
    assert backfill(ref, warc(tmp_path / "whole.warc.gz", captures[1::2])).exit_code == 0
    reference = derived_from_the_text(ref)
    want = [(CUT_URL, "Harbour works resume", True, None), (QUAY_URL, "Quay reopens", True, None)]
    for size in ("500", "1", "killed"):
        db = tmp_path / f"{size}.duckdb"
        if size == "killed":
            kill_after(monkeypatch, 3)  # the cut page loaded over the wall, then killed
            assert backfill(db, src, "--partition-size", "1").exit_code != 0
            assert [t[2:] for t in whole_texts(db)] == [
                (False, f"{CUT_NOTE}length); the text may lack its end"),
                (True, None),
            ]
            monkeypatch.undo()
        res = backfill(db, src, "--partition-size", "1" if size == "killed" else size)
        assert res.exit_code == 0, res.output
        assert whole_texts(db) == want, size
        got = derived_from_the_text(db)
        assert got["embeddings"] == got["framings"] == reference["embeddings"]
        for title, v in got["vectors"].items():
            assert np.allclose(v, reference["vectors"][title], atol=1e-4), (size, title)


@pytest.mark.slow(20)
def test_a_replaced_cut_page_is_not_stored_again_by_a_resumed_or_later_run(tmp_path, monkeypatch):
    """A wall, then the page cut short under another spelling of its address, then whole
    but naming another canonical URL. Had the whole capture replaced the cut page, the
    cut page's canonical URL would be free again, and a resumed run, or a later backfill
    of the same captures, stored the cut page once more as an article of its own. The
    whole capture is dropped, and the article keeps the cut text."""

    src = warc(tmp_path / "crawls.warc.gz", [
        (CUT_URL, CONSENT),
        (QUAY_URL, article_html("Quay reopens", QUAY)),
        (CUT_URL + "?utm_source=rss", cut_page(b"</p><p"), "length"),
        (CUT_URL, article_html("Harbour works resume", LONG, f"{SITE}/news/harbour-works")),
    ])  # fmt: skip
    db = tmp_path / "fw.duckdb"
    kill_after(monkeypatch, 2)  # the cut and whole captures' partition loaded, not marked
    assert backfill(db, src, "--partition-size", "2").exit_code != 0
    monkeypatch.undo()
    assert backfill(db, src, "--partition-size", "2").exit_code == 0
    want = [(CUT_URL, "Harbour works resume", False, f"{CUT_NOTE}length); the text may lack its end"),
            (QUAY_URL, "Quay reopens", True, None)]  # fmt: skip
    assert whole_texts(db) == want
    more = warc(tmp_path / "more.warc.gz", [(B, story("Ferries resume", "Ferries resumed."))])
    assert backfill(db, src, str(more)).exit_code == 0
    assert [u for u, *_ in whole_texts(db)] == [CUT_URL, QUAY_URL, B]
