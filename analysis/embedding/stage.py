"""The embedding stage: a vector for every stored article, kept with the model that made it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import numpy as np
import pyarrow as pa

from framewatch.analysis.embedding.base import Embedder
from framewatch.analysis.embedding.select import embedder_for, languages_read
from framewatch.analysis.embedding.vectors import to_arrow_lists

if TYPE_CHECKING:  # the model side needs no store: it runs on machines without one
    from framewatch.config import AnalysisSettings
    from framewatch.store import Store

LEAD_CHARS = 2000  # past the model's 256-token window anyway; saves tokenising


class RowEmbedder(Protocol):
    """Computes vectors for (id, title, text) rows somewhere else (the pipeline's model process)."""

    def embed(self, rows: list[tuple]) -> np.ndarray: ...


def article_input(title: str | None, text: str | None) -> str:
    """Title plus lead: what a reader sees first, and what tells stories apart."""
    title = (title or "").strip()
    body = (text or "").strip()
    if title and body.startswith(title):
        body = body[len(title) :].lstrip()
    return f"{title}\n{body[:LEAD_CHARS]}".strip()


_PENDING = """SELECT a.id, a.title, a.text FROM articles a WHERE NOT EXISTS
    (SELECT 1 FROM embeddings e WHERE e.article_id = a.id AND e.model = ?)"""


def count_pending(store: Store, model_name: str) -> int:
    return store.execute(f"SELECT count(*) FROM ({_PENDING})", [model_name]).fetchone()[0]


def pending_articles(store: Store, model_name: str, limit: int) -> list[tuple]:
    """(id, title, text) of articles with no vector from this model, oldest id first."""
    return store.execute(f"{_PENDING} ORDER BY a.id LIMIT ?", [model_name, limit]).fetchall()


def unread_languages(store: Store, model_name: str) -> list[tuple[str, int]]:
    """(language, articles) the store holds in languages the model does not read, most first."""
    reads = languages_read(model_name)
    if reads is None:
        return []
    return store.execute(
        """SELECT language, count(*) FROM articles
           WHERE language IS NOT NULL AND NOT list_contains(?, language)
           GROUP BY 1 ORDER BY 2 DESC, 1""",
        [sorted(reads)],
    ).fetchall()


def embed_rows(embedder: Embedder, rows: list[tuple], batch_size: int) -> np.ndarray:
    """The compute part: touches no store, so it can run in a worker thread or process."""
    return embedder.embed([article_input(t, x) for _, t, x in rows], batch_size)


def write_embeddings(store: Store, model_name: str, rows: list[tuple], vecs: np.ndarray) -> None:
    """One transaction: a killed run leaves whole batches."""
    table = pa.table(
        {"article_id": pa.array([r[0] for r in rows], pa.int64()), "vector": to_arrow_lists(vecs)}
    )
    with store.transaction(), store.registered("new_vectors", table):
        store.execute(
            "INSERT INTO embeddings (article_id, model, dim, vector) "
            "SELECT article_id, ?, ?, vector FROM new_vectors",
            [model_name, int(vecs.shape[1])],
        )


def embed_pending(
    store: Store,
    settings: AnalysisSettings,
    chunk: int = 512,
    on_progress: Callable[[int], None] | None = None,
    models: RowEmbedder | None = None,
) -> int:
    """Embed every article without a vector for this model; one transaction per chunk.

    The vectors are computed here, or by ``models`` (another process) when given.
    """
    if not count_pending(store, settings.model):
        return 0  # an idle run loads no model
    embedder = None if models else embedder_for(settings)
    done = 0
    while rows := pending_articles(store, settings.model, chunk):
        vecs = models.embed(rows) if models else embed_rows(embedder, rows, settings.batch_size)
        write_embeddings(store, settings.model, rows, vecs)
        done += len(rows)
        if on_progress:
            on_progress(len(rows))
    return done
