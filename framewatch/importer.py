"""Load a researcher's own articles (JSONL, CSV, Parquet) into the store or memory.

Bad rows are reported with their line numbers; good rows still load. Columns are found
by the names real exports use (Media Cloud, Kaggle, NewsAPI, GDELT...), in any case.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from framewatch.dates import parse_time
from framewatch.errors import InputError
from framewatch.import_read import FORMATS, ReadResult, RowError, place, read_records
from framewatch.import_rows import (
    absolute_url,
    author_text,
    cell_text,
    clean_url,
    column_names,
    first_value,
    outlet_text,
    plain_text,
    resolve,
    tables_read,
    unescaped,
)
from framewatch.words import word_count

# A headline's table: the NYT's {"main", "kicker"}, WordPress's {"rendered"}.
TITLE_KEYS = ("main", "rendered", "title", "name")

__all__ = [
    "FORMATS",
    "RowError",
    "import_file",
    "parse_time",
    "read_records",
    "unlinked_url",
    "validate",
]


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
    author: str | None = None
    relative_url: str | None = None  # as written, when no site resolved it (url is None)
    item: int | None = None  # its place in the API page on its line (JSON Lines of pages)

    @property
    def at(self) -> str:
        return place(self.line, self.item)


def _no_title_or_text(records: ReadResult, keys: dict[str, list[str]]) -> InputError | None:
    """A table of articles (it names a URL, outlet, date or language column) without a
    title or text column: one error naming its columns, not one per row. A header of
    nothing recognisable is left to the rows' own errors (it may not be a table at all)."""
    if not records.header or not records.rows or keys["title"] or keys["text"]:
        return None
    if not any(keys[f] for f in ("url", "source", "published_at", "language")):
        return None
    found = column_names(c for c in records.columns if isinstance(c, str))
    return InputError(
        f"{records.name}: no title or text column (its columns: {found}); name one "
        "title, headline, text, content or body"
    )


def validate(records: ReadResult) -> tuple[list[ImportedArticle], list[RowError]]:
    """Rows with at least a title and a text; everything else is an error by line."""
    from framewatch.articles import canonical_url

    keys, _ = resolve(records.columns)
    if (refused := _no_title_or_text(records, keys)) is not None:
        raise refused
    good: list[ImportedArticle] = []
    errors = list(records.errors)
    for n, (line, rec) in enumerate(records.rows):
        item = records.items.get(n)
        try:
            # One line, as the crawler stores a headline: exports wrap long ones in the
            # cell, and a line break in a title breaks tables, the digest and CSV exports.
            title = " ".join(unescaped(cell_text(rec, keys["title"], TITLE_KEYS)).split())
            text = plain_text(cell_text(rec, keys["text"], ("rendered",)))
            if not title and not text:
                raise InputError("needs a title or a text")
            source, page = outlet_text(rec, keys["source"])
            url, relative = absolute_url(
                clean_url(cell_text(rec, keys["url"]) or page or ""), rec, keys["base"]
            )
            if url is not None:
                try:
                    canonical_url(url)
                except ValueError:
                    raise InputError(f"url {url!r} is not a valid URL") from None
            date_key, date_value = first_value(rec, keys["published_at"])
            when = parse_time(date_value, date_key)
            language = cell_text(rec, keys["language"]) or None
            author = author_text(rec, keys["author"])
        except InputError as exc:
            errors.append(RowError(line, str(exc), records.unit, item))
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
                author=author,
                relative_url=relative,
                item=item,
            )  # fmt: skip
        )
    return good, errors


# Fields whose absence from every row is worth a word: titles shown as blank, every row
# under the file's name as its outlet, every row dated when it was imported.
_MISSING = {"title": "a title", "source": "an outlet", "published_at": "a date"}


def file_notes(records: ReadResult, good: list[ImportedArticle]) -> list[str]:
    """What a file's import loses without an error, said once for the file: the columns
    nothing reads (a renamed text column is seen, not lost), and the rows whose relative
    URL had no site to resolve it against."""
    notes = []
    lifted_from = tables_read(r for _, r in records.rows)
    if unread := column_names(c for c in resolve(records.columns)[1] if c not in lifted_from):
        notes.append(f"{records.name}: columns not read: {unread}")
    missing = [f for f, said in _MISSING.items()
               if good and not any(getattr(a, f) for a in good)]  # fmt: skip
    if missing:  # a German export's Titel/Quelle/Datum: every row would be stored without
        notes.append(f"{records.name}: no row has {', '.join(_MISSING[f] for f in missing)}: "
                     "name the column (e.g. title, source, published_at) if the file has one")  # fmt: skip
    if relative := [a.relative_url for a in good if a.relative_url]:
        notes.append(
            f"{records.name}: {len(relative)} row{'s' if len(relative) > 1 else ''} with a "
            f"relative URL (e.g. {relative[0]!r}) and no site to resolve it against (a "
            "source_url, media_url, site or domain column): stored without a URL"
        )
    return notes


URN = "urn:framewatch:import:"


