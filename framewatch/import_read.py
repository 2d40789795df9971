"""Read an import file's raw rows (JSON Lines, a JSON document, CSV, Parquet) with the
place a user finds each one at: what the rows mean is the importer's job, not this one.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from framewatch.errors import InputError, NoArticlesError
from framewatch.import_json import is_document, is_wrapper, rows_in
from framewatch.import_rows import lifted

FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",  # JSON Lines, or one document (an API's answer) holding the rows
    ".csv": "csv",
    ".tsv": "csv",  # the delimiter is read from the header
    ".parquet": "parquet",
}


def _unknown_format(path: Path) -> str:
    """What to do with a file import does not read: a WARC goes to backfill, a packed
    file is unpacked first."""
    name = path.name.lower()
    if ".warc" in name or name.endswith(".wacz"):
        return f"{path}: a web archive: framewatch backfill reads it (import takes tables)"
    known = ", ".join(sorted(FORMATS))
    packed = " (unpack it first)" if name.endswith((".gz", ".zip", ".bz2", ".xz")) else ""
    return f"{path}: unknown format {path.suffix!r}{packed}; import reads {known}"


def place(line: int, item: int | None) -> str:
    """A row's number as a user finds it: "3", or "3, item 7" for a page's item."""
    return f"{line}, item {item}" if item else str(line)


@dataclass
class RowError:
    line: int
    message: str
    unit: str = "line"  # "item": the row's place in a JSON document's list
    item: int | None = None  # the row's place in an API page on this line (JSON Lines)

    def __str__(self) -> str:
        return f"{self.unit} {place(self.line, self.item)}: {self.message}"


@dataclass
class ReadResult:
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (line, row)
    errors: list[RowError] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)  # header, or every JSONL key in order
    header: bool = False  # CSV and Parquet: one set of columns for the whole file
    name: str = ""
    unit: str = "line"  # what the numbers count: "item" in a JSON document's list
    items: dict[int, int] = field(default_factory=dict)  # rows' index -> item in its page


def read_records(path: Path, encoding: str | None = None) -> ReadResult:
    """Raw records with their line numbers (CSV and JSONL: file lines; Parquet: row + 1;
    a JSON document: the item's place in its list of rows, ``unit`` "item").

    Text is UTF-8 unless ``encoding`` names another; text that is not is refused (a CSV
    file) or its line skipped with an error (JSONL), never stored with its letters
    replaced: a German export from Excel in cp1252 would lose every umlaut."""
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise InputError(_unknown_format(path))
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if kind != "parquet" and (what := packed(path)):
        raise InputError(f"{path}: {what}, not {kind.upper()} text")
    if encoding is None and kind != "parquet" and _utf16(path):
        encoding = "utf-16"  # Excel's "Unicode Text": its byte-order mark says so
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise InputError(
                f"unknown encoding {encoding!r} (e.g. utf-8, cp1252, latin-1)"
            ) from None
    try:
        out = _read(path, kind, encoding)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    out.name = path.name
    return out


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
    if kind == "json":
        json_lines = _json_lines(path, encoding, out)
        if json_lines is None:
            _json_document(path, encoding, out)
        else:
            _jsonl_rows(json_lines, out)
    elif kind == "jsonl":
        _jsonl_rows(_jsonl_lines(path, encoding, out), out)
    elif kind == "csv":
        codec = _codec(encoding)
        limit = csv.field_size_limit(max(CSV_FIELD_LIMIT, csv.field_size_limit()))
        try:
            with path.open(encoding=codec, errors="strict", newline="") as fh:
                delimiter = csv_delimiter(fh.readline())
                fh.seek(0)
                lines = _QuoteCount(fh)
                _csv_rows(csv.reader(lines, delimiter=delimiter), out, lines)
        except UnicodeDecodeError:  # a whole file in another encoding: none of it, not half
            out.rows.clear()
            line, bad = _first_bad(path, codec)
            raise InputError(f"{path}: line {line}: {_not_text(encoding, bad)}") from None
        finally:  # the limit is the process's: leave other readers theirs
            csv.field_size_limit(limit)
    else:
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except Exception as exc:
            raise InputError(f"{path}: cannot read Parquet ({exc})") from exc
        out.rows = [(i + 1, lifted(rec)) for i, rec in enumerate(table.to_pylist())]
        lifted_keys = (k for _, r in out.rows for k in r)  # a struct's fields, where lifted
        out.columns = list(dict.fromkeys([*table.column_names, *lifted_keys]))
        out.header = True
    return out


def _jsonl_rows(lines: Iterator[tuple[int, str]], out: ReadResult) -> None:
    keys: dict[str, None] = {}  # every key of the file, in the order first seen
    for i, line in lines:
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
        if isinstance(rec, list) and rec and all(isinstance(r, dict) for r in rec):
            rec = {"items": rec}  # a page of an API that answers with a bare array
        if not isinstance(rec, dict):
            twice = isinstance(rec, str) and rec.lstrip()[:1] in ("{", "[")
            out.errors.append(RowError(i, "a string holding JSON, encoded twice: decode it once"
                                       if twice else "not a JSON object"))  # fmt: skip
            continue
        if not is_wrapper(rec):
            out.rows.append((i, lifted(rec)))
            keys.update(dict.fromkeys(out.rows[-1][1]))
            continue
        try:  # one API response per line: its rows, each named by line and item
            inner = rows_in(rec, f"line {i}")
        except InputError as exc:
            out.errors.append(RowError(i, str(exc).removeprefix(f"line {i}: ")))
            continue
        for item, r in enumerate(inner, 1):
            if not isinstance(r, dict):
                out.errors.append(RowError(i, "not a JSON object", item=item))
                continue
            out.items[len(out.rows)] = item
            out.rows.append((i, lifted(r)))
            keys.update(dict.fromkeys(out.rows[-1][1]))
    out.columns = list(keys)


def _json_lines(
    path: Path, encoding: str | None, out: ReadResult
) -> Iterator[tuple[int, str]] | None:
    """A .json file's lines to read as JSON Lines, or None when it is one JSON document:
    judged from its first two lines, so JSON Lines stream however large the file."""
    lines = _jsonl_lines(path, encoding, out)
    head: list[tuple[int, str]] = []
    for item in lines:
        head.append(item)
        if sum(1 for _, text in head if text.strip()) == 2:
            break
    if is_document([text for _, text in head if text.strip()]):
        lines.close()
        out.errors.clear()  # a line not in the encoding refuses the whole document below
        return None
    return itertools.chain(head, lines)


def _json_document(path: Path, encoding: str | None, out: ReadResult) -> None:
    """One JSON document, read whole: its rows numbered as items of their list."""
    codec = _codec(encoding)
    try:
        doc = json.loads(path.read_text(encoding=codec).removeprefix("\ufeff"))
    except UnicodeDecodeError:
        line, bad = _first_bad(path, codec)
        raise InputError(f"{path}: line {line}: {_not_text(encoding, bad)}") from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise NoArticlesError(f"{path}: not valid JSON ({exc.msg}, {where})") from None
    except RecursionError:
        raise NoArticlesError(f"{path}: JSON nested too deeply") from None
    keys: dict[str, None] = {}
    out.unit = "item"
    for i, rec in enumerate(rows_in(doc, path), 1):
        if isinstance(rec, dict):
            rec = lifted(rec)
            out.rows.append((i, rec))
            keys.update(dict.fromkeys(rec))
        else:
            out.errors.append(RowError(i, "not a JSON object", "item"))
    out.columns = list(keys)


# A liveblog's text passes csv's default 131,072 characters; a runaway quote still ends.
CSV_FIELD_LIMIT = 64 * 1024 * 1024


class _QuoteCount:
    """The file's lines, counting the quote characters read so far."""

    def __init__(self, fh: Any):
        self.fh, self.quotes = fh, 0

    def __iter__(self) -> _QuoteCount:
        return self

    def __next__(self) -> str:
        line = next(self.fh)
        self.quotes += line.count('"')
        return line


def _csv_rows(reader: Any, out: ReadResult, lines: _QuoteCount) -> None:
    """Rows as DictReader gives them, numbered by the line where each record starts (a
    quoted text over many lines is named by its first line, where a user looks).

    A quote never closed would make the rest of the file one field (csv reads to the end
    of the file for it, and a liveblog-sized field limit no longer stops it): a last
    record over several lines with an odd number of quotes is refused by its line."""
    header: list[str] | None = None
    start, quotes, runaway = 1, 0, False
    try:
        for row in reader:
            runaway = False
            if not row or (header is None and _sep_line(row)):  # a blank line, Excel's sep=
                pass
            elif header is None:
                header, out.columns, out.header = row, list(row), True
            else:
                runaway = reader.line_num > start and bool((lines.quotes - quotes) % 2)
                rec: dict[Any, Any] = dict(zip(header, row, strict=False))
                if len(row) > len(header):
                    rec[None] = row[len(header) :]
                rec.update((k, None) for k in header[len(row) :])
                out.rows.append((start, rec))
            start, quotes = reader.line_num + 1, lines.quotes
        if runaway and out.rows:  # the last record ran to the end of the file in a quote
            first, _ = out.rows.pop()
            out.errors.append(RowError(first, (
                f"a quote opened in this record is never closed, so lines {first}-{start - 1}"
                ' were read as one field; close it (a quote inside a quoted field is written'
                ' "") and import again; rows from here on skipped'
            )))  # fmt: skip
    except csv.Error as exc:  # e.g. a quote never closed: the rest is unreadable
        out.errors.append(RowError(start, f"not valid CSV ({exc}); rows after it skipped"))


# Files that are no text whatever their name says: a workbook renamed to .csv, a
# compressed export. Read as text, they gave a row or two of noise and "imported 0".
_SIGNATURES = (
    (b"PK\x03\x04", "an Excel workbook or other ZIP archive (save it as CSV UTF-8, or unzip it)"),
    (b"\xd0\xcf\x11\xe0", "an old Excel workbook, .xls (save it as CSV UTF-8)"),
    (b"\x1f\x8b", "gzip-compressed (unpack it first)"),
    (b"PAR1", "a Parquet file (name it .parquet)"),
)


def packed(path: Path) -> str | None:
    """What the file is when its first bytes say it is no text. Only a signature at the
    start: a JSON Lines file with one damaged line keeps its other lines."""
    with path.open("rb") as fh:
        head = fh.read(8)
    return next((what for magic, what in _SIGNATURES if head.startswith(magic)), None)


def _utf16(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    except OSError:
        return False


def _sep_line(row: list[str]) -> bool:
    """Excel's first line ``sep=;`` names the delimiter; it is not the header."""
    return 0 < len(row) <= 2 and row[0].lower().startswith("sep=") and not any(row[1:])


def csv_delimiter(header: str) -> str:
    """Comma, or what the header uses instead: a German or French Excel export separates
    with semicolons, some exports with tabs; Excel's ``sep=;`` line names it."""
    if header.lower().startswith("sep=") and len(header.rstrip("\r\n")) == 5:
        return header[4]
    if "," in header:
        return ","
    return max(";\t", key=header.count) if (";" in header or "\t" in header) else ","
