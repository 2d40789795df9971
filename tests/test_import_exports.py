"""Exports as services and tools write them, from a review on real-shaped input
(notes/s37): a site's local time beside its UTC time, a day beside a timestamp,
missing-value markers, NewsAPI's removed articles, JSON Feed bodies, Excel's own
conventions, and an API's error answer on one line of a paged file."""

from __future__ import annotations

import json
from datetime import datetime

from conftest import write_jsonl
from test_import_shapes import BODY, cli_import, stored, write_csv


def test_the_utc_time_beats_a_local_time_and_a_timestamp_beats_a_day(tmp_path):
    wordpress = {
        "id": 4821,
        "date": "2024-12-05T10:25:00",
        "date_gmt": "2024-12-05T03:25:00",
        "link": "https://news.example.id/2024/12/05/banjir/",
        "title": {"rendered": "Floods in Jakarta"},
        "content": {"rendered": f"<p>{BODY}</p>", "protected": False},
        "author": 3,
    }
    event_registry = {"uri": "8412345678", "lang": "eng", "date": "2024-12-05",
                      "time": "17:25:00", "dateTime": "2024-12-05T17:25:00Z",
                      "dateTimePub": "2024-12-05T17:20:00Z",
                      "url": "https://www.reuters.com/world/x-2024-12-05/",
                      "title": "Ceasefire talks resume", "body": BODY,
                      "source": {"uri": "reuters.com", "title": "Reuters"}}  # fmt: skip
    db = tmp_path / "s.duckdb"
    r = cli_import(db, write_jsonl(tmp_path / "dated.jsonl", [wordpress, event_registry]))
    assert r.exit_code == 0, r.output
    assert stored(db, "a.title, a.published_at") == [
        ("Floods in Jakarta", datetime(2024, 12, 5, 3, 25)),
        ("Ceasefire talks resume", datetime(2024, 12, 5, 17, 20)),
    ]


def test_missing_value_markers_and_removed_articles_are_no_values(tmp_path):
    rows = [  # pandas' astype(str), R's write.csv, SQL's NULL
        ["Plan approved", f"{BODY} 1", "https://ex.com/1", "nan", "nan", "NaT"],
        ["Plan rejected", f"{BODY} 2", "https://ex.com/2", "None", "None", "None"],
        ["Plan amended", f"{BODY} 3", "https://ex.com/3", "NA", "NA", "NA"],
        ["Plan shelved", f"{BODY} 4", "https://ex.com/4", "NULL", "Ledger", "2024-12-05"],
    ]
    db = tmp_path / "s.duckdb"
    f = write_csv(tmp_path / "markers.csv", ["title", "text", "url", "author", "source", "date"],
                  rows)  # fmt: skip
    r = cli_import(db, f)
    assert r.exit_code == 0, r.output
    got = stored(db, "a.title, a.author, s.name, a.published_at IS NULL")
    assert [(t, a, s == "markers", undated) for t, a, s, undated in got] == [
        ("Plan approved", None, True, False),
        ("Plan rejected", None, True, False),
        ("Plan amended", None, True, False),
        ("Plan shelved", None, False, False),
    ]  # fmt: skip (undated rows are dated when first seen)
    removed = {"source": {"id": None, "name": "[Removed]"}, "author": None,
               "title": "[Removed]", "description": "[Removed]", "url": "https://removed.com",
               "publishedAt": "1970-01-01T00:00:00Z", "content": "[Removed]"}  # fmt: skip
    real = {"source": {"id": None, "name": "Herald"}, "title": "Bridge reopens",
            "description": "Teaser.", "url": "https://herald.example/1",
            "publishedAt": "2024-12-05T09:00:00Z", "content": BODY}  # fmt: skip
    page = tmp_path / "page.json"
    page.write_text(json.dumps({"status": "ok", "totalResults": 2, "articles": [removed, real]}))
    r = cli_import(tmp_path / "n.duckdb", page)
    assert "item 1: needs a title or a text" in r.output
    assert stored(tmp_path / "n.duckdb", "a.title, s.name") == [("Bridge reopens", "Herald")]


