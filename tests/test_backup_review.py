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
from framewatch.journal import append_record, held, journal_records
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


def test_a_restore_waits_for_a_digest_send_and_keeps_its_record(tmp_path):
    """A `digest --send` holds the journal while it sends and appends its record: a restore
    merging the journals in between replaced the journal, and the record was lost."""
    db = _store(tmp_path, n=3)
    sent = {"codebook": "g", "recipient": "ana@example.org", "status": "sent"}
    append_record(db, {"week": "2026-W46", **sent, "at": "2026-11-16T07:00:00"})
    folder = tmp_path / "bk"
    assert _fw(db, "backup", str(folder)).exit_code == 0
    with held(db):  # a send in progress
        proc = subprocess.Popen([sys.executable, "-m", "framewatch", "--db", str(db), "restore",
                                 str(folder)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)  # fmt: skip
        try:
            said = proc.stderr.readline()
            assert "waiting for a digest send" in said, said
            assert proc.poll() is None
            append_record(db, {"week": "2026-W47", **sent, "at": "2026-11-23T07:00:00"})
        except BaseException:
            proc.kill()
            proc.communicate()
            raise
    _, rest = proc.communicate(timeout=120)
    assert proc.returncode == 0, said + rest
    assert [r["week"] for r in journal_records(db)] == ["2026-W46", "2026-W47"]


NOBODY = 65534  # the user "nobody"


def _without_root_powers() -> None:
    """As root, drop the powers to read and write any file (CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH) from the command about to run: its file modes then apply to it,
    as they do to an operator who is not root."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # PR_CAPBSET_DROP: dropped for good at exec
        if libc.prctl(24, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "cannot drop a capability")


def _fw_as_operator(db: Path, *args: str) -> subprocess.CompletedProcess:
    """The CLI as an operator who is not root (root reads and writes any file)."""
    kw = {"preexec_fn": _without_root_powers} if os.geteuid() == 0 else {}
    try:
        return subprocess.run([sys.executable, "-m", "framewatch", "--db", str(db), *args],
                              capture_output=True, text=True, timeout=120, **kw)  # fmt: skip
    except subprocess.SubprocessError as exc:  # a container that may not drop capabilities
        if "preexec_fn" not in str(exc):
            raise
        pytest.skip(f"root here cannot give up its file powers: {exc}")


@pytest.mark.parametrize("protected", ["journal", "store"])
def test_a_restore_over_a_read_only_journal_or_store_still_works(tmp_path, protected):
    """A journal (or store) made read-only, in a folder the operator may write: restore
    renames files in and always could; it now opened the journal for appending (its lock)
    and copied onto a file it had already given the store's read-only mode."""
    db = _store(tmp_path, n=3)
    sent = {"codebook": "g", "recipient": "ana@example.org", "status": "sent"}
    append_record(db, {"week": "2026-W46", **sent, "at": "2026-11-16T07:00:00"})
    folder = tmp_path / "bk"
    assert _fw(db, "backup", str(folder)).exit_code == 0
    append_record(db, {"week": "2026-W47", **sent, "at": "2026-11-23T07:00:00"})
    journal = Path(f"{db}.digest-sends.jsonl")
    os.chmod(journal if protected == "journal" else db, 0o444)
    done = _fw_as_operator(db, "restore", str(folder))
    assert done.returncode == 0, done.stdout + done.stderr
    assert [r["week"] for r in journal_records(db)] == ["2026-W46", "2026-W47"]
    assert _mode(journal if protected == "journal" else db) == 0o444
    assert not list(tmp_path.glob("*.restoring")) and not list(tmp_path.glob("*.tmp"))


def test_a_backup_onto_a_drive_that_keeps_no_modes_works(tmp_path, monkeypatch):
    """A FAT-formatted USB drive (or a share mounted without permissions) refuses chmod with
    EPERM: making the backup private is what it can be there, not a reason to fail it."""
    import errno

    db = _store(tmp_path, n=2)
    drive = tmp_path / "usb"
    real_chmod, real_fchmod = os.chmod, os.fchmod

    def no_modes(path, mode, *a, **kw):
        if str(path).startswith(str(drive)):
            raise PermissionError(errno.EPERM, "Operation not permitted", str(path))
        return real_chmod(path, mode, *a, **kw)

    def no_fmodes(fd, mode):
        if os.readlink(f"/proc/self/fd/{fd}").startswith(str(drive)):
            raise PermissionError(errno.EPERM, "Operation not permitted")
        return real_fchmod(fd, mode)

    monkeypatch.setattr(os, "chmod", no_modes)
    monkeypatch.setattr(os, "fchmod", no_fmodes)
    done = _fw(db, "backup", str(drive / "fw-2026-11-30"))
    assert done.exit_code == 0, done.output
    monkeypatch.undo()
    assert (drive / "fw-2026-11-30" / "manifest.json").exists()
    other = tmp_path / "restored.duckdb"
    assert _fw(other, "restore", str(drive / "fw-2026-11-30")).exit_code == 0
    assert _articles(other) == 2


@pytest.mark.skipif(os.geteuid() != 0, reason="only root may give a file to another user")
def test_a_restore_run_as_root_leaves_the_store_to_the_user_that_owned_it(tmp_path):
    """`sudo framewatch restore` over the service user's store: the restored store and journal
    were root's (0600: the service could not even read them) and serve failed to start."""
    db = _store(tmp_path, n=2)
    append_record(db, {"week": "2026-W46", "codebook": "g", "recipient": "ana@example.org",
                       "status": "sent", "at": "2026-11-16T07:00:00"})  # fmt: skip
    folder = tmp_path / "bk"
    assert _fw(db, "backup", str(folder)).exit_code == 0
    journal = Path(f"{db}.digest-sends.jsonl")
    for p in (db, journal):
        os.chown(p, NOBODY, NOBODY)
    done = _fw(db, "restore", str(folder))
    assert done.exit_code == 0, done.output
    for p in (db, journal):
        assert (os.stat(p).st_uid, os.stat(p).st_gid) == (NOBODY, NOBODY), p


# A run starting: it tries the store's write lock once, says whether it got it, and if not
# waits for it as `framewatch run` does; then it says how many articles the store it holds
# has, and holds it until told to stop.
_RUN = """
import sys
from framewatch.store import StoreBusy, open_store
try:
    store = open_store(sys.argv[1], lock_timeout_s=0)
    print("opened", flush=True)
except StoreBusy:
    print("waiting", flush=True)
    store = open_store(sys.argv[1], lock_timeout_s=120)
print(store.con.execute("SELECT count(*) FROM articles").fetchone()[0], flush=True)
sys.stdin.read()
store.close()
"""


def test_a_run_that_starts_during_a_restore_waits_and_opens_the_restored_store(
    tmp_path, monkeypatch
):
    """restore looked once whether the store was free, then copied and renamed without its
    lock: a run starting in between opened the store being replaced and wrote into it
    (now the file set aside), beside the restored one."""
    db = _store(tmp_path, n=3)
    folder = tmp_path / "bk"
    assert _fw(_store(tmp_path, "other.duckdb", n=1), "backup", str(folder)).exit_code == 0
    real, runs, said = backup_mod._copy, [], []

    def copy_then_a_run_starts(src: Path, dst: Path) -> None:
        real(src, dst)
        if dst.name.endswith(".restoring"):  # the store's copy, before anything is renamed
            run = subprocess.Popen([sys.executable, "-c", _RUN, str(db)], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, text=True)  # fmt: skip
            runs.append(run)
            said.append(run.stdout.readline().strip())

    monkeypatch.setattr(backup_mod, "_copy", copy_then_a_run_starts)
    try:
        done = _fw(db, "restore", str(folder))
        assert done.exit_code == 0, done.output
        (run,) = runs
        said.append(run.stdout.readline().strip())
    finally:
        for run in runs:
            run.stdin.close()
            try:
                run.wait(timeout=60)
            except subprocess.TimeoutExpired:
                run.kill()
                run.wait()
    assert said == ["waiting", "1"], said  # "opened", "3": the run held the replaced store
    assert run.returncode == 0
    (kept,) = tmp_path.glob("fw.duckdb.before-restore-*")
    assert _articles(kept) == 3 and _articles(db) == 1


def test_a_restore_while_a_run_holds_the_store_refuses_and_changes_nothing(tmp_path):
    db = _store(tmp_path, n=3)
    folder = tmp_path / "bk"
    assert _fw(_store(tmp_path, "other.duckdb", n=1), "backup", str(folder)).exit_code == 0
    inode = os.stat(db).st_ino
    run = subprocess.Popen([sys.executable, "-c", _RUN, str(db)], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert run.stdout.readline().strip() == "opened"
        done = _fw(db, "restore", str(folder))
    finally:
        run.stdin.close()
        run.wait(timeout=60)
    assert done.exit_code == 1, done.output
    assert "is in use" in done.output and "Traceback" not in done.output
    assert os.stat(db).st_ino == inode and _articles(db) == 3
    assert not list(tmp_path.glob("fw.duckdb.*restor*"))


def test_a_send_over_a_read_only_journal_fails_before_it_sends_a_restore_does_not(tmp_path):
    """journal.held opens a journal this user may not write for reading only when asked
    (a restore, which renames it): a send holding it so would send, then fail to record."""
    db = tmp_path / "fw.duckdb"
    append_record(db, {"week": "2026-W46", "codebook": "g", "recipient": "ana@example.org",
                       "status": "sent", "at": "2026-11-16T07:00:00"})  # fmt: skip
    os.chmod(Path(f"{db}.digest-sends.jsonl"), 0o444)
    hold = ("import sys; from framewatch.journal import held\n"
            "with held(sys.argv[1], read_only_ok=sys.argv[2] == 'restore'): print('held')")  # fmt: skip
    kw = {"preexec_fn": _without_root_powers} if os.geteuid() == 0 else {}
    said = {}
    for who in ("send", "restore"):
        try:
            said[who] = subprocess.run([sys.executable, "-c", hold, str(db), who],
                                       capture_output=True, text=True, timeout=60, **kw)  # fmt: skip
        except subprocess.SubprocessError as exc:
            if "preexec_fn" not in str(exc):
                raise
            pytest.skip(f"root here cannot give up its file powers: {exc}")
    assert said["send"].returncode != 0 and "PermissionError" in said["send"].stderr
    assert said["send"].stdout == ""
    assert said["restore"].returncode == 0 and said["restore"].stdout == "held\n"
