"""`framewatch import` on files shaped like real exports: Media Cloud and Kaggle CSVs,
NewsAPI JSON, GDELT tables, liveblogs, spreadsheet dates. Each case is one a QA pass
found losing rows, text or dates with exit 0 (notes/s35)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from conftest import write_jsonl
from typer.testing import CliRunner

from framewatch.cli import app

runner = CliRunner()
BODY = "The council voted on Monday to reopen the harbour bridge after two years of repairs."


def write_csv(path: Path, header: list[str], rows: list[list], **kw) -> Path:
    buf = io.StringIO()
    w = csv.writer(buf, **kw)
    w.writerow(header)
    w.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")
    return path


def cli_import(db: Path, f: Path):
    return runner.invoke(app, ["--db", str(db), "import", str(f)])


def stored(db: Path, cols: str = "a.title, a.text, a.url, s.name, a.published_at, a.language"):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(
            f"SELECT {cols} FROM articles a JOIN sources s ON s.id = a.source_id ORDER BY a.id"
        ).fetchall()
    finally:
        con.close()


# -- 1. a liveblog's field over csv's default limit -------------------------------------
def test_a_liveblog_over_131072_characters_loads_with_the_other_rows(tmp_path):
    liveblog = "Live: minute by minute from the summit. " * 5000  # 200,000 characters
    rows = [[f"Story {i}", BODY + f" ({i})", "Herald"] for i in range(4)]
    rows.insert(2, ["Summit liveblog", liveblog, "Herald"])
    f = write_csv(tmp_path / "blog.csv", ["title", "text", "source"], rows)
    limit = csv.field_size_limit()
    r = cli_import(tmp_path / "s.duckdb", f)
    assert r.exit_code == 0, r.output
    assert "imported 5 new articles" in r.stdout
    texts = [t for _, t, *_ in stored(tmp_path / "s.duckdb")]
    assert len(texts) == 5 and texts[2] == liveblog.strip()
    assert csv.field_size_limit() == limit  # other readers of csv keep their limit


def test_a_file_with_no_good_row_does_not_say_good_rows_were_stored(tmp_path):
    f = write_jsonl(tmp_path / "bad.jsonl", [{"title": "T", "text": "x", "date": "soon"}])
    r = cli_import(tmp_path / "s.duckdb", f)
    assert r.exit_code == 3
    assert "1 bad row(s) skipped; no row was stored" in r.stderr
    assert "the good rows were stored" not in r.output


# -- 2. a multi-line record is named by its first line ----------------------------------
def test_a_kaggle_row_with_multi_line_text_is_named_by_the_line_it_starts_on(tmp_path):
    # All the News (Kaggle): an unnamed index column, CRLF, paragraphs inside quotes
    header = ["", "id", "title", "publication", "author", "date", "year", "month", "url",
              "content"]  # fmt: skip
    para = "First paragraph.\r\nSecond paragraph.\r\nThird paragraph."
    rows = [[0, 17283, "Good one", "Breitbart", "A. Writer", "2016-12-01", 2016.0, 12.0, "",
             para],
            [1, 17284, "Bad date", "CNN", "B. Writer", "not-a-date", 2016.0, 12.0, "", para],
            [2, 17285, "Good two", "CNN", "C. Writer", "2016-12-03", 2016.0, 12.0, "",
             para + "\r\nMore."]]  # fmt: skip
    f = write_csv(tmp_path / "articles1.csv", header, rows, lineterminator="\r\n")
    db = tmp_path / "s.duckdb"
    r = cli_import(db, f)
    assert r.exit_code == 3, r.output
    # header line 1, row one lines 2-4, row two starts on line 5
    assert "skipped line 5: date 'not-a-date' is not a date" in r.stderr
    notes = [n for (n,) in stored(db, "a.extraction_note")]
    assert notes == ["articles1.csv line 2", "articles1.csv line 8"]


# -- 3. column names as real exports write them ------------------------------------------
def test_a_kaggle_export_keeps_its_text_outlet_and_date_and_names_the_rest(tmp_path):
    header = ["", "id", "title", "publication", "author", "date", "year", "month", "url",
              "content"]  # fmt: skip
    row = [0, 17283, "House Republicans fret", "New York Times", "Carl Hulse", "2016-12-31",
           2016.0, 12.0, "", "WASHINGTON — Congressional Republicans have a new fear."]  # fmt: skip
    db = tmp_path / "s.duckdb"
    r = cli_import(db, write_csv(tmp_path / "articles1.csv", header, [row]))
    assert r.exit_code == 0, r.output
    assert stored(db, "a.title, a.text, s.name, a.published_at, a.author") == [
        ("House Republicans fret", row[-1], "New York Times", datetime(2016, 12, 31), "Carl Hulse")
    ]
    assert "note: articles1.csv: columns not read: (unnamed), id, year, month" in (r.stderr)


def test_nested_json_flattened_to_csv_by_pandas_is_read_by_its_parts(tmp_path):
    # pandas.json_normalize of the NYT's Article Search and of NewsAPI, saved as CSV
    nyt = write_csv(tmp_path / "nyt.csv",
        ["abstract", "web_url", "lead_paragraph", "source", "headline.main", "headline.kicker",
         "pub_date", "byline.original", "_id", "word_count"],
        [["Short abstract.", "https://www.nytimes.com/2020/04/24/x.html", BODY, "The New York Times",
          "Bridge to reopen", "", "2020-04-24T09:12:00+0000", "By Carl Hulse", "nyt://a/1", 24]])  # fmt: skip
    newsapi = write_csv(tmp_path / "newsapi.csv",
        ["source.id", "source.name", "author", "title", "description", "url", "publishedAt", "content"],
        [["bbc-news", "BBC News", "Ann Lee", "Bridge opens", "Teaser.", "https://bbc.example/1",
          "2020-04-24T09:12:00Z", BODY]])  # fmt: skip
    r = cli_import(tmp_path / "a.duckdb", nyt)
    assert r.exit_code == 0, r.output
    assert "columns not read: headline.kicker, _id, word_count" in r.stderr
    assert stored(tmp_path / "a.duckdb", "a.title, a.text, s.name, a.author") == [
        ("Bridge to reopen", BODY, "The New York Times", "Carl Hulse")
    ]  # fmt: skip (the lead, not the abstract)
    r = cli_import(tmp_path / "b.duckdb", newsapi)
    assert r.exit_code == 0 and "columns not read" not in r.stderr, r.output
    assert stored(tmp_path / "b.duckdb", "a.title, a.text, s.name, a.author") == [
        ("Bridge opens", BODY, "BBC News", "Ann Lee")]  # fmt: skip


def test_a_media_cloud_export_takes_its_outlet_date_and_language(tmp_path):
    header = ["stories_id", "publish_date", "title", "url", "language", "media_id",
              "media_name", "media_url", "ap_syndicated", "themes"]  # fmt: skip
    row = [1586893419, "2020-04-10 09:12:00", "Governor extends stay-at-home order",
           "https://www.freep.com/story/1", "en", 100, "Detroit Free Press",
           "https://www.freep.com", "False", ""]  # fmt: skip
    db = tmp_path / "s.duckdb"
    r = cli_import(db, write_csv(tmp_path / "mc.csv", header, [row]))
    assert r.exit_code == 0, r.output
    title, text, url, outlet, when, lang = stored(db)[0]
    assert (url, outlet, when, lang) == (
        "https://www.freep.com/story/1",
        "Detroit Free Press",
        datetime(2020, 4, 10, 9, 12),
        "en",
    )
    # media_url is read: it is the site a relative URL is resolved against
    assert "columns not read: stories_id, media_id, ap_syndicated, themes" in (r.stderr)


def test_a_newsapi_article_takes_the_sources_name_and_content_over_description(tmp_path):
    article = {
        "source": {"id": "bbc-news", "name": "BBC News"}, "author": "BBC News",
        "title": "Harbour bridge reopens", "description": "A short teaser.",
        "url": "https://www.bbc.co.uk/news/uk-1", "urlToImage": "https://ichef.bbc/x.jpg",
        "publishedAt": "2020-04-24T09:12:00Z", "content": BODY + " [+1234 chars]",
    }  # fmt: skip
    teaser_only = {**article, "url": "https://www.bbc.co.uk/news/uk-2", "content": None}
    db = tmp_path / "s.duckdb"
    r = cli_import(db, write_jsonl(tmp_path / "newsapi.jsonl", [article, teaser_only]))
    assert r.exit_code == 0, r.output
    got = stored(db, "a.text, s.name, a.published_at")
    # NewsAPI cuts content and says by how much: the mark is not the article's text.
    assert got == [(BODY, "BBC News", datetime(2020, 4, 24, 9, 12)),
                   ("A short teaser.", "BBC News", datetime(2020, 4, 24, 9, 12))]  # fmt: skip
    assert "columns not read: urlToImage" in r.stderr
    assert stored(db, "a.author") == [("BBC News",), ("BBC News",)]


def test_headers_in_capitals_or_with_spaces_are_read(tmp_path):
    f = write_csv(tmp_path / "caps.csv", ["Title", " Text ", "DATE", "URL", "Lang"],
                  [["Bridge reopens", BODY, "2020-04-24", "https://ex.org/caps", "en"]])  # fmt: skip
    db = tmp_path / "s.duckdb"
    r = cli_import(db, f)
    assert r.exit_code == 0 and "columns not read" not in r.output, r.output
    assert stored(db) == [("Bridge reopens", BODY, "https://ex.org/caps", "caps",
                           datetime(2020, 4, 24), "en")]  # fmt: skip


def test_a_table_without_a_title_or_text_column_is_refused_naming_its_columns(tmp_path):
    # GDELT's GKG as a tab-separated table: URLs and themes, no article text
    f = tmp_path / "gdelt.csv"
    f.write_text("GKGRECORDID\tDATE\tSourceCommonName\tDocumentIdentifier\tV2Themes\n"
                 "20200424091500-0\t20200424091500\tcnn.com\thttps://cnn.com/a/0\tTAX_FNCACT\n")  # fmt: skip
    db = tmp_path / "s.duckdb"
    r = cli_import(db, f)
    assert r.exit_code == 2, r.output
    assert "no title or text column" in r.output
    assert "GKGRECORDID, DATE, SourceCommonName, DocumentIdentifier, V2Themes" in r.output
    assert "skipped" not in r.output


# -- 4. one URL twice in a file, placeholder and bare URLs -------------------------------
def test_a_files_repeated_url_is_named_and_placeholders_are_no_url(tmp_path):
    rows = [{"title": f"Story {i}", "text": f"{BODY} Part {i}.", "source": "Herald", "url": u}
            for i, u in enumerate(["N/A", "N/A", "-", "null", "www.cnn.com/2020/04/24/a",
                                   "https://ex.org/same", "https://ex.org/same"], 1)]  # fmt: skip
    f = write_jsonl(tmp_path / "urls.jsonl", rows)
    db = tmp_path / "s.duckdb"
    r = cli_import(db, f)
    assert r.exit_code == 0, r.output
    assert "imported 6 new articles (0 already stored)" in r.stdout
    assert "note: urls.jsonl line 7: same URL as line 6 with another title or text" in r.stderr
    urls = [u for (u,) in stored(db, "a.url")]
    assert urls[4:] == ["https://www.cnn.com/2020/04/24/a", "https://ex.org/same"]
    assert all(u.startswith("urn:framewatch:import:") for u in urls[:4])  # not "N/A"
    again = cli_import(db, f)
    assert "imported 0 new articles (6 already stored)" in again.stdout
    assert "line 7: same URL as line 6" in again.stderr


@pytest.mark.slow
def test_backfill_stores_the_rows_import_stores_from_such_a_file(tmp_path):
    rows = [{"title": f"Story {i}", "text": f"{BODY} Part {i}.", "source": "Herald", "url": u,
             "publishedAt": "24.04.2020", "authors": [f"Writer {i}", "Desk"]}
            for i, u in enumerate(["N/A", "none", "www.cnn.com/x", "https://ex.org/same",
                                   "https://ex.org/same"], 1)]  # fmt: skip
    f = write_jsonl(tmp_path / "urls.jsonl", rows)
    cols = "a.canonical_url, a.title, s.name, a.published_at, a.author"
    assert cli_import(tmp_path / "imp.duckdb", f).exit_code == 0
    r = runner.invoke(app, ["--db", str(tmp_path / "bf.duckdb"), "backfill", str(f)])
    assert r.exit_code == 0, r.output
    imported = stored(tmp_path / "imp.duckdb", cols)
    assert len(imported) == 4 and stored(tmp_path / "bf.duckdb", cols) == imported
    assert [a for *_, a in imported] == [f"Writer {i}, Desk" for i in range(1, 5)]


# -- 5. dates as exports write them --------------------------------------------------------
READ = {
    1587712320: datetime(2020, 4, 24, 7, 12),  # epoch seconds
    "1587712320": datetime(2020, 4, 24, 7, 12),
    "1587712320123": datetime(2020, 4, 24, 7, 12, 0, 123000),  # milliseconds
    "24.04.2020": datetime(2020, 4, 24),  # dotted: day first
    "24.04.2020 09:12": datetime(2020, 4, 24, 9, 12),
    "April 24, 2020": datetime(2020, 4, 24),
    "24 April 2020": datetime(2020, 4, 24),
    "2020-04-24 09:12:00 UTC": datetime(2020, 4, 24, 9, 12),
    "13/05/2020": datetime(2020, 5, 13),  # one part over 12: the order is clear
    "05/13/2020": datetime(2020, 5, 13),
    "Fri, 24 Apr 2020 09:12:00 +0200": datetime(2020, 4, 24, 7, 12),
    "20200424091500": datetime(2020, 4, 24, 9, 15),  # GDELT
    # found by review: a time after a comma, a weekday before, JavaScript's Date, 12 hours
    "05.04.2020, 09:12": datetime(2020, 4, 5, 9, 12),
    "Fri 24/04/2020": datetime(2020, 4, 24),
    "Thu Apr 24 2020 09:12:00 GMT+0200 (Central European Summer Time)": datetime(
        2020, 4, 24, 7, 12
    ),
    "2020-04-24 09:12 UTC+2": datetime(2020, 4, 24, 7, 12),  # not POSIX's reading, 11:12
    "Friday, April 24, 2020 9:12 PM": datetime(2020, 4, 24, 21, 12),
}
REFUSED = {
    "04/05/2020": "write it as 2020-04-05 or 2020-05-04",
    "April 2020": "is not a whole date",  # dateutil would take today's day
    "yesterday": "is not a date",
    "2020-04-24 09:12 EST": "write an offset",
    "2020": "is not a date",
    "05/04/2020, 09:12:00": "write it as 2020-05-04 or 2020-04-05",
    "Fri 04/05/2020": "write it as 2020-04-05 or 2020-05-04",
    "Fri, 24 Apr 2020 09:12:00 CEST": "write an offset",  # was read as UTC, 2 hours off
}


def test_dates_as_exports_write_them_are_read_and_unclear_ones_refused(tmp_path):
    values = [*READ, *REFUSED]
    rows = [{"title": f"Story {i}", "text": f"{BODY} {i}", "pubDate": v}
            for i, v in enumerate(values)]  # fmt: skip
    db = tmp_path / "s.duckdb"
    r = cli_import(db, write_jsonl(tmp_path / "dates.jsonl", rows))
    assert r.exit_code == 3, r.output
    assert [w for (w,) in stored(db, "a.published_at")] == list(READ.values())
    err = " ".join(r.stderr.split())  # rich wraps long lines
    for i, (value, why) in enumerate(REFUSED.items(), len(READ) + 1):
        assert f"line {i}: pubDate {value!r}" in err, value
        assert why in err, value


def test_a_german_excel_export_with_dotted_dates_keeps_its_days(tmp_path):
    f = tmp_path / "export.csv"
    f.write_bytes("\ufefftitle;text;source;date;language\r\n"
                  "Schüsse in München;Die Polizei äußerte sich.;Tagblatt;05.04.2020;de\r\n"
                  .encode())  # fmt: skip
    db = tmp_path / "s.duckdb"
    assert cli_import(db, f).exit_code == 0
    assert stored(db, "a.title, a.published_at") == [("Schüsse in München", datetime(2020, 4, 5))]


def test_a_nan_date_from_python_or_pandas_is_no_date_not_a_crash(tmp_path):
    f = tmp_path / "pandas.jsonl"
    f.write_text('{"title": "Undated", "text": "Body.", "published_at": NaN}\n'
                 '{"title": "Far", "text": "Body two.", "published_at": Infinity}\n')  # fmt: skip
    db = tmp_path / "s.duckdb"
    r = cli_import(db, f)
    assert r.exit_code == 3, r.output
    assert "line 2: published_at inf is not a date" in r.stderr
    assert [t for (t,) in stored(db, "a.title")] == ["Undated"]


def test_a_zone_name_is_never_read_as_the_machines_own(monkeypatch):
    # dateutil takes CET for local time on a machine in Berlin, and refuses it elsewhere:
    # the same file would import differently on two servers.
    import time

    from framewatch.dates import parse_time
    from framewatch.errors import InputError

    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        with pytest.raises(InputError, match="write an offset"):
            parse_time("2020-04-24 09:12 CET")
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_quote_never_closed_is_named_not_the_rest_of_the_file_swallowed(tmp_path):
    f = tmp_path / "stray.csv"
    f.write_text("title,text,url\nFine,A body.,https://ex.org/1\n"
                 'Bad,"He said ""hi, https://ex.org/2\n'
                 + "".join(f"Row {i},Body {i}.,https://ex.org/r{i}\n" for i in range(500)))  # fmt: skip
    db = tmp_path / "s.duckdb"
    r = cli_import(db, f)
    assert r.exit_code == 3, r.output
    err = " ".join(r.stderr.split())
    assert "line 3: a quote opened in this record is never closed, so lines 3-503" in err
    assert [t for (t,) in stored(db, "a.title")] == ["Fine"]  # not "Bad" with 500 rows inside


def test_nested_names_and_api_date_columns_are_read(tmp_path):
    nyt = {"headline": {"main": "Harbour bridge reopens", "kicker": "Metro"},
           "lead_paragraph": BODY, "web_url": "https://nyt.example/1",
           "source": {"uri": "nyt.com", "title": "The New York Times"},
           "webPublicationDate": "2020-04-24T09:12:00Z"}  # fmt: skip
    sheet = {"Title": "Bridge", "Text": BODY + " Two.", "Published Date": "2020-04-25"}
    db = tmp_path / "s.duckdb"
    r = cli_import(db, write_jsonl(tmp_path / "apis.jsonl", [nyt, sheet]))
    assert r.exit_code == 0, r.output
    assert stored(db, "a.title, s.name, a.published_at")[:1] == [
        ("Harbour bridge reopens", "The New York Times", datetime(2020, 4, 24, 9, 12))
    ]
    assert stored(db, "a.published_at")[1] == (datetime(2020, 4, 25),)


@pytest.mark.slow
def test_backfill_reports_a_file_without_a_text_column_and_goes_on(tmp_path):
    good = write_jsonl(tmp_path / "good.jsonl", [{"title": "Story", "text": BODY}])
    meta = write_csv(tmp_path / "meta.csv", ["url", "date"], [["https://ex.org/1", "2020-04-24"]])
    # an API's error answer saved among the good ones: that file is a problem, not a stop
    limited = tmp_path / "page7.json"
    limited.write_text('{"status":"error","code":"rateLimited","message":"Too many requests."}')
    bad = [str(good), str(meta), str(limited)]
    r = runner.invoke(app, ["--db", str(tmp_path / "bf.duckdb"), "backfill", *bad])
    assert r.exit_code == 3, r.output
    said = " ".join(r.output.split())
    assert "meta.csv: no title or text column" in said
    assert "page7.json: an error response, not articles: rateLimited: Too many requests." in said
    assert [t for (t,) in stored(tmp_path / "bf.duckdb", "a.title")] == ["Story"]


def test_a_list_column_written_by_pandas_is_stored_as_its_names(tmp_path):
    # pandas.DataFrame.to_csv writes a list of authors as its Python repr; a numpy array
    # has no commas, and WordPress's flattened _embedded.author is a list of tables
    cells = ["['Jane Doe', 'John Roe']", "('By Ann Lee',)", "[]", "[Staff]", "['Ann', 3]",
             "[print('x')]", "Plain Writer", "['Jane Doe' 'John Roe']",
             "[{'id': 12, 'name': 'Ann Lee', 'avatar_urls': {'24': 'https://g.example/a?s=24'}}]", "[{'id': 12}]"]  # fmt: skip
    rows = [[f"Story {i}", f"{BODY} {i}", cell] for i, cell in enumerate(cells)]
    db = tmp_path / "s.duckdb"
    r = cli_import(db, write_csv(tmp_path / "pandas.csv", ["title", "text", "authors"], rows))
    assert r.exit_code == 0, r.output
    assert [a for (a,) in stored(db, "a.author")] == [
        "Jane Doe, John Roe", "Ann Lee", None, "[Staff]", "['Ann', 3]", "[print('x')]",
        "Plain Writer", "Jane Doe, John Roe", "Ann Lee", None]  # fmt: skip