def test_a_json_feeds_bodies_are_its_text(tmp_path):
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "Harbour Gazette",
            "home_page_url": "https://gazette.example.org/",
            "items": [
                {"id": "1", "url": "https://gazette.example.org/pier", "title": "Pier closed",
                 "content_html": "<p>The old pier was closed on Thursday.</p><p>Repairs will "
                                 "take months.</p>", "summary": "Pier closed."},
                {"id": "2", "url": "/ferry", "title": "Ferry halted",
                 "content_text": "Ferries will not run until Monday, the operator said."}]}  # fmt: skip
    f = tmp_path / "feed.json"
    f.write_text(json.dumps(feed), encoding="utf-8")
    db = tmp_path / "s.duckdb"
    r = cli_import(db, f)
    assert r.exit_code == 0, r.output
    assert stored(db, "a.title, a.text, s.name, a.url") == [
        (
            "Pier closed",
            "The old pier was closed on Thursday.\nRepairs will take months.",
            "Harbour Gazette",
            "https://gazette.example.org/pier",
        ),
        (
            "Ferry halted",
            "Ferries will not run until Monday, the operator said.",
            "Harbour Gazette",
            "https://gazette.example.org/ferry",
        ),
    ]  # fmt: skip (the feed's title is the outlet, its home page resolves "/ferry")
    assert "ERROR" not in r.output  # trafilatura's log lines on a short body are not shown


def test_excels_sep_line_and_unicode_text_are_read(tmp_path):
    sep = tmp_path / "sep.csv"
    sep.write_text('sep=;\r\ntitle;text;url\r\nFirst;"Line one\r\nline two.";https://ex.com/1\r\n'
                   f"Second;{BODY};https://ex.com/2\r\n", encoding="utf-8", newline="")  # fmt: skip
    r = cli_import(tmp_path / "a.duckdb", sep)
    assert r.exit_code == 0, r.output
    assert "columns not read" not in r.output
    assert [t for (t,) in stored(tmp_path / "a.duckdb", "a.title")] == ["First", "Second"]
    # Excel's "Unicode Text": UTF-16 with its byte-order mark, tab-separated
    utf16 = tmp_path / "unicode.csv"
    utf16.write_text(f"title\ttext\turl\nSchüler streiken\t{BODY}\thttps://ex.com/3\n",
                     encoding="utf-16")  # fmt: skip
    r = cli_import(tmp_path / "b.duckdb", utf16)
    assert r.exit_code == 0, r.output
    assert stored(tmp_path / "b.duckdb", "a.title") == [("Schüler streiken",)]


def test_an_error_answer_on_a_line_of_pages_says_so(tmp_path):
    page = {"response": {"status": "ok", "total": 1, "pages": 3, "results": [
        {"webTitle": "Rates held", "webUrl": "https://g.example/1",
         "fields": {"bodyText": BODY}}]}}  # fmt: skip
    lines = [page, {"message": "API rate limit exceeded"},
             {"response": {"status": "error", "message": "requested page is beyond the number "
                                                         "of available pages, currently 2"}},
             {"fault": {"faultstring": "Rate limit quota violation.",
                        "detail": {"errorcode": "policies.ratelimit.QuotaViolation"}}}]  # fmt: skip
    db = tmp_path / "s.duckdb"
    r = cli_import(db, write_jsonl(tmp_path / "pages.jsonl", lines))
    assert "line 2: an error response, not articles: API rate limit exceeded" in r.output
    assert "line 3: an error response, not articles: requested page is beyond" in r.output
    assert "line 4: an error response, not articles: Rate limit quota violation." in r.output
    assert "needs a title or a text" not in r.output
    assert stored(db, "a.title") == [("Rates held",)]


