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
import pyarrow as pa
import pyarrow.compute as pc

from framewatch.analysis.stories.summary import StorySummary


@dataclass
class Topic:
    key: int  # a stored id (>= 0) or a new one (< 0, provisional)
    total: np.ndarray  # sum of its stories' unit centroids
    stories: int
    first: datetime
    last: datetime


def _seconds(t: datetime) -> float:
    return (t - datetime(1970, 1, 1)).total_seconds()


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


def assign_topics(
    stories: Iterable[StorySummary], threshold: float, window_days: float,
    topics: Iterable[Topic] = (),
) -> tuple[dict[int, tuple[int, float]], dict[int, Topic]]:  # fmt: skip
    """``{story key: (topic key, similarity)}`` and every topic touched or founded.

    Stories go in order of first appearance (ties: key), so the result never hinges on
    input order; ``topics`` are stored ones to resume from. Ties between topics go to
    the older one.
    """
    window = timedelta(days=window_days)
    pool = _Pool()
    for t in sorted(topics, key=lambda t: t.key):
        pool.add(t)
    touched: dict[int, Topic] = {}
    out: dict[int, tuple[int, float]] = {}
    next_new = -1
    for s in sorted(stories, key=lambda s: (s.first, s.key)):
        v = _unit(s.total.astype(np.float64))
        pool.close_before(s.first - window)
        i, sim = pool.nearest(v)
        if i is not None and sim >= threshold:
            best = pool.topics[i]
        else:
            best = Topic(next_new, np.zeros_like(v), 0, s.first, s.last)
            next_new -= 1
            i, sim = pool.add(best), 1.0
        if best.stories:
            best.total = best.total + v
            best.first, best.last = min(best.first, s.first), max(best.last, s.last)
        else:  # a new topic, or one whose stories all went: this story's alone
            best.total, best.first, best.last = v, s.first, s.last
        best.stories += 1
        pool.update(i)
        touched[best.key] = best
        out[s.key] = (best.key, round(sim, 6))
    return out, touched


class _Pool:
    """Open topics as rows of a matrix, so one story costs one product; closed rows are
    masked, and dropped once they are half the matrix (amortised linear)."""

    def __init__(self) -> None:
        self.topics: list[Topic] = []
        self._rows: list[int] = []  # topic index of each matrix row, oldest first
        self._row_of: dict[int, int] = {}
        self._m = np.zeros((0, 0))
        self._last = np.zeros(0)  # seconds since the epoch of each row's latest story
        self._cutoff = -np.inf

    def add(self, t: Topic) -> int:
        i = len(self.topics)
        self.topics.append(t)
        n = len(self._rows)
        if self._m.shape[1] == 0:
            self._m, self._last = np.zeros((16, len(t.total)), np.float32), np.full(16, -np.inf)
        if n == len(self._m):
            self._compact()
            n = len(self._rows)
            if n >= len(self._m) // 2:  # still crowded: grow
                cap = max(16, 2 * len(self._m))
                m, last = np.zeros((cap, len(t.total)), np.float32), np.full(cap, -np.inf)
                m[:n], last[:n] = self._m[:n], self._last[:n]
                self._m, self._last = m, last
        self._rows.append(i)
        self._row_of[i] = n
        self.update(i)
        return i

    def update(self, i: int) -> None:
        t, r = self.topics[i], self._row_of[i]
        self._m[r] = _unit(t.total)
        self._last[r] = _seconds(t.last)

    def close_before(self, when: datetime) -> None:
        # A closed topic never reopens (stories come in time order).
        self._cutoff = _seconds(when)

    def _compact(self) -> None:
        n = len(self._rows)
        keep = np.flatnonzero(self._last[:n] >= self._cutoff)
        self._m[: len(keep)], self._last[: len(keep)] = self._m[keep], self._last[keep]
        self._last[len(keep) :] = -np.inf
        self._rows = [self._rows[k] for k in keep]
        self._row_of = {i: r for r, i in enumerate(self._rows)}

    def nearest(self, v: np.ndarray) -> tuple[int | None, float]:
        n = len(self._rows)
        if n == 0:
            return None, -1.0
        sims = (self._m[:n] @ v.astype(np.float32)).astype(np.float64)
        sims[self._last[:n] < self._cutoff] = -np.inf
        j = int(np.argmax(sims))  # the first of equal maxima: the older topic
        return (self._rows[j], float(sims[j])) if np.isfinite(sims[j]) else (None, -1.0)


def assign_story_topics(store, settings, model: str) -> int:
    """Give every story without a topic one, resuming the open topics; returns how many."""
    from framewatch.analysis.embedding.vectors import vectors_from_arrow
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
            # an emptied topic (no story left) is matched by its last centroid
            open_topics.append(Topic(k, tc[i] * n if n else tc[i], n, f, la))
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


