-- Which observations read or changed which file, so "what do we know about
-- this file" (the note before a Read, `--file` filters) looks up a few rows
-- instead of reading every observation's JSON. Kept by triggers, like the
-- full-text index; `name` is the path's last component, the part every way
-- of naming the file shares.
CREATE TABLE observation_files (
    name            TEXT    NOT NULL,
    path            TEXT    NOT NULL,
    observation_id  INTEGER NOT NULL,
    PRIMARY KEY (name, observation_id, path)
) WITHOUT ROWID;
CREATE INDEX observation_files_observation ON observation_files (observation_id);

-- The paths of an observation's files_read and files_modified (malformed
-- JSON counts as none: a write must never fail on it), with their names.
CREATE VIEW observation_file_paths AS
SELECT o.id AS observation_id, f.value AS path,
       replace(f.value, rtrim(f.value, replace(f.value, '/', '')), '') AS name
FROM observations o,
     json_each(CASE WHEN json_valid(o.files_read) THEN o.files_read ELSE '[]' END) f
WHERE typeof(f.value) = 'text'
UNION
SELECT o.id, f.value, replace(f.value, rtrim(f.value, replace(f.value, '/', '')), '')
FROM observations o,
     json_each(CASE WHEN json_valid(o.files_modified) THEN o.files_modified ELSE '[]' END) f
WHERE typeof(f.value) = 'text';

CREATE TRIGGER observation_files_insert AFTER INSERT ON observations BEGIN
    INSERT OR IGNORE INTO observation_files (name, path, observation_id)
    SELECT name, path, observation_id FROM observation_file_paths WHERE observation_id = new.id;
END;
CREATE TRIGGER observation_files_update AFTER UPDATE OF files_read, files_modified ON observations BEGIN
    DELETE FROM observation_files WHERE observation_id = old.id;
    INSERT OR IGNORE INTO observation_files (name, path, observation_id)
    SELECT name, path, observation_id FROM observation_file_paths WHERE observation_id = new.id;
END;
CREATE TRIGGER observation_files_delete AFTER DELETE ON observations BEGIN
    DELETE FROM observation_files WHERE observation_id = old.id;
END;

INSERT OR IGNORE INTO observation_files (name, path, observation_id)
SELECT name, path, observation_id FROM observation_file_paths;
