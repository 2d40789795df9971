"""Exit codes tell a user's mistake (2, one line) from a bug (1, traceback kept in a log)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import write_jsonl
from typer.testing import CliRunner

from framewatch.cli import app


@pytest.fixture
def state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path / "state" / "framewatch"


def _cli(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize(
    "args",
    [
        ["import", "{tmp}/articles.txt"],
        ["import", "{tmp}/missing.jsonl"],
        ["eval", "stories", "{tmp}/nolabel.jsonl"],
        ["codebooks", "validate", "{tmp}/bad.toml"],
        ["--config", "{tmp}/missing.toml", "fetch"],
        ["sql", "DELETE FROM articles"],
        ["digest", "--preview", "{tmp}/no/such/folder/digest.html"],  # not a bug: a path
    ],
)
def test_bad_input_exits_2_with_one_line(args, tmp_path, state_dir, demo_db):
    (tmp_path / "articles.txt").write_text("title,text\n", encoding="utf-8")
    write_jsonl(tmp_path / "nolabel.jsonl", [{"title": "A title", "text": "Some text."}])
    (tmp_path / "bad.toml").write_text('id = "x"\n[[frames]\n', encoding="utf-8")
    r = _cli("--db", str(demo_db), *(a.format(tmp=tmp_path) for a in args))
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert "Traceback" not in r.output and not state_dir.exists()


def test_missing_store_is_a_one_line_failure(tmp_path, state_dir):
    r = _cli("--db", str(tmp_path / "none.duckdb"), "stories")
    assert r.exit_code == 1
    assert r.stderr.strip().splitlines() == [
        f"error: no store at {tmp_path / 'none.duckdb'}: run `framewatch fetch` or "
        "`framewatch demo` first"
    ]


def _break_import(monkeypatch) -> None:
    """A bug deep in a stage: numpy's AxisError, a ValueError, as story labels once raised."""

    def broken(store, path, encoding=None):
        np.ones(3).sum(axis=1)

    monkeypatch.setattr("framewatch.importer.import_file", broken)


def test_internal_error_exits_1_and_keeps_the_traceback(tmp_path, state_dir, monkeypatch):
    _break_import(monkeypatch)
    f = write_jsonl(tmp_path / "a.jsonl", [{"title": "A title", "text": "Some text."}])
    r = _cli("--db", str(tmp_path / "s.duckdb"), "import", str(f))
    assert r.exit_code == 1
    assert "Traceback" not in r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 2, r.stderr
    assert lines[0].startswith("error: internal error, AxisError: axis 1 is out of bounds")
    log = state_dir / "errors.log"
    assert str(log) in lines[1] and "--verbose" in lines[1]
    text = log.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text and "in broken" in text
    assert "numpy.exceptions.AxisError" in text or "AxisError" in text.splitlines()[-1]

    r = _cli("--verbose", "--db", str(tmp_path / "s.duckdb"), "import", str(f))
    assert r.exit_code == 1
    assert "Traceback (most recent call last)" in r.stderr and "in broken" in r.stderr
    assert log.read_text(encoding="utf-8").count("=== ") == 2  # each bug appended


def test_a_reader_that_stops_early_is_not_a_bug(tmp_path, state_dir):
    # `framewatch search ... --csv | head -2`: head closes the pipe after two lines. That
    # is the reader's choice, not an "internal error" with a traceback in the log.
    import os
    import subprocess
    import sys

    rows = [{"title": f"Harbour news {i}", "text": f"Harbour item {i}.", "source": "A"}
            for i in range(3000)]  # fmt: skip
    db = str(tmp_path / "s.duckdb")
    assert (
        _cli("--db", db, "import", str(write_jsonl(tmp_path / "rows.jsonl", rows))).exit_code == 0
    )
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "framewatch", "--db", db, "search", "harbour", "--limit", "0", "--csv"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    assert proc.stdout.readline().startswith(b"rank,id,score")
    proc.stdout.close()
    assert proc.wait(timeout=120) == 141  # as a shell reports a writer its reader stopped
    assert b"error" not in proc.stderr.read()
    assert not (state_dir / "errors.log").exists()
