-- Filters inside the full-text index. `scope` holds one token for the
-- project (`p<id>`) and one for the type (`t<type>`, underscores dropped),
-- so a project- or type-filtered search intersects posting lists inside
-- FTS5 instead of ranking every match in every project and filtering after
-- (weight 0 in BM25). `kind_words` is the type in words ("bug fix"), so
-- "the fibonacci bug" prefers the bugfix to the feature that created the
-- file. Both are virtual generated columns: no bytes in the table.
ALTER TABLE observations ADD COLUMN scope TEXT
    GENERATED ALWAYS AS ('p' || coalesce(project_id, 0) || ' t' || replace(type, '_', '')) VIRTUAL;
ALTER TABLE observations ADD COLUMN kind_words TEXT
    GENERATED ALWAYS AS (CASE type WHEN 'bugfix' THEN 'bug fix' ELSE replace(type, '_', ' ') END) VIRTUAL;

DROP TRIGGER observations_fts_insert;
DROP TRIGGER observations_fts_delete;
DROP TRIGGER observations_fts_update;
DROP TABLE observations_fts;

CREATE VIRTUAL TABLE observations_fts USING fts5(
    title, subtitle, narrative, facts, concepts, kind_words, scope,
    content = 'observations', content_rowid = 'id', tokenize = 'porter unicode61');
CREATE TRIGGER observations_fts_insert AFTER INSERT ON observations BEGIN
    INSERT INTO observations_fts (rowid, title, subtitle, narrative, facts, concepts, kind_words, scope)
    VALUES (new.id, new.title, new.subtitle, new.narrative, new.facts, new.concepts, new.kind_words, new.scope);
END;
CREATE TRIGGER observations_fts_delete AFTER DELETE ON observations BEGIN
    INSERT INTO observations_fts (observations_fts, rowid, title, subtitle, narrative, facts, concepts, kind_words, scope)
    VALUES ('delete', old.id, old.title, old.subtitle, old.narrative, old.facts, old.concepts, old.kind_words, old.scope);
END;
CREATE TRIGGER observations_fts_update
AFTER UPDATE OF title, subtitle, narrative, facts, concepts, project_id, type ON observations BEGIN
    INSERT INTO observations_fts (observations_fts, rowid, title, subtitle, narrative, facts, concepts, kind_words, scope)
    VALUES ('delete', old.id, old.title, old.subtitle, old.narrative, old.facts, old.concepts, old.kind_words, old.scope);
    INSERT INTO observations_fts (rowid, title, subtitle, narrative, facts, concepts, kind_words, scope)
    VALUES (new.id, new.title, new.subtitle, new.narrative, new.facts, new.concepts, new.kind_words, new.scope);
END;
INSERT INTO observations_fts (observations_fts) VALUES ('rebuild');
