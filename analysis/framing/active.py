"""Which unlabelled articles to label next: those the classifier is least sure of, spread out.

Uncertainty is the margin between an article's two best frame scores as the pipeline
last stored them (probabilities once a model is trained, zero-shot scores before):
a small margin means the label would move the boundary. Diversity: candidates are
picked greedily, each time the one whose uncertainty times its distance to everything
already labelled or picked is largest, so 50 picks do not all say the same thing.
"""

from __future__ import annotations

import numpy as np

from framewatch.analysis.embedding.vectors import vectors_from_arrow
from framewatch.analysis.framing.codebook import Codebook
from framewatch.errors import InputError
from framewatch.store import Store


def suggest(store: Store, cb: Codebook, model: str, n: int) -> list[dict]:
    """Up to n unlabelled, analysed articles, most useful first."""
    if n < 1:
        raise InputError("--suggest needs a positive number of articles")
    t = store.arrow(
        """SELECT a.id, a.title, e.dim, e.vector, list(f.score ORDER BY f.frame_id) AS scores,
                  any_value(v.primary_frame) AS primary_frame
           FROM articles a
           JOIN embeddings e ON e.article_id = a.id AND e.model = ?
           JOIN article_frames f ON f.article_id = a.id AND f.codebook_id = ? AND f.frame_id <> 'none'
           LEFT JOIN article_framing v ON v.article_id = a.id AND v.codebook_id = f.codebook_id
           WHERE a.id NOT IN (SELECT article_id FROM labels WHERE codebook_id = ?)
           GROUP BY a.id, a.title, e.dim, e.vector ORDER BY a.id""",
        [model, cb.id, cb.id],
    )
    if t.num_rows == 0:
        raise InputError(
            f"no unlabelled article framed with {cb.id} yet: run `framewatch analyze` first"
        )
    dim = t.column("dim")[0].as_py()
    vecs = vectors_from_arrow(t.column("vector"), dim)
    labelled = store.arrow(
        """SELECT e.dim, e.vector FROM embeddings e WHERE e.model = ? AND e.article_id IN
           (SELECT article_id FROM labels WHERE codebook_id = ?) ORDER BY e.article_id""",
        [model, cb.id],
    )
    known = vectors_from_arrow(labelled.column("vector"), dim)
    sc = np.array(
        [[s if s is not None else 0.0 for s in row] for row in t.column("scores").to_pylist()]
    )
    top2 = -np.sort(-sc, axis=1)[:, :2] if sc.shape[1] > 1 else np.c_[sc, sc]
    spread = float(np.ptp(sc)) or 1.0
    uncertainty = 1.0 - np.clip((top2[:, 0] - top2[:, 1]) / spread, 0.0, 1.0)
    # distance to the nearest labelled or picked article (cosine; vectors are unit length)
    nearest = 1.0 - (known @ vecs.T).max(axis=0) if len(known) else np.ones(len(vecs))
    picked: list[int] = []
    ids, titles = t.column("id").to_pylist(), t.column("title").to_pylist()
    primary = t.column("primary_frame").to_pylist()
    for _ in range(min(n, len(ids))):
        gain = uncertainty * np.maximum(nearest, 1e-6)
        gain[picked] = -1.0
        best = int(np.argmax(gain))  # ties: the lowest article id (rows are ordered by id)
        picked.append(best)
        nearest = np.minimum(nearest, 1.0 - vecs @ vecs[best])
    return [
        {"article_id": ids[i], "title": titles[i], "predicted": primary[i],
         "uncertainty": round(float(uncertainty[i]), 3)}
        for i in picked
    ]  # fmt: skip
