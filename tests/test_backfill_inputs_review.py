"""backfill's inputs as real tools write them: wget, Heritrix and Browsertrix WARCs,
compressed per record or as a whole, cut short, with every payload shape a crawl
carries. Each is read as the crawler would read the page, or refused in one line."""

from __future__ import annotations

import gzip
import io
import json
import random
import zipfile
import zlib
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from framewatch.cli import app

warcio = pytest.importorskip("warcio")
from warcio.statusandheaders import StatusAndHeaders  # noqa: E402
from warcio.warcwriter import WARCWriter  # noqa: E402

from framewatch.backfill.extract import page_article  # noqa: E402
from framewatch.backfill.warc import WarcPage, read_pages  # noqa: E402

runner = CliRunner()
URL = "https://gazette.example/2024/03/port-strike"
LEAD = (
    "Dock workers returned to work on Thursday after a three-week strike over pay and "
    "safety at the port, the union said in a statement. "
)
CAFE = "Café owners in Zürich protest the new rents"
CAFE_TEXT = (
    "Les propriétaires de café à Zürich protestent contre les loyers élevés, déclarant "
    "que la situation est intenable pour les petits commerces du quartier. "
)


def html(
    title: str = "Port strike ends", text: str = LEAD, head: str = "", lang: str = "en"
) -> str:
    """A news page: the article among navigation and a footer."""
    return (
        f"<!DOCTYPE html><html lang={lang}><head>{head}<title>{title}</title></head><body>"
        f"<nav><a href='/'>Home</a> <a href='/news'>News</a></nav><article><h1>{title}</h1>"
        f"<p>{text * 3}</p><p>{text * 2}</p></article><footer>The Gazette</footer></body></html>"
    )


class Warc:
    """A WARC as a crawler writes one, record by record, through warcio's own writer."""

    def __init__(self, gz: bool = True, version: str = "WARC/1.0", software: str = "Wget/1.21.3"):
        self.buf, self.gz = io.BytesIO(), gz
        self.w = WARCWriter(self.buf, gzip=gz, warc_version=version)
        self.w.write_record(self.w.create_warcinfo_record("crawl.warc", {"software": software}))

    def request(self, url: str = URL) -> Warc:
        req = StatusAndHeaders(f"GET {url} HTTP/1.1", [("User-Agent", "Wget/1.21.3")],
                               is_http_request=True)  # fmt: skip
        self.w.write_record(self.w.create_warc_record(url, "request", http_headers=req))
        return self

    def response(
        self, url: str = URL, body: bytes | str | None = None, status: str = "200 OK",
        ctype: str | None = "text/html; charset=utf-8", headers=(), warc_headers=None,
        protocol: str = "HTTP/1.1",
    ) -> Warc:  # fmt: skip
        body = html() if body is None else body
        body = body.encode() if isinstance(body, str) else body
        hdrs = ([("Content-Type", ctype)] if ctype else []) + list(headers)
        http = StatusAndHeaders(status, hdrs, protocol=protocol)
        rec = self.w.create_warc_record(url, "response", payload=io.BytesIO(body), length=len(body),
                                        http_headers=http, warc_headers_dict=warc_headers or {})  # fmt: skip
        self.w.write_record(rec)
        return self

    def record(self, url: str, kind: str, body: bytes, ctype: str) -> Warc:
        """A record without HTTP headers: dns:, metadata, a resource such as wget's log."""
        rec = self.w.create_warc_record(url, kind, payload=io.BytesIO(body), length=len(body),
                                        warc_content_type=ctype)  # fmt: skip
        self.w.write_record(rec)
        return self

    def revisit(self, url: str, original: str) -> Warc:
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        rec = self.w.create_revisit_record(url, "sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ", original,
                                           "2024-03-01T10:00:00Z", http_headers=http)  # fmt: skip
        self.w.write_record(rec)
        return self

    def save(self, path: Path) -> Path:
        path.write_bytes(self.buf.getvalue())
        return path


def read(path: Path) -> tuple[list[WarcPage], list[str]]:
    items = list(read_pages(path))
    return [i for i in items if isinstance(i, WarcPage)], [
        str(i) for i in items if not isinstance(i, WarcPage)
    ]


def article(page: WarcPage) -> dict:
    got = page_article(page.url, page.html, page.captured_at, 20)
    assert isinstance(got, dict), got
    return got


