"""Topics: running subjects (weeks to years) that group stories.

A story is one event; a topic is what a journalist follows ("COVID vaccines", "the
Premier League"). Topics are built from stories, never from articles, so neither
level bends the other: stories are clustered first, with their own rules, and each
story then joins the nearest open topic or founds one. A topic's centroid is the mean
of its stories' unit centroids, so one big story cannot pull the topic to itself.
Only topics with a story in the last ``window_days`` are compared, so the cost per
story is bounded by how many subjects run at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from framewatch.analysis.story_merge import StorySummary


@dataclass
class Topic:
    key: int  # a stored id (>= 0) or a new one (< 0, provisional)
    total: np.ndarray  # sum of its stories' unit centroids
    stories: int
    first: datetime
    last: datetime


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


def assign_topics(
    stories: Iterable[StorySummary], threshold: float, window_days: float,
    topics: Iterable[Topic] = (),
) -> tuple[dict[int, tuple[int, float]], dict[int, Topic]]:  # fmt: skip
    """``{story key: (topic key, similarity)}`` and every topic touched or founded.

    Stories go in order of first appearance (ties: key), so the result never hinges on
    input order; ``topics`` are stored ones to resume from.
    """
    window = timedelta(days=window_days)
    pool = {t.key: t for t in topics}
    touched: dict[int, Topic] = {}
    out: dict[int, tuple[int, float]] = {}
    next_new = -1
    for s in sorted(stories, key=lambda s: (s.first, s.key)):
        v = _unit(s.total.astype(np.float64))
        best, best_sim = None, threshold
        # A closed topic never reopens (stories come in time order): drop it for good.
        pool = {k: t for k, t in pool.items() if t.last >= s.first - window}
        for t in sorted(pool.values(), key=lambda t: t.key):
            sim = float(_unit(t.total) @ v)
            if sim >= best_sim and (best is None or sim > best_sim):
                best, best_sim = t, sim
        if best is None:
            best = Topic(next_new, np.zeros_like(v), 0, s.first, s.last)
            next_new -= 1
            pool[best.key] = best
            best_sim = 1.0
        best.total = best.total + v
        best.stories += 1
        best.first, best.last = min(best.first, s.first), max(best.last, s.last)
        touched[best.key] = best
        out[s.key] = (best.key, round(best_sim, 6))
    return out, touched


def assign_story_topics(store, settings, model: str) -> int:
    """Give every story without a topic one, resuming the open topics; returns how many."""
    from framewatch.analysis.embed import vectors_from_arrow

    from framewatch.store import utcnow

    t = store.arrow(
        """SELECT id, first_seen, last_seen, centroid FROM stories s WHERE model = ?
           AND NOT EXISTS (SELECT 1 FROM story_topics x WHERE x.story_id = s.id)
           ORDER BY first_seen, id""",
        [model],
    )
    if t.num_rows == 0:
        return 0
    dim = len(t.column("centroid")[0])
    cents = vectors_from_arrow(t.column("centroid"), dim)
    ids, firsts, lasts = (t.column(c).to_pylist() for c in ("id", "first_seen", "last_seen"))
    stories = [StorySummary(k, cents[i], 1, firsts[i], lasts[i]) for i, k in enumerate(ids)]
    window = timedelta(days=settings.topic_window_days)
    o = store.arrow(
        "SELECT id, stories, first_seen, last_seen, centroid FROM topics "
        "WHERE model = ? AND last_seen >= ? ORDER BY id",
        [model, min(firsts) - window],
    )
    open_topics = []
    if o.num_rows:
        tc = vectors_from_arrow(o.column("centroid"), dim).astype(np.float64)
        for i, (k, n, f, la) in enumerate(
            zip(*(o.column(c).to_pylist() for c in ("id", "stories", "first_seen", "last_seen")),
                strict=True)
        ):  # fmt: skip
            open_topics.append(Topic(k, tc[i] * n, n, f, la))
    topic_of, touched = assign_topics(
        stories, settings.topic_threshold, settings.topic_window_days, open_topics
    )
    now = utcnow()
    with store.transaction():
        keys: dict[int, int] = {}
        for key in sorted(touched, key=lambda k: (k >= 0, -k if k < 0 else k)):
            tp = touched[key]
            cent = (tp.total / tp.stories).tolist()
            if key < 0:
                keys[key] = store.execute(
                    "INSERT INTO topics (model, first_seen, last_seen, stories, centroid) "
                    "VALUES (?, ?, ?, ?, ?) RETURNING id",
                    [model, tp.first, tp.last, tp.stories, cent],
                ).fetchone()[0]
            else:
                keys[key] = key
                store.execute(
                    "UPDATE topics SET first_seen = ?, last_seen = ?, stories = ?, centroid = ?, "
                    "updated_at = ? WHERE id = ?",
                    [tp.first, tp.last, tp.stories, cent, now, key],
                )
        store.con.executemany(
            "INSERT INTO story_topics (story_id, topic_id, similarity, assigned_at) "
            "VALUES (?, ?, ?, ?)",
            [(sid, keys[k], sim, now) for sid, (k, sim) in sorted(topic_of.items())],
        )
        label_topics(store, sorted(keys.values()))
    return len(topic_of)


def label_topics(store, topic_ids: list[int]) -> None:
    """c-TF-IDF labels over each topic's headlines, against other recent topics."""
    from framewatch.analysis.story_labels import ctfidf_labels

    rows = store.execute(
        """SELECT x.topic_id, string_agg(a.title, '. ' ORDER BY a.id) FROM story_topics x
           JOIN story_members m ON m.story_id = x.story_id JOIN articles a ON a.id = m.article_id
           WHERE x.topic_id IN (SELECT unnest(?)) GROUP BY x.topic_id ORDER BY x.topic_id""",
        [topic_ids],
    ).fetchall()
    bg = store.execute(
        """SELECT string_agg(a.title, '. ') FROM story_topics x
           JOIN story_members m ON m.story_id = x.story_id JOIN articles a ON a.id = m.article_id
           WHERE x.topic_id NOT IN (SELECT unnest(?))
             AND x.topic_id IN (SELECT id FROM topics ORDER BY last_seen DESC LIMIT 400)
           GROUP BY x.topic_id""",
        [topic_ids],
    ).fetchall()
    labels = ctfidf_labels([d for _, d in rows] + [d for (d,) in bg])
    store.con.executemany(
        "UPDATE topics SET label = ? WHERE id = ?",
        [(labels[i] or None, k) for i, (k, _) in enumerate(rows)],
    )
