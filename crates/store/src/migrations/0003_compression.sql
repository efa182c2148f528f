-- Compression: episodes become observations and summaries.

-- Set when the prompt's episode has been compressed; the partial index makes
-- "what is left to compress" cheap at any database size.
ALTER TABLE prompts ADD COLUMN compressed_at INTEGER;
CREATE INDEX prompts_uncompressed ON prompts (created_at) WHERE compressed_at IS NULL;
-- An episode's events, and the "is it closed?" checks.
CREATE INDEX events_prompt ON events (prompt_id, hook);
CREATE INDEX events_session_hook ON events (session_id, hook, created_at);

-- One row per compressed episode (a prompt and its events). A prompt without a
-- row here is not compressed yet.
CREATE TABLE episodes (
    prompt_id      INTEGER PRIMARY KEY REFERENCES prompts(id) ON DELETE CASCADE,
    session_id     INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    close_reason   TEXT    NOT NULL,   -- stop | next-prompt | session-end | pre-compact | stale
    compressed_at  INTEGER NOT NULL,
    event_count    INTEGER NOT NULL,   -- events covered
    raw_bytes      INTEGER NOT NULL,   -- payload bytes in (for the compression ratio)
    enrich_state   TEXT CHECK (enrich_state IN ('pending', 'done', 'failed', 'skipped')),
    enrich_error   TEXT,
    enriched_at    INTEGER
);
CREATE INDEX episodes_enrich_pending ON episodes (prompt_id) WHERE enrich_state = 'pending';

CREATE TABLE observations (
    id                INTEGER PRIMARY KEY,
    project_id        INTEGER REFERENCES projects(id),
    session_id        INTEGER REFERENCES sessions(id) ON DELETE CASCADE,
    prompt_id         INTEGER REFERENCES prompts(id) ON DELETE SET NULL,
    type              TEXT    NOT NULL CHECK (type IN ('bugfix', 'feature', 'refactor', 'change',
                          'discovery', 'decision', 'security_alert', 'security_note')),
    title             TEXT    NOT NULL,
    subtitle          TEXT    NOT NULL DEFAULT '',
    narrative         TEXT    NOT NULL DEFAULT '',
    facts             TEXT    NOT NULL DEFAULT '[]',   -- JSON array of strings
    concepts          TEXT    NOT NULL DEFAULT '[]',   -- JSON array of strings
    files_read        TEXT    NOT NULL DEFAULT '[]',   -- JSON array of paths
    files_modified    TEXT    NOT NULL DEFAULT '[]',   -- JSON array of paths
    source_event_ids  TEXT    NOT NULL DEFAULT '[]',   -- JSON array of events.id
    content_hash      TEXT    NOT NULL,
    generated_by      TEXT    NOT NULL,                -- 'rules', 'llm:<model>' or 'user'
    created_at        INTEGER NOT NULL,
    superseded_by     INTEGER REFERENCES observations(id),
    deleted_at        INTEGER
);
-- Identical observations are stored once per project.
CREATE UNIQUE INDEX observations_content ON observations (coalesce(project_id, 0), content_hash);
CREATE INDEX observations_project_time ON observations (project_id, created_at);
CREATE INDEX observations_prompt ON observations (prompt_id);

CREATE TABLE summaries (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER REFERENCES projects(id),
    session_id      INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    prompt_id       INTEGER NOT NULL UNIQUE REFERENCES prompts(id) ON DELETE CASCADE,
    request         TEXT    NOT NULL DEFAULT '',
    investigated    TEXT    NOT NULL DEFAULT '',
    learned         TEXT    NOT NULL DEFAULT '',
    completed       TEXT    NOT NULL DEFAULT '',
    next_steps      TEXT    NOT NULL DEFAULT '',
    files_read      TEXT    NOT NULL DEFAULT '[]',
    files_modified  TEXT    NOT NULL DEFAULT '[]',
    generated_by    TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    deleted_at      INTEGER
);
CREATE INDEX summaries_project_time ON summaries (project_id, created_at);

