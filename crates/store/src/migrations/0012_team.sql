-- Team memory: the observations and summaries of joined projects are shared
-- through a team server (`mnemo sync`). Everything here is local
-- bookkeeping; the server's own schema lives with `mnemo-team`.

-- Projects this machine shares, with their portable key (the normalised git
-- remote, or `root:<sha>` of the root commit): the same repository cloned at
-- different paths on different machines has one key. `author` is the name
-- this machine's memories of it carry unless `[team] author` says otherwise
-- (git's user.name there when it was joined).
CREATE TABLE team_projects (
    project_id  INTEGER PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    key         TEXT    NOT NULL,
    author      TEXT    NOT NULL,
    joined_at   INTEGER NOT NULL
);
CREATE INDEX team_projects_key ON team_projects (key);

-- A shared memory's global id (32 hex; given when the row is first sent up,
-- or taken from the server when pulled), and who wrote it on which machine
-- (NULL: written here).
ALTER TABLE observations ADD COLUMN gid TEXT;
ALTER TABLE observations ADD COLUMN author TEXT;
ALTER TABLE observations ADD COLUMN origin TEXT;
CREATE UNIQUE INDEX observations_gid ON observations (gid) WHERE gid IS NOT NULL;
ALTER TABLE summaries ADD COLUMN gid TEXT;
ALTER TABLE summaries ADD COLUMN author TEXT;
ALTER TABLE summaries ADD COLUMN origin TEXT;
CREATE UNIQUE INDEX summaries_gid ON summaries (gid) WHERE gid IS NOT NULL;

-- Local changes of joined projects waiting to go up, one entry per row
-- (`row_id`), filled by the triggers below so every write path is covered.
-- A row deleted after it was sent up leaves a tombstone entry naming its
-- `gid` instead. `version` grows with each change: an entry is removed after
-- a push only if it did not change meanwhile. `changed_at` is the version's
-- time, which decides conflicts.
CREATE TABLE team_outbox (
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL CHECK (kind IN ('observation', 'summary')),
    row_id      INTEGER,
    gid         TEXT,
    project_id  INTEGER NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1,
    changed_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX team_outbox_row ON team_outbox (kind, row_id) WHERE row_id IS NOT NULL;

-- The triggers cost a lookup in the (small) joined-projects table per write
-- and never write the memory's row again. A memory inserted with an origin
-- came from elsewhere (a pull) and is not queued; a later local change of
-- it (forget, undo) is.
CREATE TRIGGER team_outbox_observation_insert AFTER INSERT ON observations
WHEN new.origin IS NULL AND new.project_id IN (SELECT project_id FROM team_projects) BEGIN
    INSERT INTO team_outbox (kind, row_id, project_id, changed_at)
    VALUES ('observation', new.id, new.project_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
    ON CONFLICT (kind, row_id) WHERE row_id IS NOT NULL
    DO UPDATE SET version = version + 1, changed_at = excluded.changed_at;
END;
CREATE TRIGGER team_outbox_observation_update
AFTER UPDATE OF type, title, subtitle, narrative, facts, concepts, files_read, files_modified,
    deleted_at, project_id ON observations
WHEN new.project_id IN (SELECT project_id FROM team_projects) BEGIN
    INSERT INTO team_outbox (kind, row_id, project_id, changed_at)
    VALUES ('observation', new.id, new.project_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
    ON CONFLICT (kind, row_id) WHERE row_id IS NOT NULL
    DO UPDATE SET version = version + 1, changed_at = excluded.changed_at;
END;
CREATE TRIGGER team_outbox_observation_delete AFTER DELETE ON observations
WHEN old.project_id IN (SELECT project_id FROM team_projects) BEGIN
    DELETE FROM team_outbox WHERE kind = 'observation' AND row_id = old.id;
    INSERT INTO team_outbox (kind, gid, project_id, changed_at)
    SELECT 'observation', old.gid, old.project_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    WHERE old.gid IS NOT NULL;
END;

CREATE TRIGGER team_outbox_summary_insert AFTER INSERT ON summaries
WHEN new.origin IS NULL AND new.project_id IN (SELECT project_id FROM team_projects) BEGIN
    INSERT INTO team_outbox (kind, row_id, project_id, changed_at)
    VALUES ('summary', new.id, new.project_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
    ON CONFLICT (kind, row_id) WHERE row_id IS NOT NULL
    DO UPDATE SET version = version + 1, changed_at = excluded.changed_at;
END;
CREATE TRIGGER team_outbox_summary_update
AFTER UPDATE OF request, investigated, learned, completed, next_steps, files_read, files_modified,
    deleted_at, project_id ON summaries
WHEN new.project_id IN (SELECT project_id FROM team_projects) BEGIN
    INSERT INTO team_outbox (kind, row_id, project_id, changed_at)
    VALUES ('summary', new.id, new.project_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
    ON CONFLICT (kind, row_id) WHERE row_id IS NOT NULL
    DO UPDATE SET version = version + 1, changed_at = excluded.changed_at;
END;
CREATE TRIGGER team_outbox_summary_delete AFTER DELETE ON summaries
WHEN old.project_id IN (SELECT project_id FROM team_projects) BEGIN
    DELETE FROM team_outbox WHERE kind = 'summary' AND row_id = old.id;
    INSERT INTO team_outbox (kind, gid, project_id, changed_at)
    SELECT 'summary', old.gid, old.project_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    WHERE old.gid IS NOT NULL;
END;

-- Sync's own facts: this machine's origin id, the pull watermark, the last
-- success and the last error.
CREATE TABLE team_state (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
) WITHOUT ROWID;

-- Concurrent versions of one memory met during a pull: which one was kept.
CREATE TABLE team_conflicts (
    id              INTEGER PRIMARY KEY,
    at              INTEGER NOT NULL,
    gid             TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    kept            TEXT    NOT NULL CHECK (kept IN ('local', 'team')),
    local_edited_at INTEGER NOT NULL,
    team_edited_at  INTEGER NOT NULL,
    team_origin     TEXT    NOT NULL
);
