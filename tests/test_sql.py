"""Researchers' SQL: documented examples, read-only access, timeouts, export, concurrency."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import duckdb
import pytest
from conftest import REPO
from test_resume import _serve_corpus
from typer.testing import CliRunner

import framewatch
from framewatch.cli import app
from framewatch.sql import QueryError, run_query
from framewatch.store import connect

DOC = REPO / "docs" / "schema.md"

# What a researcher should see from each documented example on the demo store.
EXPECT = {
    "Which stories got the most coverage": lambda rows: len(rows) == 6 and rows[0][2] == 6,
    "How did each outlet frame one story": lambda rows: (
        {r[0] for r in rows} >= {"Frontier Tech Review", "The Meridian Post"}
        and any(r[1] == "opportunity" for r in rows)
    ),
    "How did one outlet frame a story compared": lambda rows: (
        {r[0] for r in rows} == {"The Northern Ledger", "Frontier Tech Review"}
        and max(rows, key=lambda r: r[2] if r[0] == "The Northern Ledger" else -1)[1] == "threat"
    ),
    "Which stories gained a threat framing": lambda rows: (
        len(rows) == 1 and "kestrel" in rows[0][0] and rows[0][4] > rows[0][3]
    ),
    "Weekly share of each frame": lambda rows: (
        {r[0] for r in rows} == {"2026-W45", "2026-W46", "2026-W47"}
    ),
    "Which outlet leans most on each frame": lambda rows: (
        dict((r[0], r[1]) for r in rows)["threat"] == "The Northern Ledger"
        and dict((r[0], r[1]) for r in rows)["economic_cost"] == "Harbor Business Daily"
    ),
    "A story's coverage day by day": lambda rows: rows[-1][3] == 6,
    "The sentence that shows each article's primary frame": lambda rows: (
        len(rows) == 10 and all(r[2] for r in rows)
    ),
    "Stories one outlet covered that another did not": lambda rows: (
        len(rows) == 1 and "glasslock" in rows[0][1]
    ),
    "Which countries' outlets covered a story": lambda rows: (
        rows[0][:2] == ("US", 2) and ("CA", 0, 0) in rows and len(rows) == 5
    ),
    "How did outlets from each country frame one story": lambda rows: (
        {r[0] for r in rows} == {"AU", "CA", "GB", "IE", "US"} and ("GB", "threat", 1, 1.0) in rows
    ),
}


def doc_examples() -> list[tuple[str, str]]:
    return re.findall(r"### ([^\n]+)\n\n```sql\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_every_documented_example_query_runs_and_answers(demo_db):
    examples = doc_examples()
    assert 6 <= len(examples) <= 12
    con = connect(demo_db, sandbox=True)  # what `framewatch sql` and the dashboard run on
    for title, query in examples:
        check = next((f for k, f in EXPECT.items() if title.startswith(k)), None)
        assert check is not None, f"no expectation for documented example {title!r}"
        rows = con.execute(query).fetchall()
        assert check(rows), f"{title}: {rows}"
    con.close()


def test_every_public_table_and_view_is_documented(demo_db):
    from framewatch.sql import PUBLIC_TABLES, PUBLIC_VIEWS

    doc = DOC.read_text(encoding="utf-8")
    for name in PUBLIC_TABLES + PUBLIC_VIEWS:
        assert name in doc, name


def _sql(db, *args):
    return CliRunner().invoke(app, ["--db", str(db), "sql", *args], env={"COLUMNS": "200"})


def test_writes_are_refused_and_nothing_changes(demo_db):
    for stmt in ("DELETE FROM articles", "INSERT INTO labels VALUES (1)", "DROP TABLE stories",
                 "CREATE TABLE x (a INT)", "UPDATE stories SET label = 'x'",
                 "COPY articles TO '/tmp/x.csv'", "ATTACH '/tmp/other.duckdb'"):  # fmt: skip
        r = _sql(demo_db, stmt)
        assert r.exit_code == 2 and "read-only" in r.output, stmt
    r = _sql(demo_db, "SELECT count(*) AS n FROM articles", "--format", "json")
    assert json.loads(r.stdout) == [{"n": 35}]


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/hostname')",
        "SELECT * FROM read_parquet('{export}/articles.parquet')",
        "SELECT * FROM glob('/etc/*')",
        "SELECT * FROM read_json_auto('{export}/../manifest.json')",
        "SELECT * FROM read_csv('https://example.com/data.csv')",
        "INSTALL httpfs",
        "LOAD httpfs",
        "ATTACH '{db}' AS other",
        "SET enable_external_access = true",
        "SET lock_configuration = false",
    ],
)
def test_sandbox_refuses_files_network_and_extensions(query, demo_db, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    export = tmp_path / "out"  # files that exist and are readable: only the sandbox refuses
    export.mkdir()
    pq.write_table(pa.table({"secret": ["root:x:0:0"]}), export / "articles.parquet")
    (tmp_path / "manifest.json").write_text('{"secret": "root:x:0:0"}', encoding="utf-8")
    q = query.format(export=export, db=demo_db)
    r = _sql(demo_db, q)
    assert r.exit_code == 2, (q, r.output)
    assert "refused" in r.stderr and "Traceback" not in r.output, r.output
    assert "root:" not in r.output and len(r.stderr.strip().splitlines()) == 1
    # The dashboard's SQL page runs the same code on the same kind of connection.
    con = connect(demo_db, sandbox=True)
    with pytest.raises(QueryError, match="refused"):
        run_query(con, q, 10)
    con.close()


def test_every_table_and_view_answers_in_the_sandbox(demo_db):
    from framewatch.sql import PUBLIC_TABLES, PUBLIC_VIEWS

    for name in PUBLIC_TABLES + PUBLIC_VIEWS:
        r = _sql(demo_db, f"SELECT count(*) AS n FROM {name}", "--format", "json")
        assert r.exit_code == 0, (name, r.output)
        assert json.loads(r.stdout)[0]["n"] >= 0
    r = _sql(demo_db, "SET VARIABLE k = 'kestrel'; SELECT count(*) AS n FROM stories "
             "WHERE label ILIKE '%' || getvariable('k') || '%'", "--format", "json")  # fmt: skip
    assert r.exit_code == 0 and json.loads(r.stdout) == [{"n": 1}], r.output


def test_syntax_error_prints_duckdb_message_not_a_traceback(demo_db):
    r = _sql(demo_db, "SELEC * FROM articles")
    assert r.exit_code == 2
    assert 'syntax error at or near "SELEC"' in r.output and "Traceback" not in r.output
    r = _sql(demo_db, "SELECT nope FROM articles")
    assert r.exit_code == 2 and "nope" in r.output


def test_long_query_is_cancelled(demo_db):
    start = time.monotonic()
    r = _sql(demo_db, "SELECT count(*) FROM range(100000000000) a, range(1000) b", "--timeout", "1")
    assert r.exit_code == 2 and "cancelled after 1s" in r.output
    assert time.monotonic() - start < 30


def test_output_formats(demo_db, tmp_path):
    q = "SELECT id, label FROM stories ORDER BY id"
    csv_out = _sql(demo_db, q, "--format", "csv").stdout.splitlines()
    assert csv_out[0] == "id,label" and len(csv_out) == 7
    pq_file = tmp_path / "s.parquet"
    assert _sql(demo_db, q, "--format", "parquet", "--output", str(pq_file)).exit_code == 0
    assert duckdb.sql(f"SELECT count(*) FROM '{pq_file}'").fetchall()[0][0] == 6
    assert _sql(demo_db, q, "--format", "parquet").exit_code == 2


def test_export_round_trip(demo_db, tmp_path):
    r = CliRunner().invoke(app, ["--db", str(demo_db), "export", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["schema_version"] >= 4
    fresh = duckdb.connect()
    for name, info in manifest["tables"].items():
        n = fresh.execute(f"SELECT count(*) FROM '{tmp_path / 'out' / info['file']}'").fetchone()[0]
        assert n == info["rows"], name
    assert manifest["tables"]["articles"]["rows"] == 35
    assert manifest["tables"]["frame_trends"]["kind"] == "view"
    csv_dir = tmp_path / "csv"
    assert (
        CliRunner()
        .invoke(app, ["--db", str(demo_db), "export", str(csv_dir), "--format", "csv"])
        .exit_code
        == 0
    )
    assert (csv_dir / "stories.csv").read_text().startswith("id,")


def test_notebook_connect_is_read_only(demo_db):
    con = framewatch.connect(demo_db)
    assert con.execute("SELECT count(*) FROM stories").fetchone()[0] == 6
    with pytest.raises(duckdb.Error, match="read-only"):
        con.execute("DELETE FROM stories")
    con.close()


READER = """
import sys, time, json, pathlib, framewatch
stop, ready = pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
seen = []
ready.touch()
deadline = time.monotonic() + 300  # only if the test never says stop
# Read until the test says the writer is done, at least 11 times (once after the writer ended).
while time.monotonic() < deadline and not (stop.exists() and len(seen) > 10):
    try:
        con = framewatch.connect(sys.argv[1])
    except Exception as exc:
        if "no snapshot yet" in str(exc) or "no store" in str(exc):
            time.sleep(0.05); continue
        raise
    seen.append(con.execute("SELECT count(*) FROM articles").fetchone()[0])
    con.close()
    time.sleep(0.05)
