"""`framewatch restore` beside other processes and users: a digest send holding the journal,
a run holding the store, a read-only journal or store, a drive without modes, root."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_backup_review import _articles, _fw, _mode, _store

import framewatch.backup as backup_mod
from framewatch.journal import append_record, held, journal_records


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


def test_a_restore_on_a_filesystem_without_locks_restores_and_says_so(tmp_path, monkeypatch):
    """A store on a share that keeps no POSIX locks (NFS without its lock service): lockf
    fails with ENOLCK, and the restore stopped with "internal error" instead of restoring."""
    import errno

    db = _store(tmp_path, n=3)
    folder = tmp_path / "bk"
    assert _fw(_store(tmp_path, "other.duckdb", n=1), "backup", str(folder)).exit_code == 0

    def no_locks(fd, cmd, *args):
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr(backup_mod.fcntl, "lockf", no_locks)
    done = _fw(db, "restore", str(folder))
    assert done.exit_code == 0, done.output
    said = " ".join(done.output.split())
    assert "without file locks" in said and "internal error" not in said, said
    assert said.count("without file locks") == 1, said
    assert _articles(db) == 1
    (kept,) = tmp_path.glob("fw.duckdb.before-restore-*")
    assert _articles(kept) == 3
