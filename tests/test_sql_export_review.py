"""`framewatch sql` and `export` as a researcher uses them: odd texts, joins, pipes, folders."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import duckdb
import pandas as pd
import pytest
from conftest import write_jsonl
from typer.testing import CliRunner

from framewatch.cli import app

ODD = [
    {"title": 'Quote "this", comma, and more', "source": "Outlet, Inc.",
     "published_at": "2026-11-20T10:00:00Z",
     "text": 'Line one.\nLine two, with "quotes" and a comma.\nLine three\twith tab. ' * 5},
    {"title": "مرحبا بالعالم RTL خبر", "source": "الجزيرة", "published_at": "2026-11-21T10:00:00Z",
     "text": "هذا نص عربي طويل بما فيه الكفاية ليتم قبوله كمقال في المتجر. " * 8},
    {"title": "emoji 🎉👩‍👩‍👧 and CJK 北京新闻", "source": "新华社", "published_at": "2026-11-22T10:00:00Z",
     "text": "北京今天发布了新的政策，涉及经济和社会多个方面。专家表示这将产生深远影响。" * 6},
]  # fmt: skip


@pytest.fixture(scope="module")
def odd_db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("odd")
    db = folder / "odd.duckdb"
    r = CliRunner().invoke(
        app, ["--db", str(db), "import", str(write_jsonl(folder / "o.jsonl", ODD))]
    )
    assert r.exit_code == 0, r.output
    return db


def _cli(db, *args):
    return CliRunner().invoke(app, ["--db", str(db), *args])


JOIN = (
    "SELECT a.id, s.id, s.name FROM articles a JOIN sources s ON s.id = a.source_id ORDER BY a.id"
)


def test_json_is_valid_json_with_nan_and_keeps_both_columns_of_a_join(odd_db):
    r = _cli(
        odd_db, "sql", "SELECT 'nan'::DOUBLE AS x, ['inf'::DOUBLE, 1.5] AS l", "--format", "json"
    )
    assert r.exit_code == 0, r.output

    def refuse(name):
        raise ValueError(f"{name} is not JSON")

    assert json.loads(r.stdout, parse_constant=refuse) == [{"x": None, "l": [None, 1.5]}]
    r = _cli(odd_db, "sql", JOIN.replace("s.id,", "s.id + 100 AS id,", 1), "--format", "json")
    rows = json.loads(r.stdout)
    assert rows[0]["id"] == 1 and rows[0]["id_1"] == 101, rows


def test_parquet_keeps_both_columns_of_a_join_and_the_types_of_an_empty_result(odd_db, tmp_path):
    f = tmp_path / "j.parquet"
    r = _cli(odd_db, "sql", JOIN.replace("s.id,", "s.id + 100 AS id,", 1), "--format", "parquet",
             "--output", str(f))  # fmt: skip
    assert r.exit_code == 0, r.output
    df = pd.read_parquet(f)
    assert list(df.columns) == ["id", "id_1", "name"] and df["id_1"].tolist() == [101, 102, 103]
    r = _cli(odd_db, "sql", "SELECT id, published_at FROM articles WHERE false", "--format",
             "parquet", "--output", str(f))  # fmt: skip
    assert r.exit_code == 0, r.output
    types = dict(duckdb.sql(f"DESCRIBE SELECT * FROM '{f}'").fetchall()[i][:2] for i in range(2))
    assert types == {"id": "BIGINT", "published_at": "TIMESTAMP"}


def test_parquet_to_a_missing_folder_is_the_users_mistake(odd_db, tmp_path):
    r = _cli(odd_db, "sql", "SELECT 1 AS a", "--format", "parquet",
             "--output", str(tmp_path / "nope" / "x.parquet"))  # fmt: skip
    assert r.exit_code == 2 and "internal error" not in r.output, r.output
    assert "nope" in r.output


def test_csv_round_trips_odd_texts_and_writes_lists_as_json(odd_db, tmp_path):
    r = _cli(odd_db, "sql", "SELECT title, text, ['a', 'b, c'] AS tags FROM articles ORDER BY id",
             "--format", "csv")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "\r\n" not in r.stdout  # the same line ends as `export --format csv` (DuckDB's)
    (tmp_path / "o.csv").write_text(r.stdout, encoding="utf-8")
    df = pd.read_csv(tmp_path / "o.csv")
    con = duckdb.connect(str(odd_db) + ".snapshot", read_only=True)
    stored = con.execute("SELECT title, text FROM articles ORDER BY id").fetchall()
    con.close()
    assert list(zip(df.title, df.text, strict=True)) == stored
    assert json.loads(df.tags[0]) == ["a", "b, c"]


def test_a_reader_that_stops_early_gets_141(odd_db, tmp_path):
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    for fmt in ("csv", "json"):
        proc = subprocess.Popen(
            [sys.executable, "-m", "framewatch", "--db", str(odd_db), "sql",
             "SELECT range AS i, repeat('x', 100) AS t FROM range(300000)", "--format", fmt],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        )  # fmt: skip
        proc.stdout.readline()
        proc.stdout.close()
        assert proc.wait(timeout=120) == 141, fmt
        assert b"error" not in proc.stderr.read()


def test_export_into_a_folder_with_a_quote_in_its_name(odd_db, tmp_path):
    folder = tmp_path / "O'Brien data"
    r = _cli(odd_db, "export", str(folder))
    assert r.exit_code == 0, r.output
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["tables"]["articles"]["rows"] == 3
    titles = duckdb.sql(f"SELECT title FROM '{folder / 'articles.parquet'}' ORDER BY id".replace(
        "O'Brien", "O''Brien")).fetchall()  # fmt: skip
    assert [t for (t,) in titles] == [row["title"] for row in ODD]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["O'Brien data"]  # no partial left


def test_export_onto_a_file_is_the_users_mistake(odd_db, tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("mine", encoding="utf-8")
    r = _cli(odd_db, "export", str(f))
    assert r.exit_code == 2 and "internal error" not in r.output, r.output
    assert f.read_text(encoding="utf-8") == "mine"


def test_a_re_export_that_fails_midway_does_not_look_complete(odd_db, tmp_path):
    folder = tmp_path / "out"
    assert _cli(odd_db, "export", str(folder)).exit_code == 0
    (folder / "stories.parquet").unlink()
    (folder / "stories.parquet").mkdir()  # cannot be written: the export stops there
    r = _cli(odd_db, "export", str(folder))
    assert r.exit_code == 2 and "internal error" not in r.output, r.output
    assert "stories.parquet" in r.output
    assert not (folder / "manifest.json").exists()  # the old one would describe other files


def test_a_query_may_open_with_a_comment(odd_db):
    r = _cli(odd_db, "sql", "-- how many, by outlet\nSELECT count(*) AS n FROM articles",
             "--format", "json")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == [{"n": 3}]


def test_two_queries_in_one_are_refused_not_half_answered(odd_db):
    r = _cli(odd_db, "sql", "SELECT count(*) AS n FROM articles; SELECT count(*) AS m FROM sources")
    assert r.exit_code == 2 and "one at a time" in r.output, r.output
    r = _cli(odd_db, "sql", "SET VARIABLE k = 2; SELECT getvariable('k') AS k;", "--format", "csv")
    assert r.exit_code == 0 and r.stdout == "k\n2\n", r.output


def test_a_timeout_of_zero_or_less_is_refused(odd_db, tmp_path):
    for value in ("0", "-5"):
        r = _cli(odd_db, "sql", "SELECT 1", "--timeout", value)
        assert r.exit_code == 2 and "--timeout must be more than 0 seconds" in r.output, r.output
    config = tmp_path / "fw.toml"
    config.write_text("sql_timeout_s = 0\n", encoding="utf-8")
    r = _cli(odd_db, "--config", str(config), "sql", "SELECT 1")
    assert r.exit_code == 2 and "sql_timeout_s (config) must be more than 0" in r.output
    assert _cli(odd_db, "--config", str(config), "sql", "SELECT 1", "--timeout", "5").exit_code == 0


def test_a_re_export_in_another_format_replaces_the_earlier_files_only(odd_db, tmp_path):
    """Last week's CSVs stayed beside this week's Parquet files: a script globbing the
    folder read both. The user's own files in the folder are left alone."""
    folder = tmp_path / "weekly"
    assert _cli(odd_db, "export", str(folder), "--format", "csv").exit_code == 0
    (folder / "notes.md").write_text("mine", encoding="utf-8")
    r = _cli(odd_db, "export", str(folder), "--format", "parquet")
    assert r.exit_code == 0, r.output
    left = sorted(p.name for p in folder.iterdir())
    assert not [n for n in left if n.endswith(".csv")], left
    assert "notes.md" in left and "articles.parquet" in left and "manifest.json" in left


