-- Shared memories: the current version of each record, and every version
-- ever pushed.

CREATE TABLE mnemo_records (
    gid         text COLLATE "C" PRIMARY KEY,
    project     text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('observation', 'summary')),
    session     text,
    author      text NOT NULL,
    -- COLLATE "C": the conflict rule compares bytes, as Rust compares strings.
    origin      text COLLATE "C" NOT NULL,
    created_at  bigint NOT NULL,
    edited_at   bigint NOT NULL,
    deleted     boolean NOT NULL,
    -- json, not jsonb: the text exactly as its writer serialised it, which
    -- the conflict rule's last tie-break compares and every machine must
    -- read back byte for byte.
    body        json NOT NULL,
    -- The transaction that last wrote the row; pulls read in its order.
    changed_xid xid8 NOT NULL
);

CREATE INDEX mnemo_records_changes ON mnemo_records (changed_xid, gid);

-- Every version: the record's columns (changed_xid: the transaction that
-- first stored this version), keyed by a hash of the whole version.
CREATE TABLE mnemo_history (
    LIKE mnemo_records,
    -- SHA-256 of every field of the version: pushing it again adds nothing.
    version     bytea NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (gid, version)
);
