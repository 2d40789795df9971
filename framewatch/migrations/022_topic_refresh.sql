-- Topics whose stories changed (grew, merged, split, left, emptied): the end of the story
-- stage makes them again from the stories they hold. Marked in the transaction that
-- changes the story, so a run killed before the topics were redone leaves them marked.
CREATE TABLE topic_refresh (
    topic_id BIGINT PRIMARY KEY
);
-- Until now a topic kept the span and centroid its stories had when they joined: every
-- topic is redone once, by the next story stage.
INSERT INTO topic_refresh SELECT id FROM topics;