def test_call_is_refused_with_what_to_write_instead(odd_db):
    """CALL pragma_version() was refused as a statement that 'changes the store'."""
    r = _cli(odd_db, "sql", "CALL pragma_version()")
    assert r.exit_code == 2 and "SELECT * FROM pragma_version()" in r.output, r.output
    assert "change the store" not in r.output
    instead = _cli(odd_db, "sql", "SELECT library_version FROM pragma_version()", "--format", "csv")
    assert instead.exit_code == 0 and instead.output.startswith("library_version\nv")


def test_json_writes_decimals_and_big_sums_as_exact_numbers(odd_db):
    """DECIMAL and HUGEINT results were written as text ("1.50"): a reader got strings."""
    from decimal import Decimal

    r = _cli(odd_db, "sql", "SELECT 1.5::DECIMAL(4,2) AS d, 0.1::DECIMAL(18,17) AS p, "
             "sum(id) AS s, sum(id::DECIMAL(10,3)) AS sd, [2.25::DECIMAL(5,2)] AS l, "
             "170141183460469231731687303715884105727::HUGEINT AS h FROM articles",
             "--format", "json")  # fmt: skip
    assert r.exit_code == 0, r.output
    (row,) = json.loads(r.stdout, parse_float=Decimal)
    assert row == {"d": Decimal("1.50"), "p": Decimal("0.1"), "s": 6, "sd": Decimal("6"),
                   "l": [Decimal("2.25")], "h": 2**127 - 1}, row  # fmt: skip
    assert all(not isinstance(v, str) for v in row.values()), row
    assert '"p": 0.10000000000000000' in r.stdout  # the stored digits, no float noise


