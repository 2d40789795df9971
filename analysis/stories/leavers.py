"""Articles whose text was replaced after clustering leave their story and are clustered again.

A stub (a consent wall, a paywall teaser) or a page cut short is clustered by the text it
had; when a later try or a backfill's capture brings the whole article, the text changes
under the same id (``drop_text_derived`` notes it in ``story_leavers``). Left where it
was, the article would sit for good in the story of the wall or teaser. The story stage
calls ``release`` before it clusters and ``settle`` after: the article is clustered again
like any new one; its old story is redone from the members it keeps, or, left empty, goes
and its id leads to the article's new story (``story_redirects``, reason ``text
replaced``), so links to it keep working. Both steps may run again after a kill.
"""

from __future__ import annotations

from framewatch.analysis.stories.merge import drop_stories, recompute_stories
from framewatch.store import Store, utcnow


def release(store: Store, model: str) -> list[int]:
    """Take the noted articles out of their old stories; returns the old stories of
    ``model`` that keep members (redone from those members: centroid, span, counts; the
    label cleared, so it is made again)."""
    with store.transaction():
        store.execute(  # the story it is in now (a merge may have moved it since it was noted)
            """UPDATE story_leavers l SET old_story_id = m.story_id FROM story_members m
               WHERE m.article_id = l.article_id AND NOT l.released"""
        )
        gone = store.execute(
            """DELETE FROM story_members m USING story_leavers l
               WHERE m.article_id = l.article_id AND NOT l.released
               RETURNING m.article_id, m.story_id"""
        ).fetchall()
        # Once only: an article clustered into its old story again stays there after a kill.
        store.execute("UPDATE story_leavers SET released = true WHERE NOT released")
        if not gone:
            return []
        _orphaned_copies(store, sorted(a for a, _ in gone))
        old = [s for _, s in gone]
        kept = [r[0] for r in store.execute(
            """SELECT DISTINCT story_id FROM story_members WHERE story_id IN (SELECT unnest(?))
               ORDER BY story_id""",
            [sorted(set(old))],
        ).fetchall()]  # fmt: skip
        empty = sorted(set(old) - set(kept))
        if empty:
            drop_stories(store, empty)
        by_model: dict[str, list[int]] = {}
        for sid, story_model in store.execute(
            "SELECT id, model FROM stories WHERE id IN (SELECT unnest(?)) ORDER BY id", [kept]
        ).fetchall():
            by_model.setdefault(story_model, []).append(sid)
        for story_model, ids in sorted(by_model.items()):
            # A story of an earlier model is redone in its own space; its label and headline
            # stay (made by that model) until `analyze --recluster` moves it to this one.
            recompute_stories(store, story_model, ids, utcnow(), relabel=story_model == model)
    return by_model.get(model, [])


def _orphaned_copies(store: Store, left: list[int]) -> None:
    """Copies of a leaver's old text stay in the old story, copies of it no longer: a near
    copy was judged against that text and counts as a member again; exact copies (another
    outlet ran the same stub) take the earliest of them as their original."""
    rows = store.execute(
        """SELECT d.article_id, d.kind, m.story_id, a.content_hash FROM article_duplicates d
           JOIN articles a ON a.id = d.article_id
           JOIN story_members m ON m.article_id = d.article_id
           WHERE d.duplicate_of IN (SELECT unnest(?))
           ORDER BY coalesce(a.published_at, a.fetched_at), d.article_id""",
        [left],
    ).fetchall()
    first: dict[tuple[int, str], int] = {}
    for aid, kind, story, digest in rows:
        original = first.setdefault((story, digest), aid) if kind == "exact" else aid
        if original == aid:
            store.execute("DELETE FROM article_duplicates WHERE article_id = ?", [aid])
        else:
            store.execute(
                "UPDATE article_duplicates SET duplicate_of = ? WHERE article_id = ?",
                [original, aid],
            )


def settle(store: Store) -> dict[int, int]:
    """Forget the leavers that have a story again; an old story that is gone leads to its
    leaver's new story (of several, the lowest article id's). Returns {old story: new
    story}."""
    with store.transaction():
        rows = store.execute(
            """SELECT l.old_story_id, m.story_id, l.article_id FROM story_leavers l
               JOIN story_members m ON m.article_id = l.article_id
               WHERE l.released
                 AND NOT EXISTS (SELECT 1 FROM stories s WHERE s.id = l.old_story_id)
               ORDER BY l.old_story_id, l.article_id"""
        ).fetchall()
        mapping: dict[int, int] = {}
        for old, new, _ in rows:
            mapping.setdefault(old, new)
        now = utcnow()
        for old, new in mapping.items():
            # Earlier redirects to the old story now lead on (one hop, as merges keep them).
            store.execute("UPDATE story_redirects SET new_id = ? WHERE new_id = ?", [new, old])
            store.execute(
                "INSERT INTO story_redirects VALUES (?, ?, NULL, 'text replaced', ?) "
                "ON CONFLICT (old_id) DO NOTHING",
                [old, new, now],
            )
        store.execute(
            "DELETE FROM story_leavers WHERE released "
            "AND article_id IN (SELECT article_id FROM story_members)"
        )
    return mapping