print(json.dumps(seen))
"""


def test_readers_never_block_the_crawler_nor_see_half_a_batch(http_server, tmp_path):
    srv = http_server
    _serve_corpus(srv, n_feeds=4, per_feed=12)
    db = tmp_path / "live.duckdb"
    cfg = tmp_path / "framewatch.toml"
    cfg.write_text(
        'snapshot_interval_s = 0.0\n[crawl]\nallow_hosts = ["127.0.0.1"]\nper_host_delay_s = 0.0\nper_host_concurrency = 1\n'
    )
    env = {**os.environ, "FRAMEWATCH_CONFIG": str(cfg), "FRAMEWATCH_DB": str(db)}
    for f in range(4):
        subprocess.run([sys.executable, "-m", "framewatch", "sources", "add", "--no-discover", srv.url(f"/f{f}.xml")],
                       env=env, check=True, capture_output=True)  # fmt: skip
    # The reader runs from before the writer starts until after it ends, however slowly
    # either starts on a loaded machine.
    stop, ready = tmp_path / "stop", tmp_path / "ready"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(db), str(stop), str(ready)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    writer = None
    try:
        deadline = time.monotonic() + 120
        while not ready.exists() and reader.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        writer = subprocess.Popen([sys.executable, "-m", "framewatch", "fetch"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        _, werr = writer.communicate(timeout=120)
        stop.touch()
        out, rerr = reader.communicate(timeout=120)
    finally:
        for proc in (reader, writer):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
    assert writer.returncode == 0, werr
    assert reader.returncode == 0, rerr
    seen = json.loads(out)
    assert len(seen) > 10
    assert all(n % 12 == 0 for n in seen), f"a reader saw half a batch: {seen}"
    assert seen == sorted(seen)
    assert len(set(seen)) >= 2, f"readers never saw progress during the run: {seen}"
