-- Accounts, sessions, groups, the group catalog, per-user counters and the
-- event log (issue 5). Times are Unix seconds. Usernames and group names are
-- stored lowercase. Tokens are stored only as their SHA-256 (hex).
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    passkey       TEXT NOT NULL UNIQUE CHECK (length(passkey) = 32),
    created_at    INTEGER NOT NULL,
    uploaded      INTEGER NOT NULL DEFAULT 0,
    downloaded    INTEGER NOT NULL DEFAULT 0
);

-- At most one session per user (the primary key): a second login either
-- fails or, with takeover, replaces the row.
CREATE TABLE sessions (
    user_id    INTEGER PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE CHECK (length(token_hash) = 64),
    address    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL
);

CREATE TABLE groups (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL UNIQUE,
    owner_id   INTEGER NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL
);

-- The owner is a member too. `seq` orders members by who joined first.
CREATE TABLE group_members (
    group_id  INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    user_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    joined_at INTEGER NOT NULL,
    seq       INTEGER NOT NULL,
    PRIMARY KEY (group_id, user_id)
);

CREATE TABLE join_requests (
    group_id     INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    requested_at INTEGER NOT NULL,
    PRIMARY KEY (group_id, user_id)
);

-- Published metainfo (never file data). group_id 0 is the public catalog.
-- The UNIQUE pair makes a concurrent double publish fail cleanly.
CREATE TABLE catalog (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    info_hash    TEXT NOT NULL CHECK (length(info_hash) = 40),
    group_id     INTEGER NOT NULL,
    name         TEXT NOT NULL,
    total_length INTEGER NOT NULL,
    piece_length INTEGER NOT NULL,
    file_count   INTEGER NOT NULL,
    private      INTEGER NOT NULL,
    source       TEXT,
    publisher_id INTEGER NOT NULL,
    added_at     INTEGER NOT NULL,
    metainfo     BLOB NOT NULL,
    UNIQUE (info_hash, group_id)
);
CREATE INDEX catalog_by_group ON catalog(group_id);

CREATE TABLE events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    username  TEXT,
    group_name TEXT,
    info_hash TEXT,
    detail    TEXT NOT NULL DEFAULT ''
);
