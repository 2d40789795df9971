"""A story's member, copy and outlet counts, kept in step with its members: in the core,
since the story stage and a replaced text (crawler, backfill) both redo them."""

from __future__ import annotations

from framewatch.store import Store


def update_counts(store: Store, story_ids: list[int]) -> None:
    """Members, copies and outlets of the given stories, from story_members."""
    store.execute(
        """UPDATE stories SET size = x.n - x.copies, copies = x.copies, outlets = x.outlets
           FROM (SELECT m.story_id, count(*) AS n, count(d.article_id) AS copies,
                        count(DISTINCT a.source_id) AS outlets
                 FROM story_members m JOIN articles a ON a.id = m.article_id
                 LEFT JOIN article_duplicates d ON d.article_id = m.article_id
                 WHERE m.story_id IN (SELECT unnest(?)) GROUP BY m.story_id) x
           WHERE stories.id = x.story_id""",
        [story_ids],
    )
