-- Observations already handed to a session (prompt-time recall), so the same
-- memory is never injected twice into one session.
CREATE TABLE recalls (
    session_id      INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    observation_id  INTEGER NOT NULL REFERENCES observations(id) ON DELETE CASCADE,
    at              INTEGER NOT NULL,
    PRIMARY KEY (session_id, observation_id)
) WITHOUT ROWID;
