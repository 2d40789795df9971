-- `framewatch analyze --recluster`: each article's story before it was clustered again, kept
-- until the old story ids are redirected to the new stories (a killed run resumes).
CREATE TABLE story_recluster (
    article_id BIGINT PRIMARY KEY,
    old_story_id BIGINT NOT NULL
);