def chunked(body: bytes) -> bytes:
    half = len(body) // 2
    return (
        b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (body[:half], body[half:])) + b"0\r\n\r\n"
    )


def cli(db: Path, *args: str):
    return runner.invoke(app, ["--db", str(db), "backfill", *args])


# --- shapes that are read right ------------------------------------------------------

GZ = gzip.compress(html().encode())
SHAPES = {
    # wget --warc-file: warcinfo, request, response, then metadata and its log as a resource
    "wget": lambda: Warc(gz=False).request().response()
    .record(URL, "metadata", b"outlink: https://gazette.example/", "application/warc-fields")
    .record("metadata://gnu.org/software/wget/warc/wget.log", "resource", b"log", "text/plain"),
    "gzip per record, WARC/1.1": lambda: Warc(version="WARC/1.1").request().response(),
    "chunked and gzip": lambda: Warc().response(body=chunked(GZ), headers=[
        ("Content-Encoding", "gzip"), ("Transfer-Encoding", "chunked")]),  # fmt: skip
    "deflate": lambda: Warc().response(body=zlib.compress(html().encode()),
                                       headers=[("Content-Encoding", "deflate")]),  # fmt: skip
    # Browsertrix stores the body decoded but keeps the server's Content-Encoding
    "decoded but gzip named": lambda: Warc().response(headers=[("Content-Encoding", "gzip")]),
    "HTTP/2 status line": lambda: Warc().response(status="HTTP/2.0 200", protocol=""),
    "xhtml type in capitals": lambda: Warc().response(ctype="Application/XHTML+XML; charset=UTF-8"),
    # a Heritrix dedup record after the response it refers to adds nothing
    "revisit": lambda: Warc().response().revisit(URL + "?ref=rss", URL),
    # noise a crawl carries: none of it is an article
    "noise": lambda: Warc().response().response(URL + "/old", b"", "301 Moved Permanently",
        headers=[("Location", URL)]).response(URL + "/x", "<html>gone</html>", "404 Not Found")
    .response(URL + "/y", html("Error"), "500 Internal Server Error")
    .response(URL + ".pdf", b"%PDF-1.4", ctype="application/pdf")
    .response(URL + ".png", b"\x89PNG\r\n\x1a\n", ctype="image/png")
    .response(URL + ".json", b'{"a": 1}', ctype="application/json")
    .response("https://gazette.example/robots.txt", b"User-agent: *", ctype="text/plain"),
}  # fmt: skip


@pytest.mark.parametrize("shape", list(SHAPES))
def test_each_crawler_shape_gives_its_one_page(tmp_path, shape):
    w = SHAPES[shape]()
    pages, problems = read(w.save(tmp_path / ("crawl.warc.gz" if w.gz else "crawl.warc")))
    assert problems == []
    assert [p.url for p in pages] == [URL]
    a = article(pages[0])
    assert (a["title"], a["language"]) == ("Port strike ends", "en")
    assert a["text"].startswith("Port strike ends\nDock workers returned to work on Thursday")
    assert a["canonical_url"] == URL


def test_wget_target_uri_in_angle_brackets_and_warc_date(tmp_path):
    """wget 1.19 wrote WARC-Target-URI as <...>; WARC/1.1 dates carry fractions."""
    w = Warc(gz=False, version="WARC/1.1")
    w.response(warc_headers={"WARC-Date": "2024-03-05T10:11:12.250000Z"})
    data = w.buf.getvalue().replace(f"WARC-Target-URI: {URL}".encode(),
                                    f"WARC-Target-URI: <{URL}>".encode())  # fmt: skip
    (tmp_path / "wget.warc").write_bytes(data)
    pages, problems = read(tmp_path / "wget.warc")
    assert problems == [] and [p.url for p in pages] == [URL]
    assert pages[0].captured_at == datetime(2024, 3, 5, 10, 11, 12, 250000)


def test_a_canonical_link_names_the_article(tmp_path):
    head = '<link rel="canonical" href="https://gazette.example/2024/03/port-strike-ends">'
    w = Warc().response(URL + "?utm_source=x&page=1", html(head=head))
    pages, _ = read(w.save(tmp_path / "c.warc.gz"))
    assert article(pages[0])["canonical_url"] == "https://gazette.example/2024/03/port-strike-ends"


