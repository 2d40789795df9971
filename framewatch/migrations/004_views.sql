-- Views for researchers. Near-duplicate copies count once (they are left out),
-- an article's time is published_at, or fetched_at when the feed gave no date.

CREATE VIEW article_facts AS
SELECT a.id AS article_id, a.source_id, s.name AS outlet, m.story_id,
       coalesce(a.published_at, a.fetched_at) AS article_at,
       CAST(coalesce(a.published_at, a.fetched_at) AS DATE) AS day,
       CAST(date_trunc('week', coalesce(a.published_at, a.fetched_at)) AS DATE) AS week_start,
       strftime(coalesce(a.published_at, a.fetched_at), '%G-W%V') AS iso_week,
       a.title, a.url
FROM articles a
LEFT JOIN sources s ON s.id = a.source_id
LEFT JOIN story_members m ON m.article_id = a.id
WHERE a.id NOT IN (SELECT article_id FROM article_duplicates);

CREATE VIEW frame_trends AS
WITH f AS (
    SELECT x.*, af.codebook_id, af.frame_id, af.share, af.is_primary
    FROM article_facts x JOIN article_frames af ON af.article_id = x.article_id
    WHERE af.frame_id <> 'none'
), periods AS (
    SELECT 'day' AS granularity, day AS period_start, strftime(day, '%Y-%m-%d') AS period, * FROM f
    UNION ALL
    SELECT 'week', week_start, iso_week, * FROM f
)
SELECT granularity, period_start, period, codebook_id, frame_id,
       source_id, CASE WHEN grouping(source_id) = 0 THEN any_value(outlet) END AS outlet, story_id,
       count(*) AS articles,
       count(*) FILTER (WHERE is_primary) AS primary_articles,
       sum(share) AS share_sum,
       avg(share) AS mean_share
FROM periods
GROUP BY GROUPING SETS (
    (granularity, period_start, period, codebook_id, frame_id),
    (granularity, period_start, period, codebook_id, frame_id, source_id),
    (granularity, period_start, period, codebook_id, frame_id, story_id)
);

CREATE VIEW story_timeline AS
SELECT story_id, day,
       count(*) AS articles,
       count(DISTINCT source_id) AS outlets,
       min(article_at) AS first_article_at,
       max(article_at) AS last_article_at,
       arg_min(title, article_at) AS first_title,
       arg_max(title, article_at) AS last_title,
       sum(count(*)) OVER (PARTITION BY story_id ORDER BY day) AS cumulative_articles
FROM article_facts
WHERE story_id IS NOT NULL
GROUP BY story_id, day;

CREATE VIEW outlet_frames AS
SELECT x.source_id, any_value(x.outlet) AS outlet, af.codebook_id, af.frame_id,
       x.iso_week, x.week_start,
       count(*) AS articles,
       count(*) FILTER (WHERE af.is_primary) AS primary_articles,
       sum(af.share) AS share_sum,
       avg(af.share) AS mean_share
FROM article_facts x JOIN article_frames af ON af.article_id = x.article_id
WHERE af.frame_id <> 'none'
GROUP BY GROUPING SETS (
    (x.source_id, af.codebook_id, af.frame_id, x.iso_week, x.week_start),
    (x.source_id, af.codebook_id, af.frame_id)
);

CREATE VIEW framing_shifts AS
WITH weekly AS (
    SELECT x.story_id, af.codebook_id, af.frame_id, x.week_start, x.iso_week,
           avg(af.share) AS share, count(*) AS articles
    FROM article_facts x JOIN article_frames af ON af.article_id = x.article_id
    WHERE x.story_id IS NOT NULL AND af.frame_id <> 'none'
    GROUP BY ALL
), paired AS (
    SELECT *,
           lag(week_start) OVER w AS previous_week_start,
           lag(iso_week) OVER w AS previous_week,
           lag(share) OVER w AS previous_share,
           lag(articles) OVER w AS previous_articles
    FROM weekly
    WINDOW w AS (PARTITION BY story_id, codebook_id, frame_id ORDER BY week_start)
)
SELECT story_id, codebook_id, frame_id, iso_week AS week, previous_week,
       share, previous_share, share - previous_share AS change,
       articles, previous_articles,
       row_number() OVER (PARTITION BY story_id, codebook_id, iso_week
                          ORDER BY abs(share - previous_share) DESC, frame_id) AS rank
FROM paired
WHERE previous_week_start = week_start - INTERVAL 7 DAY;
