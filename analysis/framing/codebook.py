"""Codebooks: TOML files of frames. Built-in ones ship with framewatch; users add their own.

Other tools and people write these files, so every mistake gets a message that
names the line (syntax) or the field (structure).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import tomllib

from framewatch.errors import InputError

_ID = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")
_EXAMPLES_IN = re.compile(r"^examples_[a-z]{2,3}$")  # examples_de, examples_ar, ...


class CodebookError(InputError):
    pass


@dataclass(frozen=True)
class Frame:
    id: str
    label: str
    description: str
    examples: tuple[str, ...]
    # Examples in other languages (``examples_de = [...]``): (language, examples) pairs.
    translated: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def all_examples(self) -> tuple[str, ...]:
        """The English examples and those in every other language, as prototypes."""
        return self.examples + tuple(e for _, ex in self.translated for e in ex)


@dataclass(frozen=True)
class Codebook:
    id: str
    name: str
    description: str
    frames: tuple[Frame, ...]
    source: str  # the TOML text
    origin: str  # "built-in" or a path

    @property
    def hash(self) -> str:
        """Content hash of what classification depends on, not of comments or layout."""
        canon = repr([(f.id, f.description, f.examples, *((f.translated,) if f.translated else ()))
                      for f in self.frames])  # fmt: skip
        return hashlib.sha256(canon.encode()).hexdigest()[:16]

    @property
    def frame_ids(self) -> list[str]:
        return [f.id for f in self.frames]

    def frame(self, frame_id: str) -> Frame:
        for f in self.frames:
            if f.id == frame_id:
                return f
        raise CodebookError(
            f"codebook {self.id} has no frame {frame_id!r} (frames: {', '.join(self.frame_ids)})"
        )


def _frame_line(text: str, index: int) -> int:
    """1-based line of the index-th [[frames]] table, for error messages."""
    n = -1
    for i, line in enumerate(text.splitlines(), 1):
        if line.strip() == "[[frames]]":
            n += 1
            if n == index:
                return i
    return 0


def parse_codebook(text: str, origin: str) -> Codebook:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CodebookError(f"{origin}: {exc}") from exc

    def need_str(obj: dict, key: str, where: str, line: int = 0) -> str:
        val = obj.get(key)
        at = f" (line {line})" if line else ""
        if not isinstance(val, str) or not val.strip():
            raise CodebookError(f"{origin}: {where}{key} must be a non-empty string{at}")
        return val.strip()

    cid = need_str(data, "id", "")
    if not _ID.match(cid):
        raise CodebookError(f"{origin}: id {cid!r} must be lower-case letters, digits, - or _")
    frames_raw = data.get("frames")
    if not isinstance(frames_raw, list) or len(frames_raw) < 2:
        raise CodebookError(f"{origin}: needs at least two [[frames]] tables")
    frames = []
    seen = set()
    for i, f in enumerate(frames_raw):
        line = _frame_line(text, i)
        where = f"frames[{i}]."
        if not isinstance(f, dict):
            raise CodebookError(f"{origin}: frames[{i}] must be a [[frames]] table, got {f!r}")
        fid = need_str(f, "id", where, line)
        if not _ID.match(fid) or fid == "none":
            raise CodebookError(
                f"{origin}: frames[{i}].id {fid!r} is not a valid frame id (line {line})"
            )
        if fid in seen:
            raise CodebookError(f"{origin}: frames[{i}].id {fid!r} is used twice (line {line})")
        seen.add(fid)
        translated = []
        for key in ["examples", *sorted(k for k in f if _EXAMPLES_IN.match(k))]:
            examples = f.get(key, [])
            if not isinstance(examples, list) or not all(
                isinstance(e, str) and e.strip() for e in examples
            ):
                raise CodebookError(
                    f"{origin}: frames[{i}].{key} must be a list of strings (line {line})"
                )
            if key != "examples":
                translated.append((key.split("_", 1)[1], tuple(e.strip() for e in examples)))
        examples = f.get("examples", [])
        known = {"id", "label", "description", "examples"}
        unknown = {k for k in f if not _EXAMPLES_IN.match(k)} - known
        if unknown:
            raise CodebookError(
                f"{origin}: frames[{i}] has unknown key {sorted(unknown)[0]!r} (line {line})"
            )
        frames.append(
            Frame(
                fid,
                need_str(f, "label", where, line),
                need_str(f, "description", where, line),
                tuple(e.strip() for e in examples),
                tuple(translated),
            )  # fmt: skip
        )
    return Codebook(
        id=cid, name=need_str(data, "name", ""), description=str(data.get("description", "")),
        frames=tuple(frames), source=text, origin=origin,
    )  # fmt: skip


def load_codebook_file(path: Path) -> Codebook:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CodebookError(f"{path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise CodebookError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    return parse_codebook(text, str(path))


def builtin_codebooks() -> dict[str, Codebook]:
    folder = resources.files("framewatch.analysis.framing") / "codebooks"
    out = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            cb = parse_codebook(entry.read_text(encoding="utf-8"), "built-in")
            out[cb.id] = cb
    return out


def all_codebooks(store=None) -> dict[str, Codebook]:
    """Built-in codebooks, then those added to the store (which may replace them)."""
    books = builtin_codebooks()
    if store is not None:
        for source, origin in store.execute(
            "SELECT source, origin FROM codebooks WHERE source IS NOT NULL"
        ).fetchall():
            cb = parse_codebook(source, origin)
            books[cb.id] = cb
    return books


def _names_a_file(id_or_path: str) -> bool:
    """A codebook named by its file (analysis.codebooks, --codebook), not by its id."""
    p = Path(id_or_path)
    return p.suffix == ".toml" or p.exists()


def resolve_codebook(id_or_path: str, store=None) -> Codebook:
    """An installed codebook by id, or a codebook file by path."""
    if _names_a_file(id_or_path):
        return load_codebook_file(Path(id_or_path))
    books = all_codebooks(store)
    if id_or_path not in books:
        raise CodebookError(f"no codebook {id_or_path!r} (installed: {', '.join(sorted(books))})")
    return books[id_or_path]


def codebook_id(id_or_path: str) -> str:
    """The id frames are stored under: analysis.codebooks may name a codebook file, and
    analyze stores its frames under the id written in it, not under the file's name."""
    if _names_a_file(id_or_path):
        try:
            return load_codebook_file(Path(id_or_path)).id
        except CodebookError:  # named as written; analyze says what is wrong with it
            return id_or_path
    return id_or_path


