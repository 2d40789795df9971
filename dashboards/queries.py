"""The dashboard's data: each function is one SQL query over the views, returning a DataFrame."""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from framewatch.language_filter import sql_condition


def _outlets(outlets: list[str] | None):
    return outlets or None


def bounds(con: duckdb.DuckDBPyConnection) -> tuple[date | None, date | None]:
    """The days articles ran, an outlet's copy of another's text included."""
    return con.execute("SELECT min(day), max(day) FROM article_coverage").fetchone()


def latest_dated_day(
    con: duckdb.DuckDBPyConnection, languages: list[str] | None = None
) -> date | None:
    """The newest day of an article with its own date (else of any article), among the
    articles in ``languages`` when some are picked (a desk's latest week is its own).

    An undated row is dated by when framewatch first saw it: one such row in an archive
    of 2020 must not move the default period to today's empty weeks.
    """
    in_languages, params = sql_condition("x.language", languages)
    return con.execute(
        f"""SELECT coalesce(max(x.day) FILTER (WHERE NOT coalesce(a.published_at_inferred, false)),
                            max(x.day))
            FROM article_coverage x JOIN articles a ON a.id = x.article_id WHERE {in_languages}""",
        params,
    ).fetchone()[0]


def outlets(con) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT outlet FROM article_coverage WHERE outlet IS NOT NULL ORDER BY 1"
        ).fetchall()
    ]


def codebooks(con) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT codebook_id FROM article_framing ORDER BY 1"
        ).fetchall()
    ]


# Sentences that frame nothing: part of every mix, so a bar's length is its share of all
# sentences, as its tooltip says.
NO_FRAME = "No frame"


def frame_labels(con, codebook: str) -> dict[str, str]:
    return dict(
        con.execute(
            "SELECT frame_id, label FROM frames WHERE codebook_id = ? ORDER BY position", [codebook]
        ).fetchall()
    )


def topics(con) -> list[tuple[int, str]]:
    """Topics (running subjects) with how many stories each holds now, biggest first.

    Counted from ``story_topics``, always what a topic holds (``topics.stories`` catches up
    at the end of the story stage); a topic whose stories all went is not listed."""
    rows = con.execute(
        """SELECT t.id, t.label, count(*) AS n FROM topics t
           JOIN story_topics x ON x.topic_id = t.id JOIN stories s ON s.id = x.story_id
           GROUP BY t.id, t.label ORDER BY n DESC, t.id"""
    ).fetchall()
    return [(i, f"{label or 'topic ' + str(i)} ({n} {'story' if n == 1 else 'stories'})")
            for i, label, n in rows]  # fmt: skip


def linked_topic(con, value: str | None) -> int | None:
    """The topic a link's ``topic=12`` means now: after a recluster, its successor."""
    from framewatch.analysis.stories.recluster import resolve_topic

    try:
        return resolve_topic(con, int(value)) if value else None
    except ValueError:
        return None


def top_stories(
    con, start: date, end: date, outlet_list: list[str] | None, limit: int = 50,
    topic: int | None = None, only: set[int] | None = None,
) -> pd.DataFrame:  # fmt: skip
    """Stories of the period by coverage, with a daily coverage series for sparklines.

    ``only`` (e.g. the stories in the picked languages) applies before the limit and the
    count, so a small language's stories are not cut by bigger stories of other languages.
    """
    o = _outlets(outlet_list)
    ids = sorted(only) if only is not None else None
    return con.execute(
        """WITH p AS (SELECT * FROM article_coverage
                      WHERE day BETWEEN ? AND ? AND story_id IS NOT NULL AND NOT outlet_repeat
                      AND (?::VARCHAR[] IS NULL OR list_contains(?::VARCHAR[], outlet))),
           days AS (SELECT story_id, day, count(*) AS n FROM (  -- a text on the day it first ran
                       SELECT story_id, text_id, min(day) AS day FROM p GROUP BY ALL) GROUP BY ALL)
           SELECT s.id AS story, s.label, s.headline, count(DISTINCT p.text_id) AS articles,
                  count(DISTINCT p.source_id) AS outlets,
                  count(*) OVER () AS stories_in_period,
                  min(p.day) AS first_day, max(p.day) AS last_day,
                  (SELECT list(coalesce(d.n, 0) ORDER BY g.day)
                   FROM (SELECT unnest(generate_series(min(p.day), max(p.day), INTERVAL 1 DAY))::DATE AS day) g
                   LEFT JOIN days d ON d.story_id = s.id AND d.day = g.day) AS coverage
           FROM p JOIN stories s ON s.id = p.story_id
           WHERE (?::BIGINT IS NULL OR s.id IN (SELECT story_id FROM story_topics WHERE topic_id = ?))
             AND (?::BIGINT[] IS NULL OR list_contains(?::BIGINT[], s.id))
           GROUP BY s.id, s.label, s.headline ORDER BY articles DESC, outlets DESC, s.id LIMIT ?""",
        [start, end, o, o, topic, topic, ids, ids, limit],
    ).df()


