-- An article whose text was replaced after it was clustered (a stub's page read on a later
-- try, a backfill's full capture of a stub or a page cut short): the next story stage takes
-- it out of its old story and clusters it again by its new text. The old story is redone
-- from its other members or, left empty, redirected to the article's new story.
CREATE TABLE story_leavers (
    article_id BIGINT PRIMARY KEY,
    old_story_id BIGINT NOT NULL,
    released BOOLEAN NOT NULL DEFAULT false  -- taken out of the old story, not yet clustered
);
