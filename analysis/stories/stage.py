"""The story stage: assign every unassigned article to a story, with stable ids.

Stories live in the store with their mean vector, so a later run resumes the
clustering where the last one stopped: old stories keep their ids, new articles
join them, and nothing is renumbered.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import numpy as np
import pyarrow as pa

from framewatch.analysis.embedding.vectors import to_arrow_lists, vectors_from_arrow
from framewatch.analysis.stories import leavers
from framewatch.analysis.stories.clustering import Assignment, ClusterParams, OnlineClusterer
from framewatch.analysis.stories.labels import refresh_stories
from framewatch.analysis.stories.merge import merge_stories, split_stories
from framewatch.analysis.stories.topics import assign_story_topics, mark_topics, refresh_topics
from framewatch.config import AnalysisSettings
from framewatch.store import Store, utcnow
from framewatch.story_counts import update_counts

CHUNK = 5000


def cluster_params(s: AnalysisSettings) -> ClusterParams:
    return ClusterParams(
        threshold=s.story_threshold, window_days=s.story_window_days,
        duplicate_threshold=s.duplicate_threshold, max_span_days=s.story_max_span_days,
        member_weight=s.story_member_weight, growth_penalty=s.story_growth_penalty,
        margin=s.story_margin, gap_penalty=s.story_gap_penalty,
    )  # fmt: skip


def make_clusterer(s: AnalysisSettings) -> OnlineClusterer:
    return OnlineClusterer(cluster_params(s))


def _pending(store: Store, model: str, limit: int) -> pa.Table:
    return store.arrow(
        """SELECT a.id, coalesce(a.published_at, a.fetched_at) AS t, e.dim, e.vector
           FROM articles a JOIN embeddings e ON e.article_id = a.id AND e.model = ?
           WHERE NOT EXISTS (SELECT 1 FROM story_members m WHERE m.article_id = a.id)
           ORDER BY t, a.id LIMIT ?""",
        [model, limit],
    )


def _load_active(store: Store, clusterer: OnlineClusterer, model: str, since) -> None:
    """Resume the stories that newly pending articles may still join."""
    t = store.arrow(  # members the clusterer saw: exact copies never went through it
        """SELECT s.id, s.size + s.copies - (
                      SELECT count(*) FROM story_members m JOIN article_duplicates d
                        ON d.article_id = m.article_id AND d.kind = 'exact'
                      WHERE m.story_id = s.id) AS n,
                  s.first_seen, s.last_seen, s.centroid
           FROM stories s WHERE s.model = ? AND s.last_seen >= ?""",
        [model, since],
    )
    if t.num_rows == 0:
        return
    dim = len(t.column("centroid")[0])
    cents = vectors_from_arrow(t.column("centroid"), dim)
    ids = t.column("id").to_pylist()
    recent = store.arrow(
        """SELECT story_id, article_id, vector FROM (
             SELECT m.story_id, m.article_id, e.vector,
                    row_number() OVER (PARTITION BY m.story_id ORDER BY m.article_id DESC) AS rn
             FROM story_members m JOIN embeddings e ON e.article_id = m.article_id AND e.model = ?
             WHERE m.story_id IN (SELECT unnest(?)) AND m.article_id NOT IN
                   (SELECT article_id FROM article_duplicates WHERE kind = 'exact'))
           WHERE rn <= ?""",
        [model, ids, OnlineClusterer.RECENT_MEMBERS],
    )
    rvecs = vectors_from_arrow(recent.column("vector"), dim)
    by_story: dict[int, list] = {}
    for (sid, aid), v in zip(
        zip(
            recent.column("story_id").to_pylist(),
            recent.column("article_id").to_pylist(),
            strict=True,
        ),
        rvecs,
        strict=True,
    ):
        by_story.setdefault(sid, []).append((aid, v))
    firsts, lasts, sizes = (t.column(c).to_pylist() for c in ("first_seen", "last_seen", "n"))
    for i, sid in enumerate(ids):
        clusterer.load(sid, cents[i], sizes[i], firsts[i], lasts[i], by_story.get(sid, [])[::-1])


def assign_stories(
    store: Store, settings: AnalysisSettings, model: str,
    on_progress: Callable[[int], None] | None = None,
) -> tuple[int, int]:  # fmt: skip
    """Cluster pending articles; returns (articles assigned, stories created)."""
    assigned = created = 0
    infer_missing_dates(store)
    touched_all: set[int] = set(leavers.release(store, model))
    clusterer = make_clusterer(settings)
    loaded = False
    while True:
        batch = _pending(store, model, CHUNK)
        if batch.num_rows == 0:
            break
        ids = batch.column("id").to_pylist()
        times = batch.column("t").to_pylist()
        vecs = vectors_from_arrow(batch.column("vector"), batch.column("dim")[0].as_py())
        if not loaded:
            _load_active(
                store, clusterer, model, times[0] - timedelta(days=settings.story_window_days)
            )
            loaded = True
        originals, copied_into = exact_originals(store, ids, model)
        position = {aid: i for i, aid in enumerate(ids)}
        results: list[Assignment] = []
        for aid, v, t in zip(ids, vecs, times, strict=True):
            if aid in originals:  # another outlet ran this text: it joins that story
                orig = originals[aid]
                story = copied_into.get(orig)
                if story is None:  # the original is earlier in this batch
                    story = results[position[orig]].story
                results.append(Assignment(story, 1.0, orig, 1.0))
            else:
                results.append(clusterer.add(aid, v, t))
        with store.transaction():
            new_keys = sorted(
                (k for k in clusterer.touched if k < 0), reverse=True
            )  # founding order
            mapping = {}
            for k in new_keys:
                cent, size, first, last = clusterer.state(k)
                mapping[k] = store.execute(
                    "INSERT INTO stories (model, first_seen, last_seen, size, centroid) "
                    "VALUES (?, ?, ?, ?, ?) RETURNING id",
                    [model, first, last, size, cent.tolist()],
                ).fetchone()[0]
            clusterer.rekey(mapping)
            now = utcnow()
            members = pa.table({
                "article_id": pa.array(ids, pa.int64()),
                "story_id": pa.array([mapping.get(r.story, r.story) for r in results], pa.int64()),
                "similarity": pa.array([r.similarity for r in results], pa.float32()),
            })  # fmt: skip
            with store.registered("new_members", members):
                store.execute(
                    "INSERT INTO story_members (article_id, story_id, similarity, joined_at) "
                    "SELECT article_id, story_id, similarity, ? FROM new_members",
                    [now],
                )
            dups = [(aid, r.duplicate_of, r.duplicate_similarity,
                     "exact" if aid in originals else "near")
                    for aid, r in zip(ids, results, strict=True) if r.duplicate_of is not None]  # fmt: skip
            if dups:
                store.con.executemany(
                    "INSERT INTO article_duplicates VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    dups,
                )
            old = [k for k in clusterer.touched if k not in mapping.values()]
            if old:
                upd = [clusterer.state(k) for k in old]
                table = pa.table({
                    "id": pa.array(old, pa.int64()),
                    "first_seen": pa.array([u[2] for u in upd], pa.timestamp("us")),
                    "last_seen": pa.array([u[3] for u in upd], pa.timestamp("us")),
                    "centroid": to_arrow_lists(np.stack([u[0] for u in upd])),
                })  # fmt: skip
                with store.registered("story_updates", table):
                    store.execute(
                        "UPDATE stories SET first_seen = u.first_seen, last_seen = u.last_seen, "
                        "centroid = u.centroid, updated_at = ? FROM story_updates u WHERE stories.id = u.id",
                        [now],
                    )
            touched = sorted(clusterer.touched | set(copied_into.values()))
            update_counts(store, touched)
            mark_topics(store, touched)
        touched_all |= set(touched)
        clusterer.end_batch()
        assigned += len(ids)
        created += len(mapping)
        if on_progress:
            on_progress(len(ids))
    merged = merge_stories(store, settings, model, touched_all)
    touched_all = {merged.get(k, k) for k in touched_all}
    touched_all |= set(split_stories(store, settings, model, touched_all))
    leavers.settle(store)
    unlabeled = [
        r[0] for r in store.execute("SELECT id FROM stories WHERE label IS NULL").fetchall()
    ]
    refresh_stories(store, sorted(touched_all | set(unlabeled)), model, settings)
    refresh_topics(store)
    assign_story_topics(store, settings, model)
    return assigned, created


def exact_originals(
    store: Store, ids: list[int], model: str
) -> tuple[dict[int, int], dict[int, int]]:
    """Which of ``ids`` (in clustering order) carry a text another article already has.

    Returns article -> its original (the first clustered article with that text, in
    clustering order, in a story of this ``model``; else the first of ``ids`` with it),
    and each clustered original -> its story. A wire story one outlet ran days after
    another joins the first one's story as its copy, counted once, whatever the story
    window: clustering alone would have made it a story of its own, counted twice.
    The clusterer never sees a copy (here, or when stories are loaded again), so a run
    killed and resumed clusters what follows as one uninterrupted run would.
    """
    rows = store.execute(
        """WITH b AS (SELECT a.id, a.content_hash FROM articles a WHERE a.id IN (SELECT unnest(?)))
           SELECT b.id, b.content_hash,
                  (SELECT arg_min(o.id, (coalesce(o.published_at, o.fetched_at), o.id))
                   FROM articles o JOIN story_members m ON m.article_id = o.id
                   JOIN stories s ON s.id = m.story_id AND s.model = ?
                   WHERE o.content_hash = b.content_hash AND o.id <> b.id
                     AND o.id NOT IN (SELECT article_id FROM article_duplicates)) AS clustered
           FROM b""",
        [ids, model],
    ).fetchall()
    hash_of = {aid: h for aid, h, _ in rows}
    clustered = {aid: c for aid, _, c in rows if c is not None}
    copied_into = dict(store.execute(
        "SELECT article_id, story_id FROM story_members WHERE article_id IN (SELECT unnest(?))",
        [sorted(set(clustered.values()))],
    ).fetchall()) if clustered else {}  # fmt: skip
    originals: dict[int, int] = {}
    first: dict[str, int] = {}
    for aid in ids:
        if aid in clustered:
            originals[aid] = clustered[aid]
        elif hash_of.get(aid) in first:
            originals[aid] = first[hash_of[aid]]
        elif aid in hash_of:
            first[hash_of[aid]] = aid
    return originals, copied_into


def infer_missing_dates(store: Store) -> int:
    """Give undated articles the time framewatch first saw them, and mark it inferred.

    ``insert_articles`` already dates every row it stores this way, and migration 007
    dated the older rows; this is a safety net for rows written by anything else
    (a researcher's own INSERT), run before anything orders by time.
    """
    with store.transaction():
        return store.execute(
            "UPDATE articles SET published_at = fetched_at, published_at_inferred = true "
            "WHERE published_at IS NULL"
        ).fetchone()[0]
