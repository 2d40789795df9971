"""Cluster every article again with the current model, after a model change.

An article keeps the story it was first clustered into, so after switching ``[analysis]
model`` (to ``multilingual``, say) the history stays in the old model's stories and the
same event is split across two spaces. ``begin`` unassigns every article, remembering its
old story in ``story_recluster``; the story stage then clusters them all in time order, as
it would a fresh store; ``finish`` points each old story id at the new story holding most
of its articles (``story_redirects``, reason ``recluster``), so links, watches and
``framewatch story OLD`` keep working. A run killed in between resumes: the next story
stage clusters what is left and ``finish`` runs when nothing is pending.

Topics are rebuilt from the new stories and get new ids; copies are found again (near ones
are judged in the model's space; an exact copy is the later of two in the new order).
"""

from __future__ import annotations

from framewatch.store import Store, utcnow


def begin(store: Store) -> int:
    """Unassign every article (in one transaction); returns how many were in stories."""
    with store.transaction():
        store.execute(
            "INSERT INTO story_recluster SELECT article_id, story_id FROM story_members "
            "ON CONFLICT DO NOTHING"
        )
        n = store.execute("SELECT count(*) FROM story_members").fetchone()[0]
        for table in ("story_members", "story_topics", "topics", "story_splits", "stories"):
            store.execute(f"DELETE FROM {table}")
        store.execute("DELETE FROM article_duplicates")  # found again, in the new order
    return n


def pending(store: Store) -> bool:
    """A recluster has begun and not yet finished (its old ids are not redirected yet)."""
    return bool(store.execute("SELECT count(*) FROM story_recluster").fetchone()[0])


def finish(store: Store) -> dict[int, int]:
    """Redirect each old story to the new story holding most of its articles (ties: the
    older new story); returns {old id: new id}. An old story none of whose articles has a
    story now (no vector of the current model) gets no redirect."""
    with store.transaction():
        rows = store.execute(
            """WITH counted AS (
                   SELECT r.old_story_id, m.story_id, count(*) AS n FROM story_recluster r
                   JOIN story_members m ON m.article_id = r.article_id
                   GROUP BY r.old_story_id, m.story_id)
               SELECT old_story_id, story_id FROM counted
               QUALIFY row_number() OVER (PARTITION BY old_story_id ORDER BY n DESC, story_id) = 1
               ORDER BY old_story_id"""
        ).fetchall()
        mapping = {old: new for old, new in rows if old != new}
        now = utcnow()
        for old, new in mapping.items():
            # Earlier redirects to the old story now lead to its successor (one hop, as merges).
            store.execute("UPDATE story_redirects SET new_id = ? WHERE new_id = ?", [new, old])
            store.execute(
                "INSERT INTO story_redirects VALUES (?, ?, NULL, 'recluster', ?) "
                "ON CONFLICT (old_id) DO UPDATE SET new_id = excluded.new_id, "
                "reason = excluded.reason, merged_at = excluded.merged_at",
                [old, new, now],
            )
        if mapping:
            # A watch that reported an old story has reported its successor: no repeat.
            store.execute(
                """INSERT INTO watch_reports
                   SELECT w.* REPLACE (coalesce(t.new_id, w.story_id) AS story_id)
                   FROM watch_reports w JOIN (SELECT unnest(?) AS old_id, unnest(?) AS new_id) t
                     ON t.old_id = w.story_id
                   ON CONFLICT DO NOTHING""",
                [list(mapping), list(mapping.values())],
            )
        store.execute("DELETE FROM story_recluster")
    return mapping
