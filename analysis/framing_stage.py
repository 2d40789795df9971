"""The framing stage: frame every pending article with every configured codebook.

An article is pending for a codebook when it has no verdict from the current
method version; training a model or editing a codebook changes the version, so
the next run re-frames everything under it, replacing the old rows.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
from framewatch.analysis.codebooks import Codebook, register, resolve_codebook
from framewatch.analysis.embed import load_model, vectors_from_arrow
from framewatch.analysis.framing import SentenceEncoder, ZeroShotFramer
from framewatch.analysis.supervised import FrameClassifier, features

from framewatch.config import AnalysisSettings
from framewatch.store import Store

CHUNK = 256


def active_model(
    store: Store, cb: Codebook, embedding_model: str
) -> tuple[int, FrameClassifier] | None:
    row = store.execute(
        """SELECT id, model FROM framing_models WHERE codebook_id = ? AND codebook_hash = ?
           AND embedding_model = ? AND active ORDER BY id DESC LIMIT 1""",
        [cb.id, cb.hash, embedding_model],
    ).fetchone()
    return (row[0], FrameClassifier.loads(row[1])) if row else None


def frame_pending(
    store: Store, settings: AnalysisSettings, encoder: SentenceEncoder | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> dict[str, int]:  # fmt: skip
    """Frame pending articles for each configured codebook; returns counts per codebook."""
    done: dict[str, int] = {}
    for cid in settings.codebooks:
        cb = resolve_codebook(cid, store)
        with store.transaction():
            register(store, cb)
        framer = None  # built on first need: an idle run loads no model
        sup = active_model(store, cb, settings.model)
        if sup:
            method, version = "supervised", f"supervised:{sup[0]}:{cb.hash}"
        else:
            method, version = "zero-shot", f"zero-shot:{settings.model}:{cb.hash}"
        done[cb.id] = 0
        while True:
            rows = store.arrow(
                """SELECT a.id, a.title, a.text, e.dim, e.vector FROM articles a
                   LEFT JOIN embeddings e ON e.article_id = a.id AND e.model = ?
                   WHERE NOT EXISTS (SELECT 1 FROM article_framing f WHERE f.article_id = a.id
                                     AND f.codebook_id = ? AND f.model_version = ?)
                     AND (? = 'zero-shot' OR e.vector IS NOT NULL)
                   ORDER BY a.id LIMIT ?""",
                [settings.model, cb.id, version, method, CHUNK],
            )
            if rows.num_rows == 0:
                break
            if framer is None:
                encoder = encoder or SentenceEncoder(
                    load_model(settings.model, settings.embed_max_tokens),
                    batch_size=max(settings.batch_size, 128),
                )
                framer = ZeroShotFramer(cb, encoder, settings.frame_threshold)
            ids = rows.column("id").to_pylist()
            results = framer.frame_articles(
                list(
                    zip(
                        rows.column("title").to_pylist(),
                        rows.column("text").to_pylist(),
                        strict=True,
                    )
                )
            )
            probas = None
            if sup:
                vecs = vectors_from_arrow(rows.column("vector"), rows.column("dim")[0].as_py())
                X = features(vecs, np.stack([r.profile for r in results]))
                probas = sup[1].predict_proba(X)
            with store.transaction():
                _write(store, cb, ids, results, probas, sup[1] if sup else None, method, version)
            done[cb.id] += len(ids)
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
