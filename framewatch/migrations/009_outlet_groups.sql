-- Outlet attributes (lean, country, owner, ...), the views that compare coverage and
-- framing across their values, and watches (saved queries) with what they reported.

-- One row per outlet and attribute. `outlet` is the outlet name (sources.name), so an
-- attribute applies to a feed and to imported articles with that `source` alike.
CREATE TABLE outlet_attributes (
    outlet VARCHAR NOT NULL,
    attribute VARCHAR NOT NULL,
    value VARCHAR NOT NULL,
    origin VARCHAR NOT NULL,            -- config | opml | cli | csv
    updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (outlet, attribute)
);

-- Coverage of each story by the values of each attribute. Articles whose outlet has no
-- value for the attribute are counted under value NULL, so shares add up to 1.
CREATE VIEW story_coverage_by_attribute AS
WITH tagged AS (
    SELECT x.story_id, x.outlet, x.article_at, k.attribute, oa.value
    FROM article_facts x
    CROSS JOIN (SELECT DISTINCT attribute FROM outlet_attributes) k
    LEFT JOIN outlet_attributes oa ON oa.outlet = x.outlet AND oa.attribute = k.attribute
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

-- Frame shares of each story by attribute value. `mean_share` is the mean of the
-- articles' shares (as in frame_trends); `frame_share` is the frame's part of the
-- group's framed sentences (the group's frames sum to 1), the distribution that
-- `framewatch splits` compares.
CREATE VIEW story_frames_by_attribute AS
WITH tagged AS (
    SELECT x.story_id, x.article_id, k.attribute, oa.value
    FROM article_facts x
    CROSS JOIN (SELECT DISTINCT attribute FROM outlet_attributes) k
    LEFT JOIN outlet_attributes oa ON oa.outlet = x.outlet AND oa.attribute = k.attribute
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

-- Watches: saved queries over stories (words, an outlet group, a frame).
CREATE SEQUENCE IF NOT EXISTS watches_id_seq START 1;
CREATE TABLE watches (
    id INTEGER PRIMARY KEY DEFAULT nextval('watches_id_seq'),
    name VARCHAR NOT NULL UNIQUE,
    words VARCHAR[],                    -- every word must appear in a member's title or text
    attribute VARCHAR,                  -- outlet group: attribute = value
    value VARCHAR,
    frame_id VARCHAR,                   -- primary frame of at least one (group) article
    codebook_id VARCHAR,
    split_by VARCHAR,                   -- report framing splits by this attribute
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

-- What `framewatch watch check` has reported, so that nothing is reported twice.
CREATE TABLE watch_reports (
    watch_id INTEGER NOT NULL,
    story_id BIGINT NOT NULL,
    kind VARCHAR NOT NULL,              -- match | split
    detail VARCHAR,
    reported_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (watch_id, story_id, kind)
);
