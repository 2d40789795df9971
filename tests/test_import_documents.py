"""API answers and archive exports as they are saved: authors, whole JSON documents and
paged responses, text in nested tables or markup, relative URLs (notes/s36).

Fixtures are shaped like the real answers of NewsAPI, the Guardian, the NYT, Event
Registry, NewsData.io and WordPress's REST API."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from conftest import write_jsonl
from test_import_shapes import BODY, app, cli_import, runner, stored, write_csv


def test_authors_are_stored_as_each_export_writes_them(tmp_path):
    base = {"text": BODY}
    rows = [
        {**base, "title": "NewsAPI", "author": "Jane Doe, John Roe"},
        {**base, "title": "NewsData.io", "creator": ["Ann Lee", "Bo Kim"]},
        {**base, "title": "Event Registry", "authors": [
            {"uri": "ann_lee@bbc.co.uk", "name": "Ann Lee", "type": "author", "isAgency": False},
            {"uri": "reuters", "name": "Reuters", "type": "author", "isAgency": True}]},
        {**base, "title": "NYT", "byline": {
            "original": "By Carl Hulse", "organization": None,
            "person": [{"firstname": "Carl", "lastname": "Hulse"}]}},
        {**base, "title": "No author", "author": None, "creator": []},
    ]  # fmt: skip
    db = tmp_path / "s.duckdb"
    r = cli_import(db, write_jsonl(tmp_path / "authors.jsonl", rows))
    assert r.exit_code == 0, r.output
    assert "columns not read" not in r.output
    assert stored(db, "a.title, a.author") == [
        ("NewsAPI", "Jane Doe, John Roe"), ("NewsData.io", "Ann Lee, Bo Kim"),
        ("Event Registry", "Ann Lee, Reuters"), ("NYT", "Carl Hulse"), ("No author", None),
    ]  # fmt: skip


def newsapi_article(i: int, **kw) -> dict:
    return {"source": {"id": None, "name": "Herald"}, "author": f"Writer {i}",
            "title": f"Bridge story {i}", "description": "A teaser.",
            "url": f"https://herald.example/{i}", "urlToImage": None,
            "publishedAt": f"2020-04-2{i}T09:12:00Z", "content": f"{BODY} ({i}) [+99 chars]",
            **kw}  # fmt: skip


def test_a_whole_newsapi_response_is_read_as_its_articles(tmp_path):
    arts = [newsapi_article(1), newsapi_article(2), newsapi_article(3, publishedAt="soon")]
    response = {"status": "ok", "totalResults": 3, "articles": arts}
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps(response, indent=2), encoding="utf-8")
    r = cli_import(tmp_path / "a.duckdb", pretty)
    assert r.exit_code == 3, r.output
    # an item of the list, not a line of the file: line 3 of a pretty file is "totalResults"
    assert "skipped item 3: publishedAt 'soon' is not a date" in r.stderr
    assert "columns not read: urlToImage" in r.stderr
    got = stored(tmp_path / "a.duckdb", "a.title, a.text, s.name, a.author, a.extraction_note")
    assert got == [(f"Bridge story {i}", f"{BODY} ({i})", "Herald", f"Writer {i}",
                    f"pretty.json item {i}") for i in (1, 2)]  # fmt: skip
    # as NewsAPI sends it and curl saves it: one line (the same name, so the notes compare)
    one_line = tmp_path / "pretty.json"
    one_line.write_text(json.dumps(response), encoding="utf-8")
    assert cli_import(tmp_path / "b.duckdb", one_line).exit_code == 3
    assert (
        stored(tmp_path / "b.duckdb", "a.title, a.text, s.name, a.author, a.extraction_note") == got
    )


GUARDIAN = {"response": {"status": "ok", "userTier": "developer", "total": 2, "startIndex": 1,
                         "pageSize": 10, "currentPage": 1, "pages": 1, "orderBy": "newest",
                         "results": [{"id": f"world/2020/apr/2{i}/x", "type": "article",
                                      "webPublicationDate": f"2020-04-2{i}T09:12:00Z",
                                      "webTitle": f"Story {i}",
                                      "webUrl": f"https://www.theguardian.com/world/{i}",
                                      "fields": {"bodyText": BODY}} for i in (1, 2)]}}  # fmt: skip
ROWS = [
    {"title": f"Story {i}", "text": f"{BODY} {i}", "url": f"https://ex.org/{i}"} for i in (1, 2)
]


@pytest.mark.parametrize(
    "doc",
    [ROWS, {"data": ROWS, "meta": {"count": 2}}, {"results": ROWS, "next": None, "count": 2},
     {"stories": ROWS, "pagination_token": "abc"}, GUARDIAN,
     {"articles": {"results": ROWS, "totalResults": 2, "page": 1, "count": 2, "pages": 1}},
     {"status": "OK", "copyright": "(c) NYT", "response": {"docs": ROWS, "meta": {"hits": 2}}}],
    ids=["array", "data", "results", "media-cloud-api", "guardian", "event-registry", "nyt"],
)  # fmt: skip
def test_a_json_document_wrapping_its_rows_is_read_as_those_rows(tmp_path, doc):
    f = tmp_path / "export.json"
    f.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    r = cli_import(tmp_path / "s.duckdb", f)
    assert r.exit_code == 0, r.output
    assert "imported 2 new articles" in r.stdout
    assert [t for (t,) in stored(tmp_path / "s.duckdb", "a.title")] == ["Story 1", "Story 2"]


def test_an_api_error_response_is_refused_with_its_message(tmp_path):
    f = tmp_path / "newsapi.json"
    f.write_text('{"status":"error","code":"rateLimited","message":"You have made too many '
                 'requests recently. Developer accounts are limited to 100 requests over a 24 '
                 'hour period."}')  # fmt: skip
    r = cli_import(tmp_path / "s.duckdb", f)
    assert r.exit_code == 2, r.output
    err = " ".join(r.stderr.split())
    assert (
        "newsapi.json: an error response, not articles: rateLimited: "
        "You have made too many requests recently." in err
    )
    assert "Traceback" not in r.output and "skipped" not in r.output
    two = tmp_path / "two.json"
    two.write_text(json.dumps({"results": ROWS, "data": ROWS}, indent=1))
    r = cli_import(tmp_path / "s.duckdb", two)
    assert r.exit_code == 2 and "results, data" in r.stderr, r.output
    nyt = tmp_path / "nyt.json"  # the NYT's answer to a bad key
    nyt.write_text('{"fault": {"faultstring": "Invalid ApiKey", "detail": {"errorcode": "x"}}}')
    r = cli_import(tmp_path / "s.duckdb", nyt)
    assert r.exit_code == 2 and "an error response, not articles: Invalid ApiKey" in r.stderr


def test_texts_nested_or_in_markup_are_read_as_their_words(tmp_path):
    para = ("<p>The council voted on Monday to close the harbour bridge for repairs.</p>\n"
            "<p>It was <strong>close</strong>: five votes to four, after a &ldquo;long&rdquo; debate.</p>"
            '<figure><img src="b.jpg"><figcaption>The bridge</figcaption></figure>')  # fmt: skip
    words = ("The council voted on Monday to close the harbour bridge for repairs.\n"
             "It was close: five votes to four, after a \u201clong\u201d debate.")  # fmt: skip
    guardian = {"response": {"status": "ok", "results": [{
        "id": "uk/1", "type": "article", "webTitle": "Bridge to close",
        "webUrl": "https://www.theguardian.com/uk/1", "webPublicationDate": "2020-04-24T09:12:00Z",
        "fields": {"body": para, "bodyText": words.replace("\n", " "), "byline": "Ann Lee",
                   "wordcount": "24"}}]}}  # fmt: skip
    wordpress = [{"id": 7, "date": "2020-04-24T10:00:00", "link": "https://blog.example/bridge",
                  "title": {"rendered": "Council&#8217;s bridge vote"},
                  "content": {"rendered": para, "protected": False}}]  # fmt: skip
    (tmp_path / "guardian.json").write_text(json.dumps(guardian, indent=1))
    (tmp_path / "wp.json").write_text(json.dumps(wordpress))
    write_csv(tmp_path / "cms.csv", ["headline", "body"], [["Bridge vote", para]])
    got = {}
    for f in ("guardian.json", "wp.json", "cms.csv"):
        db = tmp_path / f"{f}.duckdb"
        r = cli_import(db, tmp_path / f)
        assert r.exit_code == 0, r.output
        got[f] = stored(db, "a.title, a.text, a.author")[0]
    # the Guardian's plain bodyText is read before its HTML body, and its byline as the author
    assert got["guardian.json"] == ("Bridge to close", words.replace("\n", " "), "Ann Lee")
    assert got["wp.json"] == ("Council\u2019s bridge vote", words, None)
    assert got["cms.csv"] == ("Bridge vote", words, None)


def test_paged_api_responses_appended_one_per_line_are_read_as_their_articles(tmp_path):
    pages = [{"status": "ok", "totalResults": 4, "articles": [newsapi_article(1), newsapi_article(2)]},
             {"status": "error", "code": "rateLimited", "message": "Too many requests."},
             {"status": "ok", "totalResults": 4, "articles": [newsapi_article(3), newsapi_article(4)]}]  # fmt: skip
    db = tmp_path / "s.duckdb"
    r = cli_import(db, write_jsonl(tmp_path / "pages.jsonl", pages))
    assert r.exit_code == 3, r.output
    assert "line 2: an error response, not articles: rateLimited" in " ".join(r.stderr.split())
    got = stored(db, "a.title, s.name, a.author")
    assert got == [(f"Bridge story {i}", "Herald", f"Writer {i}") for i in (1, 2, 3, 4)]


def test_json_lines_named_json_are_still_read_line_by_line(tmp_path, monkeypatch):
    f = tmp_path / "lines.json"
    f.write_text('{"title": "cut off", "te\n' + "".join(json.dumps(r) + "\n" for r in ROWS))

    def whole(*_a, **_k):
        raise AssertionError("a JSON Lines file read whole")

    monkeypatch.setattr(Path, "read_text", whole)
    monkeypatch.setattr(Path, "read_bytes", whole)
    monkeypatch.setattr(json, "load", whole)
    from framewatch.importer import read_records

    got = read_records(f)
    assert [(line, rec["title"]) for line, rec in got.rows] == [(2, "Story 1"), (3, "Story 2")]
    assert [str(e)[:24] for e in got.errors] == ["line 1: not valid JSON ("]


def test_a_relative_url_is_resolved_against_the_rows_site(tmp_path):
    header = ["stories_id", "publish_date", "title", "url", "media_name", "media_url", "text"]
    rows = [[1, "2020-04-10", "Stay-at-home order", "/story/news/2020/04/10/order/", "Free Press",
             "https://www.freep.com", BODY],
            [2, "2020-04-10", "Bridge", "story.html", "Free Press", "https://www.freep.com/",
             BODY + " 2"],
            [3, "2020-04-10", "Absolute", "https://www.freep.com/a", "Free Press",
             "https://www.freep.com", BODY + " 3"]]  # fmt: skip
    db = tmp_path / "s.duckdb"
    r = cli_import(db, write_csv(tmp_path / "mc.csv", header, rows))
    assert r.exit_code == 0, r.output
    assert [u for (u,) in stored(db, "a.url")] == [
        "https://www.freep.com/story/news/2020/04/10/order/",
        "https://www.freep.com/story.html",  # a page's name, not a host called story.html
        "https://www.freep.com/a",
    ]
    sites = [{"title": "Domain", "text": BODY, "url": "news/1", "domain": "herald.example"},
             {"title": "Section", "text": BODY, "url": "news/1",
              "source_url": "https://courier.example/politics/", "source": "Courier"}]  # fmt: skip
    r = cli_import(db, write_jsonl(tmp_path / "sites.jsonl", sites))
    assert r.exit_code == 0 and "columns not read" not in r.output, r.output
    assert [u for (u,) in stored(db, "a.url")][3:] == [
        "https://herald.example/news/1", "https://courier.example/politics/news/1"
    ]  # fmt: skip


def test_a_relative_url_without_a_site_is_no_url_and_one_note(tmp_path):
    rows = [{"title": "Bridge", "text": BODY, "source": "Herald", "url": "/news/1"},
            {"title": "Bridge", "text": BODY, "source": "Courier", "url": "/news/1"},
            {"title": "Other", "text": BODY + " Other.", "source": "Herald", "url": "news/2"},
            {"title": "Bridge", "text": BODY, "source": "Herald", "url": "/news/1?page=2"},
            {"title": "Linked", "text": BODY + " L.", "source": "Herald",
             "url": "https://h.example/l"}]  # fmt: skip
    f = write_jsonl(tmp_path / "rel.jsonl", rows)
    db = tmp_path / "s.duckdb"
    r = cli_import(db, f)
    assert r.exit_code == 0, r.output
    # one outlet's "/news/1" and another's are two articles, neither stored under "/news/1"
    assert "imported 4 new articles (0 already stored)" in r.stdout
    urls = stored(db, "s.name, a.url, a.text")
    assert [n for n, *_ in urls] == ["Herald", "Courier", "Herald", "Herald"]
    assert all(u.startswith("urn:framewatch:import:") for _, u, _ in urls[:3])
    err = " ".join(r.stderr.split())
    assert err.count("relative URL") == 1
    assert "rel.jsonl: 4 rows with a relative URL (e.g. '/news/1') and no site" in err
    # a row without a URL is known by its outlet and text, as before: line 4 is line 1's
    assert "rel.jsonl line 4 (Herald): same title and text as line 1, not stored again" in err
    again = cli_import(db, f)
    assert "imported 0 new articles (4 already stored)" in again.stdout


@pytest.mark.slow
def test_backfill_says_once_per_file_what_import_notes(tmp_path):
    rows = [{"title": f"Story {i}", "text": f"{BODY} {i}", "source": "Herald", "url": f"/news/{i}",
             "wordcount": 15} for i in (1, 2, 3)]  # fmt: skip
    a = write_jsonl(tmp_path / "a.jsonl", rows)
    b = write_csv(tmp_path / "b.csv", ["id", "title", "text"], [[7, "Other", BODY + " Other."]])
    r = runner.invoke(app, ["--db", str(tmp_path / "bf.duckdb"), "backfill", str(a), str(b)])
    assert r.exit_code == 0, r.output
    err = " ".join(r.stderr.split())
    assert err.count("columns not read") == 2 and err.count("relative URL") == 1, err
    assert "note: a.jsonl: columns not read: wordcount" in err
    assert "note: b.csv: columns not read: id" in err
    assert "note: a.jsonl: 3 rows with a relative URL (e.g. '/news/1')" in err
    assert cli_import(tmp_path / "imp.duckdb", a).exit_code == 0
    cols = "a.canonical_url, a.title, s.name"
    assert stored(tmp_path / "bf.duckdb", cols)[:3] == stored(tmp_path / "imp.duckdb", cols)


def test_what_only_looks_like_a_field_markup_or_a_page_is_left_alone(tmp_path):
    """Review findings: a nested page's or picture's title and URL, a list of comments,
    text with a '<' or an '&' in it, a JSON Feed's own title."""
    rows = [{"headline": "Council closes library", "text": BODY, "url": "https://a.example/1",
             "meta": {"title": "Example Gazette | Home"}},
            {"title": "Bridge opens", "text": BODY + " 2", "link": "https://a.example/2",
             "image": {"url": "https://cdn.example/logo.jpg"}, "og": {"url": "https://a.example/"}},
            {"title": "Comments", "text": "Mail Paul <p.smith@att.com> if a[i]<b[i] and x>0.",
             "url": "https://a.example/3", "comments": [{"user": "bob", "text": "Great!"}]},
            {"title": "Stats", "text": "R&amp;D at https://s.example/q?year=2020&region=eu&copy=1",
             "url": "https://a.example/4"}]  # fmt: skip
    db = tmp_path / "s.duckdb"
    r = cli_import(db, write_jsonl(tmp_path / "rows.jsonl", rows))
    assert r.exit_code == 0, r.output
    assert stored(db, "a.title, a.text, a.url") == [
        ("Council closes library", BODY, "https://a.example/1"),
        ("Bridge opens", BODY + " 2", "https://a.example/2"),
        ("Comments", "Mail Paul <p.smith@att.com> if a[i]<b[i] and x>0.", "https://a.example/3"),
        ("Stats", "R&D at https://s.example/q?year=2020&region=eu&copy=1", "https://a.example/4"),
    ]
    flat = write_csv(tmp_path / "flat.csv", ["title", "link", "image.url", "source.uri", "source.title", "body"],
                     [["Bridge opens", "https://a.example/9", "https://cdn.example/logo.jpg",
                       "bbc.co.uk", "BBC News", BODY]])  # fmt: skip
    assert cli_import(tmp_path / "f.duckdb", flat).exit_code == 0
    assert stored(tmp_path / "f.duckdb", "a.title, a.url, s.name") == [
        ("Bridge opens", "https://a.example/9", "BBC News")]  # fmt: skip
    one = tmp_path / "one.json"  # a pretty-printed array of one article
    one.write_text("[\n" + json.dumps(ROWS[0]) + "\n]\n")
    r = cli_import(tmp_path / "o.duckdb", one)
    assert r.exit_code == 0 and "skipped" not in r.output, r.output
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "Gazette Politics",
            "description": "All our politics.", "items": ROWS}  # fmt: skip
    (tmp_path / "feed.json").write_text(json.dumps(feed))
    assert cli_import(tmp_path / "j.duckdb", tmp_path / "feed.json").exit_code == 0
    assert [t for (t,) in stored(tmp_path / "j.duckdb", "a.title")] == ["Story 1", "Story 2"]
    # WordPress pages appended one bare array per line, and NewsAPI's empty last page
    pages = [ROWS[:1], ROWS[1:], {"status": "ok", "totalResults": 2, "articles": []}]
    r = cli_import(tmp_path / "p.duckdb", write_jsonl(tmp_path / "pages.jsonl", pages))
    assert r.exit_code == 0 and "skipped" not in r.output, r.output
    assert [t for (t,) in stored(tmp_path / "p.duckdb", "a.title")] == ["Story 1", "Story 2"]


