"""The later pass over stories: join the pieces of one event that the online pass split
(and, only where the story_split setting allows it, split a story that holds two).

The online pass decides on each article as it comes, so an article that arrives after
its story's window, or the second half of an event that resumed after a quiet spell,
founds a story of its own. Looking back over whole stories, two stories whose
centroids are very close and whose union still spans no more than a story may, are
one story: the later one is merged into the earlier, whose id lives on. Stories are
compared only with those close in time, so the pass stays linear.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from framewatch.analysis.stories.summary import StorySummary
from framewatch.analysis.stories.topics import mark_topics


def plan_merges(
    stories: list[StorySummary], threshold: float, gap_days: float, max_span_days: float
) -> dict[int, tuple[int, float]]:
    """Which story merges into which: ``{merged key: (surviving key, similarity)}``.

    Stories are visited in time order and a later piece joins the nearest earlier one;
    of the two, the stored story with the smaller id survives, so ids users have seen
    keep their meaning, and a chain of pieces collapses into one survivor.
    """
    gap, span = timedelta(days=gap_days), timedelta(days=max_span_days)
    order = sorted(stories, key=lambda s: (s.first, s.key))
    live: list[StorySummary] = []  # survivors that may still take a later piece
    out: dict[int, tuple[int, float]] = {}
    for s in order:
        live = [a for a in live if a.last >= s.first - gap and s.first - a.first <= span]
        best, best_sim = None, threshold
        v = s.total / max(np.linalg.norm(s.total), 1e-12)
        for a in live:
            if max(a.last, s.last) - a.first > span:
                continue
            sim = float(a.total @ v / max(np.linalg.norm(a.total), 1e-12))
            if sim >= best_sim and (best is None or sim > best_sim or a.key < best.key):
                best, best_sim = a, sim
        if best is None:
            live.append(StorySummary(s.key, s.total.astype(np.float64), s.size, s.first, s.last))
            continue
        # The older stored story (smaller id) keeps its id; pieces merged into the
        # other one follow it there, so no redirect ever points at a merged story.
        keep = min(best.key, s.key) if best.key >= 0 and s.key >= 0 else best.key
        gone = s.key if keep == best.key else best.key
        for k, (target, sim) in list(out.items()):
            if target == gone:
                out[k] = (keep, sim)
        out[gone] = (keep, round(best_sim, 6))
        best.key = keep
        best.total = best.total + s.total
        best.size += s.size
        best.last = max(best.last, s.last)
    return out


def merge_stories(store, settings, model: str, touched: set[int]) -> dict[int, int]:
    """Run the later pass around the stories this run touched and record every merge.

    Members move to the surviving story (none lost, none doubled: story_members keys on
    the article), the merged story's row goes, and ``story_redirects`` keeps its id
    resolving to the survivor, including ids that earlier merges pointed at it.
    """
    from framewatch.analysis.embedding.vectors import vectors_from_arrow
    from framewatch.store import utcnow

    if not touched:
        return {}
    lo, hi = store.execute(
        "SELECT min(first_seen), max(last_seen) FROM stories WHERE id IN (SELECT unnest(?))",
        [sorted(touched)],
    ).fetchone()
    if lo is None:
        return {}
    pad = timedelta(days=settings.story_max_span_days + settings.story_merge_gap_days)
    t = store.arrow(
        "SELECT id, size + copies AS n, first_seen, last_seen, centroid FROM stories "
        "WHERE model = ? AND last_seen >= ? AND first_seen <= ? ORDER BY id",
        [model, lo - pad, hi + pad],
    )
    if t.num_rows < 2:
        return {}
    cents = vectors_from_arrow(t.column("centroid"), len(t.column("centroid")[0]))
    cols = [t.column(c).to_pylist() for c in ("id", "n", "first_seen", "last_seen")]
    summaries = [
        StorySummary(k, cents[i].astype(np.float64) * n, n, f, la)
        for i, (k, n, f, la) in enumerate(zip(*cols, strict=True))
    ]
    plan = plan_merges(
        summaries, settings.story_merge_threshold, settings.story_merge_gap_days,
        settings.story_max_span_days,
    )  # fmt: skip
    if not plan:
        return {}
    now = utcnow()
    with store.transaction():
        for old, (new, sim) in sorted(plan.items()):
            store.execute("UPDATE story_members SET story_id = ? WHERE story_id = ?", [new, old])
            store.execute("UPDATE story_redirects SET new_id = ? WHERE new_id = ?", [new, old])
            store.execute(
                "INSERT INTO story_redirects VALUES (?, ?, ?, 'merge', ?)", [old, new, sim, now]
            )
        drop_stories(store, sorted(plan))
        recompute_stories(store, model, sorted({new for new, _ in plan.values()}), now)
    return {old: new for old, (new, _) in plan.items()}


def drop_stories(store, story_ids: list[int]) -> None:
    """Delete stories left with no members (merged away, or emptied when their one article's
    text was replaced). Their topics are made again from the stories they keep, at the end
    of the story stage (``topics.refresh_topics``)."""
    mark_topics(store, story_ids)
    for table, key in (("story_topics", "story_id"), ("stories", "id")):
        store.execute(f"DELETE FROM {table} WHERE {key} IN (SELECT unnest(?))", [story_ids])


def recompute_stories(store, model: str, story_ids: list[int], now, relabel: bool = True) -> None:
    """Centroid, span and counts of stories whose members changed, from those members;
    ``relabel`` clears the label so the story stage makes it (and the headline) again.

    The centroid leaves exact copies out, as the clusterer does (it never sees them), so a
    story resumed from the store (``_load_active``) has the mean it would have had."""
    from framewatch.analysis.embedding.vectors import vectors_from_arrow
    from framewatch.story_counts import update_counts

    t = store.arrow(
        """SELECT m.story_id, e.dim, e.vector, coalesce(a.published_at, a.fetched_at) AS t,
                  EXISTS (SELECT 1 FROM article_duplicates d
                          WHERE d.article_id = m.article_id AND d.kind = 'exact') AS exact
           FROM story_members m JOIN articles a ON a.id = m.article_id
           JOIN embeddings e ON e.article_id = m.article_id AND e.model = ?
           WHERE m.story_id IN (SELECT unnest(?)) ORDER BY m.story_id, m.article_id""",
        [model, story_ids],
    )
    sids, times, exact = (t.column(c).to_pylist() for c in ("story_id", "t", "exact"))
    vecs = vectors_from_arrow(t.column("vector"), t.column("dim")[0].as_py()) if sids else None
    for sid in story_ids:
        idx = [i for i, s in enumerate(sids) if s == sid]
        if not idx:  # no member has a vector yet: the next run's members will tell
            continue
        own = [i for i in idx if not exact[i]] or idx
        cent = vecs[own].mean(axis=0)
        store.execute(
            "UPDATE stories SET centroid = ?, first_seen = ?, last_seen = ?, updated_at = ?, "
            f"label = {'NULL' if relabel else 'label'} WHERE id = ?",
            [cent.tolist(), min(times[i] for i in idx), max(times[i] for i in idx), now, sid],
        )
    update_counts(store, story_ids)
    mark_topics(store, story_ids)


def plan_split(
    vecs: np.ndarray, below: float, min_part: int = 2
) -> tuple[np.ndarray, float] | None:
    """Members (in time order) that leave, and the parts' similarity; None to keep it whole.

    A deterministic two-means seeded with the earliest member and the member least like
    it; the earliest member's part keeps the story.
    """
    n = len(vecs)
    if n < 2 * min_part:
        return None
    a, b = vecs[0].astype(np.float64), vecs[int(np.argmin(vecs @ vecs[0]))].astype(np.float64)
    leave = np.zeros(n, dtype=bool)
    for _ in range(20):
        new = (vecs @ b) > (vecs @ a)
        new[0] = False
        if new.sum() in (0, n) or (new == leave).all():
            break
        leave = new
        a, b = vecs[~leave].mean(axis=0), vecs[leave].mean(axis=0)
    if min(leave.sum(), n - leave.sum()) < min_part:
        return None
    ca, cb = vecs[~leave].mean(axis=0), vecs[leave].mean(axis=0)
    sim = float(ca @ cb / max(np.linalg.norm(ca) * np.linalg.norm(cb), 1e-12))
    return (leave, round(sim, 6)) if sim < below else None


def split_stories(store, settings, model: str, story_ids: set[int]) -> dict[int, int]:
    """Split the given stories that hold two events; ``{new story: story it left}``.

    Does nothing unless ``story_split`` is on: splitting renumbers members, which
    users notice, so it is a choice, recorded in ``story_splits``.
    """
    from framewatch.analysis.embedding.vectors import vectors_from_arrow
    from framewatch.store import utcnow

    if not settings.story_split or not story_ids:
        return {}
    t = store.arrow(
        """SELECT m.story_id, m.article_id, e.dim, e.vector FROM story_members m
           JOIN articles a ON a.id = m.article_id
           JOIN embeddings e ON e.article_id = m.article_id AND e.model = ?
           WHERE m.story_id IN (SELECT unnest(?))
           ORDER BY m.story_id, coalesce(a.published_at, a.fetched_at), m.article_id""",
        [model, sorted(story_ids)],
    )
    if t.num_rows == 0:
        return {}
    vecs = vectors_from_arrow(t.column("vector"), t.column("dim")[0].as_py())
    sids, aids = t.column("story_id").to_pylist(), t.column("article_id").to_pylist()
    now, out = utcnow(), {}
    with store.transaction():
        for sid in sorted(set(sids)):
            idx = [i for i, s in enumerate(sids) if s == sid]
            plan = plan_split(vecs[idx], settings.story_split_below)
            if plan is None:
                continue
            leave, sim = plan
            moved = [aids[idx[j]] for j in np.flatnonzero(leave)]
            new = store.execute(
                "INSERT INTO stories (model, first_seen, last_seen, size, centroid) "
                "SELECT model, first_seen, last_seen, 0, centroid FROM stories WHERE id = ? "
                "RETURNING id",
                [sid],
            ).fetchone()[0]
            store.execute(
                "UPDATE story_members SET story_id = ? WHERE article_id IN (SELECT unnest(?))",
                [new, moved],
            )
            store.execute(
                "INSERT INTO story_splits VALUES (?, ?, ?, ?, ?)", [sid, new, len(moved), sim, now]
            )
            out[new] = sid
        if out:
            recompute_stories(store, model, sorted({*out, *out.values()}), now)
    return out
