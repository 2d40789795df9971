"""`framewatch sql` reading its last SELECT exactly (months of an INTERVAL, infinite dates,
FLOAT digits) without losing what it wrote before: rows, error pointers, digits."""

from __future__ import annotations

import json

import duckdb
import pytest
from test_sql_export_review import odd_db  # noqa: F401 (a fixture)
from typer.testing import CliRunner

from framewatch.cli import app
from framewatch.sql import run_query


@pytest.fixture(scope="module")
def db(odd_db):  # noqa: F811 (the imported fixture)
    """Any store will do: the one the export review imports."""
    return odd_db


def _cli(db, *args):
    return CliRunner().invoke(app, ["--db", str(db), *args], env={"COLUMNS": "200"})


def test_a_set_variable_after_the_select_keeps_its_rows(db, tmp_path):
    """`SELECT ...; SET VARIABLE y = 2` wrote the SET's "Success" (or nothing), not the rows."""
    q = "SET VARIABLE x = 41; SELECT getvariable('x') + 1 AS n; SET VARIABLE x = 7"
    r = _cli(db, "sql", q, "--format", "csv")
    assert r.exit_code == 0, r.output
    assert r.stdout == "n\n42\n", r.stdout
    r = _cli(db, "sql", q, "--format", "jsonl")
    assert r.stdout == '{"n": 42}\n', r.stdout
    r = _cli(db, "sql", q, "--format", "json")
    assert json.loads(r.stdout) == [{"n": 42}], r.stdout
    r = _cli(db, "sql", q)
    assert "42" in r.stdout and "Success" not in r.stdout, r.stdout
    r = _cli(db, "sql", "EXPLAIN SELECT 1; SET VARIABLE x = 1", "--format", "csv")
    assert r.exit_code == 0 and r.stdout.startswith("explain_key,explain_value\n"), r.stdout
    out = tmp_path / "n.parquet"
    assert _cli(db, "sql", q, "--output", str(out)).exit_code == 0
    assert duckdb.sql(f"SELECT n FROM '{out}'").fetchall() == [(42,)]


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "jsonl"])
def test_a_wrong_name_still_points_at_it(db, fmt):
    """A binder or catalog error lost DuckDB's `LINE 1:` and its ^^^ under the wrong name."""
    r = _cli(db, "sql", "SELECT nosuch FROM articles", "--format", fmt)
    assert r.exit_code == 2, r.output
    assert r.output.startswith("error: Binder Error: Referenced column"), r.output
    assert "LINE 1: SELECT nosuch FROM articles" in r.output and "^^^^^^" in r.output, r.output
    r = _cli(db, "sql", "SELECT * FROM nosuch", "--format", fmt)
    assert r.exit_code == 2 and "LINE 1: SELECT * FROM nosuch" in r.output, r.output
    assert "Traceback" not in r.output


def test_float_columns_print_as_python_numbers_past_a_million(db):
    """1000000::FLOAT came out as 1e+06 and 1234567::FLOAT as 1.234567e+06 (numpy's float32
    text), where DOUBLE and the earlier output wrote 1000000.0 and 1234567.0."""
    q = ("SELECT 1000000::FLOAT AS m, 1234567::FLOAT AS n, [16777216::FLOAT] AS l, "
         "{'f': 2.5e9::FLOAT} AS s, 0.1::FLOAT AS f, 1e-5::FLOAT AS small, 1e20::FLOAT AS big, "
         "'nan'::FLOAT AS nan, NULL::FLOAT AS z")  # fmt: skip
    r = _cli(db, "sql", q, "--format", "jsonl")
    assert r.exit_code == 0, r.output
    assert r.stdout == (
        '{"m": 1000000.0, "n": 1234567.0, "l": [16777216.0], "s": {"f": 2500000000.0}, '
        '"f": 0.1, "small": 1e-05, "big": 1e+20, "nan": null, "z": null}\n'
    ), r.stdout
    r = _cli(db, "sql", q, "--format", "csv")
    assert r.stdout.splitlines()[1] == (
        '1000000.0,1234567.0,[16777216.0],"{""f"": 2500000000.0}",0.1,1e-05,1e+20,nan,'
    ), r.stdout
    r = _cli(db, "sql", q)
    assert "1000000.0" in r.stdout and "e+06" not in r.stdout, r.stdout


def test_exact_rows_are_the_plain_rows_in_their_order():
    """The exact path reads dates, timestamps and floats as the plain one does, row for row
    and in the query's order."""
    con = duckdb.connect()
    q = ("SELECT i, DATE '2020-01-01' + (i % 1000)::INT AS d, TIMESTAMP '2020-01-01' + "
         "to_seconds(i) AS t, i::FLOAT AS f FROM range(20000) t(i) ORDER BY i DESC")  # fmt: skip
    plain_rows = run_query(con, q, 60, exact=False).rows
    exact_rows = run_query(con, q, 60, exact=True).rows
    assert [r[:3] for r in exact_rows] == [r[:3] for r in plain_rows]
    assert exact_rows[0][3] == 19999.0 and repr(exact_rows[-1][3]) == "0.0"


def test_an_infinite_date_beside_the_real_last_day(db):
    """Only the infinite values read as infinity: 9999-12-31 itself, NULL and a finite day
    stay what they are, at the top and inside a list."""
    q = ("SELECT * FROM (VALUES ('infinity'::DATE, 1), (DATE '9999-12-31', 2), (NULL, 3), "
         "('-infinity'::DATE, 4), (DATE '0001-01-01', 5)) v(d, n) ORDER BY n")  # fmt: skip
    r = _cli(db, "sql", q, "--format", "csv")
    assert r.exit_code == 0, r.output
    assert r.stdout == "d,n\ninfinity,1\n9999-12-31,2\n,3\n-infinity,4\n0001-01-01,5\n", r.stdout
    q = "SELECT 'infinity'::TIMESTAMP AS t, INTERVAL 1 MONTH AS i, 2 AS t"
    r = _cli(db, "sql", q, "--format", "jsonl")
    assert r.stdout == '{"t": "infinity", "i": "P1M", "t_1": 2}\n', r.stdout


def test_timeout_stops_an_exact_query(db):
    """The relation path is interrupted as the plain one was, with the same message."""
    q = "SELECT max(range)::FLOAT AS f, INTERVAL 1 DAY AS i FROM range(10000000000)"
    r = _cli(db, "sql", q, "--timeout", "0.5", "--format", "csv")
    assert r.exit_code == 2, r.output
    assert r.output == "error: query cancelled after 0.5s (raise sql_timeout_s or --timeout)\n"
