"""What a user sees of the matching articles: one row each, in rank order."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from framewatch.analysis.search.engine import Matches

COLUMNS = [
    "rank", "id", "score", "published_at", "outlet", "language", "story_id", "title", "url", "copy_of",
]  # fmt: skip


@contextlib.contextmanager
def matched_table(con, ids: np.ndarray, name: str = "search_matched") -> Iterator[str]:
    """The matched ids visible to SQL as ``name`` (id, rank) for the duration of the block."""
    con.register(name, pa.table({"id": np.asarray(ids, dtype=np.int64),
                                 "rank": np.arange(1, len(ids) + 1, dtype=np.int64)}))  # fmt: skip
    try:
        yield name
    finally:
        con.unregister(name)


def hit_rows(con, matches: Matches, limit: int | None = None) -> list[dict]:
    """The first ``limit`` matches (all when None) with their article's facts.

    ``copy_of`` names the article a hit is a near-identical copy of (wire copy carried by
    several outlets), so a reader can tell ten outlets' reporting from one text ten times.
    ``title`` is the article's own (None when it has none), so exported results never pass
    text off as a title; ``headline`` is what a reader is shown: the title, else the
    text's opening.
    """
    n = len(matches) if limit is None else min(limit, len(matches))
    ids, scores = matches.ids[:n], matches.scores[:n]
    if n == 0:
        return []
    with matched_table(con, ids) as t:
        rows = con.execute(
            f"""SELECT m.rank, a.id, coalesce(a.published_at, a.fetched_at), s.name, a.language,
                       sm.story_id, nullif(trim(a.title), ''), a.url, d.duplicate_of, left(a.text, 100)
                FROM {t} m JOIN articles a ON a.id = m.id
                LEFT JOIN sources s ON s.id = a.source_id
                LEFT JOIN article_duplicates d ON d.article_id = a.id
                LEFT JOIN story_members sm ON sm.article_id = a.id
                ORDER BY m.rank"""
        ).fetchall()
    return [
        {"rank": r[0], "id": r[1], "score": round(float(scores[r[0] - 1]), 4),
         "published_at": r[2], "outlet": r[3], "language": r[4], "story_id": r[5],
         "title": r[6], "url": r[7], "copy_of": r[8], "headline": r[6] or _opening(r[9])}
        for r in rows
    ]  # fmt: skip


def _opening(text: str | None) -> str:
    """An untitled article's first words, marked as such, to stand in for its title."""
    words = " ".join((text or "").split())
    return f"({words}…)" if words else "(untitled)"
