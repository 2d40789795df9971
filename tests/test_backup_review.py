"""`framewatch backup / restore / status` as an operator meets them: an old store, a damaged
one, a backup or restore that fails midway, a monitor reading `status --json`."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from conftest import write_jsonl
from typer.testing import CliRunner

import framewatch.backup as backup_mod
from framewatch.cli import app
from framewatch.journal import append_record
from framewatch.store import StoreError, _migrations, schema_version_known


def _fw(db: Path, *args: str):
    return CliRunner().invoke(app, ["--db", str(db), *args])


def _store(tmp_path: Path, name: str = "fw.duckdb", n: int = 2) -> Path:
    db = tmp_path / name
    rows = [{"title": f"Harbour bridge closes, part {i}", "source": "Civic Wire",
             "published_at": "2026-11-20T10:00:00Z", "url": f"https://civic.example/{name}/{i}",
             "text": f"Part {i}: the harbour bridge closes for six weeks of repairs. " * 4}
            for i in range(n)]  # fmt: skip
    f = write_jsonl(tmp_path / f"{name}.jsonl", rows)
    done = _fw(db, "import", str(f))
    assert done.exit_code == 0, done.output
    return db


def _articles(db: Path) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM articles").fetchone()[0]
    finally:
        con.close()


def _version(db: Path) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
    finally:
        con.close()


def _old_store(db: Path) -> None:
    with duckdb.connect(str(db)) as old:
        old.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
            " applied_at TIMESTAMP NOT NULL)"
        )
        for version, name, sql in _migrations():
            if version < schema_version_known():
                old.execute(sql)
                old.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [version, name])


def test_a_backup_leaves_an_older_store_as_it_was(tmp_path):
    # The backup taken before an upgrade must still open with the framewatch it came from:
    # taking it must not migrate the store, nor copy a migrated one.
    db = tmp_path / "old.duckdb"
    _old_store(db)
    done = _fw(db, "backup", str(tmp_path / "bk"))
    assert done.exit_code == 0, done.output
    assert _version(db) == schema_version_known() - 1
    m = json.loads((tmp_path / "bk" / "manifest.json").read_text())
    assert m["schema_version"] == schema_version_known() - 1
    assert _version(tmp_path / "bk" / "framewatch.duckdb") == schema_version_known() - 1
    # Restored by this framewatch, it is upgraded when first opened, as any older store.
    other = tmp_path / "restored.duckdb"
    assert _fw(other, "restore", str(tmp_path / "bk")).exit_code == 0
    assert _fw(other, "status", "--json").exit_code == 0
    assert _version(other) == schema_version_known()


def test_a_damaged_store_is_not_backed_up_from_its_old_snapshot(tmp_path):
    db = _store(tmp_path)
    assert _fw(db, "status").exit_code == 0  # publishes a snapshot
    db.write_bytes(b"\0" * 4096 + b"not a duckdb file" * 100)  # the store itself is damaged
    done = _fw(db, "backup", str(tmp_path / "bk"))
    assert done.exit_code == 1, done.output
    assert "cannot back up" in done.output and "Traceback" not in done.output
    assert not (tmp_path / "bk").exists()  # no backup that looks good


def test_a_backup_that_fails_midway_leaves_the_folder_free_and_no_backup(tmp_path, monkeypatch):
    db = _store(tmp_path)

    def disk_full(src: Path, dst: Path) -> None:
        dst.write_bytes(src.read_bytes()[:1000])
        raise StoreError(f"cannot copy {src} to {dst}: No space left on device")

    monkeypatch.setattr(backup_mod, "_copy", disk_full)
    folder = tmp_path / "backups" / "fw-2026-11-30"
    done = _fw(db, "backup", str(folder))
    assert done.exit_code == 1 and "No space left on device" in done.output
    assert not folder.exists()
    (tmp_path / "given").mkdir()  # a folder the operator made: it stays, empty
    assert _fw(db, "backup", str(tmp_path / "given")).exit_code == 1
    assert list((tmp_path / "given").iterdir()) == []
    monkeypatch.undo()
    done = _fw(db, "backup", str(folder))  # the next try goes ahead in the same folder
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in folder.iterdir()) == ["framewatch.duckdb", "manifest.json"]


def test_a_backup_killed_before_its_manifest_is_named_incomplete(tmp_path):
    db = _store(tmp_path)
    folder = tmp_path / "bk"
    assert _fw(db, "backup", str(folder)).exit_code == 0
    (folder / "manifest.json").unlink()  # as a kill before the manifest leaves it
    done = _fw(db, "restore", str(folder))
    assert done.exit_code == 1 and "incomplete backup" in done.output, done.output
    assert _articles(db) == 2 and not list(tmp_path.glob("fw.duckdb.before-restore-*"))
    # a folder that is not a backup at all, or does not exist: the user's mistake
    done = _fw(db, "restore", str(tmp_path))
    assert done.exit_code == 2 and "not a framewatch backup" in done.output
    done = _fw(db, "restore", str(tmp_path / "no-such-backup"))
    assert done.exit_code == 2 and "does not exist" in done.output, done.output
    # the same backup run again (cron the next night, a retry by hand) redoes it there;
    # a folder with anything else in it is still refused
    assert _fw(db, "backup", str(folder)).exit_code == 0, "an incomplete backup blocked a retry"
    assert _fw(db, "restore", str(folder)).exit_code == 0
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    (tmp_path / "other" / "framewatch.duckdb.part").write_bytes(b"x")
    done = _fw(db, "backup", str(tmp_path / "other"))
    assert done.exit_code == 2 and "is not empty" in done.output
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize(
    "edit",
    [
        lambda m: m.update(sha256={}),  # lists no store: nothing would be checked
        lambda m: m.update(schema_version="twenty"),
        lambda m: m.update(schema_version=None),
    ],
)
def test_a_damaged_manifest_is_refused_in_one_line(tmp_path, edit):
    db = _store(tmp_path)
    folder = tmp_path / "bk"
    assert _fw(db, "backup", str(folder)).exit_code == 0
    m = json.loads((folder / "manifest.json").read_text())
    edit(m)
    (folder / "manifest.json").write_text(json.dumps(m))
    done = _fw(db, "restore", str(folder))
    assert done.exit_code == 1 and "is damaged" in done.output, done.output
    assert "Traceback" not in done.output and "internal error" not in done.output
    assert not list(tmp_path.glob("fw.duckdb.*restor*"))


def test_a_restore_that_fails_midway_leaves_the_store_and_no_partial_copy(tmp_path, monkeypatch):
    db = _store(tmp_path, n=3)
    folder = tmp_path / "bk"
    assert _fw(_store(tmp_path, "other.duckdb", n=1), "backup", str(folder)).exit_code == 0

    def disk_full(src: Path, dst: Path) -> None:
        dst.write_bytes(src.read_bytes()[:1000])
        raise StoreError(f"cannot copy {src} to {dst}: No space left on device")

    monkeypatch.setattr(backup_mod, "_copy", disk_full)
    done = _fw(db, "restore", str(folder))
    assert done.exit_code == 1 and "No space left on device" in done.output
    assert _articles(db) == 3
    assert not (tmp_path / "fw.duckdb.restoring").exists()
    assert not list(tmp_path.glob("fw.duckdb.before-restore-*"))


def test_two_restores_in_one_second_keep_both_stores_they_replaced(tmp_path, monkeypatch):
    db = _store(tmp_path, n=3)
    folder = tmp_path / "bk"
    assert _fw(_store(tmp_path, "other.duckdb", n=1), "backup", str(folder)).exit_code == 0

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2026, 11, 30, 9, 15, 0, tzinfo=tz)

    monkeypatch.setattr(backup_mod, "datetime", Frozen)
    assert _fw(db, "restore", str(folder)).exit_code == 0  # the wrong backup, at once undone
    assert _fw(db, "restore", str(folder)).exit_code == 0
    kept = sorted(p for p in tmp_path.glob("fw.duckdb.before-restore-*"))
    assert [_articles(p) for p in kept] == [3, 1], kept  # the original store is still there


def test_status_json_on_a_store_that_cannot_be_read_is_a_json_report(tmp_path):
    db = tmp_path / "missing.duckdb"
    done = _fw(db, "status", "--json")
    assert done.exit_code == 1
    r = json.loads(done.stdout)  # a monitor parsing it gets the reason, not an empty page
    assert r["healthy"] is False and "no store at" in r["reasons"][0]
    assert r["store"]["path"] == str(db)
    plain = _fw(db, "status")
    assert plain.exit_code == 1 and "no store at" in plain.output
    # a file that is not a store was said to be "being written and has no snapshot yet"
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"not a database, just bytes " * 400)
    for args in (["status"], ["sql", "SELECT 1"], ["stories"]):
        said = _fw(junk, *args).output
        assert "cannot open" in said and "being written" not in said, (args, said)


def test_status_is_unhealthy_when_no_run_ever_finished_well(tmp_path):
    # A new deployment whose every run is killed (the OOM killer, while the model loads):
    # the next start marks each one interrupted, and none ever finishes well.
    db = _store(tmp_path)
    with duckdb.connect(str(db)) as con:
        con.execute(
            "INSERT INTO runs (command, started_at, finished_at, status) VALUES "
            "('serve', now()::TIMESTAMP - INTERVAL 5 HOUR, NULL, 'interrupted'), "
            "('serve', now()::TIMESTAMP - INTERVAL 4 HOUR, NULL, 'interrupted')"
        )
    Path(f"{db}.snapshot").unlink()  # written within the second the snapshot was: publish anew
    done = _fw(db, "status", "--json")
    assert done.exit_code == 1, done.stdout
    r = json.loads(done.stdout)
    assert r["healthy"] is False
    assert r["reasons"][0].startswith("no run has finished well yet"), r["reasons"]
    # A store with no run at all (only imported so far) is not unhealthy for it.
    assert _fw(_store(tmp_path, "fresh.duckdb"), "status").exit_code == 0


def test_a_log_left_by_a_lost_store_is_not_replayed_onto_the_restored_one(tmp_path):
    folder = tmp_path / "bk"
    assert _fw(_store(tmp_path, "other.duckdb", n=1), "backup", str(folder)).exit_code == 0
    db = _store(tmp_path, n=3)
    con = duckdb.connect(str(db))
    con.execute("PRAGMA disable_checkpoint_on_shutdown")
    con.execute("CREATE TABLE stray AS SELECT range AS i FROM range(10)")
    con.execute("DELETE FROM articles")
    con.close()
    wal = Path(f"{db}.wal")
    assert wal.exists()
    saved = wal.read_bytes()
    db.unlink()  # the store is lost; its log stays behind
    wal.write_bytes(saved)
    done = _fw(db, "restore", str(folder))
    assert done.exit_code == 0, done.output
    assert not wal.exists()
    assert _articles(db) == 1  # the backup's, with nothing of the lost store's log
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'stray'"
                           ).fetchone()[0] == 0  # fmt: skip
    finally:
        con.close()
    kept = list(tmp_path.glob("fw.duckdb.before-restore-*"))
    assert [p.name.endswith(".wal") for p in kept] == [True] and kept[0].read_bytes() == saved


def test_the_store_a_restore_sets_aside_is_kept_as_it_was(tmp_path):
    # Restoring over a store an older framewatch wrote: the store set aside is not migrated
    # on the way out, so that older framewatch can still open it.
    folder = tmp_path / "bk"
    assert _fw(_store(tmp_path, "other.duckdb", n=1), "backup", str(folder)).exit_code == 0
    db = tmp_path / "fw.duckdb"
    _old_store(db)
    done = _fw(db, "restore", str(folder))
    assert done.exit_code == 0, done.output
    (kept,) = tmp_path.glob("fw.duckdb.before-restore-*")
    assert _version(kept) == schema_version_known() - 1
    assert _articles(db) == 1


def test_a_manifest_without_counts_restores_and_says_so_without_crashing(tmp_path):
    """The store was restored, then printing its summary raised a KeyError (exit 1), so
    the operator read a failure where the restore had worked."""
    db = _store(tmp_path, n=3)
    folder = tmp_path / "bk"
    assert _fw(db, "backup", str(folder)).exit_code == 0
    m = json.loads((folder / "manifest.json").read_text())
    del m["counts"], m["created_at"]
    (folder / "manifest.json").write_text(json.dumps(m))
    done = _fw(db, "restore", str(folder))
    assert done.exit_code == 0, done.output
    assert f"restored {db} from {folder}" in done.output and _articles(db) == 3


@pytest.mark.parametrize("damage", ["bit flip", "short write"])
def test_a_restore_whose_copy_is_damaged_leaves_the_store_untouched(tmp_path, monkeypatch, damage):
    """The backup's files were checked, then copied into place unchecked: a bit flipped on
    the way, or a copy cut short without an error, became the store."""
    db = _store(tmp_path, n=3)
    folder = tmp_path / "bk"
    assert _fw(_store(tmp_path, "other.duckdb", n=1), "backup", str(folder)).exit_code == 0
    real = backup_mod._copy

    def damaging_copy(src: Path, dst: Path) -> None:
        real(src, dst)
        data = bytearray(dst.read_bytes())
        if damage == "bit flip":
            data[len(data) // 2] ^= 0x01
        else:
            del data[len(data) // 2 :]
        dst.write_bytes(bytes(data))

    monkeypatch.setattr(backup_mod, "_copy", damaging_copy)
    before = db.read_bytes()
    done = _fw(db, "restore", str(folder))
    assert done.exit_code == 1, done.output
    assert "does not match the manifest's checksum" in done.output, done.output
    assert "Traceback" not in done.output
    assert db.read_bytes() == before and _articles(db) == 3
    assert not list(tmp_path.glob("fw.duckdb.*restor*"))


def _mode(p: Path) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def test_a_backup_and_its_restore_keep_the_password_hashes_private(tmp_path):
    old = os.umask(0o002)  # a umask that lets everyone read what is created
    try:
        db = _store(tmp_path, n=2)
        added = CliRunner().invoke(app, ["--db", str(db), "users", "add", "editor",
                                         "--password-stdin"], input="harbour-desk-2026\n")  # fmt: skip
        assert added.exit_code == 0, added.output
        append_record(db, {"week": "2026-W47", "codebook": "g", "recipient": "ana@example.org",
                           "status": "sent", "at": "2026-11-23T07:00:00"})  # fmt: skip
        folder = tmp_path / "backups" / "bk"
        done = _fw(db, "backup", str(folder))
        assert done.exit_code == 0, done.output
        assert _mode(folder) == 0o700
        names = sorted(p.name for p in folder.iterdir())
        assert names == ["digest-sends.jsonl", "framewatch.duckdb", "manifest.json"]
        assert {n: _mode(folder / n) for n in names} == dict.fromkeys(names, 0o600)
        # Restored where there was no store: private.
        new = tmp_path / "new.duckdb"
        assert _fw(new, "restore", str(folder)).exit_code == 0
        assert _mode(new) == 0o600 and _mode(Path(f"{new}.digest-sends.jsonl")) == 0o600
        # Restored over a store the operator made group-readable: the store keeps its mode.
        os.chmod(db, 0o640)
        journal_mode = _mode(Path(f"{db}.digest-sends.jsonl"))
        done = _fw(db, "restore", str(folder))
        assert done.exit_code == 0, done.output
        assert _mode(db) == 0o640 and _mode(Path(f"{db}.digest-sends.jsonl")) == journal_mode
    finally:
        os.umask(old)


def test_a_backup_from_the_snapshot_says_how_old_the_snapshot_is(tmp_path):
    db = _store(tmp_path)
    assert _fw(db, "status").exit_code == 0  # publishes a snapshot
    snap = Path(f"{db}.snapshot")
    written = time.time() - 12 * 60 - 10
    os.utime(snap, (written, written))
    # Another process holds the store's write lock, as a run does.
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]);"
         " print('held', flush=True); sys.stdin.read()", str(db)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        done = _fw(db, "backup", str(tmp_path / "bk"), "--wait", "0")
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    assert done.exit_code == 0, done.output
    m = json.loads((tmp_path / "bk" / "manifest.json").read_text())
    assert m["source"] == "snapshot"
    assert abs(datetime.fromisoformat(m["snapshot_written_at"]).timestamp() - written) < 1
    said = " ".join(done.output.split())
    at = datetime.fromtimestamp(written).strftime("%H:%M")
    assert f"from the snapshot of {at}, 12 minutes old, because a run holds the store" in said
