"""Evaluation of story clustering and framing on labelled files. Never writes to the store."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from framewatch.config import AnalysisSettings
from framewatch.errors import InputError


@dataclass
class LabelledArticle:
    title: str
    text: str
    published_at: datetime | None
    gold: str


def labelled_articles(path: Path, column_names: tuple[str, ...]) -> list[LabelledArticle]:
    """Rows of a labelled file that have a gold label in one of ``column_names``."""
    from framewatch.importer import read_records, validate

    good, errors = validate(read_records(path))
    if errors:
        raise InputError(f"{path}: {len(errors)} bad row(s), first: {errors[0]}")
    out = []
    for a in good:
        gold = next((a.extra[c] for c in column_names if a.extra.get(c) not in (None, "")), None)
        if gold is None:
            raise InputError(f"{path} line {a.line}: no {' or '.join(column_names)} column value")
        out.append(LabelledArticle(a.title, a.text, a.published_at, str(gold)))
    return out


def sample_story_articles() -> list[LabelledArticle]:
    from framewatch.sample_site import load_corpus

    return [LabelledArticle(a.title, a.text, a.published, a.story) for a in load_corpus()]


def eval_stories(articles: list[LabelledArticle], settings: AnalysisSettings) -> dict:
    """Cluster as the pipeline would (publication order) and score against gold stories."""
    from framewatch.analysis.clustering import bcubed
    from framewatch.analysis.embed import article_input, encode, model_for
    from framewatch.analysis.stories import make_clusterer
    from sklearn.metrics import adjusted_rand_score

    if not articles:
        raise InputError("no labelled articles to evaluate")
    model = model_for(settings)
    start = time.perf_counter()
    vecs = encode(model, [article_input(a.title, a.text) for a in articles], settings.batch_size)
    embed_s = time.perf_counter() - start
    order = sorted(
        range(len(articles)), key=lambda i: (articles[i].published_at or datetime.min, i)
    )
    clusterer = make_clusterer(settings)
    pred: list[int] = [0] * len(articles)
    start = time.perf_counter()
    for i in order:
        pred[i] = clusterer.add(i, vecs[i], articles[i].published_at or datetime.min).story
    cluster_s = time.perf_counter() - start
    gold = [a.gold for a in articles]
    p, r, f = bcubed(pred, gold)
    return {
        "n": len(articles),
        "bcubed_precision": round(p, 4),
        "bcubed_recall": round(r, 4),
        "bcubed_f1": round(f, 4),
        "ari": round(float(adjusted_rand_score(gold, pred)), 4),
        "predicted_clusters": len(set(pred)),
        "gold_clusters": len(set(gold)),
        "articles_per_s": round(len(articles) / max(embed_s + cluster_s, 1e-9), 1),
        "clustering_articles_per_s": round(len(articles) / max(cluster_s, 1e-9), 1),
        "threshold": settings.story_threshold,
        "window_days": settings.story_window_days,
        "model": settings.model,
    }
