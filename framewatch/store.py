"""The DuckDB store: the only shared state of framewatch.

One writing process at a time (DuckDB's rule). Readers never open the live file:
each writing command publishes a consistent snapshot file atomically when it ends a
batch of work, and readers (``framewatch sql``, the dashboard, the digest,
``framewatch.connect``) open that snapshot read-only. A reader therefore never
blocks the crawler and never sees half a batch.
"""

from __future__ import annotations

import contextlib
import glob
import os
import subprocess
import time
import warnings
from collections.abc import Iterator
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

import duckdb

from framewatch.errors import FramewatchError

DEFAULT_DB = "framewatch.duckdb"


class StoreError(FramewatchError, RuntimeError):
    """A problem with the store that the user can act on."""


class StoreBusy(StoreError):
    """Another process holds the store's write lock (a run, serve, a backup)."""


def _migrations() -> list[tuple[int, str, str]]:
    files = resources.files("framewatch") / "migrations"
    found = []
    for entry in files.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:3].isdigit():
            found.append((int(name[:3]), name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def schema_version_known() -> int:
    """The newest schema version this code knows how to use."""
    return max(v for v, _, _ in _migrations())


def require_store(path: str | os.PathLike) -> None:
    """A clear error for a store that does not exist (a mistyped --db), instead of a new one."""
    if not Path(path).exists():
        raise StoreError(f"no store at {path}: run `framewatch fetch` or `framewatch demo` first")


def snapshot_path(db_path: str | os.PathLike) -> Path:
    return Path(str(db_path) + ".snapshot")


def utcnow() -> datetime:
    """Naive UTC: every TIMESTAMP in the store is UTC."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _is_lock_error(exc: Exception) -> bool:
    return "lock" in str(exc).lower()


class Store:
    """A writable handle on the store; created by :func:`open_store`."""

    def __init__(
        self, path: Path, con: duckdb.DuckDBPyConnection, snapshot_interval_s: float = 30.0
    ):
        self.path = path
        self.con = con
        self.snapshot_interval_s = snapshot_interval_s
        self._published_at = time.monotonic()

    # -- transactions ---------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One batch = one transaction: a killed run leaves no half batch behind."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        else:
            self.con.execute("COMMIT")
            self.maybe_publish()

    def execute(self, sql: str, params: object = None) -> duckdb.DuckDBPyConnection:
        return self.con.execute(sql, params) if params is not None else self.con.execute(sql)

    def arrow(self, sql: str, params: list | None = None):
        """A query's result as an Arrow table.

        Uses ``execute`` rather than ``sql``: a relation refuses to run while an earlier
        ``fetchone()`` result is still open on the connection.
        """
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Arrow output on a DB-API result")
            return self.con.execute(sql, params or []).to_arrow_table()

    @contextlib.contextmanager
    def registered(self, name: str, table) -> Iterator[None]:
        """An Arrow table visible to SQL as ``name`` for the duration of the block."""
        self.con.register(name, table)
        try:
            yield
        finally:
            self.con.unregister(name)

    def schema_version(self) -> int:
        return _current_version(self.con)

    # -- settings kept in the file ------------------------------------------------
    def get_setting(self, key: str) -> str | None:
        row = self.con.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def set_setting(self, key: str, value: str) -> None:
        self.con.execute(
            "INSERT INTO settings VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )

    # -- snapshots ------------------------------------------------------------
    def publish_snapshot(self) -> Path:
        """Copy the checkpointed file next to itself and swap it in atomically."""
        self.con.execute("CHECKPOINT")
        target = snapshot_path(self.path)
        tmp = target.with_name(target.name + f".tmp{os.getpid()}")
        for stale in target.parent.glob(glob.escape(target.name) + ".tmp*"):
            stale.unlink(missing_ok=True)  # a copy cut short by a kill; only a writer publishes
        # Copy in a child process: opening and closing the live file here would drop
        # DuckDB's POSIX lock on it (closing any descriptor releases a process's locks).
        done = subprocess.run(
            ["cp", "--reflink=auto", str(self.path), str(tmp)], capture_output=True, text=True
        )
        if done.returncode != 0:
            raise StoreError(f"cannot write snapshot {tmp}: {done.stderr.strip()}")
        from framewatch.users import publish_credentials

        publish_credentials(self.con, tmp, target)  # readers' SQL never sees password hashes
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        self._published_at = time.monotonic()
        return target

    def maybe_publish(self) -> None:
        """Publish after a committed batch when the last snapshot is old enough.

        Long runs thus show readers their progress, batch by batch, never half of one.
        """
        if time.monotonic() - self._published_at >= self.snapshot_interval_s:
            self.publish_snapshot()

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _current_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
    ).fetchone()[0]
    if not exists:
        return 0
    return con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]


def migrate(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Apply pending numbered migrations, each in its own transaction."""
    current = _current_version(con)
    known = schema_version_known()
    if current > known:
        raise StoreError(
            f"{path} has schema version {current}, but this framewatch only knows up to "
            f"version {known}. Upgrade framewatch to open it."
        )
    if current == 0:
        con.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
        )
    for version, name, sql in _migrations():
        if version <= current:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql)
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", [version, name, utcnow()])
            con.execute("COMMIT")
        except Exception as exc:
            con.execute("ROLLBACK")
            raise StoreError(f"migration {name} failed on {path}: {exc}") from exc
    return known


