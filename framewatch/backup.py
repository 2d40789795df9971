"""Backups of the store: a consistent copy taken while the service runs, and its restore.

A backup is a folder: the store file (checkpointed, so it needs no write-ahead log),
the digest send journal beside it, and manifest.json with checksums and row counts.
The copy is taken under the store's write lock (DuckDB's own file lock): `serve` holds
it only during a run, so a backup waits for the run to end, up to ``wait_s``. A run
that is still busy after that leaves the last published snapshot, which is itself a
checkpointed copy taken at a batch boundary; the manifest says which one it is, and when
that snapshot was written.

The store holds the dashboard's password hashes (the users table): the folder is made 0700
and its files 0600, whatever the umask, and a restore puts the store in place with the mode
of the store it replaces (0600 when there was none).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import stat
import subprocess
from collections.abc import Callable, Iterator
from contextlib import suppress
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from framewatch.errors import InputError
from framewatch.journal import held, journal_path
from framewatch.service_marker import serving
from framewatch.store import (
    StoreBusy,
    StoreError,
    schema_version_known,
    snapshot_path,
    utcnow,
    write_connection,
)
from framewatch.users import reinstate_credentials

STORE_FILE = "framewatch.duckdb"
JOURNAL_FILE = "digest-sends.jsonl"
MANIFEST = "manifest.json"
COUNTED = ("sources", "articles", "embeddings", "stories", "story_members", "article_framing",
           "runs", "digest_sends")  # fmt: skip


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _private(path: Path) -> None:
    """Create (or empty) ``path`` as 0600 whatever the umask, before anything is written into
    it: cp and copyfile onto an existing file keep its mode, so no copy is ever readable by
    others, not even for a moment. A file's final mode (``_chmod``) is set once it is
    written: a read-only one could not be written into."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        _chmod(fd, 0o600)
    finally:
        os.close(fd)


def _chmod(target: int | Path, mode: int) -> None:
    """Set a mode where the filesystem keeps modes: a FAT-formatted drive, or a share mounted
    without them, refuses chmod (EPERM); there the backup is as private as the drive is."""
    try:
        if isinstance(target, int):
            os.fchmod(target, mode)
        else:
            os.chmod(target, mode)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise


