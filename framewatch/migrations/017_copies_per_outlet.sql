-- The same text from two outlets is two outlets' coverage (a wire story carried by both):
-- a text is stored once per outlet (a source name; the key below is per source, the
-- code checks the name), not once per store. The story stage marks the one
-- clustered later as an exact copy (article_duplicates, kind 'exact'), in the first's story.
-- DuckDB cannot drop a constraint, so the table is rebuilt with the same columns, in order.
CREATE TABLE articles_rebuilt (
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
    content_hash VARCHAR NOT NULL,
    extraction VARCHAR NOT NULL,
    extraction_note VARCHAR,
    published_at_inferred BOOLEAN DEFAULT false,
    language_confidence DOUBLE,
    language_declared VARCHAR,
    UNIQUE (source_id, content_hash)
);
INSERT INTO articles_rebuilt SELECT * FROM articles;
DROP TABLE articles;
ALTER TABLE articles_rebuilt RENAME TO articles;
-- Copies of another outlet's text were logged and never fetched again; under the new rule
-- they are that outlet's coverage, so the next poll fetches them.
DELETE FROM crawl_log c
WHERE c.outcome = 'exact_duplicate' AND EXISTS (
    SELECT 1 FROM articles a JOIN sources s ON s.id = a.source_id
    WHERE a.id = c.article_id
      AND s.name IS DISTINCT FROM (SELECT name FROM sources WHERE id = c.source_id));