def test_charset_in_meta_only_or_wrong_in_the_header(tmp_path):
    meta = html(CAFE, CAFE_TEXT, '<meta charset="windows-1252">', "fr").encode("cp1252")
    utf8 = html(CAFE, CAFE_TEXT, '<meta charset="utf-8">', "fr").encode()
    w = Warc().response(URL, meta, ctype="text/html").response(URL + "2", utf8,
                                                               ctype="text/html; charset=iso-8859-1")  # fmt: skip
    pages, problems = read(w.save(tmp_path / "c.warc.gz"))
    assert problems == [] and len(pages) == 2
    for p in pages:
        assert article(p)["title"] == CAFE


# --- inputs refused in one line --------------------------------------------------------


@pytest.mark.parametrize(
    "name, why",
    [
        ("page.html", "unknown format '.html'"),  # a saved page given by mistake
        ("crawl.cdx", "unknown format '.cdx'"),  # wget --warc-cdx's index beside the WARC
        ("missing.warc.gz", "no such file"),
        ("*.warc.gz", "no file matches"),
        ("crawl", "a folder"),  # Browsertrix's collection folder
    ],
)
def test_an_input_backfill_cannot_read_is_refused_in_one_line(tmp_path, name, why):
    """Exit 2 and the file named, as for any input error: not an 'internal error' that
    calls the user's typo a bug in framewatch."""
    (tmp_path / "page.html").write_text("<html></html>")
    (tmp_path / "crawl.cdx").write_text(" CDX N b a m s k r M S V g\n")
    (tmp_path / "crawl").mkdir()
    res = cli(tmp_path / "fw.duckdb", str(tmp_path / name))
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and why in lines[0], lines


def test_a_file_named_with_brackets_is_read_as_named(tmp_path):
    """'crawl[1].warc.gz' exists: it is that file, not a glob matching nothing."""
    from framewatch.backfill.inputs import expand

    path = Warc().response().save(tmp_path / "crawl[1].warc.gz")
    assert expand([str(path)]) == [path]
    assert expand([str(tmp_path / "crawl*")]) == [path]


# --- WARC files that were misread --------------------------------------------------------


def test_heritrix_dns_and_whois_records_are_not_problems(tmp_path):
    """Heritrix writes a `response` record for each host's DNS lookup (dns:, text/dns):
    not a page, and not an 'unreadable response' on every host of the crawl."""
    w = Warc(software="Heritrix/3.4.0")
    w.record("dns:gazette.example", "response", b"20240301100000\ngazette.example. 300 IN A "
             b"192.0.2.7\n", "text/dns")  # fmt: skip
    w.record("whois:gazette.example", "response", b"Domain Name: GAZETTE.EXAMPLE\n", "text/plain")
    w.request().response()
    pages, problems = read(w.save(tmp_path / "heritrix.warc.gz"))
    assert problems == [] and [p.url for p in pages] == [URL]


def test_a_warc_gzipped_as_a_whole_gives_every_page(tmp_path):
    """`gzip crawl.warc` makes one gzip member, not one per record: every page is read
    (it was none, without a word), and a cut one still names where it ends."""
    w = Warc(gz=False).request().response()
    w.response(URL + "-2", html("Second page")).response(URL + "-3", html("Third page"))
    data = gzip.compress(w.buf.getvalue())
    (tmp_path / "whole.warc.gz").write_bytes(data)
    pages, problems = read(tmp_path / "whole.warc.gz")
    assert problems == [] and [p.url for p in pages] == [URL, URL + "-2", URL + "-3"]
    assert article(pages[2])["title"] == "Third page"
    (tmp_path / "cut.warc.gz").write_bytes(data[: len(data) - 30])  # a killed download
    pages, problems = read(tmp_path / "cut.warc.gz")
    assert [p.url for p in pages] == [URL, URL + "-2"]
    assert len(problems) == 1 and "the file ends inside it" in problems[0], problems


