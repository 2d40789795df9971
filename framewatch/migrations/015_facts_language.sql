-- Each article's language in article_facts, so researchers and the comparison pages can
-- keep to one language's coverage (NULL: too short to tell and nothing declared).
-- Appended last: views reading article_facts (x.*, named columns) bind as before.
CREATE OR REPLACE VIEW article_facts AS
SELECT a.id AS article_id, a.source_id, s.name AS outlet, m.story_id,
       coalesce(a.published_at, a.fetched_at) AS article_at,
       CAST(coalesce(a.published_at, a.fetched_at) AS DATE) AS day,
       CAST(date_trunc('week', coalesce(a.published_at, a.fetched_at)) AS DATE) AS week_start,
       strftime(coalesce(a.published_at, a.fetched_at), '%G-W%V') AS iso_week,
       a.title, a.url, a.language
FROM articles a
LEFT JOIN sources s ON s.id = a.source_id
LEFT JOIN story_members m ON m.article_id = a.id
WHERE a.id NOT IN (SELECT article_id FROM article_duplicates);