def test_three_letter_language_codes_are_stored_as_two(tmp_path):
    rows = [
        {"title": "G7", "body": "G7 ok.", "lang": "eng", "url": "https://ex.com/g7"},
        {"title": "G8", "body": "G8 ok.", "lang": "deu", "url": "https://ex.com/g8"},
    ]
    db = tmp_path / "s.duckdb"
    r = cli_import(db, write_jsonl(tmp_path / "er.jsonl", rows))
    assert r.exit_code == 0, r.output
    assert stored(db, "a.language, a.language_declared") == [("en", "en"), ("de", "de")]


def test_trafilaturas_json_gives_the_page_its_url_and_the_site_its_name(tmp_path):
    rows = [  # trafilatura.extract(output_format="json", with_metadata=True), one per line
        {"title": "Port strike ends", "author": "Tom Reed", "hostname": "gazette.example.org",
         "date": "2024-12-05", "text": BODY, "language": None,
         "source": "https://gazette.example.org/2024/12/05/port-strike",
         "source-hostname": "Harbour Gazette", "excerpt": None},
        {"title": "Pier closed", "text": BODY, "date": "2024-12-06",
         "source": "https://gazette.example.org/2024/12/06/pier", "source-hostname": None},
    ]  # fmt: skip
    db = tmp_path / "s.duckdb"
    r = cli_import(db, write_jsonl(tmp_path / "trafilatura.jsonl", rows))
    assert r.exit_code == 0, r.output
    assert stored(db, "a.url, s.name") == [
        ("https://gazette.example.org/2024/12/05/port-strike", "Harbour Gazette"),
        ("https://gazette.example.org/2024/12/06/pier", "gazette.example.org"),
    ]


def test_a_table_saved_whole_by_pandas_or_powershell_is_read(tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"title": ["Rates held", "Strike ends"], "text": [BODY, BODY + " 2"],
                          "url": ["https://ex.com/1", "https://ex.com/2"]})  # fmt: skip
    for orient in ("columns", "index", "split"):
        f = tmp_path / f"{orient}.json"
        frame.to_json(f, orient=orient)
        db = tmp_path / f"{orient}.duckdb"
        r = cli_import(db, f)
        assert r.exit_code == 0, (orient, r.output)
        assert stored(db, "a.title, a.url") == [
            ("Rates held", "https://ex.com/1"), ("Strike ends", "https://ex.com/2")]  # fmt: skip
    # PowerShell's ConvertTo-Json writes a table below its depth as @{...} text
    ps = tmp_path / "ps.json"
    ps.write_text(json.dumps([{"source": "@{id=bbc-news; name=BBC News}", "title": "Storm",
                               "content": BODY, "url": "https://bbc.example/1"}]),
                  encoding="utf-8-sig")  # fmt: skip
    r = cli_import(tmp_path / "ps.duckdb", ps)
    assert r.exit_code == 0, r.output
    assert stored(tmp_path / "ps.duckdb", "s.name") == [("BBC News",)]


def test_what_import_cannot_read_says_what_to_do(tmp_path):
    from test_import_shapes import runner

    from framewatch.cli import app

    for name, said in [("cc.warc.gz", "framewatch backfill reads it"),
                       ("crawl.wacz", "a web archive: framewatch backfill reads it"),
                       ("rows.jsonl.gz", "(unpack it first); import reads .csv, .json, .jsonl"),
                       ("notes.txt", "unknown format '.txt'; import reads .csv, .json")]:  # fmt: skip
        f = tmp_path / name
        f.write_bytes(b"x")
        r = runner.invoke(app, ["--db", str(tmp_path / "s.duckdb"), "import", str(f)])
        assert r.exit_code == 2 and said in r.output, r.output
    tsv = write_csv(tmp_path / "rows.tsv", ["title", "text"], [["Storm", BODY]], delimiter="\t")
    assert cli_import(tmp_path / "t.duckdb", tsv).exit_code == 0
    assert stored(tmp_path / "t.duckdb", "a.title") == [("Storm",)]
    twice = tmp_path / "twice.jsonl"  # json.dumps of a json.dumps
    twice.write_text(json.dumps(json.dumps({"title": "Storm", "text": BODY})) + "\n")
    r = cli_import(tmp_path / "w.duckdb", twice)
    assert "a string holding JSON, encoded twice: decode it once" in r.output


