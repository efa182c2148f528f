-- Capture: where Claude Code's hook events land.
-- Timestamps (*_at) are Unix epoch milliseconds, UTC.
-- Read them with: datetime(created_at / 1000, 'unixepoch').

-- A project is identified by its canonical root path (the git top-level, or the
-- directory itself outside git), never by its basename.
CREATE TABLE projects (
    id          INTEGER PRIMARY KEY,
    root        TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE sessions (
    id                INTEGER PRIMARY KEY,
    agent             TEXT    NOT NULL,            -- 'claude-code'
    agent_session_id  TEXT    NOT NULL,            -- the agent's own session id
    project_id        INTEGER REFERENCES projects(id),
    cwd               TEXT,
    branch            TEXT,
    transcript_path   TEXT,
    source            TEXT,                        -- SessionStart source of the latest start
    started_at        INTEGER NOT NULL,
    ended_at          INTEGER,
    end_reason        TEXT,
    status            TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'ended')),
    UNIQUE (agent, agent_session_id)
);
CREATE INDEX sessions_project ON sessions (project_id, started_at);

-- User prompts, numbered from 1 within their session.
CREATE TABLE prompts (
    id               INTEGER PRIMARY KEY,
    session_id       INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    n                INTEGER NOT NULL,
    text             TEXT    NOT NULL,             -- redacted; <private> spans removed
    private          INTEGER NOT NULL DEFAULT 0,   -- 1 when nothing was left after removing <private> spans
    agent_prompt_id  TEXT,                         -- Claude Code's prompt_id, when it sends one
    created_at       INTEGER NOT NULL,
    UNIQUE (session_id, n)
);
CREATE INDEX prompts_session_time ON prompts (session_id, created_at);

-- Every hook event, redacted and size-capped: the durable queue that compression reads.
CREATE TABLE events (
    id            INTEGER PRIMARY KEY,
    session_id    INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    prompt_id     INTEGER REFERENCES prompts(id) ON DELETE SET NULL,
    hook          TEXT    NOT NULL,                -- canonical event name, e.g. 'PostToolUse'
    tool_name     TEXT,
    tool_use_id   TEXT,
    agent_id      TEXT,                            -- set for events from inside a subagent
    payload       TEXT    NOT NULL,                -- the hook input as JSON, minus fields kept in columns
    created_at    INTEGER NOT NULL,
    processed_at  INTEGER
);
-- A redelivered tool event (same tool_use_id) is stored once.
CREATE UNIQUE INDEX events_tool_use ON events (session_id, hook, tool_use_id) WHERE tool_use_id IS NOT NULL;
CREATE INDEX events_session_time ON events (session_id, created_at);
CREATE INDEX events_unprocessed ON events (id) WHERE processed_at IS NULL;