PAID = "ONLY AVAILABLE IN PAID PLANS"


def newsdata_article(i: int, **kw) -> dict:
    """An article of NewsData.io's /latest as a free plan gets it."""
    return {"article_id": f"a1b2c3{i}", "title": f"Bridge story {i}",
            "link": f"https://herald.example/{i}", "keywords": ["bridge"], "creator": ["Ann Lee"],
            "video_url": None, "description": f"The council voted to reopen the bridge ({i}).",
            "content": PAID, "pubDate": f"2020-04-2{i} 09:12:00", "pubDateTZ": "UTC",
            "image_url": None, "source_id": "herald", "source_priority": 12345,
            "source_name": "Herald", "source_url": "https://herald.example",
            "source_icon": None, "language": "english", "country": ["united kingdom"],
            "category": ["top"], "ai_tag": PAID, "sentiment": PAID, "sentiment_stats": PAID,
            "ai_region": "ONLY AVAILABLE IN CORPORATE PLANS",
            "ai_org": "ONLY AVAILABLE IN PROFESSIONAL AND CORPORATE PLANS", "duplicate": False,
            **kw}  # fmt: skip


def test_a_paid_plans_placeholder_is_no_value_so_the_description_is_the_text(tmp_path):
    # in any field read the placeholder is absent: no author, no date, the file's outlet name
    odd = newsdata_article(3, creator=[PAID], pubDate=PAID, source_name=PAID)
    answer = {"status": "success", "totalResults": 3, "nextPage": "1712345678",
              "results": [newsdata_article(1), newsdata_article(2), odd]}  # fmt: skip
    (tmp_path / "newsdata.json").write_text(json.dumps(answer), encoding="utf-8")
    db = tmp_path / "s.duckdb"
    r = cli_import(db, tmp_path / "newsdata.json")
    assert r.exit_code == 0, r.output
    got = stored(db, "a.text, a.author, s.name, a.published_at_inferred")
    assert got == [(f"The council voted to reopen the bridge ({i}).", *more) for i, *more in (
        (1, "Ann Lee", "Herald", False), (2, "Ann Lee", "Herald", False),
        (3, None, "newsdata", True))]  # fmt: skip


