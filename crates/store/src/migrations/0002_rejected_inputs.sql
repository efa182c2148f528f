-- Hook inputs that could not be interpreted (malformed JSON, no session_id, over
-- the input cap). Kept, redacted and capped, so nothing disappears silently and
-- `mnemo doctor` can explain what happened.
CREATE TABLE rejected_inputs (
    id           INTEGER PRIMARY KEY,
    hook         TEXT,                  -- the event named on the command line, if any
    reason       TEXT    NOT NULL,
    input_bytes  INTEGER NOT NULL,
    input_head   TEXT    NOT NULL,      -- redacted beginning of the input
    created_at   INTEGER NOT NULL
);