def story_frame_mix(
    con, story_ids: list[int], codebook: str, start: date, end: date, outlet_list
) -> pd.DataFrame:
    """Mean frame shares per story: each text once, or, for chosen outlets, every text
    they ran (a wire copy is its outlet's framing, as it is its coverage)."""
    o = _outlets(outlet_list)
    return con.execute(
        f"""SELECT x.story_id AS story, coalesce(f.label, '{NO_FRAME}') AS frame,
                  coalesce(f.position, 9999) AS position, avg(af.share) AS share
           FROM article_coverage x JOIN article_frames af ON af.article_id = x.article_id
           LEFT JOIN frames f ON f.codebook_id = af.codebook_id AND f.frame_id = af.frame_id
           WHERE af.codebook_id = ? AND x.story_id IN (SELECT unnest(?)) AND x.day BETWEEN ? AND ?
             AND (?::VARCHAR[] IS NULL AND x.copy_of IS NULL
                  OR list_contains(?::VARCHAR[], x.outlet) AND NOT x.outlet_repeat)
           GROUP BY ALL ORDER BY story, position""",
        [codebook, story_ids, start, end, o, o],
    ).df()


def story_articles(con, story_id: int, codebook: str) -> pd.DataFrame:
    """Members with primary frame and shares; copies carry the id of what they copy."""
    return con.execute(
        """SELECT a.id AS article, coalesce(s.name, '') AS outlet, coalesce(a.published_at, a.fetched_at) AS time,
                  a.title AS headline, a.url, fr.label AS primary_frame, af.confidence,
                  d.duplicate_of AS copy_of,
                  (SELECT map(list(f2.frame_id ORDER BY f2.frame_id), list(round(f2.share, 2) ORDER BY f2.frame_id))
                   FROM article_frames f2 WHERE f2.article_id = a.id AND f2.codebook_id = ? AND f2.share > 0) AS shares
           FROM story_members m JOIN articles a ON a.id = m.article_id
           LEFT JOIN sources s ON s.id = a.source_id
           LEFT JOIN article_framing af ON af.article_id = a.id AND af.codebook_id = ?
           LEFT JOIN frames fr ON fr.codebook_id = af.codebook_id AND fr.frame_id = af.primary_frame
           LEFT JOIN article_duplicates d ON d.article_id = a.id
           WHERE m.story_id = ? ORDER BY time, a.id""",
        [codebook, codebook, story_id],
    ).df()


def evidence(con, article_id: int, codebook: str) -> pd.DataFrame:
    return con.execute(
        """SELECT f.label AS frame, e.rank, e.sentence, e.score FROM frame_evidence e
           JOIN frames f ON f.codebook_id = e.codebook_id AND f.frame_id = e.frame_id
           WHERE e.article_id = ? AND e.codebook_id = ? ORDER BY f.position, e.rank""",
        [article_id, codebook],
    ).df()


def outlet_mix(
    con, outlet_list: list[str], codebook: str, start: date, end: date,
    languages: list[str] | None = None,
) -> pd.DataFrame:  # fmt: skip
    """Each outlet's frame mix over every text it ran, wire copies included."""
    in_languages, language_params = sql_condition("x.language", languages)
    return con.execute(
        f"""SELECT x.outlet, coalesce(f.label, '{NO_FRAME}') AS frame, coalesce(f.position, 9999) AS position,
                  sum(af.share) / count(*) AS share, count(*) AS articles
           FROM article_coverage x JOIN article_frames af ON af.article_id = x.article_id
           LEFT JOIN frames f ON f.codebook_id = af.codebook_id AND f.frame_id = af.frame_id
           WHERE af.codebook_id = ? AND list_contains(?::VARCHAR[], x.outlet) AND x.day BETWEEN ? AND ?
             AND NOT x.outlet_repeat AND {in_languages}
           GROUP BY ALL ORDER BY x.outlet, position""",
        [codebook, outlet_list, start, end, *language_params],
    ).df()


