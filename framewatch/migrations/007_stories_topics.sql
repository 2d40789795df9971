-- Undated articles, story merges and topics.
-- An article with no publication date gets the time framewatch first saw it, and says so.
ALTER TABLE articles ADD COLUMN published_at_inferred BOOLEAN DEFAULT false;
UPDATE articles SET published_at = fetched_at, published_at_inferred = true
WHERE published_at IS NULL;

-- A story merged into another by the later pass: its id keeps resolving to the survivor.
CREATE TABLE story_redirects (
    old_id BIGINT PRIMARY KEY,
    new_id BIGINT NOT NULL,
    similarity FLOAT,                   -- centroid similarity when merged
    reason VARCHAR NOT NULL,            -- merge
    merged_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

-- Topics: running subjects (weeks to years) that group stories (events).
CREATE SEQUENCE IF NOT EXISTS topics_id_seq START 1;
CREATE TABLE topics (
    id BIGINT PRIMARY KEY DEFAULT nextval('topics_id_seq'),
    model VARCHAR NOT NULL,
    label VARCHAR,                      -- most distinctive terms (c-TF-IDF over its stories)
    first_seen TIMESTAMP NOT NULL,
    last_seen TIMESTAMP NOT NULL,
    stories INTEGER NOT NULL DEFAULT 0,
    centroid FLOAT[] NOT NULL,          -- mean of its stories' unit centroids
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE story_topics (
    story_id BIGINT PRIMARY KEY,
    topic_id BIGINT NOT NULL,
    similarity FLOAT,                   -- to the topic when the story joined (1 for a founder)
    assigned_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

-- A story split by the later pass (only when story_split is on): which members left.
CREATE TABLE story_splits (
    story_id BIGINT NOT NULL,           -- the story that was split (keeps its earliest member)
    new_story_id BIGINT NOT NULL,       -- the story founded by the members that left
    articles INTEGER NOT NULL,
    similarity FLOAT,                   -- between the two parts' centroids
    split_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);
