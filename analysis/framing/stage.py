"""The framing stage: frame every pending article with every configured codebook.

An article is pending for a codebook when it has no verdict from the current
method version; training a model or editing a codebook changes the version, so
the next run re-frames everything under it, replacing the old rows.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np
import pyarrow as pa

from framewatch.analysis.embedding.select import embedder_for
from framewatch.analysis.embedding.static_models import with_home
from framewatch.analysis.embedding.vectors import vectors_from_arrow
from framewatch.analysis.framing.codebook import Codebook, register, resolve_codebook
from framewatch.analysis.framing.framers import make_framer, version_suffix
from framewatch.analysis.framing.linear import FrameClassifier, features
from framewatch.analysis.framing.zeroshot import ArticleFraming, SentenceEncoder, ZeroShotFramer
from framewatch.config import AnalysisSettings
from framewatch.errors import InputError
from framewatch.store import Store

CHUNK = 256


class ArticleFramer(Protocol):
    """Frames (title, text) documents somewhere else (the pipeline's model process)."""

    def frame(self, cb: Codebook, docs: list[tuple]) -> list[ArticleFraming]: ...


def sentence_encoder(settings: AnalysisSettings) -> SentenceEncoder:
    """Sentences are short: batches of at least 128 keep the model busy."""
    return SentenceEncoder(embedder_for(settings), batch_size=max(settings.batch_size, 128))


class LinearModel:
    """A trained linear head over the stored article embedding and the zero-shot profile."""

    needs_vectors = True

    def __init__(self, clf: FrameClassifier):
        self.clf, self.frames = clf, clf.frames

    def probas(self, rows: pa.Table, results: list) -> np.ndarray:
        vecs = vectors_from_arrow(rows.column("vector"), rows.column("dim")[0].as_py())
        return self.clf.predict_proba(features(vecs, np.stack([r.profile for r in results])))


class FineTunedModel:
    """A tuned encoder (loaded from beside the store on first use) blended with the
    linear head it was trained with."""

    needs_vectors = True

    def __init__(self, path: str, frames: list[str], device: str, head: FrameClassifier):
        self.path, self.frames, self.device, self.head = path, list(frames), device, head
        self._model = None

    def probas(self, rows: pa.Table, results: list) -> np.ndarray:
        from framewatch.analysis.framing.finetune import blend, load_finetuned

        if self._model is None:
            self._model = load_finetuned(Path(self.path), self.device)
        tuned = self._model.predict_proba_docs(FramingJob.docs(rows))
        linear = LinearModel(self.head).probas(rows, results)
        return blend(tuned, self._model.frames, linear, self.head, self.frames)


def active_model(
    store: Store, cb: Codebook, settings: AnalysisSettings
) -> tuple[int, str, LinearModel | FineTunedModel] | None:
    """The codebook's active trained model for this codebook version and encoder."""
    row = store.execute(
        """SELECT id, coalesce(method, 'linear'), model, model_path, frames FROM framing_models
           WHERE codebook_id = ? AND codebook_hash = ? AND embedding_model = ? AND active
           ORDER BY id DESC LIMIT 1""",
        [cb.id, cb.hash, settings.model],
    ).fetchone()
    if row is None:
        return None
    mid, method, blob, path, frames = row
    if method == "finetune":
        if not blob:
            raise InputError(
                f"the fine-tuned model {mid} for {cb.id} is from an older framewatch: "
                "run `framewatch train --method finetune` again"
            )
        head = FrameClassifier.loads(blob)
        return mid, method, FineTunedModel(path, frames, settings.device, head)
    return mid, method, LinearModel(FrameClassifier.loads(blob))


class FramingJob:
    """One codebook's pending articles, in three parts.

    ``pending`` and ``write`` touch the store; ``compute`` touches only the model, so
    it can run in a worker thread while the caller's thread keeps fetching.
    """

    def __init__(self, store: Store, settings: AnalysisSettings, codebook_id: str,
                 encoder: SentenceEncoder | None = None):  # fmt: skip
        settings = with_home(settings, store.path)  # a static model lives beside the store
        self.store, self.settings, self.encoder = store, settings, encoder
        self.cb = resolve_codebook(codebook_id, store)
        with store.transaction():
            register(store, self.cb)
        self.sup = active_model(store, self.cb, settings)
        if self.sup:
            mid, kind, _ = self.sup
            self.method = "supervised" if kind == "linear" else kind
            self.version = f"{self.method}:{mid}:{self.cb.hash}"
        else:
            self.method, self.version = "zero-shot", f"zero-shot:{settings.model}:{self.cb.hash}"
        self.version += version_suffix(settings)
        self._framer: ZeroShotFramer | None = None  # built on first need: idle runs load no model

    def pending(self, limit: int = CHUNK) -> pa.Table | None:
        rows = self.store.arrow(
            """SELECT a.id, a.title, a.text, e.dim, e.vector FROM articles a
               LEFT JOIN embeddings e ON e.article_id = a.id AND e.model = ?
               WHERE NOT EXISTS (SELECT 1 FROM article_framing f WHERE f.article_id = a.id
                                 AND f.codebook_id = ? AND f.model_version = ?)
                 AND (NOT ? OR e.vector IS NOT NULL)
               ORDER BY a.id LIMIT ?""",
            [
                self.settings.model,
                self.cb.id,
                self.version,
                bool(self.sup and self.sup[2].needs_vectors),
                limit,
            ],  # fmt: skip
        )
        return rows if rows.num_rows else None

    @staticmethod
    def docs(rows: pa.Table) -> list[tuple[str | None, str | None]]:
        return list(
            zip(rows.column("title").to_pylist(), rows.column("text").to_pylist(), strict=True)
        )

    def compute(self, rows: pa.Table, models: ArticleFramer | None = None):
        """Frame the rows here, or in ``models``' process; returns what ``write`` takes."""
        if models is not None:
            return self.verdicts(rows, models.frame(self.cb, self.docs(rows)))
        if self._framer is None:
            self.encoder = self.encoder or sentence_encoder(self.settings)
            self._framer = make_framer(self.cb, self.settings, self.encoder)
        return self.verdicts(rows, self._framer.frame_articles(self.docs(rows)))

    def verdicts(self, rows: pa.Table, results: list) -> tuple[list[int], list, np.ndarray | None]:
        """Zero-shot framings, with the trained classifier's probabilities when there is one."""
        probas = self.sup[2].probas(rows, results) if self.sup else None
        return rows.column("id").to_pylist(), results, probas

    def write(self, ids: list[int], results: list, probas: np.ndarray | None) -> None:
        clf = self.sup[2] if self.sup else None
        with self.store.transaction():
            _write(self.store, self.cb, ids, results, probas, clf, self.method, self.version)


def frame_pending(
    store: Store, settings: AnalysisSettings, encoder: SentenceEncoder | None = None,
    on_progress: Callable[[int], None] | None = None, models: ArticleFramer | None = None,
) -> dict[str, int]:  # fmt: skip
    """Frame pending articles for each configured codebook; returns counts per codebook."""
    done: dict[str, int] = {}
    for cid in settings.codebooks:
        job = FramingJob(store, settings, cid, encoder)
        done[job.cb.id] = 0
        while (rows := job.pending()) is not None:
            ids, results, probas = job.compute(rows, models)
            job.write(ids, results, probas)
            encoder = job.encoder  # one encoder (and its cache) for every codebook
            done[job.cb.id] += len(ids)
            if on_progress:
                on_progress(len(ids))
    return done


def _write(store, cb, ids, results, probas, clf, method, version) -> None:
    for table in ("article_frames", "article_framing", "frame_evidence"):
        store.execute(
            f"DELETE FROM {table} WHERE codebook_id = ? AND article_id IN (SELECT unnest(?))",
            [cb.id, ids],
        )
    frames_rows, verdicts, evidence = [], [], []
    for i, (aid, r) in enumerate(zip(ids, results, strict=True)):
        shares, primary, confidence, none_share = (
            dict(r.shares),
            r.primary,
            r.confidence,
            r.none_share,
        )
        scores = dict(r.scores)
        if probas is not None:
            p = probas[i]
            prob = {f: float(p[j]) for j, f in enumerate(clf.frames)}
            total = sum(prob.values()) or 1.0
            framed = 1.0 - none_share
            shares = {f: framed * prob.get(f, 0.0) / total for f in cb.frame_ids}
            scores = {f: prob.get(f, 0.0) for f in cb.frame_ids}
            primary = max(prob, key=prob.get)
            confidence = prob[primary]
        for fid in cb.frame_ids:
            frames_rows.append(
                (aid, cb.id, fid, shares[fid], scores[fid], fid == primary, method, version)
            )
        frames_rows.append((aid, cb.id, "none", none_share, None, False, method, version))
        verdicts.append((aid, cb.id, primary, confidence, none_share, r.sentences, method, version))
        for fid, ev in r.evidence.items():
            for rank, (sentence, score) in enumerate(ev, 1):
                evidence.append((aid, cb.id, fid, rank, sentence, score))
    _insert(store, "article_frames",
            ["article_id", "codebook_id", "frame_id", "share", "score", "is_primary", "method", "model_version"],
            frames_rows)  # fmt: skip
    _insert(store, "article_framing",
            ["article_id", "codebook_id", "primary_frame", "confidence", "none_share", "sentences", "method", "model_version"],
            verdicts)  # fmt: skip
    _insert(store, "frame_evidence",
            ["article_id", "codebook_id", "frame_id", "rank", "sentence", "score"], evidence)  # fmt: skip


def _insert(store: Store, table: str, columns: list[str], rows: list[tuple]) -> None:
    if not rows:
        return
    data = pa.table({c: [r[i] for r in rows] for i, c in enumerate(columns)})
    with store.registered("_rows", data):
        store.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(columns)} FROM _rows"
        )
