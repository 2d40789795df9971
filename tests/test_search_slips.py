"""Queries as people type them: typographic quotes, a space after a colon, a wildcard,
one Arabic word in quotes, and several searches in one SQL statement."""

from __future__ import annotations

import json

from conftest import write_jsonl
from test_search import fw, small_db, titles  # noqa: F401  (small_db is a fixture)


def test_typographic_quotes_quote_a_phrase(small_db):  # noqa: F811
    plain = titles(small_db, '"Café owners"')
    assert plain == ["Café owners in Zürich protest rent rises"]
    # Word, macOS and German keyboards type these; they were two loose words before.
    for typed in ("\u201cCafé owners\u201d", "\u201eCafé owners\u201c", "\u00abCafé owners\u00bb"):
        assert titles(small_db, typed) == plain
    # Inside plain quotes a curly quote is the phrase's own text, not its end.
    assert titles(small_db, '"Café \u201cowners\u201d in"') == plain
    assert titles(small_db, '~"Café \u201cowners\u201d" OR "Café owners"') == plain


def test_a_restriction_with_a_space_after_its_colon_is_an_error_not_two_words(small_db):  # noqa: F811
    r = fw("search", "outlet: Daily", db=small_db)
    assert r.exit_code == 2 and "outlet: needs its value right after the colon" in r.output
    assert fw("search", "lang:", db=small_db).exit_code == 2
    assert titles(small_db, "Note: war") == []  # not a field: words, as before


def test_a_star_is_named_as_no_wildcard(small_db):  # noqa: F811
    r = fw("search", "war*", db=small_db)
    assert r.exit_code == 0 and "* is no wildcard" in r.stderr and "'war'" in r.stderr


def test_a_lucene_boost_is_named_as_none(small_db):  # noqa: F811
    """war^2 found nothing, silently: it searched for 'war' and '2'."""
    r = fw("search", "war^2", db=small_db)
    assert r.exit_code == 0 and "^ is no boost" in r.stderr and "write war alone" in r.stderr
    assert "^ is no boost" not in fw("search", '"x^2"', db=small_db).stderr  # a phrase, as typed


def test_one_arabic_word_in_quotes_matches_as_written(tmp_path):
    rows = [{"title": "الصحة العالمية", "text": "تقرير عن الصحة.", "source": "A"},
            {"title": "معهد للصحة", "text": "افتتاح معهد جديد.", "source": "B"}]  # fmt: skip
    db = tmp_path / "ar.duckdb"
    assert fw("import", str(write_jsonl(tmp_path / "ar.jsonl", rows)), db=db).exit_code == 0
    assert len(titles(db, "الصحة")) == 2  # the word finds its prefixed forms
    assert titles(db, '"الصحة"') == ["الصحة العالمية"]  # in quotes: as written


def test_several_searches_in_one_sql_statement(small_db):  # noqa: F811
    union = " UNION ALL ".join(
        f"SELECT '{q}' AS q, count(*) AS n FROM search('{q}')"
        for q in ["war", "warnings", "zurich", "vote", "war OR vote", "NOT war", "peace", "storm"]
    )
    r = fw("sql", f"SELECT * FROM ({union}) ORDER BY q", "--format", "json", db=small_db)
    assert r.exit_code == 0, r.output
    counts = {row["q"]: row["n"] for row in json.loads(r.stdout)}
    assert counts == {"war": 2, "warnings": 1, "zurich": 1, "vote": 1, "war OR vote": 3,
                      "NOT war": 4, "peace": 1, "storm": 1}  # fmt: skip


def test_figures_are_found_in_any_script(tmp_path):
    rows = [{"title": "مقتل ١٩ شخصا في حادث", "text": "قالت الشرطة إن ١٩ شخصا قتلوا.", "source": "A"},
            {"title": "۱۹ کشته در تصادف", "text": "پلیس گفت ۱۹ نفر کشته شدند.", "source": "B"},
            {"title": "19 killed in crash", "text": "Police said 19 people died.", "source": "C"},
            {"title": "Twenty hurt", "text": "Police said 20 people were hurt.", "source": "D"}]  # fmt: skip
    db = tmp_path / "digits.duckdb"
    assert fw("import", str(write_jsonl(tmp_path / "d.jsonl", rows)), db=db).exit_code == 0
    found = {"مقتل ١٩ شخصا في حادث", "۱۹ کشته در تصادف", "19 killed in crash"}
    # Arabic-Indic, Persian and ASCII digits: one figure, however the query writes it.
    for query in ("19", "١٩", "۱۹"):
        assert set(titles(db, query)) == found, query
