-- A topic's `stories` went on counting its stories that were merged away (and, since
-- schema 21, those emptied when their article's text was replaced): count what it holds.
UPDATE topics SET stories = (
    SELECT count(*) FROM story_topics x JOIN stories s ON s.id = x.story_id
    WHERE x.topic_id = topics.id
);
