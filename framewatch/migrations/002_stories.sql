-- Embeddings and stories. Vectors are FLOAT[] lists so that one store can hold the
-- vectors of models with different dimensions; `dim` says how long each one is.
CREATE TABLE embeddings (
    article_id BIGINT NOT NULL,
    model VARCHAR NOT NULL,
    dim INTEGER NOT NULL,
    vector FLOAT[] NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (article_id, model)
);

CREATE SEQUENCE IF NOT EXISTS stories_id_seq START 1;
CREATE TABLE stories (
    id BIGINT PRIMARY KEY DEFAULT nextval('stories_id_seq'),
    model VARCHAR NOT NULL,             -- the embedding space the story lives in
    label VARCHAR,                      -- most distinctive terms (c-TF-IDF)
    headline VARCHAR,                   -- title of the member nearest the centroid
    headline_article_id BIGINT,
    first_seen TIMESTAMP NOT NULL,
    last_seen TIMESTAMP NOT NULL,
    size INTEGER NOT NULL,              -- members, near-duplicate copies counted once
    copies INTEGER NOT NULL DEFAULT 0,  -- near-duplicate copies among the members
    outlets INTEGER NOT NULL DEFAULT 0,
    centroid FLOAT[] NOT NULL,          -- mean of member vectors
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE story_members (
    article_id BIGINT PRIMARY KEY,
    story_id BIGINT NOT NULL,
    similarity FLOAT,                   -- to the centroid when it joined (1 for a founder)
    joined_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

-- Near-identical copies (syndicated wire copy): counted once, kept visible.
CREATE TABLE article_duplicates (
    article_id BIGINT PRIMARY KEY,
    duplicate_of BIGINT NOT NULL,
    similarity FLOAT NOT NULL,
    kind VARCHAR NOT NULL DEFAULT 'near'
);