def test_json_writes_times_in_iso_8601_and_csv_as_duckdb_and_pandas_do(odd_db):
    from datetime import datetime

    q = ("SELECT published_at AS t, published_at::DATE AS day, "
         "TIMESTAMPTZ '2026-11-29 10:00:00+02' AS tz, [published_at] AS ts "
         "FROM articles ORDER BY id LIMIT 1")  # fmt: skip
    r = _cli(odd_db, "sql", q, "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == [{"t": "2026-11-20T10:00:00", "day": "2026-11-20",
                                     "tz": "2026-11-29T08:00:00+00:00",
                                     "ts": ["2026-11-20T10:00:00"]}], r.stdout  # fmt: skip
    assert datetime.fromisoformat(json.loads(r.stdout)[0]["tz"]).utcoffset() is not None
    # CSV keeps the space, as DuckDB's own CSV (`export --format csv`) and pandas write it.
    r = _cli(odd_db, "sql", q.replace(", [published_at] AS ts", ""), "--format", "csv")
    assert r.stdout.splitlines()[1] == "2026-11-20 10:00:00,2026-11-20,2026-11-29 08:00:00+00:00"


def test_table_shows_null_apart_from_an_empty_text(odd_db):
    """NULL and '' both printed as an empty cell; text that looks like markup was eaten."""
    r = CliRunner().invoke(app, ["--db", str(odd_db), "sql", "SELECT NULL AS a, '' AS b, "
                                 "'[bold]x[/bold]' AS c, 'NULL' = 'x' AS d"],
                           env={"COLUMNS": "200"})  # fmt: skip
    assert r.exit_code == 0, r.output
    (line,) = [ln for ln in r.stdout.splitlines() if "x" in ln and "│" in ln]
    cells = [c.strip() for c in line.strip().strip("│").split("│")]
    assert cells == ["NULL", "", "[bold]x[/bold]", "false"], line


