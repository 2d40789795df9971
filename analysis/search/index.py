"""The full-text index: tantivy, in a folder beside the store, kept in step with it.

Why tantivy: it answers boolean and phrase queries with BM25 scores from positions it
keeps on disk, adds documents incrementally, and lets readers search while the one
writer commits (DuckDB's own full-text extension does not load offline for the DuckDB
we pin; bm25s keeps no positions and rebuilds its whole matrix on every change).

The folder is ``STORE.search/``. Which articles it holds, and for which text
(``articles.content_hash``), is recorded in the store's ``search_index`` table, in the
same run that wrote them: the index is committed first, then the table, so a killed
run leaves the index at or ahead of the table and the next run redoes the difference
(each article is deleted before it is added, so nothing is doubled). Readers take the
table from their snapshot, so they know how far behind the index is from what they see.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
import tantivy

from framewatch.analysis.search.text import WORD_PATTERN, document
from framewatch.store import Store, StoreError, open_store, utcnow

FORMAT = 4  # bump when the schema, the tokenizer or text.fold changes: the index is rebuilt
TOKENIZER = "framewatch_words"
MARKER = "framewatch-index.json"
CHUNK = 2000
_SETTING = "search_index_id"


def index_path(db_path: str | Path) -> Path:
    return Path(str(db_path) + ".search")


def _schema() -> tantivy.Schema:
    b = tantivy.SchemaBuilder()
    b.add_integer_field("article_id", stored=False, indexed=True, fast=True)
    b.add_text_field("body", stored=False, tokenizer_name=TOKENIZER, index_option="position")
    return b.build()


def _register(index: tantivy.Index) -> tantivy.Index:
    # Text arrives folded (text.fold): split on word characters, as the query side does.
    analyzer = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(WORD_PATTERN)).build()
    index.register_tokenizer(TOKENIZER, analyzer)
    return index


def _marker(path: Path) -> dict | None:
    try:
        return json.loads((path / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def open_index(db_path: str | Path) -> tantivy.Index | None:
    """The index for readers, or None when the store has none yet (or an old format)."""
    path = index_path(db_path)
    m = _marker(path)
    if m is None or m.get("format") != FORMAT or not tantivy.Index.exists(str(path)):
        return None
    return _register(tantivy.Index(_schema(), path=str(path), reuse=True))


def index_id(db_path: str | Path) -> str | None:
    """The id of the index beside the store; None when missing or of an older format."""
    m = _marker(index_path(db_path))
    return m.get("id") if m and m.get("format") == FORMAT else None


def _writable(store: Store) -> tantivy.Index:
    """The store's index, (re)built from nothing when it is missing or not the store's own."""
    path = index_path(store.path)
    m = _marker(path)
    ok = m is not None and m.get("format") == FORMAT and m.get("id") == store.get_setting(_SETTING)
    if ok and tantivy.Index.exists(str(path)):
        return _register(tantivy.Index(_schema(), path=str(path), reuse=True))
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    index = _register(tantivy.Index(_schema(), path=str(path), reuse=False))
    new_id = uuid.uuid4().hex
    with store.transaction():
        store.execute("DELETE FROM search_index")
        store.set_setting(_SETTING, new_id)
    (path / MARKER).write_text(json.dumps({"format": FORMAT, "id": new_id}), encoding="utf-8")
    return index


_PENDING = """
    FROM articles a LEFT JOIN search_index s ON s.article_id = a.id
    WHERE s.article_id IS NULL OR s.content_hash <> a.content_hash"""


def count_pending(con) -> int:
    """Articles the index does not hold yet (or holds with an older text)."""
    try:
        return con.execute("SELECT count(*)" + _PENDING).fetchall()[0][0]
    # Only a missing table (a snapshot from before the search migration: nothing is
    # indexed); a query interrupted by SIGTERM must stop the run, not count as "all pending".
    except duckdb.CatalogException:
        return con.execute("SELECT count(*) FROM articles").fetchall()[0][0]


def count_unindexed(con, articles: int) -> int:
    """Readers' cheap check: articles beyond those the index records (not changed texts)."""
    try:
        return articles - con.execute("SELECT count(*) FROM search_index").fetchall()[0][0]
    except duckdb.CatalogException:  # a snapshot from before the search migration
        return articles


def index_pending(store: Store, on_progress: Callable[[int], None] | None = None) -> int:
    """Index every new or changed article; returns how many. Idempotent and resumable."""
    if not count_pending(store.con) and index_id(store.path) == store.get_setting(_SETTING):
        return 0
    index = _writable(store)
    writer = index.writer(heap_size=64_000_000, num_threads=1)
    done = 0
    try:
        while True:
            rows = store.execute(
                "SELECT a.id, a.title, a.text, a.content_hash"
                + _PENDING
                + " ORDER BY a.id LIMIT ?",
                [CHUNK],
            ).fetchall()
            if not rows:
                break
            for article_id, title, text, _ in rows:
                writer.delete_documents_by_term("article_id", article_id)
                doc = tantivy.Document()
                doc.add_integer("article_id", article_id)
                doc.add_text("body", document(title, text))
                writer.add_document(doc)
            writer.commit()
            done_rows = pa.table(
                {"article_id": [r[0] for r in rows], "content_hash": [r[3] for r in rows]}
            )
            with store.transaction(), store.registered("search_done", done_rows):
                store.execute(
                    "INSERT INTO search_index SELECT article_id, content_hash, ? FROM search_done"
                    " ON CONFLICT (article_id) DO UPDATE"
                    " SET content_hash = excluded.content_hash, indexed_at = excluded.indexed_at",
                    [utcnow()],
                )
            done += len(rows)
            if on_progress:
                on_progress(len(rows))
    finally:
        writer.wait_merging_threads()
    return done


def catch_up(db_path: str | Path) -> bool:
    """For readers: index what is pending when no writer holds the store (never waits).

    True when the index now holds every article of the store; False when a writer is
    busy (its run indexes them) and the index may lag behind.
    """
    try:
        store = open_store(db_path, lock_timeout_s=0)
    except StoreError:
        return False
    with store:
        if index_pending(store):
            store.publish_snapshot()
    return True
