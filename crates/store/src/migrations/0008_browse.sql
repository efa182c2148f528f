-- Browsing (the viewer and its live stream).

-- Every project's memories newest first walks this index instead of sorting
-- the whole table; rowid (the id) is its tie-breaker.
CREATE INDEX observations_time ON observations (created_at);

-- "Which episodes were compressed again or enriched since t?" (the live
-- stream asks after every write) reads this index, not the whole table.
-- Queries must spell the expression exactly like this to use it.
CREATE INDEX episodes_touched ON episodes (max(compressed_at, coalesce(enriched_at, 0)));

-- Live (not forgotten) observations: counting them, per project for the
-- project list and in all for stats, reads this small index instead of every
-- row (observations are large); a project's live list walks it in order.
CREATE INDEX observations_live ON observations (project_id, created_at) WHERE deleted_at IS NULL;

-- A session's live observations (its overview counts them; the viewer lists
-- them) and its latest summary, without scanning either table.
CREATE INDEX observations_session_live ON observations (session_id, created_at) WHERE deleted_at IS NULL;
CREATE INDEX summaries_session ON summaries (session_id, created_at);
