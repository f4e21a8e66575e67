-- Registered torrents (the catalog) and completed-download counters.
-- Accounts, groups and ownership come in later migrations; info_hash is
-- 40 lowercase hex characters so the schema ports to PostgreSQL as is.
CREATE TABLE torrents (
    info_hash    TEXT PRIMARY KEY NOT NULL CHECK (length(info_hash) = 40),
    name         TEXT NOT NULL,
    total_length INTEGER NOT NULL,
    piece_length INTEGER NOT NULL,
    file_count   INTEGER NOT NULL,
    private      INTEGER NOT NULL,
    metainfo     BLOB NOT NULL,
    added_at     INTEGER NOT NULL
);

CREATE TABLE completed_counts (
    info_hash TEXT PRIMARY KEY NOT NULL CHECK (length(info_hash) = 40),
    completed INTEGER NOT NULL DEFAULT 0
);
