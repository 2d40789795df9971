"""Reading stories back: an id that was merged away still finds its story."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple


def resolve_story(con, story_id: int) -> int:
    """The id a story lives on under: itself, or the story it was merged into.

    ``con`` is a store or a read-only connection: old links keep working in both.
    """
    row = con.execute("SELECT new_id FROM story_redirects WHERE old_id = ?", [story_id]).fetchone()
    return row[0] if row else story_id


def redirect_reason(con, story_id: int) -> str | None:
    """Why an id leads elsewhere: ``merge``, ``recluster``, ``text replaced``, or None
    when it does not."""
    row = con.execute("SELECT reason FROM story_redirects WHERE old_id = ?", [story_id]).fetchone()
    return row[0] if row else None


def list_stories(con, since: str | None, limit: int, language: str | None = None) -> list[tuple]:
    """Stories by coverage: id, label, size, outlets, languages, first and last seen, headline.

    ``languages`` reads "de 2, en 1" (most first); ``language`` keeps the stories with at
    least one article in it, so a desk can find the stories that cross into its language
    (``?``: an article too short to tell).
    """
    return con.execute(
        """WITH langs AS (
             SELECT story_id,
                    string_agg(language || ' ' || n, ', ' ORDER BY n DESC, language)
                        FILTER (WHERE language IS NOT NULL AND n > 0) AS languages,
                    bool_or(coalesce(language, '?') = ? AND n > 0) AS has_language
             FROM (SELECT m.story_id, a.language,
                          count(*) FILTER (WHERE d.article_id IS NULL) AS n  -- copies: once
                   FROM story_members m JOIN articles a ON a.id = m.article_id
                   LEFT JOIN article_duplicates d ON d.article_id = a.id GROUP BY ALL)
             GROUP BY story_id)
           SELECT s.id, s.label, s.size, s.outlets, coalesce(l.languages, ''),
                  strftime(s.first_seen, '%Y-%m-%d %H:%M'), strftime(s.last_seen, '%Y-%m-%d %H:%M'),
                  s.headline
           FROM stories s LEFT JOIN langs l ON l.story_id = s.id
           WHERE (? IS NULL OR s.last_seen >= ?::TIMESTAMP) AND (? IS NULL OR l.has_language)
           ORDER BY s.size DESC, s.last_seen DESC, s.id LIMIT ?""",
        [language, since, since, language, limit],
    ).fetchall()


class StoryHeader(NamedTuple):
    id: int
    label: str | None
    headline: str | None
    size: int
    copies: int
    outlets: int
    first_seen: datetime
    last_seen: datetime


def story_header(con, story_id: int) -> StoryHeader | None:
    """What the CLI and the dashboard show above a story's articles, or None."""
    row = con.execute(
        "SELECT id, label, headline, size, copies, outlets, first_seen, last_seen FROM stories WHERE id = ?",
        [story_id],
    ).fetchone()
    return StoryHeader(*row) if row else None


def story_timeline(con, story_id: int) -> list[tuple]:
    """A story's articles in time order: time, outlet, language, title, copy-of note, id."""
    return con.execute(
        """SELECT strftime(coalesce(a.published_at, a.fetched_at), '%Y-%m-%d %H:%M'), s.name,
                  coalesce(a.language, ''), a.title,
                  CASE WHEN d.duplicate_of IS NULL THEN '' ELSE 'copy of ' || d.duplicate_of END, a.id
           FROM story_members m JOIN articles a ON a.id = m.article_id
           LEFT JOIN sources s ON s.id = a.source_id
           LEFT JOIN article_duplicates d ON d.article_id = a.id
           WHERE m.story_id = ? ORDER BY coalesce(a.published_at, a.fetched_at), a.id""",
        [story_id],
    ).fetchall()


def headlines_in(con, story_ids: list[int], languages: list[str] | None) -> dict[int, str]:
    """Headlines a desk can read: for each story whose headline is in none of
    ``languages``, the title of its first article in one of them (stories with no such
    article, or whose headline is already in one, are left out).

    A story's headline comes from its main language; a German desk looking at German
    blind spots should not read them under English headlines.
    """
    from framewatch.language_filter import sql_condition

    if not languages or not story_ids:
        return {}
    in_languages, params = sql_condition("x.language", languages)
    headline_in, headline_params = sql_condition("ha.language", languages)
    rows = con.execute(
        f"""SELECT x.story_id, first(x.title ORDER BY x.article_at, x.article_id)
            FROM article_facts x JOIN stories s ON s.id = x.story_id
            LEFT JOIN articles ha ON ha.id = s.headline_article_id
            WHERE x.story_id IN (SELECT unnest(?)) AND coalesce(x.title, '') <> ''
              AND {in_languages} AND NOT coalesce({headline_in}, false)
            GROUP BY x.story_id""",
        [list(story_ids), *params, *headline_params],
    ).fetchall()
    return dict(rows)
