"""Human labels, training the supervised classifier, and framing evaluation."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from framewatch.analysis.codebooks import Codebook
from framewatch.analysis.embed import article_input, encode, model_for, vectors_from_arrow
from framewatch.analysis.framing import SentenceEncoder, ZeroShotFramer
from framewatch.analysis.supervised import cross_validate, features, fit, scores

from framewatch.config import AnalysisSettings
from framewatch.errors import InputError
from framewatch.store import Store


def parse_frames(value: object) -> list[str]:
    """A frame id, a JSON list of them, or a ';'-separated string."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    text = str(value).strip()
    if text.startswith("["):
        try:
            return parse_frames(json.loads(text))
        except json.JSONDecodeError:
            pass
    return [p.strip() for p in text.split(";") if p.strip()]


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


@dataclass
class LabelledText:
    title: str
    text: str
    frames: list[str]


def read_labelled_file(path: Path, cb: Codebook) -> list[LabelledText]:
    from framewatch.importer import read_records

    recs = read_records(path)
    if recs.errors:
        raise InputError(f"{path}: {recs.errors[0]}")
    out = []
    for line, rec in recs.rows:
        text = str(rec.get("text") or rec.get("title") or "").strip()
        if not text:
            raise InputError(f"{path} line {line}: needs a text or title")
        frames = parse_frames(
            rec.get("frames") if rec.get("frames") not in (None, "") else rec.get("frame")
        )
        if not frames:
            raise InputError(f"{path} line {line}: needs a frame or frames value")
        for f in frames:
            if f not in cb.frame_ids:
                raise InputError(f"{path} line {line}: frame {f!r} is not in codebook {cb.id}")
        out.append(LabelledText(str(rec.get("title") or ""), text, frames))
    if not out:
        raise InputError(f"{path}: no labelled rows")
    return out


def _framer(cb: Codebook, settings: AnalysisSettings) -> ZeroShotFramer:
    return ZeroShotFramer(
        cb,
        SentenceEncoder(model_for(settings)),
        settings.frame_threshold,
    )


def text_features(rows: list[LabelledText], framer: ZeroShotFramer, settings: AnalysisSettings):
    framed = framer.frame_articles([(r.title or None, r.text) for r in rows])
    vecs = encode(
        model_for(settings),
        [article_input(r.title, r.text) for r in rows],
    )
    return features(vecs, np.stack([f.profile for f in framed])), framed


def _confusion(gold: list[list[str]], pred: list[list[str]]) -> dict[str, dict[str, int]]:
    counts = Counter(
        (g[0], p[0] if p else "none") for g, p in zip(gold, pred, strict=True) if len(g) == 1
    )
    out: dict[str, dict[str, int]] = {}
    for (g, p), n in sorted(counts.items()):
        out.setdefault(g, {})[p] = n
    return out


def eval_framing(
    rows: list[LabelledText], cb: Codebook, settings: AnalysisSettings, method: str = "zero-shot",
    train_rows: list[LabelledText] | None = None, cv: int | None = None,
) -> dict:  # fmt: skip
    framer = _framer(cb, settings)
    gold = [r.frames for r in rows]
    if method == "zero-shot":
        pred = [
            [f.primary] if f.primary else []
            for f in framer.frame_articles([(r.title or None, r.text) for r in rows])
        ]
        result = scores(gold, pred, cb.frame_ids)
    elif method == "supervised":
        X, _ = text_features(rows, framer, settings)
        if train_rows is not None:
            Xt, _ = text_features(train_rows, framer, settings)
            present = [f for f in cb.frame_ids if any(f in r.frames for r in train_rows)]
            clf = fit(Xt, [r.frames for r in train_rows], present)
            pred = clf.predict_sets(X)
            result = scores(gold, pred, cb.frame_ids)
        else:
            result, pred = cross_validate(X, gold, cb.frame_ids, cv or 5)
    else:
        raise InputError(f"unknown method {method!r} (zero-shot or supervised)")
    result["confusion"] = _confusion(gold, pred)
    result["method"] = method
    result["codebook"] = cb.id
    return result


def train(store: Store, cb: Codebook, settings: AnalysisSettings, cv: int = 5) -> dict:
    """Fit on the store's labels, report cross-validated F1, store and activate the model."""
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
           JOIN embeddings e ON e.article_id = a.id AND e.model = ?
           WHERE a.id IN (SELECT unnest(?)) ORDER BY a.id""",
        [settings.model, ids],
    )
    if t.num_rows < len(ids):
        raise InputError(
            "some labelled articles have no embedding yet: run `framewatch analyze` first"
        )
    vecs = vectors_from_arrow(t.column("vector"), t.column("dim")[0].as_py())
    framed = _framer(cb, settings).frame_articles(
        list(zip(t.column("title").to_pylist(), t.column("text").to_pylist(), strict=True))
    )
    X = features(vecs, np.stack([f.profile for f in framed]))
    y = [[f for f in fs if f in enough] for _, fs in labels]
    keep = [i for i, fs in enumerate(y) if fs]
    X, y = X[keep], [y[i] for i in keep]
    metrics, _ = cross_validate(X, y, enough, cv)
    clf = fit(X, y, enough)
    metrics["skipped_frames"] = {f: counts[f] for f in cb.frame_ids if f not in enough}
    with store.transaction():
        store.execute("UPDATE framing_models SET active = false WHERE codebook_id = ?", [cb.id])
        mid = store.execute(
            """INSERT INTO framing_models (codebook_id, codebook_hash, embedding_model, frames, n_labels, metrics, model)
               VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id""",
            [cb.id, cb.hash, settings.model, enough, len(y), json.dumps(metrics), clf.dumps()],
        ).fetchone()[0]
    metrics["model_id"] = mid
    return metrics


def sample_labelled() -> list[LabelledText]:
    from framewatch.sample_site import load_corpus

    return [LabelledText(a.title, a.text, [a.frame]) for a in load_corpus()]