def write_connection(p: Path, lock_timeout_s: float) -> duckdb.DuckDBPyConnection:
    """The store's write lock, as the file is (not migrated: a backup copies it so),
    waiting up to ``lock_timeout_s`` for another writer to finish. :class:`StoreBusy` when
    it does not; StoreError when the file cannot be opened at all (damaged, not a store)."""
    deadline = time.monotonic() + lock_timeout_s
    while True:
        try:
            return duckdb.connect(str(p))
        except duckdb.Error as exc:
            if not _is_lock_error(exc):
                raise StoreError(f"cannot open {p}: {exc}") from exc
            if time.monotonic() >= deadline:
                raise StoreBusy(
                    f"{p} is being written by another framewatch process; try again when it ends"
                ) from exc
            time.sleep(0.2)


def open_store(path: str | os.PathLike = DEFAULT_DB, lock_timeout_s: float = 30.0) -> Store:
    """Open (creating and migrating) the store for writing.

    Waits up to ``lock_timeout_s`` for another writer to finish, so a short-lived
    writer (a reader refreshing the snapshot) never makes the crawler fail.
    """
    p = Path(path)
    if p.parent and not p.parent.exists():
        raise StoreError(f"folder {p.parent} does not exist (store {p})")
    con = write_connection(p, lock_timeout_s)
    try:
        migrate(con, p)
    except Exception:
        con.close()
        raise
    return Store(p, con)


def connect(
    path: str | os.PathLike | None = None, read_only: bool = True, *, sandbox: bool = False
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection for notebooks and readers, on the current snapshot.

    With ``read_only=False`` you get the live store for writing (one writer at a time).
    ``sandbox=True`` is for connections that run other people's SQL (``framewatch sql``,
    the dashboard): no files, network or extensions beyond the store itself, and the
    configuration locked so no query can turn that back on.
    """
    p = Path(path or os.environ.get("FRAMEWATCH_DB") or DEFAULT_DB)
    if not read_only:
        return open_store(p).con
    snap = snapshot_path(p)
    stale = not snap.exists() or (p.exists() and p.stat().st_mtime > snap.stat().st_mtime + 1)
    if stale and p.exists():
        # Refresh only when nobody is writing; never wait for, or block, a writer.
        try:
            store = open_store(p, lock_timeout_s=0)
        except StoreBusy:
            store = None
        except StoreError:
            if not snap.exists():
                raise  # damaged, or not a store: say so, not "being written"
            store = None
        if store is not None:
            with store:
                store.publish_snapshot()
    if not snap.exists():
        require_store(p)
        raise StoreError(f"{p} is being written and has no snapshot yet; try again shortly")

    def on_snapshot() -> duckdb.DuckDBPyConnection:
        return _sandboxed(snap) if sandbox else duckdb.connect(str(snap), read_only=True)

    con = on_snapshot()
    version = _current_version(con)
    if version < schema_version_known() and p.exists():
        # Written by an older framewatch: upgrade and publish once, or views that this
        # code reads (a column a migration added) would fail as if framewatch had a bug.
        con.close()
        try:
            store = open_store(p, lock_timeout_s=0)
        except StoreError:
            raise StoreError(
                f"{p} is being upgraded by a running framewatch; try again shortly"
            ) from None
        with store:
            store.publish_snapshot()
        con = on_snapshot()
        version = _current_version(con)
    if version > schema_version_known():
        con.close()
        raise StoreError(
            f"{p} has schema version {version}; this framewatch knows up to "
            f"{schema_version_known()}. Upgrade framewatch."
        )
    return con


def _sandboxed(snap: Path) -> duckdb.DuckDBPyConnection:
    """The snapshot attached to a fresh in-memory database, then external access cut off.

    A database instance of its own: DuckDB shares one instance per file within a process,
    and refuses a second connection to it with other settings, so a sandboxed reader
    must never be that shared instance.
    """
    alias = snap.name.split(".")[0]
    if not alias or alias.lower() in ("memory", "system", "temp", "main"):
        alias = "store"
    con = duckdb.connect(":memory:")
    quoted = '"' + alias.replace('"', '""') + '"'
    con.execute(f"ATTACH '{str(snap).replace(chr(39), chr(39) * 2)}' AS {quoted} (READ_ONLY)")
    con.execute(f"USE {quoted}")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con
