-- Real-world input: OPML attributes kept on sources, page retries, feed health.
-- The OPML category (or the folders around the outline) and every attribute of the outline.
ALTER TABLE sources ADD COLUMN category VARCHAR;
ALTER TABLE sources ADD COLUMN opml_attributes JSON;

-- Article pages that failed for a reason that may pass (timeout, 5xx, connection error):
-- the article is stored with the feed's text and its page is fetched again on later polls,
-- with backoff, at most a bounded number of times. A row is deleted once the page is read
-- (the article's text is then replaced in place) or when the retries are used up.
CREATE TABLE page_retries (
    article_id BIGINT PRIMARY KEY,
    source_id INTEGER,
    url VARCHAR NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 1,   -- page fetches that failed so far
    last_error VARCHAR,
    next_attempt_at TIMESTAMP NOT NULL
);