-- Full-text indexes, kept in sync by triggers (external content).
CREATE VIRTUAL TABLE observations_fts USING fts5(
    title, subtitle, narrative, facts, concepts,
    content = 'observations', content_rowid = 'id', tokenize = 'porter unicode61');
CREATE TRIGGER observations_fts_insert AFTER INSERT ON observations BEGIN
    INSERT INTO observations_fts (rowid, title, subtitle, narrative, facts, concepts)
    VALUES (new.id, new.title, new.subtitle, new.narrative, new.facts, new.concepts);
END;
CREATE TRIGGER observations_fts_delete AFTER DELETE ON observations BEGIN
    INSERT INTO observations_fts (observations_fts, rowid, title, subtitle, narrative, facts, concepts)
    VALUES ('delete', old.id, old.title, old.subtitle, old.narrative, old.facts, old.concepts);
END;
CREATE TRIGGER observations_fts_update AFTER UPDATE OF title, subtitle, narrative, facts, concepts ON observations BEGIN
    INSERT INTO observations_fts (observations_fts, rowid, title, subtitle, narrative, facts, concepts)
    VALUES ('delete', old.id, old.title, old.subtitle, old.narrative, old.facts, old.concepts);
    INSERT INTO observations_fts (rowid, title, subtitle, narrative, facts, concepts)
    VALUES (new.id, new.title, new.subtitle, new.narrative, new.facts, new.concepts);
END;

CREATE VIRTUAL TABLE summaries_fts USING fts5(
    request, investigated, learned, completed, next_steps,
    content = 'summaries', content_rowid = 'id', tokenize = 'porter unicode61');
CREATE TRIGGER summaries_fts_insert AFTER INSERT ON summaries BEGIN
    INSERT INTO summaries_fts (rowid, request, investigated, learned, completed, next_steps)
    VALUES (new.id, new.request, new.investigated, new.learned, new.completed, new.next_steps);
END;
CREATE TRIGGER summaries_fts_delete AFTER DELETE ON summaries BEGIN
    INSERT INTO summaries_fts (summaries_fts, rowid, request, investigated, learned, completed, next_steps)
    VALUES ('delete', old.id, old.request, old.investigated, old.learned, old.completed, old.next_steps);
END;
CREATE TRIGGER summaries_fts_update AFTER UPDATE OF request, investigated, learned, completed, next_steps ON summaries BEGIN
    INSERT INTO summaries_fts (summaries_fts, rowid, request, investigated, learned, completed, next_steps)
    VALUES ('delete', old.id, old.request, old.investigated, old.learned, old.completed, old.next_steps);
    INSERT INTO summaries_fts (rowid, request, investigated, learned, completed, next_steps)
    VALUES (new.id, new.request, new.investigated, new.learned, new.completed, new.next_steps);
END;

CREATE VIRTUAL TABLE prompts_fts USING fts5(
    text, content = 'prompts', content_rowid = 'id', tokenize = 'porter unicode61');
CREATE TRIGGER prompts_fts_insert AFTER INSERT ON prompts BEGIN
    INSERT INTO prompts_fts (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER prompts_fts_delete AFTER DELETE ON prompts BEGIN
    INSERT INTO prompts_fts (prompts_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER prompts_fts_update AFTER UPDATE OF text ON prompts BEGIN
    INSERT INTO prompts_fts (prompts_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO prompts_fts (rowid, text) VALUES (new.id, new.text);
END;
-- Prompts stored before this migration.
INSERT INTO prompts_fts (prompts_fts) VALUES ('rebuild');

-- Every LLM call, for the budget and `mnemo stats`.
CREATE TABLE llm_calls (
    id             INTEGER PRIMARY KEY,
    at             INTEGER NOT NULL,
    backend        TEXT    NOT NULL,
    model          TEXT    NOT NULL,
    purpose        TEXT    NOT NULL,    -- e.g. 'enrich'
    prompt_id      INTEGER REFERENCES prompts(id) ON DELETE SET NULL,
    input_tokens   INTEGER NOT NULL,
    output_tokens  INTEGER NOT NULL,
    ok             INTEGER NOT NULL,
    error          TEXT,
    duration_ms    INTEGER NOT NULL
);
CREATE INDEX llm_calls_at ON llm_calls (at);
