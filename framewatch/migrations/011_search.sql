-- Search (issue 23): which articles the full-text index beside the store holds, and
-- saved searches written in the query language.

-- One row per article in the index (STORE.search/), with the text version it holds:
-- an article whose content_hash changed is indexed again.
CREATE TABLE search_index (
    article_id BIGINT PRIMARY KEY,
    content_hash VARCHAR NOT NULL,
    indexed_at TIMESTAMP NOT NULL
);

-- A watch is a query in the search language; older watches (all their words, anywhere)
-- become the same words as a query.
ALTER TABLE watches ADD COLUMN query VARCHAR;
UPDATE watches SET query = array_to_string(
    list_transform(words, lambda w: '"' || replace(w, '"', ' ') || '"'), ' AND ')
WHERE words IS NOT NULL AND len(words) > 0;
