-- Browsing (the viewer and its live stream).

-- Every project's memories newest first walks this index instead of sorting
-- the whole table; rowid (the id) is its tie-breaker.
CREATE INDEX observations_time ON observations (created_at);

-- "Which episodes were compressed again or enriched since t?" (the live
-- stream asks after every write) reads this index, not the whole table.
-- Queries must spell the expression exactly like this to use it.
CREATE INDEX episodes_touched ON episodes (max(compressed_at, coalesce(enriched_at, 0)));
