"""`framewatch users`: logins stored as argon2 hashes, bad password input refused clearly."""

from __future__ import annotations

import json
import stat

import duckdb
import pytest
from typer.testing import CliRunner

from framewatch.cli import app


def _users(db, *args, stdin: str | None = None):
    return CliRunner().invoke(app, ["--db", str(db), "users", *args], input=stdin)


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        ("", "empty password"),
        ("\n", "empty password"),
        ("correct horse\ncorrect h0rse\n", "do not match"),
        ("short\n", "too short"),
        (" padded password \n", "starts or ends with a space"),
        ("one\ntwo\nthree\n", "expects one line"),
    ],
)
def test_bad_password_input_is_one_clear_line_and_exit_2(tmp_path, stdin, message):
    db = tmp_path / "s.duckdb"
    result = _users(db, "add", "alice", "--password-stdin", stdin=stdin)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0]
    assert "Traceback" not in result.output
    assert not db.exists()  # not even an empty store
    assert _users(db, "add", "zed", "--password-stdin", stdin="zed-password\n").exit_code == 0
    assert _users(db, "add", "alice", "--password-stdin", stdin=stdin).exit_code == 2
    listed = _users(db, "list", "--json")
    assert [u["name"] for u in json.loads(listed.output)] == ["zed"]  # nothing half-stored


def test_users_are_added_listed_and_removed_with_hashes_only(tmp_path):
    db = tmp_path / "s.duckdb"
    ok = _users(
        db, "add", "alice", "--password-stdin", "--admin", stdin="s3cret-words\ns3cret-words\n"
    )
    assert ok.exit_code == 0, ok.output
    assert _users(db, "add", "bob", "--password-stdin", stdin="viewer-pass\n").exit_code == 0
    dup = _users(db, "add", "ALICE", "--password-stdin", stdin="other-password\n")
    assert dup.exit_code == 2 and "exists already" in dup.output
    bad_name = _users(db, "add", "al ice", "--password-stdin", stdin="other-password\n")
    assert bad_name.exit_code == 2 and "not allowed" in bad_name.output

    listed = json.loads(_users(db, "list", "--json").output)
    assert [(u["name"], u["admin"]) for u in listed] == [("alice", True), ("bob", False)]
    assert "s3cret" not in _users(db, "list").output

    raw = db.read_bytes()
    assert b"s3cret-words" not in raw and b"viewer-pass" not in raw  # never in clear text
    con = duckdb.connect(str(db), read_only=True)
    hashes = dict(con.execute("SELECT name, password_hash FROM users").fetchall())
    con.close()
    assert all(h.startswith("$argon2id$") for h in hashes.values())

    gone = _users(db, "remove", "bob")
    assert gone.exit_code == 0
    missing = _users(db, "remove", "bob")
    assert missing.exit_code == 2 and "no user 'bob'" in missing.output
    assert [u["name"] for u in json.loads(_users(db, "list", "--json").output)] == ["alice"]


def test_readers_sql_never_sees_the_hashes(tmp_path):
    """Visitors' SQL runs on the snapshot: the logins live in a private file beside it."""
    db = tmp_path / "s.duckdb"
    assert (
        _users(db, "add", "alice", "--password-stdin", "--admin", stdin="s3cret-words\n").exit_code
        == 0
    )
    result = CliRunner().invoke(app, ["--db", str(db), "sql", "SELECT * FROM users"])
    assert result.exit_code == 2 and "users does not exist" in result.output
    result = CliRunner().invoke(app, ["--db", str(db), "sql", "SELECT * FROM query_table('users')"])
    assert result.exit_code == 2
    logins = tmp_path / "s.duckdb.snapshot.logins"
    assert stat.S_IMODE(logins.stat().st_mode) == 0o600
    assert json.loads(logins.read_text())["users"][0]["hash"].startswith("$argon2id$")


def test_interactive_password_is_asked_twice(tmp_path):
    db = tmp_path / "s.duckdb"
    ok = _users(db, "add", "erin", stdin="typed-password\ntyped-password\n")
    assert ok.exit_code == 0 and "added erin" in ok.output
    assert "typed-password" not in ok.output  # not echoed
    short = _users(db, "add", "fay", stdin="tiny\ntiny\n")
    assert short.exit_code == 2 and "too short" in short.output
