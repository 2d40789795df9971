"""Cluster every article again with the current model, after a model change.

An article keeps the story it was first clustered into, so after switching ``[analysis]
model`` (to ``multilingual``, say) the history stays in the old model's stories and the
same event is split across two spaces. ``begin`` unassigns every article, remembering its
old story in ``story_recluster``; the story stage then clusters them all in time order, as
it would a fresh store; ``finish`` points each old story id at the new story holding most
of its articles (``story_redirects``, reason ``recluster``), so links, watches and
``framewatch story OLD`` keep working. A run killed in between resumes: the next story
stage clusters what is left and ``finish`` runs when nothing is pending.

Topics are rebuilt from the new stories and get new ids (``topic_redirects`` leads each
old id to the new topic holding most of its articles); copies are found again (near ones
are judged in the model's space; an exact copy is the later of two in the new order).
"""

from __future__ import annotations

from framewatch.store import Store, utcnow


def begin(store: Store) -> int:
    """Unassign every article (in one transaction); returns how many were in stories."""
    with store.transaction():
        store.execute(
            """INSERT INTO story_recluster
               SELECT m.article_id, m.story_id, t.topic_id FROM story_members m
               LEFT JOIN story_topics t ON t.story_id = m.story_id
               ON CONFLICT DO NOTHING"""
        )
        n = store.execute("SELECT count(*) FROM story_members").fetchone()[0]
        for table in (
            "story_members",
            "story_topics",
            "topics",
            "topic_refresh",
            "story_splits",
            "stories",
        ):
            store.execute(f"DELETE FROM {table}")
        store.execute("DELETE FROM article_duplicates")  # found again, in the new order
        store.execute("DELETE FROM story_leavers")  # every article is clustered again anyway
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
        _redirect_topics(store, now)
        store.execute("DELETE FROM story_recluster")
    return mapping


def _redirect_topics(store: Store, now) -> None:
    """Each old topic to the new topic holding most of its articles (ties: the older)."""
    rows = store.execute(
        """WITH counted AS (
               SELECT r.old_topic_id, t.topic_id, count(*) AS n FROM story_recluster r
               JOIN story_members m ON m.article_id = r.article_id
               JOIN story_topics t ON t.story_id = m.story_id
               WHERE r.old_topic_id IS NOT NULL GROUP BY ALL)
           SELECT old_topic_id, topic_id FROM counted
           QUALIFY row_number() OVER (PARTITION BY old_topic_id ORDER BY n DESC, topic_id) = 1"""
    ).fetchall()
    for old, new in rows:
        if old == new:
            continue
        store.execute("UPDATE topic_redirects SET new_id = ? WHERE new_id = ?", [new, old])
        store.execute(
            "INSERT INTO topic_redirects VALUES (?, ?, ?) ON CONFLICT (old_id) DO UPDATE "
            "SET new_id = excluded.new_id, redirected_at = excluded.redirected_at",
            [old, new, now],
        )


def resolve_topic(con, topic_id: int) -> int:
    """The id a topic lives on under after reclusters: itself, or its successor."""
    row = con.execute("SELECT new_id FROM topic_redirects WHERE old_id = ?", [topic_id]).fetchone()
    return row[0] if row else topic_id
