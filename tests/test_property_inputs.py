"""Property-based tests: whatever bytes a user hands framewatch, no traceback, no double storage.

Inputs are real-shaped (JSONL/CSV corpora, TOML codebooks) and then broken the ways
real files break: truncated mid-row, wrong types, stray bytes, bad encodings.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import string

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from framewatch.analysis.framing.codebook import CodebookError, load_codebook_file, parse_codebook
from framewatch.cli import app
from framewatch.errors import InputError

SETTINGS = settings(  # each example imports through the CLI; `make fuzz` goes deeper
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)  # fmt: skip

KEYS = ["title", "text", "url", "source", "outlet", "published_at", "date", "language", "story"]
words = st.text(alphabet=string.ascii_letters + " .,'-\n\t\"\\é中\x00", max_size=60)
json_scalar = st.none() | st.booleans() | st.integers() | st.floats() | words
json_value = st.recursive(
    json_scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(words, inner, max_size=3),
    max_leaves=6,
)
urls = st.sampled_from(["https://news.example/a", "http://news.example:99999/x", "http://[::1",
                        "javascript:alert(1)", " ", "https://news.example/a?utm_source=x", "ftp://x/y"])  # fmt: skip
dates = st.sampled_from(["2026-11-20T10:00:00Z", "Tue, 10 Nov 2026 09:00:00 GMT", "yesterday",
                         "2026-13-45", "0001-01-01", "9999-12-31T23:59:59+14:00", ""])  # fmt: skip
record = st.dictionaries(
    st.sampled_from(KEYS) | words,
    json_value | urls | dates,
    max_size=8,
)


def _jsonl(rows: list[dict]) -> bytes:
    return "\n".join(json.dumps(r) for r in rows).encode("utf-8")


def _csv(rows: list[dict]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(KEYS[:6])
    for r in rows:
        w.writerow([r.get(k, "") if isinstance(r.get(k), str) else "" for k in KEYS[:6]])
    return buf.getvalue().encode("utf-8")


def _broken(files) -> st.SearchStrategy[bytes]:
    """Real-shaped files, cut at any byte, or with a run of random bytes spliced in."""
    whole = st.lists(record, max_size=6).map(files)
    return st.one_of(
        st.binary(max_size=400),
        whole,
        st.tuples(whole, st.integers(0, 2000)).map(lambda t: t[0][: t[1]]),
        st.tuples(whole, st.integers(0, 2000), st.binary(min_size=1, max_size=20)).map(
            lambda t: t[0][: t[1]] + t[2] + t[0][t[1] :]
        ),
    )


def _check_import(folder, suffix: str, data: bytes) -> None:
    from framewatch.importer import import_file
    from framewatch.store import open_store

    path = folder / f"in{suffix}"
    path.write_bytes(data)
    db = folder / f"{hashlib.sha256(data).hexdigest()[:16]}{suffix}.duckdb"
    db.unlink(missing_ok=True)  # a fresh store for each example, so each stands alone
    with open_store(db) as store:
        try:
            new, known, errors, _copies = import_file(store, path)  # errors are per row ...
        except InputError as exc:  # ... but a CSV that is not UTF-8 is refused whole, and
            # so is a file whose first bytes say it is a workbook or compressed, not text
            from framewatch.import_read import packed

            refused_whole = suffix == ".csv" and "not UTF-8 text" in str(exc)
            assert refused_whole or (packed(path) and packed(path) in str(exc)), exc
            assert store.execute("SELECT count(*) FROM articles").fetchone()[0] == 0
            return
        assert all(e.line >= 1 and e.message for e in errors)
        n = store.execute("SELECT count(*) FROM articles").fetchone()[0]
        assert n == new and new + known + len(errors) >= 0
        again = import_file(store, path)
        assert again[0] == 0 and again[1] == new + known, "a re-import stored something again"
        total, urls, hashes = store.execute(
            "SELECT count(*), count(DISTINCT canonical_url), count(DISTINCT (source_id, content_hash))"
            " FROM articles"
        ).fetchone()
    db.unlink()
    assert total == n == urls == hashes, "an article was stored twice by one outlet"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("property")


@SETTINGS
@given(data=_broken(_jsonl))
@example(data=b"\x00")  # a NUL byte is a damaged row, not a refused file
@example(data=b"PK\x03\x04\x14\x00")  # a workbook's first bytes: refused for what it is
def test_any_jsonl_imports_without_traceback_and_only_once(folder, data):
    _check_import(folder, ".jsonl", data)


@SETTINGS
@given(data=_broken(_csv))
@example(data=b"\x00")  # a NUL byte is a damaged row, not a refused file
@example(data=b"PK\x03\x04\x14\x00")  # a workbook's first bytes: refused for what it is
def test_any_csv_imports_without_traceback_and_only_once(folder, data):
    _check_import(folder, ".csv", data)


def test_cli_reports_bad_rows_and_stores_the_good_once(tmp_path):
    rows = [{"title": "Harbour bridge reopens", "text": "The bridge reopened on Monday. " * 5,
             "url": "https://news.example/bridge", "published_at": "2026-11-20T10:00:00Z"},
            {"title": "Bad port", "text": "x", "url": "http://news.example:99999/x"},
            {"title": ["a", "list"], "text": "y"},
            {"title": "Far past", "text": "z", "published_at": "0001-01-01T00:00:00+14:00"}]  # fmt: skip
    f = tmp_path / "in.jsonl"
    f.write_bytes("\ufeff".encode() + _jsonl(rows) + b'\n{"title": "cut off", "te')
    db = str(tmp_path / "s.duckdb")
    r = CliRunner().invoke(app, ["--db", db, "import", str(f)])
    assert r.exit_code == 3 and r.stdout.startswith("imported 1 new articles"), r.output
    assert "line 2: url 'http://news.example:99999/x' is not a valid URL" in r.stderr
    assert "line 3: title must be text, not a list" in r.stderr
    assert "line 4: published_at" in r.stderr and "line 5: not valid JSON" in r.stderr
    r = CliRunner().invoke(app, ["--db", db, "import", str(f)])
    assert r.stdout.startswith("imported 0 new articles (1 already stored)"), r.output


# -- codebooks ------------------------------------------------------------------------
toml_value = st.one_of(
    st.integers(-5, 5).map(str),
    words.map(json.dumps),  # a TOML basic string is a JSON string
    st.sampled_from(
        [
            '"threat"',
            '"none"',
            '"Bad Id"',
            '""',
            "[]",
            '["a", ""]',
            "[1, 2]",
            '{ id = "x" }',
            "true",
            "1979-05-27",
            '"""multi\nline"""',
        ]
    ),  # fmt: skip
)
toml_line = st.one_of(
    st.tuples(
        st.sampled_from(["id", "name", "description", "label", "examples", "frames", "x"]),
        toml_value,
    ).map(lambda kv: f"{kv[0]} = {kv[1]}"),
    st.sampled_from(["[[frames]]", "[frames]", "[[frames.examples]]", "[meta]", "# comment", ""]),
    words,
)
toml_doc = st.lists(toml_line, max_size=14).map("\n".join)


def _valid_codebook() -> str:
    frames = "".join(
        f'\n[[frames]]\nid = "{f}"\nlabel = "{f.title()}"\ndescription = "About {f}."\n'
        f'examples = ["An example of {f}."]\n'
        for f in ("threat", "opportunity")
    )
    return f'id = "tiny"\nname = "Tiny"\ndescription = "Two frames."\n{frames}'


def test_the_valid_codebook_parses():
    cb = parse_codebook(_valid_codebook(), "tiny.toml")
    assert cb.frame_ids == ["threat", "opportunity"]


@SETTINGS
@given(
    text=st.one_of(
        toml_doc,
        st.tuples(st.just(_valid_codebook()), st.integers(0, 400)).map(lambda t: t[0][: t[1]]),
        st.tuples(st.just(_valid_codebook()), st.integers(0, 400), toml_line).map(
            lambda t: t[0][: t[1]] + "\n" + t[2] + "\n" + t[0][t[1] :]
        ),
    )
)
def test_any_toml_gives_a_codebook_or_a_codebook_error(text):
    try:
        cb = parse_codebook(text, "cb.toml")
    except CodebookError as exc:
        assert str(exc).startswith("cb.toml: ")
    else:
        assert len(cb.frames) >= 2 and all(f.id and f.label for f in cb.frames)


@SETTINGS
@given(data=st.binary(max_size=300))
def test_any_bytes_as_a_codebook_file_give_a_codebook_error(data, tmp_path_factory):
    path = tmp_path_factory.mktemp("cb") / "cb.toml"
    path.write_bytes(data)
    with pytest.raises(CodebookError):
        load_codebook_file(path)