def test_an_nyt_doc_is_read_by_its_lead_and_a_profile_url_is_no_author(tmp_path):
    doc = {"abstract": "Short abstract.", "lead_paragraph": f"{BODY} The lead goes on.",
           "headline": {"main": "Rates held"}, "web_url": "https://nyt.example/1",
           "byline": {"original": "By Carl Hulse"}}  # fmt: skip
    newsapi = {"title": "Storm", "content": BODY, "url": "https://bbc.example/2",
               "author": "https://www.facebook.com/bbcnews"}  # fmt: skip
    db = tmp_path / "s.duckdb"
    r = cli_import(db, write_jsonl(tmp_path / "docs.jsonl", [doc, newsapi]))
    assert r.exit_code == 0, r.output
    assert stored(db, "a.text, a.author") == [
        (f"{BODY} The lead goes on.", "Carl Hulse"), (BODY, None)]  # fmt: skip


def test_a_field_no_row_has_is_named_once(tmp_path):
    # a German Excel export: Text is read, Titel, Quelle and Datum are not
    f = tmp_path / "export.csv"
    f.write_text(f"Titel;Text;URL;Quelle;Datum\nSturm;{BODY};https://ex.com/1;Kurier;05.12.2024\n",
                 encoding="utf-8-sig")  # fmt: skip
    r = cli_import(tmp_path / "s.duckdb", f)
    assert r.exit_code == 0, r.output
    assert "columns not read: Titel, Quelle, Datum" in r.output
    assert "no row has a title, an outlet, a date: name the column" in r.output
    full = write_csv(tmp_path / "full.csv", ["title", "text", "source", "date"],
                     [["Storm", BODY, "Courier", "2024-12-05"]])  # fmt: skip
    assert "no row has" not in cli_import(tmp_path / "f.duckdb", full).output


def test_a_re_export_with_a_corrected_headline_is_said_to_keep_the_stored_version(tmp_path):
    rows = [{"title": "Council backs buses", "text": BODY, "source": "Herald",
             "url": "https://ex.org/a", "date": "2024-12-05"},
            {"title": "Budget passes", "text": f"{BODY} Budget.", "source": "Herald",
             "url": "https://ex.org/b", "date": "2024-12-05"}]  # fmt: skip
    db = tmp_path / "s.duckdb"
    assert cli_import(db, write_jsonl(tmp_path / "v1.jsonl", rows)).exit_code == 0
    same = cli_import(db, write_jsonl(tmp_path / "v1.jsonl", rows))
    assert "(2 already stored)" in same.stdout
    assert "stored version" not in same.stderr  # nothing changed: nothing to say
    rows[0]["title"] = "Council backs buses after all"
    r = cli_import(db, write_jsonl(tmp_path / "v2.jsonl", rows))
    assert r.exit_code == 0, r.output
    assert "(2 already stored)" in r.stdout
    assert ("note: v2.jsonl line 1: its URL is article 1's, stored with another title or "
            "text; the stored version is kept") in r.stderr  # fmt: skip
    assert "line 2" not in r.stderr
    assert [t for (t,) in stored(db, "a.title")] == ["Council backs buses", "Budget passes"]


