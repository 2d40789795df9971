"""The backfill plan: input cut into numbered Parquet partitions in a work folder.

The folder sits beside the store (``<store>.backfill/<plan key>/``) and is what makes a
backfill resumable: ``in/`` holds the planned partitions, ``out/`` the analysed ones,
and a ``.loaded`` marker each one already in the store. The key hashes the inputs and
the analysis settings, so running the same command again finds the same plan.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pyarrow as pa
import pyarrow.parquet as pq

from framewatch.articles import canonical_url
from framewatch.backfill.extract import CUT_SHORT, capture_rank
from framewatch.backfill.inputs import expand, records
from framewatch.store import Store

# The stub (consent wall, paywall page, a feed's summary) or page cut short the store held
# under a page's address before this backfill: its canonical URL, outlet (source name),
# content hash and ``capture_rank`` (a plan written before the rank was kept has none: a
# stub's).
STORED_STUB = pa.struct([
    ("canonical_url", pa.string()), ("source", pa.string()), ("content_hash", pa.string()),
    ("rank", pa.int8()),
])  # fmt: skip
IN_SCHEMA = pa.schema([
    ("position", pa.string()), ("kind", pa.string()), ("source", pa.string()),
    ("site_url", pa.string()), ("url", pa.string()), ("canonical_url", pa.string()),
    ("title", pa.string()), ("author", pa.string()), ("text", pa.string()),
    ("published_at", pa.timestamp("us")), ("language", pa.string()),
    ("content_hash", pa.string()), ("html", pa.binary()), ("repeat", pa.bool_()),
    ("truncated", pa.string()),  # a page's WARC-Truncated value: the crawler cut it short
    ("stored_stub", STORED_STUB),  # a page's address has a stub the store held before
])  # fmt: skip
CHECK_CHUNK = 2000  # candidates looked up in the store at once


@dataclass
class Plan:
    folder: Path
    partitions: int = 0
    articles: int = 0  # candidates planned (WARC pages may still fail extraction)
    known: int = 0  # already stored, or repeated within the input
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # import's notes, one set per file

    def input(self, i: int) -> Path:
        return self.folder / "in" / f"part-{i:05d}.parquet"

    def output(self, i: int) -> Path:
        return self.folder / "out" / f"part-{i:05d}.parquet"

    def loaded(self, i: int) -> Path:
        return self.folder / "out" / f"part-{i:05d}.loaded"

    def to_analyse(self) -> list[int]:
        return [i for i in range(self.partitions) if not self.output(i).exists()]

    def to_load(self) -> list[int]:
        return [i for i in range(self.partitions) if not self.loaded(i).exists()]

    def rows_in(self, parts: list[int]) -> int:
        return sum(pq.ParquetFile(self.input(i)).metadata.num_rows for i in parts)


def plan_key(paths: list[Path], fingerprint: dict) -> str:
    h = hashlib.sha256(json.dumps(fingerprint, sort_keys=True, default=str).encode())
    for p in paths:
        st = p.stat()
        h.update(f"{p.resolve()}\n{st.st_size}\n{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def make_plan(
    store: Store, inputs: list[str], work_root: Path, fingerprint: dict, partition_size: int,
    encoding: str | None = None,
) -> Plan:  # fmt: skip
    """The plan for these inputs: the finished one from an earlier run, else a new one."""
    paths = expand(inputs)
    key = {**fingerprint, "partition_size": partition_size, "encoding": encoding}
    folder = work_root / plan_key(paths, key)
    manifest = folder / "plan.json"
    if manifest.exists():
        return Plan(folder, **json.loads(manifest.read_text()))
    plan = Plan(folder)
    (folder / "in").mkdir(parents=True, exist_ok=True)
    (folder / "out").mkdir(exist_ok=True)
    batch: list[dict] = []
    for rows in _deduplicated(store, paths, plan, encoding):
        batch.extend(rows)
        while len(batch) >= partition_size:
            _write(plan, batch[:partition_size])
            batch = batch[partition_size:]
    if batch:
        _write(plan, batch)
    # the manifest last: a plan killed while cut is cut again from scratch
    body = {k: getattr(plan, k) for k in ("partitions", "articles", "known", "problems", "notes")}
    tmp = manifest.with_suffix(".tmp")
    tmp.write_text(json.dumps(body))
    os.replace(tmp, manifest)
    return plan


def _write(plan: Plan, rows: list[dict]) -> None:
    path = plan.input(plan.partitions)
    tmp = path.with_suffix(".tmp")
    pq.write_table(pa.Table.from_pylist(rows, schema=IN_SCHEMA), tmp)
    os.replace(tmp, path)
    plan.partitions += 1
    plan.articles += len(rows)


def _deduplicated(
    store: Store, paths: list[Path], plan: Plan, encoding: str | None = None
) -> Iterator[list[dict]]:
    """Chunks of new candidates: nothing the store has, nothing seen earlier in the input.

    A text is known per outlet (the source's name): the same text from another outlet
    is that outlet's coverage, stored as ``insert_articles`` does.

    A page whose address came earlier in the input only as pages is kept, marked
    ``repeat``: whether those earlier captures give an article is known only once they
    are extracted (an app shell, a consent page with no main text), so the loader
    stores the first capture that gives one and drops the rest (``Loader.load``).

    So is a page whose address has a stub the store held before this backfill (stored by
    the crawler or an earlier backfill), marked ``repeat`` and with that stub
    (``stored_stub``): the loader lets a full capture replace the stub, as it does a
    stub stored by this backfill."""
    stubs = _stored_stubs(store)
    seen_urls: set[str] = set()
    pages_only: set[str] = set()  # addresses seen so far only as WARC pages of this input
    seen_texts: set[tuple[str, str]] = set()
    chunk: list[dict] = []

    def flush() -> list[dict]:
        canons = [r["canonical_url"] for r in chunk]
        hashes = [r["content_hash"] for r in chunk if r["content_hash"]]
        stored = store.execute(
            """SELECT a.canonical_url, s.name, a.content_hash
               FROM articles a LEFT JOIN sources s ON s.id = a.source_id
               WHERE a.canonical_url IN (SELECT unnest(?)) OR a.content_hash IN (SELECT unnest(?))""",
            [canons, hashes],
        ).fetchall()
        seen_urls.update(c for c, _, _ in stored)
        seen_texts.update((k, h) for _, k, h in stored if k)
        fresh = []
        for r in chunk:
            text_key = (r["source"], r["content_hash"])
            page = r["kind"] == "page"
            r["stored_stub"] = stubs.get(stub_address(r["canonical_url"])) if page else None
            if r["stored_stub"] is not None:
                pages_only.add(r["canonical_url"])  # its later captures are repeats too
            r["repeat"] = _repeat_capture(r, pages_only)
            if r["repeat"]:
                fresh.append(r)
                continue
            if r["canonical_url"] in seen_urls or text_key in seen_texts:
                plan.known += 1
                continue
            seen_urls.add(r["canonical_url"])
            if r["kind"] == "page":
                pages_only.add(r["canonical_url"])
            if r["content_hash"]:
                seen_texts.add(text_key)
            fresh.append(r)
        chunk.clear()
        return fresh

    for path in paths:
        for item in records(path, encoding, plan.notes):
            if isinstance(item, str):
                plan.problems.append(item)
                continue
            chunk.append(item)
            if len(chunk) >= CHECK_CHUNK:
                yield flush()
    if chunk:
        yield flush()


def stub_address(url: str) -> str:
    """An address as a stored stub is matched to a page of the archive: its canonical form
    without the scheme's difference and a trailing slash. The feed the crawler read may
    link http:// where the archive crawled https:// (or the other way), with or without a
    final slash: the same page, whose full capture replaces the stub."""
    parts = urlsplit(canonical_url(url))  # no fragment: canonical_url drops it
    if parts.scheme == "http":
        parts = parts._replace(scheme="https")
    if parts.path not in ("", "/"):  # not the site's root
        parts = parts._replace(path=parts.path.rstrip("/"))
    return urlunsplit(parts)


def _stored_stubs(store: Store) -> dict[str, dict]:
    """The articles the store holds in part, by the canonical form of their address (their
    URL): stubs, feed summaries (the crawler's page failed) and pages an earlier backfill
    stored cut short. A page of one of these addresses is a later capture of a stored
    page, which may give more of its article.

    Where one address has several (a feed linked ``http://host/a``, another
    ``http://host/a/``), a row made from the page comes first, a stub before a cut page:
    it holds the canonical URL the page names, which a summary given the page's text
    would be refused (another article has it), and the page's text would go nowhere."""
    rows = store.execute(
        """SELECT a.url, a.canonical_url, s.name, a.content_hash, a.extraction, a.extraction_note
           FROM articles a LEFT JOIN sources s ON s.id = a.source_id
           WHERE a.url IS NOT NULL AND (a.extraction IN ('stub', 'feed_summary')
                 OR (a.extraction = 'full' AND contains(a.extraction_note, ?)))
           ORDER BY CASE a.extraction WHEN 'stub' THEN 0 WHEN 'full' THEN 1 ELSE 2 END, a.id""",
        [CUT_SHORT],
    ).fetchall()
    out: dict[str, dict] = {}
    for url, canon, outlet, digest, extraction, note in rows:
        out.setdefault(stub_address(url), {
            "canonical_url": canon, "source": outlet, "content_hash": digest,
            "rank": capture_rank(extraction, note),
        })  # fmt: skip
    return out


def _repeat_capture(row: dict, pages_only: set[str]) -> bool:
    """A page of an address seen earlier in the input only as pages: planned too, since
    those earlier captures may give no article (the loader keeps the first that does).
    An address stored already, or read from a row, has its article: a page of it is not."""
    return row["kind"] == "page" and row["canonical_url"] in pages_only
