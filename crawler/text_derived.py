"""The rows the store makes from an article's text, dropped when that text is replaced.

A page read on a later try (``page_retries``) and a backfill's full capture of a stub's
address (``framewatch.backfill.load``) give a stored article a new text under the same
id. What was made from the old text must go with it, or it outlives the text:

* ``embeddings``: ``analyze`` embeds only articles without a vector from its model, so
  a vector left in place would stay the old text's for good (stories, ``~"meaning"``
  search and near-duplicates would keep reading the stub);
* ``article_frames``, ``article_framing``, ``frame_evidence``: framed likewise only
  where an article has no framing yet;
* ``search_index``: the index is redone for a changed ``content_hash`` by the next
  indexing run, but readers take an article without a row as the sign that the index
  lags and bring it up to date; with the old row left, a search would find the old
  text's words until the next ``analyze``.

* ``article_duplicates``, the article's own row: it was marked a copy of another article
  by the old text's vector or fingerprint, and the story stage looks at an article once,
  so a summary or wall two outlets shared kept the full text counted as a copy (left
  out of its story's size and of every count that counts a text once). Its story's
  counts are redone.

* the article's story: it was clustered by the old text (a consent wall joins the story
  of other walls, or one of its own). It is noted in ``story_leavers``, and the next story
  stage takes it out, redoes the old story and clusters the article again by its new
  text. It stays a member until then, as its old vector stayed until the next ``analyze``.
"""

from __future__ import annotations

from framewatch.store import Store
from framewatch.story_counts import update_counts

TEXT_DERIVED = ("embeddings", "article_frames", "article_framing", "frame_evidence", "search_index")


def drop_text_derived(store: Store, article_id: int) -> None:
    """Delete what was made from the article's text (call in the replacing transaction)."""
    for table in TEXT_DERIVED:
        store.execute(f"DELETE FROM {table} WHERE article_id = ?", [article_id])
    copy = store.execute(
        "DELETE FROM article_duplicates WHERE article_id = ? RETURNING article_id", [article_id]
    ).fetchall()
    story = store.execute(
        "SELECT story_id FROM story_members WHERE article_id = ?", [article_id]
    ).fetchone()
    if story is None:
        return
    if copy:
        update_counts(store, [story[0]])
    store.execute(  # noted again once it was released: it leaves the story it is in now
        "INSERT INTO story_leavers VALUES (?, ?, false) ON CONFLICT (article_id) DO UPDATE "
        "SET old_story_id = excluded.old_story_id, released = false WHERE story_leavers.released",
        [article_id, story[0]],
    )
