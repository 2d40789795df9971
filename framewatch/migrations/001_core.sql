-- Sources, crawler state, articles and runs: the foundation every later stage reads.
CREATE SEQUENCE IF NOT EXISTS sources_id_seq START 1;
CREATE TABLE sources (
    id INTEGER PRIMARY KEY DEFAULT nextval('sources_id_seq'),
    url VARCHAR NOT NULL UNIQUE,          -- the feed URL (after autodiscovery)
    name VARCHAR NOT NULL,
    site_url VARCHAR,
    country VARCHAR,
    language VARCHAR,
    added_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    origin VARCHAR NOT NULL DEFAULT 'cli', -- cli | config | opml | import | demo
    active BOOLEAN NOT NULL DEFAULT true   -- removed sources keep their articles
);

CREATE TABLE feed_state (
    source_id INTEGER PRIMARY KEY,
    etag VARCHAR,
    last_modified VARCHAR,
    last_polled_at TIMESTAMP,
    last_success_at TIMESTAMP,
    last_status INTEGER,
    last_error VARCHAR,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    next_poll_at TIMESTAMP
);

CREATE SEQUENCE IF NOT EXISTS articles_id_seq START 1;
CREATE TABLE articles (
    id BIGINT PRIMARY KEY DEFAULT nextval('articles_id_seq'),
    source_id INTEGER,
    url VARCHAR NOT NULL,
    canonical_url VARCHAR NOT NULL UNIQUE,
    title VARCHAR,
    author VARCHAR,
    published_at TIMESTAMP,
    fetched_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    language VARCHAR,
    site_name VARCHAR,
    text VARCHAR,
    summary VARCHAR,
    word_count INTEGER,
    content_hash VARCHAR NOT NULL UNIQUE,
    extraction VARCHAR NOT NULL,          -- full | feed_summary | stub | imported
    extraction_note VARCHAR
);

-- Entries the crawler saw but did not store as a new article: an exact copy of an
-- article already stored (same text elsewhere), or a page that failed for good.
CREATE TABLE crawl_log (
    url VARCHAR NOT NULL,
    source_id INTEGER,
    seen_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    outcome VARCHAR NOT NULL,             -- exact_duplicate | failed | disallowed | refused
    article_id BIGINT,
    detail VARCHAR
);

CREATE SEQUENCE IF NOT EXISTS runs_id_seq START 1;
CREATE TABLE runs (
    id INTEGER PRIMARY KEY DEFAULT nextval('runs_id_seq'),
    command VARCHAR NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    status VARCHAR NOT NULL DEFAULT 'running',  -- running | ok | failed | interrupted
    counts JSON,
    errors JSON
);

CREATE TABLE settings (
    key VARCHAR PRIMARY KEY,
    value VARCHAR
);