def _copy(src: Path, dst: Path) -> None:
    """Copy in a child process and fsync: opening and closing the live file in this
    process would drop DuckDB's lock on it (see Store.publish_snapshot)."""
    done = subprocess.run(
        ["cp", "--reflink=auto", str(src), str(dst)], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise StoreError(f"cannot copy {src} to {dst}: {done.stderr.strip()}")
    with open(dst, "rb") as fh:
        os.fsync(fh.fileno())


def _counts(path: Path) -> tuple[int, dict[str, int]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        version = con.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
        counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in COUNTED}
    finally:
        con.close()
    return version, counts


def _lock(db: Path, wait_s: float) -> duckdb.DuckDBPyConnection | None:
    """The store's write lock, waiting up to ``wait_s`` for a run to let go of it; None when
    it does not. The store is not migrated: a backup is a copy of the store as it is (taken
    before an upgrade, it must still open with the framewatch it came from)."""
    try:
        return write_connection(db, wait_s)
    except StoreBusy:
        return None
    except StoreError as exc:  # damaged, or not a store: no snapshot stands in for it
        raise StoreError(f"cannot back up {db}: {exc.__cause__ or exc}") from exc


def _fsync(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def backup(db: str | os.PathLike, folder: str | os.PathLike, wait_s: float = 600.0) -> dict:
    """Write a backup of ``db`` into ``folder`` (created; must be empty) and return its manifest.

    The manifest is written last, under a temporary name and renamed: a folder without one
    is no backup. A backup that fails leaves nothing in the folder, so it can be tried again.
    """
    db, folder = Path(db), Path(folder)
    if not db.exists():
        raise StoreError(f"no store at {db}")
    if folder.exists() and any(folder.iterdir()):
        if not _incomplete(folder):
            raise InputError(f"{folder} is not empty; give a new folder for the backup")
        for leftover in folder.iterdir():  # a backup killed before its manifest: redo it
            leftover.unlink()
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    if created:  # the copy holds the password hashes; a folder the operator made keeps its mode
        _chmod(folder, 0o700)
    try:
        return _write_backup(db, folder, wait_s)
    except BaseException:
        for name in (STORE_FILE + ".part", STORE_FILE, JOURNAL_FILE, MANIFEST + ".part", MANIFEST):
            with suppress(OSError):
                (folder / name).unlink()
        if created:
            with suppress(OSError):
                folder.rmdir()
        raise


def _write_backup(db: Path, folder: Path, wait_s: float) -> dict:
    target = folder / STORE_FILE
    tmp = folder / (STORE_FILE + ".part")
    _private(tmp)
    con = _lock(db, wait_s)
    written = None
    if con is not None:
        try:
            con.execute("CHECKPOINT")
            _copy(db, tmp)
            _copy_journal(db, folder)
        finally:
            con.close()
        source = "store"
    else:
        snap = snapshot_path(db)
        if not snap.exists():
            raise StoreError(f"{db} is being written and has no snapshot yet; try again later")
        written = _copy_snapshot(snap, tmp)
        reinstate_credentials(tmp, snap)  # the snapshot never carries the logins table
        _copy_journal(db, folder)
        source = "snapshot"
    os.replace(tmp, target)
    version, counts = _counts(target)
    files = {STORE_FILE: _sha256(target)}
    if (folder / JOURNAL_FILE).exists():
        _fsync(folder / JOURNAL_FILE)
        files[JOURNAL_FILE] = _sha256(folder / JOURNAL_FILE)
    manifest = {"created_at": utcnow().isoformat(timespec="seconds"), "store": str(db.resolve()),
                "source": source, "schema_version": version, "counts": counts,
                "sha256": files}  # fmt: skip
    if written is not None:  # how old the copied rows are: the snapshot's, not the backup's time
        at = datetime.fromtimestamp(written, timezone.utc)
        manifest["snapshot_written_at"] = at.isoformat(timespec="seconds")
        manifest["snapshot_age_s"] = max(0, round(datetime.now(timezone.utc).timestamp() - written))
    part = folder / (MANIFEST + ".part")
    _private(part)
    with open(part, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(manifest, indent=2) + "\n")
    _fsync(part)
    os.replace(part, folder / MANIFEST)
    return manifest


def _copy_journal(db: Path, folder: Path) -> None:
    """Sends are appended under no store lock: copy a whole file."""
    if journal_path(db).exists():
        _private(folder / JOURNAL_FILE)
        shutil.copyfile(journal_path(db), folder / JOURNAL_FILE)


def _copy_snapshot(snap: Path, tmp: Path) -> float:
    """Copy the published snapshot; returns when it was written (its file's mtime: a snapshot
    is written beside it and renamed into place, which keeps the mtime of the write). A reader
    may publish a newer one during the copy; then the copy is taken again, so the time
    returned is the copied file's (or, after three tries, one no later than it)."""
    for _ in range(3):
        before = os.stat(snap)
        _copy(snap, tmp)
        after = os.stat(snap)
        if (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns):
            break
    return before.st_mtime


def _incomplete(folder: Path) -> bool:
    """A backup stopped before its manifest (killed, SIGTERM from a timer): only the files
    a backup writes, a store among them, and no manifest."""
    names = {p.name for p in folder.iterdir() if p.is_file()}
    if len(names) != sum(1 for _ in folder.iterdir()):
        return False  # a subfolder: not ours
    ours = {STORE_FILE, STORE_FILE + ".part", JOURNAL_FILE, MANIFEST + ".part"}
    return bool(names) and names <= ours and bool(names & {STORE_FILE, STORE_FILE + ".part"})


def verify(folder: str | os.PathLike) -> dict:
    """The manifest of a complete, unaltered backup; a clear error otherwise."""
    folder = Path(folder)
    mpath = folder / MANIFEST
    if not folder.exists():
        raise InputError(f"no backup at {folder}: the folder does not exist")
    if not mpath.exists():
        if folder.is_dir() and _incomplete(folder):
            raise StoreError(
                f"{folder} holds an incomplete backup (no {MANIFEST}: it was stopped before it"
                " finished); use another backup"
            )
        raise InputError(f"{folder} is not a framewatch backup (no {MANIFEST})")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
        files = dict(manifest["sha256"])
        int(manifest.get("schema_version", 0))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise StoreError(f"{mpath} is damaged: {exc}") from exc
    if STORE_FILE not in files:
        raise StoreError(f"{mpath} is damaged: it lists no {STORE_FILE}")
    for name, digest in files.items():
        p = folder / name
        if not p.exists() or _sha256(p) != digest:
            raise StoreError(f"{p} is missing or does not match the manifest's checksum")
    if int(manifest.get("schema_version", 0)) > schema_version_known():
        raise StoreError(
            f"the backup has schema version {manifest['schema_version']}; this framewatch knows "
            f"up to {schema_version_known()}. Upgrade framewatch to restore it."
        )
    return manifest


def restore(
    folder: str | os.PathLike,
    db: str | os.PathLike,
    on_wait: Callable[[str], None] | None = None,
) -> tuple[dict, Path | None]:
    """Make ``db`` the backup in ``folder``. An existing store is kept beside it, renamed;
    returns the backup's manifest and that name (None when there was none; the log's name
    when only a log was left). Refuses while a process writes ``db``.

    Every file is copied beside its target under a temporary name and checked against the
    manifest's checksum before anything is renamed: a copy that a full disk cut short, or
    that a bit flip altered, fails the restore and leaves the current store as it was.
    The journals are merged holding the journal's lock, the one a `digest --send` holds
    while it sends and records (``journal.held``): a send waits for the restore (``on_wait``
    is told when the restore waits for one), and its record is not lost with the old file.
    """
    folder, db = Path(folder), Path(db)
    manifest = verify(folder)
    if (pid := serving(db)) is not None:
        raise StoreError(
            f"`framewatch serve` (pid {pid}) works on {db}: stop it first"
            " (systemctl stop framewatch), then restore, then start it again"
        )
    if not db.parent.exists():
        raise InputError(f"folder {db.parent} does not exist")
    tmp = db.with_name(db.name + ".restoring")
    live = journal_path(db)
    jtmp = live.with_name(live.name + ".tmp")
    with contextlib.ExitStack() as locks:
        # The store's write lock, held until every file is in place: a run that starts
        # meanwhile waits for it (as for any writer), then opens the restored store, not the
        # one set aside; one that holds it already makes the restore refuse.
        locks.enter_context(_store_held(db, on_wait))
        was = os.stat(db) if db.exists() else None
        mode = stat.S_IMODE(was.st_mode) if was else 0o600
        try:
            _private(tmp)
            _copy(folder / STORE_FILE, tmp)
            _check_copy(tmp, manifest["sha256"][STORE_FILE])
            # Locked before it is renamed in (and before it may become read-only): no run
            # opens the restored store before its journal is in place and the snapshot gone.
            # Nothing here opens it after this: closing any descriptor of it drops the lock.
            locks.enter_context(_store_held(tmp))  # told once, for the store
            _chmod(tmp, mode)  # once written: the replaced store may be read-only
            _same_owner(tmp, was)
            saved = manifest["sha256"].get(JOURNAL_FILE)
            with _journal_held(db, folder / JOURNAL_FILE, saved, on_wait) as merged:
                if merged is not None:
                    jwas = os.stat(live) if merged[1] else was
                    jmode = stat.S_IMODE(jwas.st_mode) if merged[1] else mode
                    _write_checked(jtmp, merged[0], jmode)
                    _same_owner(jtmp, jwas)
                kept = _swap(tmp, db)
                if merged is not None:
                    os.replace(jtmp, live)
        except BaseException:
            # e.g. the disk filled up: leave no partial copy behind
            tmp.unlink(missing_ok=True)
            jtmp.unlink(missing_ok=True)
            raise
        snapshot_path(db).unlink(missing_ok=True)  # readers publish a fresh one from it
    return manifest, kept


# lockf's errors where the filesystem keeps no POSIX locks (NFS without its lock service,
# some FUSE and network shares): there is no lock to wait for, and none to take.
_NO_LOCKS = (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS)


@contextlib.contextmanager
def _store_held(path: Path, note: Callable[[str], None] | None = None) -> Iterator[None]:
    """The store's write lock as DuckDB takes it (a POSIX write lock on the whole file,
    which every `framewatch run`, serve's run, import and backup hold while they write),
    taken on the file itself: a store that DuckDB cannot open (damaged, or from another
    version) is locked as well, and none is opened, so none is replayed or migrated.
    Refuses (:class:`StoreBusy`) when a process holds it, as restore always did. Nothing
    to hold when there is no file, or when this user may not write it (no run could), or
    on a filesystem that keeps no locks (``note`` is told: the restore goes on, as it did
    before it took the lock, instead of failing with an internal error)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except (FileNotFoundError, PermissionError):
        yield
        return
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released when fd closes
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EAGAIN):
                raise StoreBusy(
                    f"{path} is in use (a run, or another process, is writing it); stop"
                    " `framewatch serve` and runs, or let the run end, then restore again"
                ) from None
            if exc.errno not in _NO_LOCKS:
                raise
            if note is not None:
                why = exc.strerror or os.strerror(exc.errno)
                note(f"{path} is on a filesystem without file locks ({why}): restoring"
                     " without the store's lock; make sure no run writes it")  # fmt: skip
        yield
    finally:
        os.close(fd)


def _same_owner(path: Path, was: os.stat_result | None) -> None:
    """Root restoring a service user's store (sudo): the file it puts in place keeps the
    replaced file's owner, or the service could no longer open (nor append to) it."""
    if was is not None and os.geteuid() == 0:
        os.chown(path, was.st_uid, was.st_gid)


def _check_copy(path: Path, digest: str) -> None:
    if _sha256(path) != digest:
        raise StoreError(
            f"the copy {path} does not match the manifest's checksum (a full disk, or a failing"
            " one?); nothing was replaced"
        )


def _write_checked(path: Path, data: bytes, mode: int) -> None:
    _private(path)
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    _check_copy(path, hashlib.sha256(data).hexdigest())
    _chmod(path, mode)  # once written: the replaced journal may be read-only


def _swap(tmp: Path, db: Path) -> Path | None:
    """Set the store (and a log left beside it) aside and rename ``tmp`` into its place."""
    kept = None
    wal = Path(str(db) + ".wal")
    # A write-ahead log left beside a store that is gone (deleted, or lost) must go too:
    # DuckDB would replay it onto the restored file, mixing another store's rows into it.
    if db.exists() or wal.exists():
        stamp = f"{db.name}.before-restore-{datetime.now():%Y%m%dT%H%M%S}"
        kept, n = db.with_name(stamp), 1
        while kept.exists() or Path(str(kept) + ".wal").exists():  # never overwrite a kept store
            n += 1
            kept = db.with_name(f"{stamp}-{n}")
        if db.exists():
            os.replace(db, kept)
            if wal.exists():
                os.replace(wal, Path(str(kept) + ".wal"))
        else:
            kept = Path(str(kept) + ".wal")
            os.replace(wal, kept)
    os.replace(tmp, db)
    return kept


@contextlib.contextmanager
def _journal_held(
    db: Path, saved: Path, digest: str | None, on_wait: Callable[[str], None] | None
) -> Iterator[tuple[bytes, bool] | None]:
    """The merged journal (and whether a live one existed), computed and used holding the
    journal's lock; None when the backup has no journal (the live one stays as it is).
    ``digest`` is the manifest's checksum of the backup's journal ``saved``.

    The restored journal is the backup's plus every send recorded since: those e-mails
    went out, and the journal is what stops a week's digest from going out twice. The lock
    is ``journal.held``'s (flock on the journal file): a send reads and appends by the path,
    so one that waited reads the merged file once the restore lets go."""
    if digest is None:  # the backup lists no journal
        yield None
        return
    data = saved.read_bytes()  # checked again: these bytes, not the file verify() read, go in
    if hashlib.sha256(data).hexdigest() != digest:
        raise StoreError(f"{saved} does not match the manifest's checksum; nothing was replaced")
    live = journal_path(db)
    existed = live.exists()

    def waiting() -> None:
        if on_wait is not None:
            on_wait(f"waiting for a digest send to finish: it holds {live}")

    # read_only_ok: a read-only journal is renamed away, as restore always could
    with held(db, on_wait=waiting, read_only_ok=True):
        # a send may have made the journal after the look above and recorded while this
        # waited; held has checked that the file it locked is the one at ``live``
        existed = existed or live.stat().st_size > 0
        lines = data.decode("utf-8").splitlines()
        if existed:
            seen = set(lines)
            lines += [ln for ln in live.read_text(encoding="utf-8").splitlines() if ln not in seen]
        yield "".join(ln + "\n" for ln in lines).encode("utf-8"), existed
