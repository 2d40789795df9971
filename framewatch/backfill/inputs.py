"""Backfill input: files and globs of JSONL, CSV, Parquet (as ``import`` reads them), WARC and WACZ.

Yields one record per article candidate, in input order; ``plan`` drops repeats by
canonical URL and (for rows, whose text is known here) by outlet and content hash.
Problems are yielded too, by position, so one bad row or record never stops the rest.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from framewatch.articles import canonical_url, content_hash
from framewatch.errors import InputError, NoArticlesError
from framewatch.importer import FORMATS, file_notes, read_records, unlinked_url, validate


def expand(inputs: list[str]) -> list[Path]:
    """Files named or matched, in the order given; a pattern matching nothing is an error.

    Errors are ``InputError``s: the user's to fix, said in one line (exit 2)."""
    paths: list[Path] = []
    for item in inputs:
        # a name that exists is that file, brackets and all ('crawl[1].warc.gz')
        literal = not glob.has_magic(item) or os.path.exists(item)
        matches = [item] if literal else sorted(glob.glob(item))
        if not matches:
            raise InputError(f"{item}: no file matches")
        for m in matches:
            p = Path(m)
            if p.is_dir():
                raise InputError(
                    f"{p}: a folder; name its files, or a glob such as '{p}/*.warc.gz'"
                )
            if not p.is_file():
                raise InputError(f"{p}: no such file")
            if not (p.suffix.lower() in FORMATS or _is_archive(p)):
                known = ", ".join([*sorted(FORMATS), ".warc", ".warc.gz", ".wacz"])
                raise InputError(f"{p}: unknown format {p.suffix!r}; backfill reads {known}")
            if p not in paths:
                paths.append(p)
    return paths


def _is_archive(p: Path) -> bool:
    """A WARC file, or a WACZ holding WARC files."""
    from framewatch.backfill.wacz import is_wacz
    from framewatch.backfill.warc import is_warc

    return is_warc(p) or is_wacz(p)


def records(
    path: Path, encoding: str | None = None, notes: list[str] | None = None
) -> Iterator[dict | str]:
    """Article candidates of one file as partition rows; a str is a problem by position.
    ``encoding`` is the text encoding of a JSONL or CSV file (WARC records name their own).
    ``notes`` gets what `import` notes about the file (columns not read, relative URLs
    without a site), once for the file."""
    if _is_archive(path):
        from framewatch.backfill.wacz import is_wacz, read_wacz
        from framewatch.backfill.warc import WarcProblem, read_pages

        for item in read_wacz(path) if is_wacz(path) else read_pages(path):
            if isinstance(item, WarcProblem):
                yield str(item)
                continue
            host = (urlsplit(item.url).hostname or "").lower()
            yield {
                "position": item.position, "kind": "page", "source": host,
                "site_url": f"{urlsplit(item.url).scheme}://{host}/",
                "url": item.url, "canonical_url": canonical_url(item.url), "title": None,
                "author": None,
                "text": None, "published_at": item.captured_at, "language": None,
                "content_hash": None, "html": item.html, "truncated": item.truncated,
            }  # fmt: skip
        return
    try:  # a file not in its encoding stops the plan (--encoding fixes it): say which
        raw = read_records(path, encoding)
    except NoArticlesError as exc:  # an API's error response saved among the answers
        yield str(exc)
        return
    try:
        good, errors = validate(raw)
    except InputError as exc:  # e.g. a sidecar CSV of URLs and dates: one problem, not a stop
        yield str(exc)  # it names the file
        return
    if notes is not None:
        notes.extend(file_notes(raw, good))
    for e in errors:
        yield f"{path.name} {e}"
    for a in sorted(good, key=lambda a: a.line):
        # exactly as `import` builds its rows, so ids, URLs and fingerprints agree
        h = content_hash(f"{a.title}\n{a.text}")
        url = a.url or unlinked_url(a.source or path.stem, h)
        yield {
            "position": f"{path.name} {raw.unit} {a.at}", "kind": "row",
            "source": a.source or path.stem, "site_url": None, "url": url,
            "canonical_url": canonical_url(url) if a.url else url, "title": a.title,
            "author": a.author,
            "text": a.text, "published_at": a.published_at, "language": a.language,
            "content_hash": h, "html": None, "truncated": None,
        }  # fmt: skip


def source_key(name: str, site_url: str | None) -> str:
    """The ``sources.url`` a backfilled row's outlet is stored under."""
    return f"warc:{name}" if site_url else f"import:{name}"
