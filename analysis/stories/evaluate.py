"""Evaluation of story clustering and framing on labelled files. Never writes to the store."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from framewatch.config import AnalysisSettings
from framewatch.errors import InputError

LEVELS = {"story": ("story", "event"), "topic": ("topic", "subject")}


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


def sample_articles(level: str = "story") -> list[LabelledArticle]:
    """The bundled gold: the sample corpus for stories, our topic set for topics.

    The topic set (sample/topics.jsonl, written by us) is 36 articles: six running
    subjects, each with three stories weeks or months apart, each story told twice.
    """
    if level != "topic":
        return sample_story_articles()
    from importlib import resources

    with resources.as_file(resources.files("framewatch") / "sample" / "topics.jsonl") as path:
        return labelled_articles(path, LEVELS["topic"])


def cluster_articles(
    vecs: np.ndarray, times: list[datetime], settings: AnalysisSettings
) -> list[int]:
    """Story of each article as the pipeline finds it: the online pass, then the merges."""
    from framewatch.analysis.stories.merge import plan_merges
    from framewatch.analysis.stories.stage import make_clusterer

    order = sorted(range(len(times)), key=lambda i: (times[i], i))
    clusterer = make_clusterer(settings)
    pred = [0] * len(times)
    for i in order:
        pred[i] = clusterer.add(i, vecs[i], times[i]).story
    stories = summarise(pred, vecs, times)
    plan = plan_merges(
        list(stories.values()), settings.story_merge_threshold,
        settings.story_merge_gap_days, settings.story_max_span_days,
    )  # fmt: skip
    return [plan[k][0] if k in plan else k for k in pred]


def summarise(pred: list[int], vecs: np.ndarray, times: list[datetime]) -> dict:
    from framewatch.analysis.stories.summary import StorySummary

    out: dict[int, StorySummary] = {}
    for i, k in enumerate(pred):
        s = out.get(k)
        if s is None:
            out[k] = StorySummary(k, vecs[i].astype(np.float64), 1, times[i], times[i])
        else:
            s.total = s.total + vecs[i]
            s.size += 1
            s.first, s.last = min(s.first, times[i]), max(s.last, times[i])
    return out


def eval_stories(
    articles: list[LabelledArticle], settings: AnalysisSettings, level: str = "story"
) -> dict:
    """Cluster as the pipeline would (publication order) and score against gold labels.

    Undated articles take the time the evaluation first saw them, as the pipeline
    gives an undated article the time it was first seen. ``level="topic"`` scores the
    topics found over the stories against topic-level gold labels.
    """
    from sklearn.metrics import adjusted_rand_score

    from framewatch.analysis.embedding.select import embedder_for
    from framewatch.analysis.embedding.stage import article_input
    from framewatch.analysis.stories.clustering import bcubed
    from framewatch.analysis.stories.topics import assign_topics
    from framewatch.store import utcnow

    if not articles:
        raise InputError("no labelled articles to evaluate")
    if level not in LEVELS:
        raise InputError(f"unknown level {level!r} (use {' or '.join(LEVELS)})")
    model = embedder_for(settings)
    start = time.perf_counter()
    vecs = model.embed([article_input(a.title, a.text) for a in articles], settings.batch_size)
    embed_s = time.perf_counter() - start
    seen = utcnow()
    times = [a.published_at or seen for a in articles]
    start = time.perf_counter()
    pred = cluster_articles(vecs, times, settings)
    stories = summarise(pred, vecs, times)
    if level == "topic":
        topic_of, _ = assign_topics(
            stories.values(), settings.topic_threshold, settings.topic_window_days
        )
        pred = [topic_of[k][0] for k in pred]
    cluster_s = time.perf_counter() - start
    gold = [a.gold for a in articles]
    p, r, f = bcubed(pred, gold)
    groups = summarise(pred, vecs, times)
    biggest = max(groups.values(), key=lambda s: (s.size, s.last - s.first, -s.key))
    window = settings.topic_window_days if level == "topic" else settings.story_window_days
    days = {k: (s.last - s.first).total_seconds() / 86400 for k, s in groups.items()}
    return {
        "level": level,
        "n": len(articles),
        "undated": sum(a.published_at is None for a in articles),
        "bcubed_precision": round(p, 4),
        "bcubed_recall": round(r, 4),
        "bcubed_f1": round(f, 4),
        "ari": round(float(adjusted_rand_score(gold, pred)), 4),
        "predicted_clusters": len(groups),
        "gold_clusters": len(set(gold)),
        "largest_size": biggest.size,
        "largest_span_days": round(days[biggest.key], 2),
        "longest_span_days": round(max(days.values()), 2),
        "spanning_over_twice_window": sum(d > 2 * window for d in days.values()),
        "articles_per_s": round(len(articles) / max(embed_s + cluster_s, 1e-9), 1),
        "clustering_articles_per_s": round(len(articles) / max(cluster_s, 1e-9), 1),
        "threshold": settings.topic_threshold if level == "topic" else settings.story_threshold,
        "window_days": window,
        "model": settings.model,
    }
