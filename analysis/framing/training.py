"""Human labels in the store, and training a framing model on them for the pipeline."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from framewatch.analysis.embedding.select import embedder_for
from framewatch.analysis.embedding.static_models import with_home
from framewatch.analysis.embedding.vectors import vectors_from_arrow
from framewatch.analysis.framing.codebook import Codebook
from framewatch.analysis.framing.evaluate import codebook_rows, eval_framing, prepare
from framewatch.analysis.framing.framers import make_framer
from framewatch.analysis.framing.label_files import (  # noqa: F401 - the labelling API in one place
    LabelledText,
    parse_frames,
    read_labelled_file,
    sample_labelled,
)
from framewatch.analysis.framing.label_splits import kfold
from framewatch.analysis.framing.linear import features, fit, is_multi_label, scores
from framewatch.analysis.framing.zeroshot import SentenceEncoder, ZeroShotFramer
from framewatch.config import AnalysisSettings
from framewatch.errors import InputError
from framewatch.store import Store

__all__ = ["add_labels", "eval_framing", "parse_frames", "read_labelled_file", "train"]
TRAIN_METHODS = ("linear", "finetune")


def add_labels(
    store: Store, cb: Codebook, items: list[tuple[int, str]], origin: str = "cli"
) -> int:
    """Store (article id, frame) labels; unknown articles or frames are refused."""
    for aid, fid in items:
        cb.frame(fid)  # raises with the list of frames
        if not store.execute("SELECT 1 FROM articles WHERE id = ?", [aid]).fetchone():
            raise InputError(f"no article {aid}")
    before = store.execute("SELECT count(*) FROM labels").fetchone()[0]
    with store.transaction():
        store.con.executemany(
            "INSERT INTO labels (article_id, codebook_id, frame_id, origin) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [(aid, cb.id, fid, origin) for aid, fid in items],
        )
    return store.execute("SELECT count(*) FROM labels").fetchone()[0] - before


def label_items(store: Store, path: Path, cb: Codebook | None = None) -> list[tuple[int, str]]:
    """(article id, frame) pairs from a CSV/JSONL file of article_id (or url) and frame(s).

    Columns are read in any case and under the names `eval framing` reads (label, ...);
    with ``cb``, a frame may be written as `eval framing` takes it ("Threat", a frame's
    label). A row that names no stored article, or no frame, is refused with its line.
    """
    from framewatch.analysis.framing.label_files import frame_resolver, label_cell
    from framewatch.importer import read_records

    recs = read_records(path)
    if recs.errors:
        raise InputError(f"{path}: {recs.errors[0]}")
    resolve = frame_resolver(cb, {}) if cb is not None else None
    items: list[tuple[int, str]] = []
    for line, rec in recs.rows:
        cols = {str(k).strip().lower(): k for k in rec}
        aid = rec.get(cols.get("article_id"))
        url = rec.get(cols.get("url"))
        if aid in (None, "") and url:
            row = store.execute(
                "SELECT id FROM articles WHERE url = ? OR canonical_url = ?", [url, url]
            ).fetchone()
            aid = row[0] if row else None
        if aid in (None, ""):
            raise InputError(f"{path} line {line}: no article_id, or url of a stored article")
        frames = parse_frames(label_cell(rec, cols)[1])
        if not frames:
            raise InputError(f"{path} line {line}: no frame")
        # An unknown name stays as written, for add_labels to refuse with the frames listed.
        items += [(int(aid), (resolve(f) if resolve else None) or f) for f in frames]
    return items


def label_count(store: Store, codebook_id: str) -> int:
    return store.execute(
        "SELECT count(*) FROM labels WHERE codebook_id = ?", [codebook_id]
    ).fetchone()[0]


def _framer(cb: Codebook, settings: AnalysisSettings) -> ZeroShotFramer:
    return make_framer(cb, settings, SentenceEncoder(embedder_for(settings)))


def models_dir(store: Store) -> Path:
    """Fine-tuned models live beside the store file: STORE.models/."""
    return Path(str(store.path) + ".models")


def _stored_labels(store: Store, cb: Codebook, settings: AnalysisSettings):
    labels = store.execute(
        "SELECT article_id, list(frame_id ORDER BY frame_id) FROM labels WHERE codebook_id = ? GROUP BY 1 ORDER BY 1",
        [cb.id],
    ).fetchall()
    counts = Counter(f for _, fs in labels for f in fs)
    enough = [f for f in cb.frame_ids if counts[f] >= settings.min_labels_per_frame]
    if len(enough) < 2:
        have = ", ".join(f"{f} {counts[f]}" for f in cb.frame_ids) or "none"
        raise InputError(
            f"training needs at least {settings.min_labels_per_frame} labels for at least two frames "
            f"of {cb.id}; labels so far: {have}"
        )
    ids = [aid for aid, _ in labels]
    t = store.arrow(
        """SELECT a.id, a.title, a.text, e.dim, e.vector FROM articles a
           LEFT JOIN embeddings e ON e.article_id = a.id AND e.model = ?
           WHERE a.id IN (SELECT unnest(?)) ORDER BY a.id""",
        [settings.model, ids],
    )
    y = [[f for f in fs if f in enough] for _, fs in labels]
    keep = [i for i, fs in enumerate(y) if fs]
    skipped = {f: counts[f] for f in cb.frame_ids if f not in enough}
    return t.take(keep), [y[i] for i in keep], enough, skipped


def train(
    store: Store, cb: Codebook, settings: AnalysisSettings, cv: int = 5, method: str = "linear",
    on_progress: Callable[[int, int], None] | None = None,
) -> dict:  # fmt: skip
    """Fit on the store's labels, report held-out scores, store and activate the model."""
    method = "linear" if method == "supervised" else method
    if method not in TRAIN_METHODS:
        raise InputError(f"unknown method {method!r} (linear, finetune or supervised)")
    settings = with_home(settings, store.path)
    t, y, frames, skipped = _stored_labels(store, cb, settings)
    multi = is_multi_label(y)
    X, prior = _features(t, cb, settings), _prior(cb, settings, frames)
    clf = fit(X, y, frames, prior, multi_label=multi)
    if method == "linear":
        metrics = _cv_linear(X, y, frames, prior, cv, multi)
    else:
        metrics, ft = _train_finetune(t, X, y, frames, prior, cb, settings, cv, multi, on_progress)
    blob = clf.dumps()  # a fine-tuned model blends with this linear head, so both keep it
    path = None
    metrics["skipped_frames"] = skipped
    metrics["multi_label"] = multi
    with store.transaction():
        store.execute("UPDATE framing_models SET active = false WHERE codebook_id = ?", [cb.id])
        mid = store.execute(
            """INSERT INTO framing_models (codebook_id, codebook_hash, embedding_model, frames,
                 n_labels, metrics, model, method, base_model)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id""",
            [cb.id, cb.hash, settings.model, frames, len(y), json.dumps(metrics), blob,
             method, settings.model],
        ).fetchone()[0]  # fmt: skip
        if method == "finetune":
            path = models_dir(store) / f"{cb.id}-{mid}"
            if path.exists():
                shutil.rmtree(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            ft.save(path)
            store.execute("UPDATE framing_models SET model_path = ? WHERE id = ?", [str(path), mid])
    metrics["model_id"] = mid
    metrics["method"] = method
    metrics["model_path"] = path
    return metrics


def _features(t, cb: Codebook, settings: AnalysisSettings) -> np.ndarray:
    if t.column("vector").null_count:
        raise InputError(
            "some labelled articles have no embedding yet: run `framewatch analyze` first"
        )
    vecs = vectors_from_arrow(t.column("vector"), t.column("dim")[0].as_py())
    framed = _framer(cb, settings).frame_articles(
        list(zip(t.column("title").to_pylist(), t.column("text").to_pylist(), strict=True))
    )
    return features(vecs, np.stack([f.profile for f in framed]))


def _prior(cb: Codebook, settings: AnalysisSettings, frames: list[str]):
    """The codebook's descriptions and examples of the trained frames, as labelled rows."""
    prior = prepare(codebook_rows(cb), _framer(cb, settings), embedder_for(settings))
    keep = [i for i, r in enumerate(prior.rows) if r.frames[0] in frames]
    return prior.X[keep], [prior.rows[i].frames[0] for i in keep]


def _cv_linear(X, y, frames, prior, cv, multi) -> dict:
    pred: dict[int, list[str]] = {}
    for tr, te in kfold(y, cv):
        clf = fit(X[tr], [y[i] for i in tr], frames, prior, multi_label=multi)
        for i, p in zip(te, clf.predict_sets(X[te]), strict=True):
            pred[int(i)] = p
    metrics = scores(y, [pred[i] for i in range(len(y))], frames)
    metrics["protocol"] = f"{min(cv, len(y))}-fold"
    return metrics


def _train_finetune(t, X, y, frames, prior, cb, settings, cv, multi, on_progress):
    """Held-out scores from one stratified fold, then the model tuned on every label."""
    from framewatch.analysis.framing.finetune import finetune

    rows = [
        LabelledText(ti or "", x or "", fs)
        for ti, x, fs in zip(
            t.column("title").to_pylist(), t.column("text").to_pylist(), y, strict=True
        )  # fmt: skip
    ]
    tr, te = kfold(y, cv)[0]
    held = finetune([rows[i] for i in tr], cb, settings, multi,
                    max_steps=settings.finetune_steps, on_progress=on_progress)  # fmt: skip
    head = fit(X[tr], [y[i] for i in tr], frames, prior, multi_label=multi)
    pred = held.blended_sets([(rows[i].title, rows[i].text) for i in te], head, X[te], frames)
    metrics = scores([y[i] for i in te], pred, frames)
    metrics["protocol"] = f"held-out fold 1 of {min(cv, len(y))}"
    return metrics, finetune(rows, cb, settings, multi, max_steps=settings.finetune_steps,
                             on_progress=on_progress)  # fmt: skip
