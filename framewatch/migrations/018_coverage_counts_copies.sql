-- Coverage counts every outlet that carried a story. A wire text run by two outlets is one
-- text (article_facts counts it once), but both outlets covered the story: blind spots,
-- splits and their views used to count the copy's outlet as missing.

-- Every article, copies included: `copy_of` names the article it copies (NULL for an
-- original), `text_id` the original at the end of a chain of copies (a near copy may copy
-- a copy), and `outlet_repeat` is true for each of an outlet's articles with a text it
-- had already run (one outlet running a text twice covers a story once).
CREATE VIEW article_coverage AS
WITH RECURSIVE chain(article_id, root, depth) AS (
    SELECT article_id, duplicate_of, 1 FROM article_duplicates
    UNION ALL
    SELECT c.article_id, d.duplicate_of, c.depth + 1
    FROM chain c JOIN article_duplicates d ON d.article_id = c.root
    WHERE c.depth < 64
), roots AS (
    SELECT article_id, arg_max(root, depth) AS text_id FROM chain GROUP BY article_id
), facts AS (
    SELECT a.id AS article_id, a.source_id, s.name AS outlet, m.story_id,
           coalesce(a.published_at, a.fetched_at) AS article_at,
           CAST(coalesce(a.published_at, a.fetched_at) AS DATE) AS day,
           CAST(date_trunc('week', coalesce(a.published_at, a.fetched_at)) AS DATE) AS week_start,
           strftime(coalesce(a.published_at, a.fetched_at), '%G-W%V') AS iso_week,
           a.title, a.url, a.language,
           d.duplicate_of AS copy_of, coalesce(r.text_id, a.id) AS text_id
    FROM articles a
    LEFT JOIN sources s ON s.id = a.source_id
    LEFT JOIN story_members m ON m.article_id = a.id
    LEFT JOIN article_duplicates d ON d.article_id = a.id
    LEFT JOIN roots r ON r.article_id = a.id
)
SELECT *, row_number() OVER (
           PARTITION BY coalesce(outlet, CAST(source_id AS VARCHAR)), text_id
           ORDER BY article_at, article_id) > 1 AS outlet_repeat
FROM facts;

-- Every article's attributes, copies included (straight from articles: the comparisons
-- join it per article, and it need not know stories or copies).
CREATE OR REPLACE VIEW article_attributes AS
SELECT a.id AS article_id, s.name AS outlet, oa.attribute, oa.value
FROM articles a JOIN sources s ON s.id = a.source_id
JOIN outlet_attributes oa ON oa.outlet = s.name
WHERE oa.attribute <> 'language'
UNION ALL
SELECT a.id AS article_id, s.name AS outlet, 'language' AS attribute,
       coalesce(a.language, oa.value) AS value
FROM articles a LEFT JOIN sources s ON s.id = a.source_id
LEFT JOIN outlet_attributes oa ON oa.outlet = s.name AND oa.attribute = 'language'
WHERE coalesce(a.language, oa.value) IS NOT NULL;

CREATE OR REPLACE VIEW story_coverage_by_attribute AS
WITH keys AS (
    SELECT DISTINCT attribute FROM outlet_attributes
    UNION SELECT 'language' WHERE (SELECT count(DISTINCT language) FROM articles) >= 2
), tagged AS (
    SELECT x.story_id, x.outlet, x.article_at, k.attribute, aa.value
    FROM article_coverage x
    CROSS JOIN keys k
    LEFT JOIN article_attributes aa ON aa.article_id = x.article_id AND aa.attribute = k.attribute
    WHERE x.story_id IS NOT NULL AND NOT x.outlet_repeat
)
SELECT story_id, attribute, value,
       count(*) AS articles,
       count(DISTINCT outlet) AS outlets,
       count(*) / sum(count(*)) OVER (PARTITION BY story_id, attribute) AS share,
       min(article_at) AS first_article_at,
       max(article_at) AS last_article_at
FROM tagged
GROUP BY story_id, attribute, value;

CREATE OR REPLACE VIEW story_frames_by_attribute AS
WITH keys AS (
    SELECT DISTINCT attribute FROM outlet_attributes
    UNION SELECT 'language' WHERE (SELECT count(DISTINCT language) FROM articles) >= 2
), tagged AS (
    SELECT x.story_id, x.article_id, k.attribute, aa.value
    FROM article_coverage x
    CROSS JOIN keys k
    LEFT JOIN article_attributes aa ON aa.article_id = x.article_id AND aa.attribute = k.attribute
    WHERE x.story_id IS NOT NULL AND NOT x.outlet_repeat
)
SELECT t.story_id, t.attribute, t.value, af.codebook_id, af.frame_id,
       count(*) AS articles,
       count(*) FILTER (WHERE af.is_primary) AS primary_articles,
       avg(af.share) AS mean_share,
       sum(af.share) / nullif(sum(sum(af.share)) OVER (
           PARTITION BY t.story_id, t.attribute, t.value, af.codebook_id), 0) AS frame_share
FROM tagged t JOIN article_frames af ON af.article_id = t.article_id
WHERE af.frame_id <> 'none'
GROUP BY t.story_id, t.attribute, t.value, af.codebook_id, af.frame_id;