def test_warcs_gzipped_whole_and_joined_name_their_records_by_their_place(tmp_path):
    """`cat` of two crawls each gzipped whole: the first page came out of warcio's first
    try at 'offset -3062'. Offsets count the uncompressed data; a corrupt stream is named
    once, not as 'record 1 (offset 0): the file ends inside it'."""
    w = Warc(gz=False).response().response(URL + "-2", html("Second page"))
    raw = w.buf.getvalue()
    data = gzip.compress(raw)
    (tmp_path / "joined.warc.gz").write_bytes(data + data)
    pages, problems = read(tmp_path / "joined.warc.gz")
    assert problems == [] and [p.url for p in pages] == [URL, URL + "-2"] * 2
    for p in pages:
        at = int(p.position.split("(offset ")[1].split(" ")[0]) % len(raw)
        assert raw[at:].startswith(b"WARC/1.0\r\nWARC-Type: response"), p.position
    rnd = random.Random(7)
    words = " ".join(f"{rnd.getrandbits(40):x}" for _ in range(4000))
    w.response(URL + "-3", html("Third page", words + ". "))  # 40 kB compressed
    data = gzip.compress(w.buf.getvalue())
    (tmp_path / "bad.warc.gz").write_bytes(data[:-20000] + bytes(100) + data[-19900:])
    pages, problems = read(tmp_path / "bad.warc.gz")
    assert [p.url for p in pages] == [URL, URL + "-2"]
    assert len(problems) == 1 and "no record after it can be read" in problems[0], problems


@pytest.mark.parametrize("name", ["empty.warc", "empty.warc.gz"])
def test_an_empty_warc_holds_no_pages(tmp_path, name):
    """wget killed before its first record: no pages, as `import` reads an empty file
    (it raised 'cannot mmap an empty file', an internal error)."""
    (tmp_path / name).write_bytes(b"")
    assert read(tmp_path / name) == ([], [])


@pytest.mark.parametrize("gz", [False, True])
def test_a_file_that_is_not_a_warc_says_so(tmp_path, gz):
    """A server's error page saved under the archive's name: 'not a WARC file', not
    'the file ends inside it'."""
    body = b"<html><head><title>403 Forbidden</title></head><body>Forbidden</body></html>\n"
    (tmp_path / "cc-news.warc.gz").write_bytes(gzip.compress(body) if gz else body)
    pages, problems = read(tmp_path / "cc-news.warc.gz")
    assert pages == [] and len(problems) == 1
    assert problems[0].startswith("cc-news.warc.gz: not a WARC file"), problems


def test_a_charset_named_only_in_the_http_header_is_read(tmp_path):
    """The header's charset decides, as in a browser: a page with a few accents was
    guessed as Baltic or Turkish ('Z³rich cafķ', 'El Nińo')."""
    en_title = "Zürich café owners protest rents"
    en = html(en_title, "Owners of cafés in Zürich said rents had doubled since the "
              "pandemic, and the city council promised a review. ").encode("cp1252")  # fmt: skip
    es_title = "El Niño golpea la costa"
    es = html(es_title, "El fenómeno de El Niño dejó lluvias intensas en la región, según "
              "el ministerio. ", lang="es").encode("cp1252")  # fmt: skip
    ru_title = "Жители Казани протестуют против новых тарифов"
    ru = html(ru_title, "Жители города вышли на улицы, чтобы выразить недовольство ростом "
              "цен. ", lang="ru").encode("cp1251")  # fmt: skip
    w = Warc().response(URL, en, ctype="text/html; charset=windows-1252")
    w.response(URL + "-es", es, ctype="text/html; charset=ISO-8859-1")  # read as browsers do
    w.response(URL + "-ru", ru, ctype="text/html; charset=windows-1251")
    meta = en.replace(b"<head>", b'<head><meta http-equiv="Content-Type" content="text/html; '
                      b'charset=windows-1252">')  # fmt: skip
    w.response(URL + "-meta", meta, ctype="text/html")  # else the page's <meta> decides
    pages, problems = read(w.save(tmp_path / "c.warc.gz"))
    assert problems == []
    assert [article(p)["title"] for p in pages] == [en_title, es_title, ru_title, en_title]
    assert article(pages[0])["text"].startswith(f"{en_title}\nOwners of cafés in Zürich")


