-- Vector search. Each observation has at most one vector per embedding
-- model, stored 8-bit quantised (the layout is mnemo-embed's `quant`).
-- Vectors are clustered by (model, project), so a project's vectors are one
-- contiguous range to scan; `seq` lets an in-memory copy catch up cheaply.
CREATE TABLE embedding_models (
    id    INTEGER PRIMARY KEY,
    name  TEXT    NOT NULL UNIQUE,   -- the embedder's model id
    dims  INTEGER NOT NULL
);
CREATE TABLE observation_vectors (
    model_id        INTEGER NOT NULL REFERENCES embedding_models(id),
    project_id      INTEGER NOT NULL,   -- 0 for no project
    observation_id  INTEGER NOT NULL,
    vector          BLOB    NOT NULL,
    seq             INTEGER NOT NULL,   -- increases with every write of a model's vectors
    PRIMARY KEY (model_id, project_id, observation_id)
) WITHOUT ROWID;
CREATE INDEX observation_vectors_observation ON observation_vectors (observation_id);
-- Long-lived processes keep vectors in memory and read only what is newer.
CREATE INDEX observation_vectors_seq ON observation_vectors (model_id, seq);

-- Observations whose text is new or changed since they were embedded. The
-- process that writes observations embeds them afterwards (outside the write
-- transaction); anything left over is picked up by the next one.
CREATE TABLE vector_queue (observation_id INTEGER PRIMARY KEY);
CREATE TRIGGER vector_queue_insert AFTER INSERT ON observations BEGIN
    INSERT OR IGNORE INTO vector_queue (observation_id) VALUES (new.id);
END;
CREATE TRIGGER vector_queue_update
AFTER UPDATE OF title, subtitle, narrative, facts, concepts, project_id ON observations BEGIN
    INSERT OR IGNORE INTO vector_queue (observation_id) VALUES (new.id);
END;
CREATE TRIGGER observation_vectors_delete AFTER DELETE ON observations BEGIN
    DELETE FROM observation_vectors WHERE observation_id = old.id;
    DELETE FROM vector_queue WHERE observation_id = old.id;
END;
INSERT INTO vector_queue (observation_id) SELECT id FROM observations;