def test_table_to_a_file_is_refused_or_written_as_asked(odd_db, tmp_path):
    """--format table --output FILE wrote CSV without a word."""
    f = tmp_path / "t.txt"
    r = _cli(odd_db, "sql", "SELECT 1 AS a", "--format", "table", "--output", str(f))
    assert r.exit_code == 2 and "csv, json, jsonl or parquet" in r.output, r.output
    assert not f.exists()
    # Without --format, the file's name says which: x.json gets JSON, x.csv CSV, and any
    # other name CSV, as every name did before (scripts writing out.txt keep working).
    r = _cli(odd_db, "sql", "SELECT 1 AS a", "--output", str(tmp_path / "x.json"))
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "x.json").read_text(encoding="utf-8")) == [{"a": 1}]
    r = _cli(odd_db, "sql", "SELECT 1 AS a", "--output", str(tmp_path / "x.csv"))
    assert (tmp_path / "x.csv").read_text(encoding="utf-8") == "a\n1\n"
    r = _cli(odd_db, "sql", "SELECT 1 AS a", "--output", str(tmp_path / "x.txt"))
    assert r.exit_code == 0 and (tmp_path / "x.txt").read_text(encoding="utf-8") == "a\n1\n"


def test_export_csv_writes_lists_and_booleans_as_sql_csv_does(demo_db, tmp_path):
    """Export's CSV wrote a list as [a, b, c] (a comma inside one text split it in two) and
    booleans as true/false, while `sql --format csv` wrote JSON lists and True/False."""
    assert _cli(demo_db, "export", str(tmp_path / "out"), "--format", "csv").exit_code == 0
    for table, cols in (("frames", "codebook_id, frame_id, examples"),
                        ("sources", "id, active")):  # fmt: skip
        r = _cli(demo_db, "sql", f"SELECT {cols} FROM {table} ORDER BY ALL", "--format", "csv")
        assert r.exit_code == 0, r.output
        exported = pd.read_csv(tmp_path / "out" / f"{table}.csv", dtype=str, keep_default_na=False)
        mine = pd.read_csv(io.StringIO(r.stdout), dtype=str, keep_default_na=False)
        exported = (
            exported[list(mine.columns)].sort_values(list(mine.columns)).reset_index(drop=True)
        )
        mine = mine.sort_values(list(mine.columns)).reset_index(drop=True)
        for col in mine.columns:
            if col == "examples":  # JSON both ways, spaced or not
                assert [json.loads(v) for v in exported[col]] == [json.loads(v) for v in mine[col]]
            else:
                assert exported[col].tolist() == mine[col].tolist(), col


def test_jsonl_writes_one_record_a_line(odd_db, tmp_path):
    """A big result as JSON Lines (what jq, DuckDB's read_json and pandas' lines=True read a
    line at a time): a text holding a newline stays inside its record's line."""
    q = "SELECT * FROM (VALUES (1, 'two\nlines', 1.50::DECIMAL(4,2)), (2, NULL, NULL)) t(n, s, d)"
    r = _cli(odd_db, "sql", q, "--format", "jsonl")
    assert r.exit_code == 0, r.output
    assert [json.loads(line) for line in r.stdout.splitlines()] == [
        {"n": 1, "s": "two\nlines", "d": 1.5},
        {"n": 2, "s": None, "d": None},
    ]
    for name in ("x.jsonl", "x.NDJSON"):
        assert _cli(odd_db, "sql", q, "--output", str(tmp_path / name)).exit_code == 0
        lines = (tmp_path / name).read_text(encoding="utf-8").splitlines()
        assert [json.loads(line)["n"] for line in lines] == [1, 2]


def test_json_and_jsonl_write_each_row_alike(odd_db):
    """The JSON array and JSON Lines build a row's object in one place: the same values."""
    q = "SELECT 1 AS n, 'a\"b' AS s, [1.5::DECIMAL(3,1)] AS l, NULL AS x"
    as_json = _cli(odd_db, "sql", q, "--format", "json")
    as_jsonl = _cli(odd_db, "sql", q, "--format", "jsonl")
    assert as_json.exit_code == 0 and as_jsonl.exit_code == 0, as_json.output + as_jsonl.output
    assert (
        as_json.stdout
        == '[\n  {\n    "n": 1,\n    "s": "a\\"b",\n    "l": [1.5],\n    "x": null\n  }\n]\n'
    )
    assert as_jsonl.stdout == '{"n": 1, "s": "a\\"b", "l": [1.5], "x": null}\n'


