"""Load a researcher's own articles (JSONL, CSV, Parquet) into the store or memory.

Bad rows are reported with their line numbers; good rows still load.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

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


def read_records(path: Path) -> ReadResult:
    """Raw records with their line numbers (CSV and JSONL: file lines; Parquet: row + 1)."""
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise ValueError(f"{path}: unknown format {path.suffix!r} (use .jsonl, .csv or .parquet)")
    if not path.exists():
        raise ValueError(f"{path}: no such file")
    out = ReadResult()
    if kind == "jsonl":
        with path.open(encoding="utf-8", errors="replace") as fh:
            for i, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as exc:
                    out.errors.append(RowError(i, f"not valid JSON ({exc.msg})"))
                    continue
                if not isinstance(rec, dict):
                    out.errors.append(RowError(i, "not a JSON object"))
                    continue
                out.rows.append((i, rec))
    elif kind == "csv":
        with path.open(encoding="utf-8", errors="replace", newline="") as fh:
            reader = csv.DictReader(fh)
            for rec in reader:
                out.rows.append((reader.line_num, rec))
    else:
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except Exception as exc:
            raise ValueError(f"{path}: cannot read Parquet ({exc})") from exc
        out.rows = [(i + 1, rec) for i, rec in enumerate(table.to_pylist())]
    return out


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
        except (TypeError, ValueError):
            raise ValueError(f"published_at {value!r} is not a date") from None
    return _utc(dt) if dt.tzinfo else dt


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


def validate(records: ReadResult) -> tuple[list[ImportedArticle], list[RowError]]:
    """Rows with at least a title and a text; everything else is an error by line."""
    good: list[ImportedArticle] = []
    errors = list(records.errors)
    for line, rec in records.rows:
        title = str(rec.get("title") or "").strip()
        text = str(rec.get("text") or "").strip()
        if not title and not text:
            errors.append(RowError(line, "needs a title or a text"))
            continue
        try:
            when = parse_time(rec.get("published_at") or rec.get("date"))
        except ValueError as exc:
            errors.append(RowError(line, str(exc)))
            continue
        good.append(
            ImportedArticle(
                line=line,
                title=title,
                text=text or title,
                url=(rec.get("url") or None),
                source=(rec.get("source") or rec.get("outlet") or None),
                published_at=when,
                language=(rec.get("language") or None),
                extra=rec,
            )  # fmt: skip
        )
    return good, errors


def import_file(store, path: Path) -> tuple[int, int, list[RowError]]:
    """Store the good rows of a file; returns (new, already stored, errors)."""
    from framewatch.crawler.dedup import canonical_url, content_hash
    from framewatch.crawler.fetch import insert_articles
    from framewatch.sources import add_source

    good, errors = validate(read_records(path))
    rows = []
    source_ids: dict[str, int] = {}
    with store.transaction():
        for a in good:
            name = a.source or path.stem
            if name not in source_ids:
                source_ids[name] = add_source(store, f"import:{name}", name=name, origin="import")
            h = content_hash(f"{a.title}\n{a.text}")
            url = a.url or f"urn:framewatch:import:{h[:24]}"
            rows.append({
                "source_id": source_ids[name], "url": url,
                "canonical_url": canonical_url(url) if a.url else url,
                "title": a.title, "author": None, "published_at": a.published_at,
                "language": a.language, "site_name": a.source, "text": a.text, "summary": None,
                "word_count": len(a.text.split()), "content_hash": h,
                "extraction": "imported", "extraction_note": f"{path.name} line {a.line}",
            })  # fmt: skip
        new, _copies = insert_articles(store, rows)
        undated = [aid for r, aid in new if r["published_at"] is None]
        if undated:  # the time we first saw it, marked as inferred (docs/schema.md)
            store.execute(
                "UPDATE articles SET published_at = fetched_at, published_at_inferred = true "
                "WHERE id IN (SELECT unnest(?))",
                [undated],
            )
    return len(new), len(rows) - len(new), errors