def unlinked_url(outlet: str, text_hash: str) -> str:
    """The URL of a row that has none: one per outlet and text, so a wire story two
    outlets carried is two articles, and importing the file again finds them stored."""
    key = hashlib.sha256(f"{outlet}\n{text_hash}".encode()).hexdigest()
    return f"{URN}{key[:24]}"


def import_file(
    store, path: Path, encoding: str | None = None
) -> tuple[int, int, list[RowError], list[str]]:
    """Store the good rows of a file; returns (new, already stored, errors, notes).

    Notes name, once, the columns no field reads (so a renamed text column is seen, not
    lost), and each row not stored that is no error: a later row under an earlier row's
    URL, and a row with the same title and text as an article of its outlet (or an
    earlier row) under another URL, as the crawler decides. No row vanishes unexplained.
    """
    from framewatch.articles import canonical_url, content_hash, insert_articles
    from framewatch.sources import add_source

    records = read_records(path, encoding)
    good, errors = validate(records)
    notes = file_notes(records, good)
    rows, line_of, seen = [], {}, {}
    repeats: list[tuple[int, str]] = []
    source_ids: dict[str, int] = {}
    with store.transaction():
        for a in good:
            name = a.source or path.stem
            h = content_hash(f"{a.title}\n{a.text}")
            url = a.url or unlinked_url(name, h)
            canon = canonical_url(url) if a.url else url
            if canon in seen:  # the file's own repeat: not stored, and not stored before
                note = _repeat_note(f"{path.name} {records.unit}", a, name, *seen[canon], h)
                repeats.append((a.line, note))
                continue
            seen[canon] = (a.at, h)
            if name not in source_ids:
                source_ids[name] = add_source(store, f"import:{name}", name=name, origin="import")
            rows.append({
                "source_id": source_ids[name], "url": url, "canonical_url": canon,
                "title": a.title, "author": a.author, "published_at": a.published_at,
                "language": a.language, "site_name": a.source, "text": a.text, "summary": None,
                "word_count": word_count(a.text), "content_hash": h,
                "extraction": "imported", "extraction_note": f"{path.name} {records.unit} {a.at}",
            })  # fmt: skip
            line_of[id(rows[-1])] = a.line
        # An undated row takes the time we first saw it, marked as inferred (docs/schema.md).
        new, copies = insert_articles(store, rows)
    # A row without a URL whose outlet has its text, also without a URL, is that row
    # imported before (under an older framewatch's URL for it): known, not a copy.
    unlinked = {i for (i,) in store.execute(
        f"SELECT id FROM articles WHERE id IN (SELECT unnest(?)) AND canonical_url LIKE '{URN}%'",
        [[o for _, o in copies]],
    ).fetchall()} if copies else set()  # fmt: skip
    copies = [(r, o) for r, o in copies if not (r["url"].startswith(URN) and o in unlinked)]
    repeats += [
        (line_of[id(r)], f"{r['extraction_note']} ({r['site_name'] or path.stem}): same title "
         f"and text as article {original}, not stored again")
        for r, original in copies
    ]  # fmt: skip
    repeats += _changed_since(store, rows, {id(r) for r, _ in new + copies}, line_of)
    return len(new), len(rows) - len(new), errors, notes + [n for _, n in sorted(repeats)]


def _changed_since(
    store, rows: list[dict], placed: set[int], line_of: dict[int, int]
) -> list[tuple[int, str]]:
    """Rows under a URL already stored whose title or text is not the stored one (a
    corrected headline, a fuller text): the stored article is kept, as the crawler keeps
    the version it first read, and said so, so an edited re-export is not taken as applied."""
    known = [r for r in rows if id(r) not in placed]
    if not known:
        return []
    stored = {
        c: (i, h)
        for c, i, h, how in store.execute(
            "SELECT canonical_url, min(id), arg_min(content_hash, id), arg_min(extraction, id) "
            "FROM articles WHERE canonical_url IN (SELECT unnest(?)) GROUP BY canonical_url",
            [[r["canonical_url"] for r in known]],
        ).fetchall()
        if how == "imported"
    }  # a crawled page's fingerprint is not a row's hash
    out = []
    for r in known:
        if (first := stored.get(r["canonical_url"])) and first[1] != r["content_hash"]:
            out.append((line_of[id(r)], f"{r['extraction_note']}: its URL is article {first[0]}'s, "
                        "stored with another title or text; the stored version is kept"))  # fmt: skip
    return out


def _repeat_note(
    at: str, a: ImportedArticle, outlet: str, first: str, first_hash: str, h: str
) -> str:
    """Why a row under an earlier row's URL was not stored (a row without a URL has one
    made of its outlet and text, so its repeat is the same text); ``at`` is "file line"
    or "file item"."""
    unit = at.rsplit(" ", 1)[-1]
    if a.url is None:
        return f"{at} {a.at} ({outlet}): same title and text as {unit} {first}, not stored again"
    what = "and the same title and text" if h == first_hash else "with another title or text"
    return f"{at} {a.at}: same URL as {unit} {first} {what}; not stored"
