"""Dashboard logins: users with argon2id password hashes (argon2-cffi), and who is an admin.

The ``users`` table lives in the store (so backups and migrations carry it), but never
in the published snapshot: visitors' SQL runs on the snapshot, and an admin's query
must not read anyone's hash. Publishing the snapshot therefore moves the logins into a
private file beside it (mode 0600) that only the dashboard's sign-in reads.
"""

from __future__ import annotations

import functools
import json
import os
import re
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path

import duckdb
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from framewatch.errors import InputError

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
MIN_PASSWORD = 8
NOT_UTF8 = "password is not UTF-8 text (a file in another encoding?)"
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


class UserError(InputError):
    """A login request the user can fix: a bad name, password, or a name taken twice."""


@dataclass(frozen=True)
class User:
    name: str
    admin: bool
    created_at: datetime | None = None


def read_password(stdin_text: str) -> str:
    """The password from ``--password-stdin``: one line, or the same line twice.

    Two lines are a password and its confirmation (as a script's ``printf 'pw\\npw'``
    would send them); they must match.
    """
    lines = stdin_text.splitlines()
    while lines and not lines[-1]:  # a blank line at the end of a file is not a second try
        lines.pop()
    if len(lines) > 2:
        raise UserError(
            "--password-stdin expects one line (the password), or two (it and its confirmation)"
        )
    password = lines[0] if lines else ""
    if not password:
        raise UserError("empty password on standard input")
    if len(lines) == 2 and lines[1] != password:
        raise UserError("the two passwords on standard input do not match")
    return password


def check_password(password: str) -> None:
    if not password:
        raise UserError("empty password")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password too short: use at least {MIN_PASSWORD} characters")
    if password != password.strip():
        raise UserError("password starts or ends with a space (a copy-paste slip?)")
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:  # bytes that are not UTF-8 on standard input
        raise UserError(NOT_UTF8) from None


def check_name(name: str) -> None:
    if not NAME_RE.fullmatch(name):
        raise UserError(
            f"user name {name!r} not allowed: 1-64 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit"
        )


def add_user(con: duckdb.DuckDBPyConnection, name: str, password: str, admin: bool) -> User:
    """Store a new user with the hash of their password; a taken name is refused."""
    check_name(name)
    check_password(password)
    if con.execute("SELECT 1 FROM users WHERE lower(name) = lower(?)", [name]).fetchone():
        raise UserError(
            f"user {name!r} exists already (`framewatch users passwd {name}` sets a new password)"
        )
    con.execute(
        "INSERT INTO users (name, password_hash, admin) VALUES (?, ?, ?)",
        [name, _hasher.hash(password), admin],
    )
    return User(name, admin)


def remove_user(con: duckdb.DuckDBPyConnection, name: str) -> str:
    """Remove a user, named in any case (as sign-in and `add` read names); their name."""
    found = con.execute(
        "DELETE FROM users WHERE lower(name) = lower(?) RETURNING name", [name]
    ).fetchall()
    if not found:
        raise UserError(f"no user {name!r} (see `framewatch users list`)")
    return found[0][0]


def set_password(con: duckdb.DuckDBPyConnection, name: str, password: str) -> str:
    """A new password for a user named in any case; their open sessions end. Their name."""
    check_password(password)
    found = con.execute(
        "UPDATE users SET password_hash = ? WHERE lower(name) = lower(?) RETURNING name",
        [_hasher.hash(password), name],
    ).fetchall()
    if not found:
        raise UserError(f"no user {name!r} (see `framewatch users list`)")
    return found[0][0]


def list_users(con: duckdb.DuckDBPyConnection) -> list[User]:
    rows = con.execute("SELECT name, admin, created_at FROM users ORDER BY name").fetchall()
    return [User(*r) for r in rows]


def verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@functools.cache
def dummy_hash() -> str:
    """A hash of a password nobody has: an unknown name costs the same time as a wrong
    password, so response times do not tell which names exist."""
    return _hasher.hash("framewatch: no such user")


def credentials_path(snapshot: Path) -> Path:
    """The private file of logins published beside a snapshot."""
    return Path(str(snapshot) + ".logins")


def publish_credentials(con: duckdb.DuckDBPyConnection, snapshot_tmp: Path, target: Path) -> None:
    """Move the logins out of a fresh snapshot copy into their private file.

    ``con`` is the live store, ``snapshot_tmp`` the copy about to become ``target``.
    """
    has_table = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'users' AND schema_name = 'main'"
        " AND database_name = current_database()"
    ).fetchone()[0]
    if not has_table:
        return
    rows = con.execute("SELECT name, password_hash, admin FROM users ORDER BY name").fetchall()
    path = credentials_path(target)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"users": [{"name": n, "hash": h, "admin": a} for n, h, a in rows]}, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    if not rows:
        return  # an empty table tells nothing; skip reopening the copy (publishing stays cheap)
    copy = duckdb.connect(str(snapshot_tmp))
    try:
        copy.execute("DROP TABLE IF EXISTS users")
        copy.execute("CHECKPOINT")
    finally:
        copy.close()


def reinstate_credentials(copy_path: Path, snapshot: Path) -> None:
    """Put the published logins back into a copy of the snapshot (a backup taken from it).

    The snapshot lacks the users table; a store restored from it must not lose every login.
    """
    logins = load_credentials(snapshot)
    copy = duckdb.connect(str(copy_path))
    try:
        has_table = copy.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'users'"
            " AND schema_name = 'main' AND database_name = current_database()"
        ).fetchone()[0]
        if has_table:
            return
        sql = (resources.files("framewatch") / "migrations" / "014_users.sql").read_text("utf-8")
        copy.execute(sql)
        for u in sorted(logins.values(), key=lambda u: u.name):
            copy.execute(
                "INSERT INTO users (name, password_hash, admin) VALUES (?, ?, ?)",
                [u.name, u.password_hash, u.admin],
            )
        copy.execute("CHECKPOINT")
    finally:
        copy.close()


@dataclass(frozen=True)
class Login:
    name: str
    password_hash: str
    admin: bool


def load_credentials(snapshot: Path) -> dict[str, Login]:
    """The published logins by lower-case name; none when nothing was published yet."""
    try:
        data = json.loads(credentials_path(snapshot).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return {u["name"].lower(): Login(u["name"], u["hash"], bool(u["admin"])) for u in data["users"]}