def first_codebook(analysis) -> str:
    """The id of the codebook a command uses when none is given: the first one analyzed."""
    return codebook_id(analysis.codebooks[0])


def register(store, cb: Codebook) -> None:
    """Record a codebook and its frames in the store's public tables."""
    stored = store.execute(
        """SELECT c.hash, c.origin, c.name, list(f.label ORDER BY f.position)
           FROM codebooks c LEFT JOIN frames f ON f.codebook_id = c.id
           WHERE c.id = ? GROUP BY ALL""",
        [cb.id],
    ).fetchone()
    if stored == (cb.hash, cb.origin, cb.name, [f.label for f in cb.frames]):
        return  # unchanged: every run registers its codebooks, most runs change nothing
    store.execute(
        """INSERT INTO codebooks (id, name, description, hash, origin, source) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET name = excluded.name, description = excluded.description,
             hash = excluded.hash, origin = excluded.origin,
             source = coalesce(excluded.source, codebooks.source)""",
        [cb.id, cb.name, cb.description, cb.hash, cb.origin,
         None if cb.origin == "built-in" else cb.source],
    )  # fmt: skip
    store.execute("DELETE FROM frames WHERE codebook_id = ?", [cb.id])
    store.con.executemany(
        "INSERT INTO frames (codebook_id, frame_id, label, description, examples, position) VALUES (?, ?, ?, ?, ?, ?)",
        [
            (cb.id, f.id, f.label, f.description, list(f.examples), i)
            for i, f in enumerate(cb.frames)
        ],
    )
