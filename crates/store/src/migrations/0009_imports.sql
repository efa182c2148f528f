-- Claude Code transcripts imported by `mnemo import claude-code`: how much of
-- each file was replayed, so a second import adds nothing, an interrupted one
-- resumes, and a transcript that grew imports only its new turns.
CREATE TABLE transcript_imports (
    path TEXT PRIMARY KEY,
    -- The Claude Code session the file belongs to.
    agent_session_id TEXT NOT NULL,
    -- The file as last seen: unchanged size and mtime mean nothing to read.
    size INTEGER NOT NULL,
    mtime INTEGER NOT NULL,
    -- Bytes of complete turns replayed, from the start of the file.
    consumed INTEGER NOT NULL,
    -- Hash of the consumed bytes' head and tail: a rewritten file is read again.
    prefix_hash TEXT NOT NULL,
    -- 1 once the session's end was replayed (the file looked finished).
    ended INTEGER NOT NULL DEFAULT 0,
    -- 1 when mnemo's hooks had captured the session before it was imported:
    -- its lifecycle events are then not replayed a second time.
    captured_live INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX transcript_imports_session ON transcript_imports (agent_session_id);