def test_brotli_pages_are_read_and_a_payload_not_readable_here_is_named(tmp_path, monkeypatch):
    """Browsers ask for br, so Browsertrix and Webrecorder WARCs hold brotli pages; warcio
    1.8 cannot decode them, framewatch does. Garbled bytes are a problem, never garbage
    text. x-gzip is gzip (its page lost its language before)."""
    import brotli

    from framewatch.backfill import warc

    body = html().encode()
    w = Warc().response(URL + "-br", brotli.compress(body), headers=[("Content-Encoding", "br")])
    w.response(URL, b"\x1b\x8f\x02\x00garbled brotli bytes", headers=[("Content-Encoding", "br")])
    w.response(URL + "-x", gzip.compress(body), headers=[("Content-Encoding", "x-gzip")])
    w.response(URL + "-plain", body)
    path = w.save(tmp_path / "c.warc.gz")
    pages, problems = read(path)
    assert [p.url for p in pages] == [URL + "-br", URL + "-x", URL + "-plain"]
    same = {"url": URL + "-br", "canonical_url": URL + "-br"}
    assert article(pages[0]) == article(pages[2]) | same
    assert article(pages[1])["language"] == "en"
    assert len(problems) == 1 and "record 3 (offset " in problems[0], problems
    assert "unreadable response (brotli: decoder failed)" in problems[0]

    monkeypatch.setattr(warc, "_brotli", lambda: None)  # installed without the scale extra
    pages, problems = read(path)
    assert [p.url for p in pages] == [URL + "-x", URL + "-plain"]
    assert len(problems) == 2 and all("compressed as 'br'" in p for p in problems), problems
    assert "pip install 'framewatch[scale]' brings brotli" in problems[0]


def test_a_page_that_decompresses_to_gigabytes_is_cut_as_the_crawler_cuts_it(tmp_path, monkeypatch):
    """A compression bomb in an archive (br or gzip) was read whole into memory."""
    import brotli

    from framewatch.backfill import warc

    monkeypatch.setattr(warc, "MAX_BODY", 200_000)
    huge = html().encode().replace(b"</body>", b"<p>" + b"spam " * 2_000_000 + b"</p></body>")
    w = Warc().response(URL + "-br", brotli.compress(huge, quality=1),
                        headers=[("Content-Encoding", "br")])  # fmt: skip
    w.response(URL + "-gz", gzip.compress(huge, 1), headers=[("Content-Encoding", "gzip")])
    pages, problems = read(w.save(tmp_path / "c.warc.gz"))
    assert problems == [] and [p.url for p in pages] == [URL + "-br", URL + "-gz"]
    assert all(len(p.html) <= 200_000 for p in pages), [len(p.html) for p in pages]
    assert all(p.html.startswith(huge[:1000]) for p in pages)


def test_a_page_the_crawler_cut_short_is_read_and_marked_cut(tmp_path):
    """Heritrix keeps the first bytes of a page over its size limit, marked WARC-Truncated:
    refused, its article was lost though its text sits in the part kept; read, it is marked
    so its article is stored with a note that it may lack its end (test_backfill_captures)."""
    cut = html().encode()[:600]
    w = Warc(software="Heritrix/3.4.0").response(
        warc_headers={"WARC-Truncated": "length"}, body=cut
    )
    pages, problems = read(w.save(tmp_path / "c.warc.gz"))
    assert problems == [] and [(p.html, p.truncated) for p in pages] == [(cut, "length")]
    assert pages[0].position.startswith("c.warc.gz record 2 (offset ")
    assert pages[0].position.endswith(")")
    got = article(pages[0])
    assert got["extraction"] == "full" and LEAD.strip() in got["text"]
    whole = read(Warc().response().save(tmp_path / "whole.warc.gz"))[0][0]
    assert whole.truncated is None
    noted = page_article(URL, cut, None, 20, pages[0].truncated)
    assert noted["extraction_note"] == (
        "cut short by the crawler (WARC-Truncated: length); the text may lack its end"
    )


def test_a_partial_response_is_not_stored_as_the_whole_page(tmp_path):
    """HTTP 206 is the range asked for, not the page (a resumed download, a browser's
    range request); a range that is the whole page is the page."""
    body = html().encode()
    w = Warc().response(body=body[:700], status="206 Partial Content",
                        headers=[("Content-Range", f"bytes 0-699/{len(body)}")])  # fmt: skip
    w.response(URL + "-whole", body, status="206 Partial Content",
               headers=[("Content-Range", f"bytes 0-{len(body) - 1}/{len(body)}")])  # fmt: skip
    pages, problems = read(w.save(tmp_path / "c.warc.gz"))
    assert [p.url for p in pages] == [URL + "-whole"]
    assert len(problems) == 1 and f"only bytes 0-699 of {len(body)}" in problems[0], problems