def wordpress_post(i: int, **kw) -> dict:
    """A post of WordPress's /wp-json/wp/v2/posts: its author is a user's id."""
    site = "https://blog.example"
    return {"id": 100 + i, "date": f"2020-04-2{i}T10:00:00", "date_gmt": f"2020-04-2{i}T08:00:00",
            "guid": {"rendered": f"{site}/?p={100 + i}"}, "modified": "2020-04-25T10:00:00",
            "slug": f"bridge-{i}", "status": "publish", "type": "post", "link": f"{site}/bridge-{i}/",
            "title": {"rendered": f"Bridge story {i}"},
            "content": {"rendered": f"<p>{BODY}</p>\n<p>Part {i}.</p>\n", "protected": False},
            "excerpt": {"rendered": "<p>A teaser.</p>\n", "protected": False}, "author": 12,
            "featured_media": 0, "sticky": False, "format": "standard", "meta": {"footnotes": ""},
            "categories": [1], "tags": [],
            "_links": {"self": [{"href": f"{site}/wp-json/wp/v2/posts/{100 + i}"}],
                       "author": [{"embeddable": True, "href": f"{site}/wp-json/wp/v2/users/12"}]},
            **kw}  # fmt: skip


def test_a_wordpress_authors_user_id_is_no_name_and_embed_gives_the_name(tmp_path):
    embedded = {"author": [{"id": 12, "name": "Ann Lee", "url": "", "description": "",
                            "link": "https://blog.example/author/ann/", "slug": "ann",
                            "avatar_urls": {"24": "https://secure.gravatar.com/a.jpg"}}],
                "wp:term": [[{"id": 1, "name": "News", "taxonomy": "category"}]]}  # fmt: skip
    posts = [wordpress_post(1), wordpress_post(2, _embedded=embedded)]
    db = tmp_path / "s.duckdb"
    for name, doc in (("posts.json", posts), ("pages.jsonl", None)):
        f = tmp_path / name
        if doc is None:  # the same posts one per line, as a paged crawl appends them
            write_jsonl(f, posts)
        else:
            f.write_text(json.dumps(doc), encoding="utf-8")
        r = cli_import(tmp_path / f"{name}.duckdb", f)
        assert r.exit_code == 0, r.output
        got = stored(tmp_path / f"{name}.duckdb", "a.title, a.author")
        assert got == [("Bridge story 1", None), ("Bridge story 2", "Ann Lee")], name
    # a CSV of such posts: a number in an author column is no name either
    f = write_csv(tmp_path / "wp.csv", ["title", "content", "author"],
                  [["Bridge story 1", BODY, "12"], ["Bridge story 2", BODY + " 2", "Ann Lee"]])  # fmt: skip
    assert cli_import(db, f).exit_code == 0
    assert [a for (a,) in stored(db, "a.author")] == [None, "Ann Lee"]


