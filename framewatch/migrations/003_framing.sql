-- Framing: codebooks, per-article frame shares, evidence sentences, human labels, models.
CREATE TABLE codebooks (
    id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    description VARCHAR,
    hash VARCHAR NOT NULL,              -- changes when frames, descriptions or examples change
    origin VARCHAR NOT NULL,            -- built-in, or the file it was added from
    source VARCHAR,                     -- the TOML text of user-added codebooks
    added_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE frames (
    codebook_id VARCHAR NOT NULL,
    frame_id VARCHAR NOT NULL,
    label VARCHAR NOT NULL,
    description VARCHAR NOT NULL,
    examples VARCHAR[],
    position INTEGER NOT NULL,
    PRIMARY KEY (codebook_id, frame_id)
);

-- One row per article, codebook and frame (plus frame_id 'none' for unframed text).
CREATE TABLE article_frames (
    article_id BIGINT NOT NULL,
    codebook_id VARCHAR NOT NULL,
    frame_id VARCHAR NOT NULL,
    share DOUBLE NOT NULL,              -- of the article's sentences (shares sum to 1 with 'none')
    score DOUBLE,                       -- strongest sentence score (zero-shot) or probability (supervised)
    is_primary BOOLEAN NOT NULL,
    method VARCHAR NOT NULL,            -- zero-shot | supervised
    model_version VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (article_id, codebook_id, frame_id)
);

-- One row per article and codebook: the verdict at a glance.
CREATE TABLE article_framing (
    article_id BIGINT NOT NULL,
    codebook_id VARCHAR NOT NULL,
    primary_frame VARCHAR,              -- NULL when no sentence matches any frame
    confidence DOUBLE,
    none_share DOUBLE NOT NULL,
    sentences INTEGER NOT NULL,
    method VARCHAR NOT NULL,
    model_version VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (article_id, codebook_id)
);

CREATE TABLE frame_evidence (
    article_id BIGINT NOT NULL,
    codebook_id VARCHAR NOT NULL,
    frame_id VARCHAR NOT NULL,
    rank INTEGER NOT NULL,              -- 1 = strongest
    sentence VARCHAR NOT NULL,
    score DOUBLE NOT NULL,
    PRIMARY KEY (article_id, codebook_id, frame_id, rank)
);

CREATE SEQUENCE IF NOT EXISTS labels_id_seq START 1;
CREATE TABLE labels (
    id BIGINT PRIMARY KEY DEFAULT nextval('labels_id_seq'),
    article_id BIGINT NOT NULL,
    codebook_id VARCHAR NOT NULL,
    frame_id VARCHAR NOT NULL,
    annotator VARCHAR,
    origin VARCHAR NOT NULL DEFAULT 'cli',
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    UNIQUE (article_id, codebook_id, frame_id)
);

CREATE SEQUENCE IF NOT EXISTS framing_models_id_seq START 1;
CREATE TABLE framing_models (
    id INTEGER PRIMARY KEY DEFAULT nextval('framing_models_id_seq'),
    codebook_id VARCHAR NOT NULL,
    codebook_hash VARCHAR NOT NULL,
    embedding_model VARCHAR NOT NULL,
    frames VARCHAR[] NOT NULL,          -- the frames it predicts (those with enough labels)
    n_labels INTEGER NOT NULL,
    metrics JSON NOT NULL,              -- cross-validated macro/micro F1 and per frame
    model BLOB NOT NULL,                -- the pickled scikit-learn estimator
    active BOOLEAN NOT NULL DEFAULT true,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);
