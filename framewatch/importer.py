"""Load a researcher's own articles (JSONL, CSV, Parquet) into the store or memory.

Bad rows are reported with their line numbers; good rows still load.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from framewatch.errors import InputError

FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
}


@dataclass
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class ReadResult:
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (line, row)
    errors: list[RowError] = field(default_factory=list)


def read_records(path: Path, encoding: str | None = None) -> ReadResult:
    """Raw records with their line numbers (CSV and JSONL: file lines; Parquet: row + 1).

    Text is UTF-8 unless ``encoding`` names another; text that is not is refused (a CSV
    file) or its line skipped with an error (JSONL), never stored with its letters
    replaced: a German export from Excel in cp1252 would lose every umlaut."""
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise InputError(f"{path}: unknown format {path.suffix!r} (use .jsonl, .csv or .parquet)")
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise InputError(
                f"unknown encoding {encoding!r} (e.g. utf-8, cp1252, latin-1)"
            ) from None
    try:
        return _read(path, kind, encoding)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from exc


ENCODING_HINT = (
    "save it as UTF-8, or name its encoding: --encoding cp1252 (import and backfill take it)"
)


def _not_text(encoding: str | None, bad: bytes | None) -> str:
    where = f"byte 0x{bad[0]:02x}" if bad else "its last bytes"
    hint = "" if encoding else f"; {ENCODING_HINT}"
    return f"not {encoding or 'UTF-8'} text ({where}){hint}"


def _codec(encoding: str | None) -> str:
    """The codec to read with: UTF-8 skips a leading byte-order mark (spreadsheet exports
    start with one, and it would hide the header or break the first JSON line)."""
    if encoding is None or codecs.lookup(encoding).name == "utf-8":
        return "utf-8-sig"
    return encoding


def _first_bad(path: Path, codec: str) -> tuple[int, bytes | None]:
    """Line and byte of the first text the codec cannot read, read in pieces (no copy of
    the whole file in memory)."""
    decoder, line = codecs.getincrementaldecoder(codec)(), 1
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 16):
            try:
                line += decoder.decode(chunk).count("\n")
            except UnicodeDecodeError as exc:
                return line + exc.object.count(b"\n", 0, exc.start), exc.object[exc.start :][:1]
    return line, None  # all but a cut-off last character


def _jsonl_lines(path: Path, encoding: str | None, out: ReadResult) -> Iterator[tuple[int, str]]:
    codec = _codec(encoding)
    if "\n".encode(codec.removesuffix("-sig")) != b"\n":  # UTF-16/32: lines are not bytes
        try:
            text = path.read_text(encoding=codec)
        except UnicodeDecodeError:
            line, bad = _first_bad(path, codec)
            raise InputError(f"{path}: line {line}: {_not_text(encoding, bad)}") from None
        yield from enumerate(text.removeprefix("\ufeff").split("\n"), 1)
        return
    with path.open("rb") as fh:  # one line that is not text costs that line only
        for i, raw in enumerate(fh, 1):
            try:
                yield i, raw.decode(codec if i == 1 else codec.removesuffix("-sig"))
            except UnicodeDecodeError as exc:
                out.errors.append(RowError(i, _not_text(encoding, exc.object[exc.start :][:1])))


def _read(path: Path, kind: str, encoding: str | None = None) -> ReadResult:
    out = ReadResult()
    if kind == "jsonl":
        for i, line in _jsonl_lines(path, encoding, out):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                out.errors.append(RowError(i, f"not valid JSON ({exc.msg})"))
                continue
            except RecursionError:
                out.errors.append(RowError(i, "JSON nested too deeply"))
                continue
            if not isinstance(rec, dict):
                out.errors.append(RowError(i, "not a JSON object"))
                continue
            out.rows.append((i, rec))
    elif kind == "csv":
        codec = _codec(encoding)
        try:
            with path.open(encoding=codec, errors="strict", newline="") as fh:
                delimiter = _delimiter(fh.readline())
                fh.seek(0)
                reader = csv.DictReader(fh, delimiter=delimiter)
                try:
                    for rec in reader:
                        out.rows.append((reader.line_num, rec))
                except csv.Error as exc:  # e.g. a field over the size limit: the rest is unreadable
                    out.errors.append(
                        RowError(reader.line_num, f"not valid CSV ({exc}); rows after it skipped")
                    )
        except UnicodeDecodeError:  # a whole file in another encoding: none of it, not half
            out.rows.clear()
            line, bad = _first_bad(path, codec)
            raise InputError(f"{path}: line {line}: {_not_text(encoding, bad)}") from None
    else:
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except Exception as exc:
            raise InputError(f"{path}: cannot read Parquet ({exc})") from exc
        out.rows = [(i + 1, rec) for i, rec in enumerate(table.to_pylist())]
    return out


def _delimiter(header: str) -> str:
    """Comma, or what the header uses instead: a German or French Excel export separates
    with semicolons, some exports with tabs."""
    if "," in header:
        return ","
    return max(";\t", key=header.count) if (";" in header or "\t" in header) else ","


def parse_time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None) if value.tzinfo is None else _utc(value)
    text = str(value).strip().replace("Z", "+00:00")
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            dt = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            raise InputError(f"published_at {value!r} is not a date") from None
    try:
        return _utc(dt) if dt.tzinfo else dt
    except OverflowError:  # e.g. year 1 at +14:00 falls before year 1 in UTC
        raise InputError(f"published_at {value!r} is out of range") from None


def _utc(dt: datetime) -> datetime:
    from datetime import timezone

    return dt.astimezone(timezone.utc).replace(tzinfo=None)


@dataclass
class ImportedArticle:
    line: int
    title: str
    text: str
    url: str | None
    source: str | None
    published_at: datetime | None
    language: str | None
    extra: dict[str, Any]


def _text(rec: dict[str, Any], *keys: str) -> str:
    """A field as clean text: numbers become text, lists and tables are refused."""
    for key in keys:
        value = rec.get(key)
        if value is None or value == "":
            continue
        if isinstance(value, (dict, list)):
            raise InputError(
                f"{key} must be text, not a {'list' if isinstance(value, list) else 'table'}"
            )
        # Lone surrogates (from JSON escapes) cannot be stored; NULs end strings elsewhere.
        text = str(value).encode("utf-8", "replace").decode("utf-8").replace("\x00", "")
        return text.strip()
    return ""


def validate(records: ReadResult) -> tuple[list[ImportedArticle], list[RowError]]:
    """Rows with at least a title and a text; everything else is an error by line."""
    from framewatch.articles import canonical_url

    good: list[ImportedArticle] = []
    errors = list(records.errors)
    for line, rec in records.rows:
        try:
            title, text = _text(rec, "title"), _text(rec, "text")
            if not title and not text:
                raise InputError("needs a title or a text")
            url = _text(rec, "url") or None
            if url is not None:
                try:
                    canonical_url(url)
                except ValueError:
                    raise InputError(f"url {url!r} is not a valid URL") from None
            when = parse_time(rec.get("published_at") or rec.get("date"))
            source, language = (
                _text(rec, "source", "outlet") or None,
                _text(rec, "language") or None,
            )
        except InputError as exc:
            errors.append(RowError(line, str(exc)))
            continue
        good.append(
            ImportedArticle(
                line=line,
                title=title,
                text=text or title,
                url=url,
                source=source,
                published_at=when,
                language=language,
                extra=rec,
            )  # fmt: skip
        )
    return good, errors


URN = "urn:framewatch:import:"


def unlinked_url(outlet: str, text_hash: str) -> str:
    """The URL of a row that has none: one per outlet and text, so a wire story two
    outlets carried is two articles, and importing the file again finds them stored."""
    key = hashlib.sha256(f"{outlet}\n{text_hash}".encode()).hexdigest()
    return f"{URN}{key[:24]}"


def import_file(
    store, path: Path, encoding: str | None = None
) -> tuple[int, int, list[RowError], list[str]]:
    """Store the good rows of a file; returns (new, already stored, errors, copy notes).

    A row with the same title and text as an article of its outlet (or an earlier row)
    under another URL is not stored again, as the crawler does; each such row gets a note
    naming its line, its outlet and the article it copies, so no row vanishes unexplained.
    """
    from framewatch.articles import canonical_url, content_hash, insert_articles
    from framewatch.sources import add_source

    good, errors = validate(read_records(path, encoding))
    rows = []
    source_ids: dict[str, int] = {}
    with store.transaction():
        for a in good:
            name = a.source or path.stem
            if name not in source_ids:
                source_ids[name] = add_source(store, f"import:{name}", name=name, origin="import")
            h = content_hash(f"{a.title}\n{a.text}")
            url = a.url or unlinked_url(name, h)
            rows.append({
                "source_id": source_ids[name], "url": url,
                "canonical_url": canonical_url(url) if a.url else url,
                "title": a.title, "author": None, "published_at": a.published_at,
                "language": a.language, "site_name": a.source, "text": a.text, "summary": None,
                "word_count": len(a.text.split()), "content_hash": h,
                "extraction": "imported", "extraction_note": f"{path.name} line {a.line}",
            })  # fmt: skip
        # An undated row takes the time we first saw it, marked as inferred (docs/schema.md).
        new, copies = insert_articles(store, rows)
    # A row without a URL whose outlet has its text, also without a URL, is that row
    # imported before (under an older framewatch's URL for it): known, not a copy.
    unlinked = {i for (i,) in store.execute(
        f"SELECT id FROM articles WHERE id IN (SELECT unnest(?)) AND canonical_url LIKE '{URN}%'",
        [[o for _, o in copies]],
    ).fetchall()} if copies else set()  # fmt: skip
    copies = [(r, o) for r, o in copies if not (r["url"].startswith(URN) and o in unlinked)]
    notes = [
        f"{r['extraction_note']} ({r['site_name'] or path.stem}): same title and text as "
        f"article {original}, not stored again"
        for r, original in copies
    ]
    return len(new), len(rows) - len(new), errors, notes