def test_intervals_keep_their_months(odd_db):
    """INTERVAL 1 MONTH was written as 30 days (Python's timedelta has no months)."""
    q = ("SELECT INTERVAL 1 MONTH AS m, INTERVAL '1 year 2 months 3 days 04:05:06.5' AS i, "
         "-INTERVAL '1 month 1 day' AS neg, INTERVAL 0 DAY AS z, [INTERVAL 2 MONTH] AS l")  # fmt: skip
    for fmt in ("json", "jsonl"):
        r = _cli(odd_db, "sql", q, "--format", fmt)
        assert r.exit_code == 0, r.output
        row = json.loads(r.stdout)[0] if fmt == "json" else json.loads(r.stdout)
        assert row == {"m": "P1M", "i": "P1Y2M3DT4H5M6.5S", "neg": "P-1M-1D", "z": "PT0S",
                       "l": ["P2M"]}, row  # fmt: skip
    r = _cli(odd_db, "sql", q, "--format", "csv")  # DuckDB's own text, as `export` writes it
    assert r.stdout.splitlines()[1] == (
        '1 month,1 year 2 months 3 days 04:05:06.5,-1 month -1 day,00:00:00,"[""P2M""]"'
    ), r.stdout


def test_infinite_dates_and_timestamps_are_written_as_infinity(odd_db):
    """'infinity'::TIMESTAMP came out as 9999-12-31T23:59:59.999999 and '-infinity'::DATE as
    0001-01-01: real-looking dates."""
    q = ("SELECT 'infinity'::TIMESTAMP AS t, '-infinity'::DATE AS d, "
         "'infinity'::TIMESTAMPTZ AS tz, ['-infinity'::TIMESTAMP, TIMESTAMP '2026-01-02'] AS l, "
         "DATE '2026-11-20' AS day")  # fmt: skip
    want = {"t": "infinity", "d": "-infinity", "tz": "infinity",
            "l": ["-infinity", "2026-01-02T00:00:00"], "day": "2026-11-20"}  # fmt: skip
    r = _cli(odd_db, "sql", q, "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == [want], r.stdout
    r = _cli(odd_db, "sql", q, "--format", "jsonl")
    assert json.loads(r.stdout) == want, r.stdout
    r = _cli(odd_db, "sql", q, "--format", "csv")
    assert r.stdout.splitlines()[1] == (
        'infinity,-infinity,infinity,"[""-infinity"", ""2026-01-02T00:00:00""]",2026-11-20'
    ), r.stdout
    r = CliRunner().invoke(app, ["--db", str(odd_db), "sql", q], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "infinity" in r.stdout and "9999" not in r.stdout and "0001" not in r.stdout


def test_float_columns_print_their_own_digits(odd_db):
    """0.1::FLOAT was written 0.10000000149011612 (its double value); DOUBLE is unchanged."""
    q = "SELECT 0.1::FLOAT AS f, [0.1::REAL, 3::REAL] AS l, 0.1::DOUBLE AS d, 1e20::FLOAT AS big"
    r = _cli(odd_db, "sql", q, "--format", "json")
    assert r.exit_code == 0, r.output
    assert '"f": 0.1,' in r.stdout and '"l": [0.1, 3.0]' in r.stdout, r.stdout
    assert json.loads(r.stdout) == [{"f": 0.1, "l": [0.1, 3.0], "d": 0.1, "big": 1e20}]
    r = _cli(odd_db, "sql", q, "--format", "jsonl")
    assert r.stdout == '{"f": 0.1, "l": [0.1, 3.0], "d": 0.1, "big": 1e+20}\n', r.stdout
    r = _cli(odd_db, "sql", q, "--format", "csv")
    assert r.stdout.splitlines()[1] == '0.1,"[0.1, 3.0]",0.1,1e+20', r.stdout