def mark_topics(store, story_ids: Iterable[int]) -> None:
    """Mark the topics of these stories, whose members changed, to be made again at the end
    of the story stage; called in the transaction that changes the stories."""
    store.execute(
        "INSERT INTO topic_refresh SELECT DISTINCT topic_id FROM story_topics "
        "WHERE story_id IN (SELECT unnest(?)) ON CONFLICT DO NOTHING",
        [sorted(story_ids)],
    )


def refresh_topics(store) -> list[int]:
    """Topics made again from the stories they hold now: count, span, centroid, label.

    Those marked by ``mark_topics`` (their stories grew, merged, split, left or were
    emptied), of any model, and any whose ``stories`` does not match ``story_topics`` (a
    store from before the marks). A topic left with no story keeps its row (its id may
    be in links), its centroid and label, with ``stories = 0``; the next story like it
    joins it, and the topic becomes that story's. Returns the topics made again."""
    from framewatch.analysis.embedding.vectors import to_arrow_lists
    from framewatch.store import utcnow

    stale = [r[0] for r in store.execute(
        """SELECT topic_id FROM topic_refresh
           UNION SELECT t.id FROM topics t
           LEFT JOIN (SELECT topic_id, count(*) AS n FROM story_topics GROUP BY topic_id) x
             ON x.topic_id = t.id
           WHERE t.stories <> coalesce(x.n, 0)
           ORDER BY 1"""
    ).fetchall()]  # fmt: skip
    if not stale:
        return []
    spans = store.execute(
        """SELECT x.topic_id, count(*), min(s.first_seen), max(s.last_seen) FROM story_topics x
           JOIN stories s ON s.id = x.story_id WHERE x.topic_id IN (SELECT unnest(?))
           GROUP BY x.topic_id ORDER BY x.topic_id""",
        [stale],
    ).fetchall()
    means = _mean_units(store.arrow(
        """SELECT x.topic_id, s.centroid FROM story_topics x JOIN stories s ON s.id = x.story_id
           WHERE x.topic_id IN (SELECT unnest(?)) ORDER BY x.topic_id, s.id""",
        [stale],
    ))  # fmt: skip
    empty = sorted(set(stale) - set(means))
    now = utcnow()
    with store.transaction():
        if empty:
            store.execute(
                "UPDATE topics SET stories = 0, updated_at = ? WHERE id IN (SELECT unnest(?))",
                [now, empty],
            )
        for dim in sorted({len(v) for v in means.values()}):  # one per model's vector size
            rows = [r for r in spans if len(means[r[0]]) == dim]
            table = pa.table({
                "id": pa.array([r[0] for r in rows], pa.int64()),
                "stories": pa.array([r[1] for r in rows], pa.int64()),
                "first_seen": pa.array([r[2] for r in rows], pa.timestamp("us")),
                "last_seen": pa.array([r[3] for r in rows], pa.timestamp("us")),
                "centroid": to_arrow_lists(np.stack([means[r[0]] for r in rows])),
            })  # fmt: skip
            with store.registered("topic_updates", table):
                store.execute(
                    "UPDATE topics SET first_seen = u.first_seen, last_seen = u.last_seen, "
                    "stories = u.stories, centroid = u.centroid, updated_at = ? "
                    "FROM topic_updates u WHERE topics.id = u.id",
                    [now],
                )
        store.execute("DELETE FROM topic_refresh WHERE topic_id IN (SELECT unnest(?))", [stale])
        if means:
            label_topics(store, sorted(means))
    return stale


def _mean_units(t: pa.Table) -> dict[int, np.ndarray]:
    """Each topic's mean of its stories' unit centroids, from (topic_id, centroid) rows in
    order; topics of models with other vector sizes are averaged apart."""
    from framewatch.analysis.embedding.vectors import vectors_from_arrow

    if t.num_rows == 0:
        return {}
    keys = t.column("topic_id").to_numpy()
    sizes = pc.list_value_length(t.column("centroid")).to_numpy()
    out: dict[int, np.ndarray] = {}
    for dim in np.unique(sizes):
        rows = np.flatnonzero(sizes == dim)
        v = vectors_from_arrow(t.column("centroid").take(rows), int(dim)).astype(np.float64)
        v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
        ks, which = np.unique(keys[rows], return_inverse=True)
        sums = np.zeros((len(ks), int(dim)))
        np.add.at(sums, which, v)
        counts = np.bincount(which)
        out.update({int(k): sums[j] / counts[j] for j, k in enumerate(ks)})
    return out


def label_topics(store, topic_ids: list[int]) -> None:
    """c-TF-IDF labels over each topic's headlines, against other recent topics."""
    from framewatch.analysis.stories.labels import ctfidf_labels

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
             AND x.topic_id IN (SELECT id FROM topics WHERE stories > 0
                                ORDER BY last_seen DESC LIMIT 400)
           GROUP BY x.topic_id""",
        [topic_ids],
    ).fetchall()
    labels = ctfidf_labels([d for _, d in rows] + [d for (d,) in bg])
    store.con.executemany(
        "UPDATE topics SET label = ? WHERE id = ?",
        [(labels[i] or None, k) for i, (k, _) in enumerate(rows)],
    )