def test_webz_threads_site_is_the_outlet_and_a_table_read_is_not_unread(tmp_path):
    def webz(i: int, site: str) -> dict:  # Webz.io's News API: the site sits in its thread
        url = f"https://www.{site}/2024/12/0{i}/politics/x{i}/index.html"
        return {"thread": {"uuid": f"u{i}", "url": url, "site_full": f"www.{site}", "site": site,
                           "site_section": f"https://www.{site}/politics", "title": f"Vote {i}",
                           "published": f"2024-12-0{i}T17:25:00.000+02:00", "site_type": "news",
                           "country": "US", "domain_rank": 95},
                "uuid": f"u{i}", "url": url, "ord_in_thread": 0, "author": "Jane Doe",
                "published": f"2024-12-0{i}T17:25:00.000+02:00", "title": f"Vote {i}",
                "text": f"{BODY} {i}", "language": "english", "crawled": "2024-12-05T18:01:11Z"}  # fmt: skip

    db = tmp_path / "s.duckdb"
    r = cli_import(
        db, write_jsonl(tmp_path / "webz.jsonl", [webz(1, "cnn.com"), webz(2, "foxnews.com")])
    )
    assert r.exit_code == 0, r.output
    assert stored(db, "s.name, a.published_at") == [
        ("cnn.com", datetime(2024, 12, 1, 15, 25)), ("foxnews.com", datetime(2024, 12, 2, 15, 25))
    ]  # fmt: skip
    assert "no row has an outlet" not in r.stderr
    assert "note: webz.jsonl: columns not read: uuid, ord_in_thread, crawled" in r.stderr
    guardian = {"response": {"status": "ok", "results": [{
        "id": "uk/1", "webTitle": "Bridge to close", "webUrl": "https://www.theguardian.com/uk/1",
        "webPublicationDate": "2020-04-24T09:12:00Z", "sectionName": "UK news",
        "fields": {"bodyText": BODY, "byline": "Ann Lee", "wordcount": "24"}}]}}  # fmt: skip
    (tmp_path / "guardian.json").write_text(json.dumps(guardian))
    r = cli_import(tmp_path / "g.duckdb", tmp_path / "guardian.json")
    assert r.exit_code == 0, r.output
    assert "columns not read: id, sectionName" in r.stderr  # fields gave the text and byline


def test_a_headline_wrapped_in_its_cell_is_stored_on_one_line(tmp_path):
    f = write_csv(tmp_path / "wrapped.csv", ["title", "text", "url"],
                  [["Storm hits coast:\r\n  thousands\tevacuated", BODY, "https://ex.com/1"]])  # fmt: skip
    r = cli_import(tmp_path / "a.duckdb", f)
    assert r.exit_code == 0, r.output
    assert stored(tmp_path / "a.duckdb", "a.title") == [("Storm hits coast: thousands evacuated",)]


def test_a_workbook_or_binary_file_under_a_text_name_is_refused_for_what_it_is(tmp_path):
    """An .xlsx renamed .csv was read as one column of noise: 'imported 0', exit 0."""
    import gzip
    import zipfile

    xlsx = tmp_path / "export.csv"
    with zipfile.ZipFile(xlsx, "w") as z:  # the shape of an .xlsx: a ZIP of XML parts
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
    gz = tmp_path / "rows.jsonl"
    gz.write_bytes(gzip.compress(json.dumps({"title": "t", "text": BODY}).encode()))
    for path, said in ((xlsx, "an Excel workbook"), (gz, "gzip-compressed")):
        r = cli_import(tmp_path / "a.duckdb", path)
        assert r.exit_code == 2, r.output
        assert r.output.startswith(f"error: {path}: {said}") and len(r.output.splitlines()) == 1
    # a JSON Lines file with one damaged line keeps its other lines
    lines = tmp_path / "damaged.jsonl"
    good = json.dumps({"title": "Port strike ends", "text": BODY, "url": "https://ex.com/1"})
    lines.write_bytes(b"\x00\x01\x1f\x8b damaged\n" + good.encode() + b"\n")
    r = cli_import(tmp_path / "b.duckdb", lines)
    assert r.exit_code == 3 and "imported 1 new article" in r.output, r.output
