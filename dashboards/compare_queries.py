"""The dashboard's data for comparing outlet groups: one SQL query per function."""

from __future__ import annotations

import pandas as pd

from framewatch.dashboards.queries import NO_FRAME

NO_VALUE = "(no value)"


def outlet_frame_matrix(con, story_id: int, codebook: str, by: str | None) -> pd.DataFrame:
    """Per group and outlet of a story and frame: mean share of its sentences (with "No
    frame", so a row adds up to 100%), articles, and the strongest sentence with its
    language (an outlet writing in two languages has a row, and a sentence, in each)."""
    return con.execute(
        f"""WITH arts AS (
               SELECT x.article_id, x.outlet, coalesce(oa.value, ?) AS grp
               FROM article_coverage x
               LEFT JOIN article_attributes oa ON oa.article_id = x.article_id AND oa.attribute = ?
               WHERE x.story_id = ? AND NOT x.outlet_repeat),
           sh AS (
               SELECT a.grp, a.outlet, af.frame_id, avg(af.share) AS share, count(*) AS articles
               FROM arts a JOIN article_frames af ON af.article_id = a.article_id
               WHERE af.codebook_id = ? GROUP BY ALL),
           ev AS (
               SELECT a.grp, a.outlet, e.frame_id, arg_max(e.sentence, e.score) AS sentence,
                      arg_max(coalesce(ar.language, '?'), e.score) AS language, max(e.score) AS score
               FROM arts a JOIN frame_evidence e ON e.article_id = a.article_id
               JOIN articles ar ON ar.id = a.article_id
               WHERE e.codebook_id = ? GROUP BY ALL)
           SELECT sh.grp AS "group", sh.outlet, coalesce(f.label, '{NO_FRAME}') AS frame,
                  coalesce(f.position, 9999) AS position, sh.share, sh.articles,
                  coalesce(ev.sentence, '') AS evidence, coalesce(ev.language, '') AS language, ev.score
           FROM sh LEFT JOIN frames f ON f.codebook_id = ? AND f.frame_id = sh.frame_id
           LEFT JOIN ev ON ev.grp = sh.grp AND ev.outlet = sh.outlet AND ev.frame_id = sh.frame_id
           ORDER BY "group", sh.outlet, f.position""",
        [NO_VALUE, by, story_id, codebook, codebook, codebook],
    ).df()


def cell_evidence(con, story_id: int, codebook: str, outlet: str, frame_label: str) -> pd.DataFrame:
    """Every evidence sentence of one outlet and frame in a story (a clicked heatmap cell)."""
    return con.execute(
        """SELECT a.title AS article, e.rank, e.sentence, e.score
           FROM article_coverage x JOIN articles a ON a.id = x.article_id
           JOIN frame_evidence e ON e.article_id = x.article_id AND e.codebook_id = ?
           JOIN frames f ON f.codebook_id = e.codebook_id AND f.frame_id = e.frame_id
           WHERE x.story_id = ? AND NOT x.outlet_repeat AND x.outlet = ? AND f.label = ?
           ORDER BY e.score DESC, a.id, e.rank""",
        [codebook, story_id, outlet, frame_label],
    ).df()


def group_coverage_by_day(con, story_id: int, by: str | None) -> pd.DataFrame:
    """Articles per day and group, every day of the story present (zeros included)."""
    return con.execute(
        """WITH arts AS (
               SELECT x.day, coalesce(oa.value, ?) AS grp FROM article_coverage x
               LEFT JOIN article_attributes oa ON oa.article_id = x.article_id AND oa.attribute = ?
               WHERE x.story_id = ? AND NOT x.outlet_repeat),
           days AS (SELECT unnest(generate_series(min(day), max(day), INTERVAL 1 DAY))::DATE AS day FROM arts),
           groups AS (SELECT DISTINCT grp FROM arts)
           SELECT d.day, g.grp AS "group", count(a.day) AS articles
           FROM days d CROSS JOIN groups g LEFT JOIN arts a ON a.day = d.day AND a.grp = g.grp
           GROUP BY ALL ORDER BY d.day, "group\"""",
        [NO_VALUE, by, story_id],
    ).df()


def with_share_intervals(
    data: pd.DataFrame, share: str = "share", n: str = "articles"
) -> pd.DataFrame:
    """Add 90% Jeffreys bounds (``low``, ``high``) of a mean share over ``n`` articles.

    A week with three framed articles says much less than one with three hundred; each
    article counts as one trial that is as much "this frame" as its share.
    """
    from framewatch.analysis.intervals import jeffreys_intervals

    k = data[n].to_numpy(dtype=int).astype(float)
    low, high = jeffreys_intervals(data[share].to_numpy(dtype=float) * k, k)
    return data.assign(low=low, high=high)