def test_a_utf16_page_with_its_byte_order_mark_keeps_its_language(tmp_path):
    body = html().encode("utf-16")
    pages, problems = read(Warc().response(body=body, ctype="text/html; charset=utf-16")
                           .save(tmp_path / "c.warc.gz"))  # fmt: skip
    assert problems == [] and article(pages[0])["language"] == "en"


def test_a_video_in_the_crawl_is_passed_over_without_holding_it_in_memory(tmp_path):
    """Browsertrix archives the media a page plays: a 24 MB video was read whole (twice)
    to be dropped as not a page."""
    import tracemalloc

    video = random.Random(3).randbytes(24 << 20)
    w = Warc(software="Browsertrix-Crawler 1.2").response(URL + ".mp4", video, ctype="video/mp4")
    path = w.response().save(tmp_path / "c.warc.gz")
    del video, w
    tracemalloc.start()
    try:
        pages, problems = read(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert problems == [] and [p.url for p in pages] == [URL]
    assert peak < 8 << 20, peak


def test_a_page_without_a_content_type_is_read_as_the_crawler_reads_one(tmp_path):
    pages, problems = read(Warc().response(ctype=None).save(tmp_path / "c.warc.gz"))
    assert problems == [] and [p.url for p in pages] == [URL]


# --- a crawl's folder, end to end ------------------------------------------------------


@pytest.mark.slow
def test_a_crawl_folder_backfills_each_article_once_with_its_fields(tmp_path):
    """wget's per-record .warc.gz, an uncompressed .warc from a second crawl repeating a
    page under a tracked link, a .warc.gz gzipped whole and an empty one, by a glob."""
    import duckdb

    crawl = tmp_path / "crawl"
    crawl.mkdir()
    when = '<meta property="article:published_time" content="2024-03-05T17:25:00+01:00">'
    cafe_title = "Zürich café owners protest rents"
    cafe = html(cafe_title, "Owners of cafés in Zürich said rents had doubled since the "
                "pandemic, and the city council promised a review. ").encode("cp1252")  # fmt: skip
    a = Warc().record(
        "dns:gazette.example", "response", b"gazette.example. A 192.0.2.7\n", "text/dns"
    )
    a.request().response(body=html(head=when), warc_headers={"WARC-Date": "2024-03-06T08:00:00Z"})
    a.response("https://www.courier.example/cafe", cafe, ctype="text/html; charset=windows-1252",
               warc_headers={"WARC-Date": "2024-03-07T09:30:00Z"})  # fmt: skip
    a.response(URL + "/missing", "<html>gone</html>", "404 Not Found")
    a.response(URL + ".png", b"\x89PNG\r\n\x1a\n", ctype="image/png").save(crawl / "a.warc.gz")
    b = Warc(gz=False).response(URL + "?utm_source=twitter", html(head=when))  # the same page
    b.response("https://gazette.example/2024/03/ferry", html("Ferries resume", lang="en-GB"),
               warc_headers={"WARC-Date": "2024-03-08T12:00:00Z"}).save(crawl / "b.warc")  # fmt: skip
    c = Warc(gz=False).response("https://herald.example/dock", html("Dock reopens"),
                                warc_headers={"WARC-Date": "2024-03-09T07:15:00Z"})  # fmt: skip
    (crawl / "c.warc.gz").write_bytes(gzip.compress(c.buf.getvalue()))
    (crawl / "d.warc.gz").write_bytes(b"")
    db = tmp_path / "fw.duckdb"
    res = cli(db, str(crawl / "*.warc*"))
    assert res.exit_code == 0, res.output
    assert "already stored: 1" in res.output
    con = duckdb.connect(str(db), read_only=True)
    got = con.execute(
        "SELECT a.url, a.title, a.published_at, a.language, s.name, a.text "
        "FROM articles a JOIN sources s ON s.id = a.source_id ORDER BY a.id"
    ).fetchall()
    con.close()
    assert [g[:5] for g in got] == [
        (URL, "Port strike ends", datetime(2024, 3, 5, 16, 25), "en", "gazette.example"),
        ("https://www.courier.example/cafe", cafe_title, datetime(2024, 3, 7, 9, 30), "en",
         "www.courier.example"),
        ("https://gazette.example/2024/03/ferry", "Ferries resume", datetime(2024, 3, 8, 12),
         "en", "gazette.example"),
        ("https://herald.example/dock", "Dock reopens", datetime(2024, 3, 9, 7, 15), "en",
         "herald.example"),
    ]  # fmt: skip
    assert [g[5].split("\n")[1][:24] for g in got] == [
        "Dock workers returned to", "Owners of cafés in Züric", "Dock workers returned to",
        "Dock workers returned to",
    ]  # fmt: skip


def test_a_page_without_a_date_of_its_own_is_dated_by_its_capture_not_its_copyright_line():
    """htmldate's free-text search took the footer's '© 2024' for 1 January 2024: the
    story then sat months from its coverage. Metadata and URL dates are still read."""
    captured = datetime(2024, 3, 5, 10, 11, 12)
    footer = html().replace("The Gazette", "© 2024 The Gazette. All rights reserved.")
    got = page_article("https://gazette.example/port-strike", footer.encode(), captured, 20)
    assert got["published_at"] == captured
    meta = '<meta property="article:published_time" content="2024-03-04T17:25:00+01:00">'
    got = page_article(URL, html(head=meta).replace("The Gazette", "© 2024").encode(), captured, 20)
    assert got["published_at"] == datetime(2024, 3, 4, 16, 25)
    dated_url = "https://gazette.example/2024/03/02/port-strike"
    assert page_article(dated_url, footer.encode(), captured, 20)["published_at"] == datetime(
        2024, 3, 2
    )


def _wacz(path: Path, warcs: dict[str, bytes], compress: int = zipfile.ZIP_STORED) -> Path:
    """A WACZ as Browsertrix writes one: its WARCs stored in archive/, beside a page list,
    a CDX index and datapackage.json (none of which a backfill needs)."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("datapackage.json", '{"profile": "data-package", "wacz_version": "1.1.1"}')
        z.writestr("pages/pages.jsonl", '{"format": "json-pages-1.0"}\n' + json.dumps({"url": URL}))
        z.writestr("indexes/index.cdx.gz", gzip.compress(b"example.gazette)/ 2024 {}\n"))
        for name, data in warcs.items():
            z.writestr(f"archive/{name}", data, compress_type=compress)
    return path


def test_a_wacz_from_browsertrix_is_backfilled_from_the_warcs_in_its_archive(tmp_path):
    """Browsertrix and Webrecorder write WACZ by default; backfill refused it as an
    unknown format."""
    first = Warc(software="Browsertrix-Crawler 1.4.0").response().save(tmp_path / "a.warc.gz")
    second = (Warc(software="Browsertrix-Crawler 1.4.0")
              .response(URL + "-cafe", html(CAFE, CAFE_TEXT, lang="fr"))
              .response(URL + "-cut", b"", warc_headers={"WARC-Truncated": "length"})
              .save(tmp_path / "b.warc.gz"))  # fmt: skip
    wacz = _wacz(tmp_path / "crawl.wacz", {"rec-20240301-0001.warc.gz": second.read_bytes(),
                                           "rec-20240301-0000.warc.gz": first.read_bytes()})  # fmt: skip
    db = tmp_path / "fw.duckdb"
    r = cli(db, str(wacz))
    assert r.exit_code == 3, r.output  # stored, with one problem reported
    assert "crawl.wacz archive/rec-20240301-0001.warc.gz record 3 (offset " in r.output
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("SELECT url, title, language FROM articles ORDER BY id").fetchall()
    assert rows == [(URL, "Port strike ends", "en"), (URL + "-cafe", CAFE, "fr")]

    # compressed inside the ZIP (a zip tool's default) reads the same; a broken one says so
    deflated = _wacz(tmp_path / "deflated.wacz", {"a.warc.gz": first.read_bytes()},
                     zipfile.ZIP_DEFLATED)  # fmt: skip
    from framewatch.backfill.wacz import read_wacz

    assert [i.url for i in read_wacz(deflated)] == [URL]
    (tmp_path / "not.wacz").write_bytes(b"PK\x03\x04 but cut")
    (tmp_path / "empty.wacz").write_bytes(_wacz(tmp_path / "e.zip", {}).read_bytes())
    said = [str(p) for p in read_wacz(tmp_path / "not.wacz")]
    assert len(said) == 1 and "not a WACZ file: not a readable ZIP archive" in said[0]
    said = [str(p) for p in read_wacz(tmp_path / "empty.wacz")]
    assert said == ["empty.wacz: a WACZ with no WARC file in its archive/ folder"]
