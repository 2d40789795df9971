-- The same text from two outlets is two outlets' coverage (a wire story carried by both):
-- a text is stored once per outlet, not once per store. Near-duplicate detection marks the
-- later one as a copy (article_duplicates), as it does for copies that differ a little.
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
