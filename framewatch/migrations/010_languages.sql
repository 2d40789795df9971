-- Languages: each article's detected language with the detector's confidence and what its
-- feed or file declared, and the article's language as a comparison attribute beside the
-- outlets' attributes (blind spots, splits, dashboard "compare by", SQL).
ALTER TABLE articles ADD COLUMN language_confidence DOUBLE;  -- NULL: declared, not detected
ALTER TABLE articles ADD COLUMN language_declared VARCHAR;   -- feed / OPML / file language

-- One row per article and attribute: its outlet's attributes, and `language`, which is the
-- article's own (detected) language, falling back to its outlet's declared language.
CREATE VIEW article_attributes AS
SELECT x.article_id, x.outlet, oa.attribute, oa.value
FROM article_facts x JOIN outlet_attributes oa ON oa.outlet = x.outlet
WHERE oa.attribute <> 'language'
UNION ALL
SELECT x.article_id, x.outlet, 'language' AS attribute, coalesce(a.language, oa.value) AS value
FROM article_facts x JOIN articles a ON a.id = x.article_id
LEFT JOIN outlet_attributes oa ON oa.outlet = x.outlet AND oa.attribute = 'language'
WHERE coalesce(a.language, oa.value) IS NOT NULL;

CREATE OR REPLACE VIEW story_coverage_by_attribute AS
WITH keys AS (
    SELECT DISTINCT attribute FROM outlet_attributes
    UNION SELECT 'language' WHERE (SELECT count(DISTINCT language) FROM articles) >= 2
), tagged AS (
    SELECT x.story_id, x.outlet, x.article_at, k.attribute, aa.value
    FROM article_facts x
    CROSS JOIN keys k
    LEFT JOIN article_attributes aa ON aa.article_id = x.article_id AND aa.attribute = k.attribute
    WHERE x.story_id IS NOT NULL
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
    FROM article_facts x
    CROSS JOIN keys k
    LEFT JOIN article_attributes aa ON aa.article_id = x.article_id AND aa.attribute = k.attribute
    WHERE x.story_id IS NOT NULL
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
