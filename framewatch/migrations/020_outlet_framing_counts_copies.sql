-- An outlet's framing counts the wire copies it ran, as its coverage does since 018: the
-- per-outlet rows of frame_trends and outlet_frames read article_coverage (one row per
-- outlet and text). The all-articles and per-story rows still count a text once.

CREATE OR REPLACE VIEW frame_trends AS
WITH framed AS (
    SELECT x.*, af.codebook_id, af.frame_id, af.share, af.is_primary
    FROM article_coverage x JOIN article_frames af ON af.article_id = x.article_id
    WHERE af.frame_id <> 'none'
), periods AS (
    SELECT 'day' AS granularity, day AS period_start, strftime(day, '%Y-%m-%d') AS period, * FROM framed
    UNION ALL
    SELECT 'week', week_start, iso_week, * FROM framed
)
SELECT granularity, period_start, period, codebook_id, frame_id,
       CAST(NULL AS BIGINT) AS source_id, CAST(NULL AS VARCHAR) AS outlet, story_id,
       count(*) AS articles,
       count(*) FILTER (WHERE is_primary) AS primary_articles,
       sum(share) AS share_sum,
       avg(share) AS mean_share
FROM periods
WHERE copy_of IS NULL
GROUP BY GROUPING SETS (
    (granularity, period_start, period, codebook_id, frame_id),
    (granularity, period_start, period, codebook_id, frame_id, story_id)
)
UNION ALL
SELECT granularity, period_start, period, codebook_id, frame_id,
       source_id, any_value(outlet) AS outlet, CAST(NULL AS BIGINT) AS story_id,
       count(*) AS articles,
       count(*) FILTER (WHERE is_primary) AS primary_articles,
       sum(share) AS share_sum,
       avg(share) AS mean_share
FROM periods
WHERE NOT outlet_repeat
GROUP BY granularity, period_start, period, codebook_id, frame_id, source_id;

CREATE OR REPLACE VIEW outlet_frames AS
SELECT x.source_id, any_value(x.outlet) AS outlet, af.codebook_id, af.frame_id,
       x.iso_week, x.week_start,
       count(*) AS articles,
       count(*) FILTER (WHERE af.is_primary) AS primary_articles,
       sum(af.share) AS share_sum,
       avg(af.share) AS mean_share
FROM article_coverage x JOIN article_frames af ON af.article_id = x.article_id
WHERE af.frame_id <> 'none' AND NOT x.outlet_repeat
GROUP BY GROUPING SETS (
    (x.source_id, af.codebook_id, af.frame_id, x.iso_week, x.week_start),
    (x.source_id, af.codebook_id, af.frame_id)
);