def blind_spots(
    con, outlet_list: list[str], start: date, end: date, languages: list[str] | None = None
) -> pd.DataFrame:
    """For each chosen outlet, stories it covered that none of the other chosen outlets did."""
    in_languages, language_params = sql_condition("x.language", languages)
    return con.execute(
        f"""WITH p AS (SELECT DISTINCT outlet, story_id FROM article_coverage x
                      WHERE story_id IS NOT NULL AND NOT outlet_repeat AND day BETWEEN ? AND ?
                        AND list_contains(?::VARCHAR[], outlet) AND {in_languages})
           SELECT p.outlet, s.id AS story, s.label, s.headline FROM p JOIN stories s ON s.id = p.story_id
           WHERE NOT EXISTS (SELECT 1 FROM p q WHERE q.story_id = p.story_id AND q.outlet <> p.outlet)
           ORDER BY p.outlet, s.size DESC""",
        [start, end, outlet_list, *language_params],
    ).df()


def weekly_trends(
    con, codebook: str, outlet: str | None, story: int | None,
    start: date | None = None, end: date | None = None, languages: list[str] | None = None,
) -> pd.DataFrame:  # fmt: skip
    """Weekly mean share per frame from frame_trends, for all, one outlet or one story,
    for the weeks that overlap the period (``start``..``end``, when given).

    frame_trends has no outlet-by-story slice, so giving both returns nothing. With
    ``languages`` the same figures come from the articles in those languages alone.
    """
    if languages or (outlet is not None and story is None):
        # frame_trends slices outlets by source: two feeds of one name would be two lines.
        return _weekly_trends_in(con, codebook, outlet, story, start, end, languages)
    return con.execute(
        """SELECT t.period AS week, t.period_start, f.label AS frame, t.mean_share AS share, t.articles
           FROM frame_trends t JOIN frames f ON f.codebook_id = t.codebook_id AND f.frame_id = t.frame_id
           WHERE t.granularity = 'week' AND t.codebook_id = ?
             AND ((?::VARCHAR IS NULL AND t.source_id IS NULL) OR t.outlet = ?)
             AND ((?::BIGINT IS NULL AND t.story_id IS NULL) OR t.story_id = ?)
             AND (?::DATE IS NULL OR CAST(t.period_start AS DATE) + 6 >= ?::DATE)
             AND (?::DATE IS NULL OR CAST(t.period_start AS DATE) <= ?::DATE)
           ORDER BY t.period_start, f.position""",
        [codebook, outlet, outlet, story, story, start, start, end, end],
    ).df()


def _weekly_trends_in(con, codebook, outlet, story, start, end, languages) -> pd.DataFrame:
    """frame_trends' weekly slice, computed as the view does, over some languages only
    (or over an outlet's name: every text it ran, as the view's outlet rows count)."""
    if outlet is not None and story is not None:
        return weekly_trends(con, codebook, outlet, story, start, end)  # no such slice
    in_languages, language_params = sql_condition("x.language", languages)
    return con.execute(
        f"""SELECT x.iso_week AS week, x.week_start AS period_start, f.label AS frame,
                  avg(af.share) AS share, count(*) AS articles
           FROM article_coverage x JOIN article_frames af ON af.article_id = x.article_id
           JOIN frames f ON f.codebook_id = af.codebook_id AND f.frame_id = af.frame_id
           WHERE af.frame_id <> 'none' AND af.codebook_id = ? AND {in_languages}
             AND (?::VARCHAR IS NULL AND x.copy_of IS NULL OR x.outlet = ? AND NOT x.outlet_repeat)
             AND (?::BIGINT IS NULL OR x.story_id = ?)
             AND (?::DATE IS NULL OR x.week_start + 6 >= ?::DATE)
             AND (?::DATE IS NULL OR x.week_start <= ?::DATE)
           GROUP BY x.iso_week, x.week_start, f.label, f.position
           ORDER BY x.week_start, f.position""",
        [codebook, *language_params, outlet, outlet, story, story, start, start, end, end],
    ).df()


def has_stories(con) -> bool:
    """Whether the store's articles have been grouped into stories (``framewatch analyze``)."""
    return con.execute("SELECT 1 FROM stories LIMIT 1").fetchone() is not None


def story_choices(con, topic: int | None = None) -> list[tuple[int, str]]:
    return [(i, f"{i} · {label or ''} · {headline or ''}") for i, label, headline in
            con.execute("SELECT id, label, headline FROM stories WHERE ?::BIGINT IS NULL OR id IN "
                        "(SELECT story_id FROM story_topics WHERE topic_id = ?) ORDER BY size DESC, id",
                        [topic, topic]).fetchall()]  # fmt: skip