def test_a_row_of_a_paged_answer_is_named_by_its_line_and_its_item(tmp_path):
    pages = [{"status": "ok", "totalResults": 6, "articles": [newsapi_article(1), newsapi_article(2)]},
             {"status": "ok", "totalResults": 6, "articles": [
                 newsapi_article(3), newsapi_article(4, publishedAt="soon"), None,
                 newsapi_article(5, url="https://herald.example/1")]}]  # fmt: skip
    db = tmp_path / "s.duckdb"
    r = cli_import(db, write_jsonl(tmp_path / "pages.jsonl", pages))
    assert r.exit_code == 3, r.output
    err = " ".join(r.stderr.split())
    assert "skipped line 2, item 2: publishedAt 'soon' is not a date" in err
    assert "skipped line 2, item 3: not a JSON object" in err
    assert "pages.jsonl line 2, item 4: same URL as line 1, item 1 with another title" in err
    assert [n for (n,) in stored(db, "a.extraction_note")] == [
        "pages.jsonl line 1, item 1", "pages.jsonl line 1, item 2", "pages.jsonl line 2, item 1"]  # fmt: skip


def guardian_item(i: int, **kw) -> dict:
    """The Guardian's single-item endpoint (/world/2020/apr/2i/x?show-fields=all)."""
    content = {"id": f"world/2020/apr/2{i}/x", "type": "article", "sectionId": "world",
               "sectionName": "World news", "webPublicationDate": f"2020-04-2{i}T09:12:00Z",
               "webTitle": f"Story {i}", "webUrl": f"https://www.theguardian.com/world/{i}",
               "apiUrl": f"https://content.guardianapis.com/world/{i}",
               "fields": {"headline": f"Story {i}", "byline": "Ann Lee",
                          "body": f"<p>{BODY}</p>", "bodyText": f"{BODY} {i}", "wordcount": "15"},
               "isHosted": False, "pillarId": "pillar/news", "pillarName": "News"}  # fmt: skip
    return {"response": {"status": "ok", "userTier": "developer", "total": 1,
                         "content": content, **kw}}  # fmt: skip


def test_the_guardians_single_item_answer_is_one_article(tmp_path):
    related = GUARDIAN["response"]["results"]  # ?show-related=true: other articles beside it
    doc = tmp_path / "item.json"
    doc.write_text(json.dumps(guardian_item(1, relatedContent=related), indent=2))
    lines = write_jsonl(tmp_path / "items.jsonl", [guardian_item(1), guardian_item(2)])
    cols = "a.title, a.text, a.url, a.author, a.published_at"
    for f, numbers in ((doc, (1,)), (lines, (1, 2))):
        db = tmp_path / f"{f.name}.duckdb"
        r = cli_import(db, f)
        assert r.exit_code == 0 and "skipped" not in r.output, r.output
        assert stored(db, cols) == [
            (f"Story {i}", f"{BODY} {i}", f"https://www.theguardian.com/world/{i}", "Ann Lee",
             datetime(2020, 4, 20 + i, 9, 12)) for i in numbers]  # fmt: skip
