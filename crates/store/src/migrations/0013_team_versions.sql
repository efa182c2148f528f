-- Version times of shared memories strictly increase per row. The server
-- keeps the version with the later `edited_at` (a tombstone wins a tie), so
-- a change must never carry a time at or before the last version this
-- machine sent or applied for the row: a forget and its undo within one
-- millisecond, or a local edit after pulling a version from a teammate
-- whose clock runs ahead, would otherwise lose to the older version.

-- The time of the last version of the row this machine sent up (set when
-- the outbox is read for a push), applied from a pull, or imported from an
-- archive; NULL until the row is shared.
ALTER TABLE observations ADD COLUMN edited_at INTEGER;
ALTER TABLE summaries ADD COLUMN edited_at INTEGER;

-- The triggers of 0012, now versioning each change at
-- max(now, the row's last version + 1), and never below a change still
-- waiting in the outbox. A write that brings a newer version time of its
-- own (a pull, an archive import) keeps it. They still write only the
-- outbox, never the memory's row.
DROP TRIGGER team_outbox_observation_insert;
DROP TRIGGER team_outbox_observation_update;
DROP TRIGGER team_outbox_observation_delete;
DROP TRIGGER team_outbox_summary_insert;
DROP TRIGGER team_outbox_summary_update;
DROP TRIGGER team_outbox_summary_delete;

CREATE TRIGGER team_outbox_observation_insert AFTER INSERT ON observations
WHEN new.origin IS NULL AND new.project_id IN (SELECT project_id FROM team_projects) BEGIN
    INSERT INTO team_outbox (kind, row_id, project_id, changed_at)
    VALUES ('observation', new.id, new.project_id,
            coalesce(new.edited_at, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)))
    ON CONFLICT (kind, row_id) WHERE row_id IS NOT NULL
    DO UPDATE SET version = version + 1, changed_at = max(excluded.changed_at, changed_at + 1);
END;
CREATE TRIGGER team_outbox_observation_update
AFTER UPDATE OF type, title, subtitle, narrative, facts, concepts, files_read, files_modified,
    deleted_at, project_id ON observations
WHEN new.project_id IN (SELECT project_id FROM team_projects) BEGIN
    INSERT INTO team_outbox (kind, row_id, project_id, changed_at)
    VALUES ('observation', new.id, new.project_id,
            CASE WHEN new.edited_at > coalesce(old.edited_at, 0) THEN new.edited_at
                 ELSE max(CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER),
                          coalesce(old.edited_at, 0) + 1) END)
    ON CONFLICT (kind, row_id) WHERE row_id IS NOT NULL
    DO UPDATE SET version = version + 1, changed_at = max(excluded.changed_at, changed_at + 1);
END;
CREATE TRIGGER team_outbox_observation_delete AFTER DELETE ON observations
WHEN old.project_id IN (SELECT project_id FROM team_projects) BEGIN
    DELETE FROM team_outbox WHERE kind = 'observation' AND row_id = old.id;
    INSERT INTO team_outbox (kind, gid, project_id, changed_at)
    SELECT 'observation', old.gid, old.project_id,
           max(CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), coalesce(old.edited_at, 0) + 1)
    WHERE old.gid IS NOT NULL;
END;

CREATE TRIGGER team_outbox_summary_insert AFTER INSERT ON summaries
WHEN new.origin IS NULL AND new.project_id IN (SELECT project_id FROM team_projects) BEGIN
    INSERT INTO team_outbox (kind, row_id, project_id, changed_at)
    VALUES ('summary', new.id, new.project_id,
            coalesce(new.edited_at, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)))
    ON CONFLICT (kind, row_id) WHERE row_id IS NOT NULL
    DO UPDATE SET version = version + 1, changed_at = max(excluded.changed_at, changed_at + 1);
END;
CREATE TRIGGER team_outbox_summary_update
AFTER UPDATE OF request, investigated, learned, completed, next_steps, files_read, files_modified,
    deleted_at, project_id ON summaries
WHEN new.project_id IN (SELECT project_id FROM team_projects) BEGIN
    INSERT INTO team_outbox (kind, row_id, project_id, changed_at)
    VALUES ('summary', new.id, new.project_id,
            CASE WHEN new.edited_at > coalesce(old.edited_at, 0) THEN new.edited_at
                 ELSE max(CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER),
                          coalesce(old.edited_at, 0) + 1) END)
    ON CONFLICT (kind, row_id) WHERE row_id IS NOT NULL
    DO UPDATE SET version = version + 1, changed_at = max(excluded.changed_at, changed_at + 1);
END;
CREATE TRIGGER team_outbox_summary_delete AFTER DELETE ON summaries
WHEN old.project_id IN (SELECT project_id FROM team_projects) BEGIN
    DELETE FROM team_outbox WHERE kind = 'summary' AND row_id = old.id;
    INSERT INTO team_outbox (kind, gid, project_id, changed_at)
    SELECT 'summary', old.gid, old.project_id,
           max(CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), coalesce(old.edited_at, 0) + 1)
    WHERE old.gid IS NOT NULL;
END;
