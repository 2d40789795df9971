-- After `analyze --recluster` topics are rebuilt with new ids; each old topic id leads to
-- the new topic holding most of its articles, so saved links (?topic=12) and topic:12
-- queries keep working, as story ids do through story_redirects.
ALTER TABLE story_recluster ADD COLUMN old_topic_id BIGINT;
CREATE TABLE topic_redirects (
    old_id BIGINT PRIMARY KEY,
    new_id BIGINT NOT NULL,
    redirected_at TIMESTAMP NOT NULL
);
